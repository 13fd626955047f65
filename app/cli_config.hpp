// `segue-kiosk config status`: which survey definition the terminal runs and where it came from.
#pragma once
#include <optional>

#include "app/config.hpp"
#include "store/database.hpp"
#include "sync/config_fetch.hpp"
#include "sync/drainer.hpp"

namespace segue::app {

/// Prints the survey the terminal runs; with `json` one object: {"survey_id","survey_version",
/// "source": "hq"|"built-in","fetched_at","applied_at","last_error"} (times RFC 3339 UTC or null).
int runConfigStatus(const KioskConfig& cfg, bool json);

/// Where the terminal asks for its configuration ([sync] server_url, ca_file, token).
sync::ConfigFetchOptions configFetchOptions(const KioskConfig& cfg);

/// What the terminal's batches say of its configuration: the survey it runs (the applied
/// definition from HQ if this build accepts it, else the built-in one) and why it refused the
/// last definition HQ sent, if it did. Read from `db` as each batch is made.
sync::ConfigReport configReport(store::Database& db);

/// Asks HQ for the configuration once (sync::fetchConfig, checked with acceptSurvey) and logs
/// the outcome; nullopt when HQ could not be asked. Used by the sync worker and `sync --once`.
std::optional<sync::ConfigFetch> fetchAndRecord(store::Database& db, const sync::ConfigFetchOptions& options);

} // namespace segue::app
