// The sync verbs of segue-kiosk: `sync --once` drains the outbox to HQ in this process, and
// `sync status` reports what the worker last saw. Same sync code as the terminal's worker.
#pragma once
#include "app/config.hpp"

namespace segue::app {

/// Exit codes of `sync --once` beyond 0/1/2 (contract).
inline constexpr int kExitSyncFailed = 3;   ///< offline, or HQ failed or refused the request
inline constexpr int kExitSyncConfig = 4;   ///< token or TLS refused: the configuration is wrong

/// Sends every pending response once. 0 when nothing is pending afterwards, 2 when sync is not
/// configured, 3 when HQ cannot be reached or failed, 4 on token/TLS problems, 1 when the
/// terminal's own database fails; the reason is one line on stderr.
int runSyncOnce(const KioskConfig& cfg);

/// Prints the outbox counts and the last saved sync status; with `json` one object:
/// {"pending","rejected","oldest_pending_age_s","last_success","last_error", ...}.
int runSyncStatus(const KioskConfig& cfg, bool json);

} // namespace segue::app
