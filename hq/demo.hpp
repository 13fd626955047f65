// `segue-hq init-demo`: everything a demo (or a test) needs to run a kiosk against a local HQ.
#pragma once
#include <cstdint>
#include <expected>
#include <filesystem>
#include <string>

namespace segue::hq {

inline constexpr int kDefaultPort = 8443;
inline constexpr const char* kDemoStore = "store-demo";

struct DemoFiles {
    std::filesystem::path dir;        ///< absolute
    std::string deviceId;
    std::string storeId;
    int port = kDefaultPort;
};

/// Writes DIR/cert.pem, DIR/key.pem (self-signed, SAN localhost + 127.0.0.1), DIR/hq.sqlite with
/// store "store-demo" and one enrolled device, DIR/kiosk.toml pointing at https://localhost:PORT
/// with that device's id, token and ca_file, and DIR/read-token.txt. Secrets are mode 0600.
/// Refuses a directory that already holds hq.sqlite.
std::expected<DemoFiles, std::string> initDemo(const std::filesystem::path& dir, int port, std::int64_t nowMs);

/// A TOML basic string literal (quoted, escaped).
std::string tomlString(const std::string& value);

} // namespace segue::hq
