// `segue-kiosk enrol --code CODE`: trades a one-time enrolment code for the terminal's identity
// (device id, store id, token) at [sync] server_url and keeps it in the data directory.
#pragma once
#include <string>

#include "app/config.hpp"

namespace segue::app {

/// Exit codes of `enrol` beyond 0/1/2 (contract; as `sync --once`'s).
inline constexpr int kExitEnrolUnreachable = 3;   ///< HQ cannot be reached or failed
inline constexpr int kExitEnrolRefused = 4;       ///< the code was refused (used, expired, revoked, unknown) or TLS failed

/// Enrols with `code` ("1234-5678-9012"); the reason of a failure is one line on stderr.
int runEnrol(const KioskConfig& cfg, const std::string& code);

} // namespace segue::app
