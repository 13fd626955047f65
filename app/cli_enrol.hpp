// `segue-kiosk enrol --code CODE`: trades a one-time enrolment code for the terminal's identity
// (device id, store id, token) at [sync] server_url and keeps it in the data directory.
#pragma once
#include <expected>
#include <string>

#include "app/config.hpp"
#include "app/identity.hpp"

namespace segue::app {

/// Exit codes of `enrol` beyond 0/1/2 (contract; as `sync --once`'s).
inline constexpr int kExitEnrolUnreachable = 3;   ///< HQ cannot be reached or failed
inline constexpr int kExitEnrolRefused = 4;       ///< the code was refused (used, expired, revoked, unknown) or TLS failed

/// Why an enrolment did not give this terminal an identity.
struct EnrolFailure {
    enum class Kind {
        Usage,         ///< no server_url, or not a 12-digit code (exit 2)
        Unreachable,   ///< HQ cannot be reached, or failed (exit 3)
        Refused,       ///< HQ refused the code (exit 4)
        Tls,           ///< HQ's certificate is not trusted (exit 4, as the verb always did)
        Failed,        ///< enrolled, but the identity cannot be kept (exit 1)
        Mismatch,      ///< enrolled, but the identity disagrees with the TOML file's ids (exit 2)
    };
    Kind kind = Kind::Failed;
    std::string message;   ///< one line for the log / stderr
};

/// Trades `code` for an identity at [sync] server_url and stores it in the data directory;
/// returns it, checked against the TOML file's own ids (applyIdentity). The verb and the
/// enrolment screen both call this. Blocking: the screen runs it off the UI thread.
std::expected<Identity, EnrolFailure> enrolWithCode(const KioskConfig& cfg, const std::string& code);

/// Enrols with `code` ("1234-5678-9012"); the reason of a failure is one line on stderr.
int runEnrol(const KioskConfig& cfg, const std::string& code);

} // namespace segue::app
