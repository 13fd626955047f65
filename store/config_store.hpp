// The survey definition the terminal runs, as HQ sent it: kept in the terminal's database (the
// meta table, one JSON value) so that a restart while offline runs the last applied definition,
// not the built-in one, and a definition fetched mid-response is applied after a restart too.
#pragma once
#include <cstdint>
#include <expected>
#include <functional>
#include <optional>
#include <string>

#include "store/database.hpp"

namespace segue::store {

/// The meta key the state is kept under.
inline constexpr const char* kMetaSurveyConfig = "survey_config";

struct SurveyConfigState {
    std::optional<std::string> applied;        ///< definition text (JSON) running now; none = built-in
    std::optional<std::int64_t> appliedAtMs;
    std::optional<std::string> pending;        ///< fetched and valid, waiting for no customer to be mid-response
    std::optional<std::string> etag;           ///< of the last definition fetched (applied, pending or refused)
    std::optional<std::int64_t> fetchedAtMs;   ///< when HQ last answered (200 or 304)
    std::optional<std::string> lastError;      ///< why the last definition fetched was refused
    bool errorReported = false;                ///< lastError went to HQ in a batch
    /// HQ's X25519 public key (standard base64 of 32 bytes) from the last config reply that
    /// carried one: callback numbers are sealed with it. None: the callback is not offered.
    std::optional<std::string> contactPublicKey;
    bool operator==(const SurveyConfigState&) const = default;
};

/// The state, or an empty one when none was ever saved. A value that does not parse is an
/// error of kind Io naming the key (it is never silently replaced by the built-in definition).
std::expected<SurveyConfigState, Error> loadSurveyConfig(Database& db);
std::expected<void, Error> saveSurveyConfig(Database& db, const SurveyConfigState& state);

/// Reads, changes with `change` and writes the state in one write transaction: the sync worker
/// (a definition fetched) and the screens (one applied) write it from two connections, and
/// neither may lose the other's change.
std::expected<SurveyConfigState, Error> updateSurveyConfig(Database& db,
                                                           const std::function<void(SurveyConfigState&)>& change);

} // namespace segue::store
