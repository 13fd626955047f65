// The terminal's identity from enrolment (`segue-kiosk enrol --code`): device id, store id and
// token as HQ issued them, kept in the data directory (identity.json, mode 0600). Once it
// exists the TOML file may leave [kiosk] store_id, device_id and [sync] token out; where it
// names them they must agree with it.
#pragma once
#include <expected>
#include <filesystem>
#include <optional>
#include <string>

#include "app/config.hpp"

namespace segue::app {

struct Identity {
    std::string deviceId;
    std::string storeId;
    std::string token;
    std::string serverUrl;      ///< the HQ that issued it
    std::string enrolledAt;     ///< RFC 3339 UTC, HQ's time
    bool operator==(const Identity&) const = default;
};

/// dataDir/identity.json
std::filesystem::path identityPath(const std::filesystem::path& dataDir);

/// The stored identity, nullopt when the terminal was never enrolled. A file that cannot be read
/// or parsed is an error naming it.
std::expected<std::optional<Identity>, std::string> loadIdentity(const std::filesystem::path& dataDir);

/// Writes the identity atomically (a 0600 temporary file, fsync, rename), creating the data
/// directory if needed.
std::expected<void, std::string> saveIdentity(const std::filesystem::path& dataDir, const Identity& id);

/// True when the terminal syncs but has no token (no identity, none in the TOML file): the
/// window then starts on the enrolment screen.
bool needsEnrolment(const KioskConfig& cfg);

/// Fills store_id, device_id and token from `id` where the TOML left them out; where it named
/// them they must be equal, or the error names the key that disagrees.
std::expected<void, std::string> applyIdentity(KioskConfig& cfg, const Identity& id);

} // namespace segue::app
