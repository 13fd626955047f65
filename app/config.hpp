// segue-kiosk configuration: a TOML file (keys are a contract), embedded defaults, and
// the data directory. An invalid file is refused with file, line and reason.
#pragma once
#include <expected>
#include <filesystem>
#include <optional>
#include <string>

namespace segue::app {

struct SyncConfig {
    bool enabled = false;
    std::string serverUrl;                 ///< e.g. "https://hq.example.com:8443"
    std::string token;                     ///< device token from `segue-hq device add`
    std::string caFile;                    ///< PEM bundle for a private CA; empty = system CAs
};

struct KioskConfig {
    std::string storeId = "store-demo";
    std::string deviceId = "kiosk-demo";
    std::string language = "zh-CN";        ///< "zh-CN" | "en"
    std::string timezone = "Asia/Shanghai";///< IANA name
    int inactivityTimeoutS = 30;
    int thankYouS = 3;
    int misuseWindowS = 5;
    double targetCsat = 0.9;
    std::string theme = "dark";            ///< "dark" | "light"
    std::filesystem::path dataDir;         ///< resolved: --data-dir, [kiosk] data_dir, XDG default
    std::filesystem::path configFile;      ///< the file read, empty for embedded defaults
    SyncConfig sync;

    std::filesystem::path databasePath() const { return dataDir / "kiosk.sqlite"; }
    std::filesystem::path logPath() const { return dataDir / "kiosk.log"; }
};

/// Reads `file` (or only the defaults when empty), then applies `dataDirOverride`.
/// Errors read "FILE:LINE:COL: reason".
std::expected<KioskConfig, std::string> loadConfig(const std::optional<std::filesystem::path>& file,
                                                   const std::optional<std::filesystem::path>& dataDirOverride);

/// Parses TOML text (tests; `name` appears in errors).
std::expected<KioskConfig, std::string> parseConfig(std::string_view toml, const std::string& name);

/// Why the config file must not be used as it is: it holds the sync token and group or others
/// may read or write it (mode & 0066). nullopt when it holds no token, is owner-only, or was
/// not read from a file. The text names the file, its mode and the `chmod 600 FILE` to run.
std::optional<std::string> insecureConfigPermissions(const KioskConfig& cfg);

/// The documented default file, as printed by --print-default-config.
std::string defaultConfigText();

/// $XDG_DATA_HOME/segue-kiosk or ~/.local/share/segue-kiosk.
std::filesystem::path defaultDataDir();

} // namespace segue::app
