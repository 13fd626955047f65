#include "app/config.hpp"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <sys/stat.h>
#include <toml++/toml.h>

namespace segue::app {
namespace {

std::string where(const std::string& name, const toml::source_region& src) {
    return name + ":" + std::to_string(src.begin.line) + ":" + std::to_string(src.begin.column) + ": ";
}

bool plainId(const std::string& s) {
    if (s.empty() || s.size() > 64) return false;
    for (unsigned char c : s)
        if (!std::isalnum(c) && c != '-' && c != '_' && c != '.') return false;
    return true;
}

bool knownTimezone(const std::string& tz) {
    if (tz == "UTC") return true;
    if (tz.empty() || tz.front() == '/' || tz.find("..") != std::string::npos) return false;
    std::error_code ec;
    return std::filesystem::is_regular_file("/usr/share/zoneinfo/" + tz, ec);
}

/// Reads one table's keys with type and range checks; refuses keys it does not know
/// (a typo in a deployed config must not silently fall back to a default).
class TableReader {
public:
    TableReader(const toml::table& t, std::string file, std::string section)
        : m_table(t), m_file(std::move(file)), m_section(std::move(section)) {}

    std::optional<std::string> error() const { return m_error; }

    void string(const char* key, std::string& out, bool (*check)(const std::string&) = nullptr,
                const char* expected = "a string") {
        const toml::node* n = m_table.get(key);
        if (!n || m_error) return;
        const auto v = n->value<std::string>();
        if (!n->is_string() || !v || (check && !check(*v))) {
            fail(*n, key, expected);
            return;
        }
        out = *v;
    }
    void integer(const char* key, int& out, int lo, int hi) {
        const toml::node* n = m_table.get(key);
        if (!n || m_error) return;
        const auto v = n->is_integer() ? n->value<std::int64_t>() : std::nullopt;
        if (!v || *v < lo || *v > hi) {
            fail(*n, key, ("an integer from " + std::to_string(lo) + " to " + std::to_string(hi)).c_str());
            return;
        }
        out = static_cast<int>(*v);
    }
    void number(const char* key, double& out, double lo, double hi) {
        const toml::node* n = m_table.get(key);
        if (!n || m_error) return;
        const auto v = (n->is_floating_point() || n->is_integer()) ? n->value<double>() : std::nullopt;
        if (!v || *v < lo || *v > hi) {
            std::ostringstream want;
            want << "a number from " << lo << " to " << hi;
            fail(*n, key, want.str().c_str());
            return;
        }
        out = *v;
    }
    void boolean(const char* key, bool& out) {
        const toml::node* n = m_table.get(key);
        if (!n || m_error) return;
        if (!n->is_boolean()) {
            fail(*n, key, "true or false");
            return;
        }
        out = *n->value<bool>();
    }
    void refuseUnknown(std::initializer_list<const char*> known) {
        if (m_error) return;
        for (const auto& [k, node] : m_table) {
            bool ok = false;
            for (const char* name : known) ok = ok || k.str() == name;
            if (!ok) {
                m_error = where(m_file, node.source()) + "unknown key \"" + std::string(k.str()) +
                          "\" in [" + m_section + "]";
                return;
            }
        }
    }

private:
    void fail(const toml::node& n, const char* key, const char* expected) {
        m_error = where(m_file, n.source()) + "[" + m_section + "] " + key + " must be " + expected;
    }
    const toml::table& m_table;
    std::string m_file;
    std::string m_section;
    std::optional<std::string> m_error;
};

} // namespace

std::filesystem::path defaultDataDir() {
    if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg) return std::filesystem::path(xdg) / "segue-kiosk";
    if (const char* home = std::getenv("HOME"); home && *home)
        return std::filesystem::path(home) / ".local/share/segue-kiosk";
    return std::filesystem::current_path() / "segue-kiosk-data";
}

std::expected<KioskConfig, std::string> parseConfig(std::string_view text, const std::string& name) {
    toml::table root;
    try {
        root = toml::parse(text, name);
    } catch (const toml::parse_error& e) {
        return std::unexpected(where(name, e.source()) + std::string(e.description()));
    }
    KioskConfig cfg;
    for (const auto& [k, node] : root) {
        if (k.str() != "kiosk" && k.str() != "sync")
            return std::unexpected(where(name, node.source()) + "unknown section or key \"" + std::string(k.str()) +
                                   "\" (expected [kiosk] and [sync])");
        if (!node.is_table())
            return std::unexpected(where(name, node.source()) + "\"" + std::string(k.str()) + "\" must be a table");
    }
    if (const auto* kiosk = root["kiosk"].as_table()) {
        TableReader r(*kiosk, name, "kiosk");
        r.refuseUnknown({"store_id", "device_id", "language", "timezone", "inactivity_timeout_s", "thank_you_s",
                         "misuse_window_s", "target_csat", "data_dir", "theme"});
        r.string("store_id", cfg.storeId, plainId, "1-64 characters of A-Z a-z 0-9 . _ -");
        r.string("device_id", cfg.deviceId, plainId, "1-64 characters of A-Z a-z 0-9 . _ -");
        r.string("language", cfg.language, [](const std::string& v) { return v == "zh-CN" || v == "en"; },
                 "\"zh-CN\" or \"en\"");
        r.string("timezone", cfg.timezone, knownTimezone, "an IANA time zone name such as \"Asia/Shanghai\"");
        r.integer("inactivity_timeout_s", cfg.inactivityTimeoutS, 5, 3600);
        r.integer("thank_you_s", cfg.thankYouS, 1, 60);
        r.integer("misuse_window_s", cfg.misuseWindowS, 0, 600);
        r.number("target_csat", cfg.targetCsat, 0.0, 1.0);
        r.string("theme", cfg.theme, [](const std::string& v) { return v == "dark" || v == "light"; },
                 "\"dark\" or \"light\"");
        std::string dataDir;
        r.string("data_dir", dataDir, [](const std::string& v) { return !v.empty(); }, "a non-empty path");
        if (auto e = r.error()) return std::unexpected(*e);
        if (!dataDir.empty()) cfg.dataDir = dataDir;
    }
    if (const auto* sync = root["sync"].as_table()) {
        TableReader r(*sync, name, "sync");
        r.refuseUnknown({"enabled", "server_url", "token", "ca_file"});
        r.boolean("enabled", cfg.sync.enabled);
        r.string("server_url", cfg.sync.serverUrl,
                 [](const std::string& v) { return v.starts_with("https://") && v.size() > 8; },
                 "an https:// URL (TLS is always verified)");
        r.string("token", cfg.sync.token);
        r.string("ca_file", cfg.sync.caFile);
        if (auto e = r.error()) return std::unexpected(*e);
        if (cfg.sync.enabled && (cfg.sync.serverUrl.empty() || cfg.sync.token.empty()))
            return std::unexpected(where(name, sync->source()) +
                                   "[sync] enabled = true needs server_url and token");
        if (!cfg.sync.caFile.empty()) {
            std::filesystem::path ca = cfg.sync.caFile;
            if (ca.is_relative() && !name.empty() && name != "<defaults>")
                ca = std::filesystem::path(name).parent_path() / ca;  // relative to the config file
            std::error_code ec;
            if (!std::filesystem::is_regular_file(ca, ec))
                return std::unexpected(where(name, (*sync)["ca_file"].node()->source()) +
                                       "[sync] ca_file \"" + cfg.sync.caFile + "\" is not a readable file");
            cfg.sync.caFile = ca.string();
        }
    }
    return cfg;
}

std::expected<KioskConfig, std::string> loadConfig(const std::optional<std::filesystem::path>& file,
                                                   const std::optional<std::filesystem::path>& dataDirOverride) {
    KioskConfig cfg;
    if (file) {
        std::ifstream in(*file, std::ios::binary);
        if (!in) return std::unexpected(file->string() + ": cannot read the config file");
        std::ostringstream text;
        text << in.rdbuf();
        auto parsed = parseConfig(text.str(), file->string());
        if (!parsed) return parsed;
        cfg = std::move(*parsed);
        cfg.configFile = *file;
        if (!cfg.dataDir.empty() && cfg.dataDir.is_relative())
            cfg.dataDir = std::filesystem::absolute(*file).parent_path() / cfg.dataDir;
    }
    if (dataDirOverride) cfg.dataDir = *dataDirOverride;
    if (cfg.dataDir.empty()) cfg.dataDir = defaultDataDir();
    return cfg;
}

std::optional<std::string> insecureConfigPermissions(const KioskConfig& cfg) {
    if (cfg.configFile.empty() || cfg.sync.token.empty()) return std::nullopt;
    struct stat st {};
    if (::stat(cfg.configFile.c_str(), &st) != 0) return std::nullopt;   // it was just read; gone since
    const unsigned mode = static_cast<unsigned>(st.st_mode) & 07777u;
    if ((mode & 0066u) == 0) return std::nullopt;
    char octal[8];
    std::snprintf(octal, sizeof octal, "%04o", mode);
    const std::string file = cfg.configFile.string();
    return file + " holds the sync token but group or others may read or change it (mode " + octal +
           "); run: chmod 600 " + file + " (or pass --allow-insecure-config-permissions)";
}

std::string defaultConfigText() {
    return R"(# segue-kiosk configuration (TOML). Every key is optional; these are the defaults.

[kiosk]
store_id = "store-demo"          # the store this terminal stands in
device_id = "kiosk-demo"         # this terminal, as enrolled at HQ (segue-hq device add)
language = "zh-CN"               # "zh-CN" or "en": the language each customer starts in
timezone = "Asia/Shanghai"       # IANA name; decides the store's local date and hours
inactivity_timeout_s = 30        # idle seconds mid-survey before answers are kept as partial
thank_you_s = 3                  # seconds the thank-you screen stays
misuse_window_s = 5              # a response starting this soon after the last is flagged misuse
target_csat = 0.9                # customer satisfaction target shown on the staff screen
theme = "dark"                   # "dark" or "light"
# data_dir = "/var/lib/segue-kiosk"   # default: $XDG_DATA_HOME/segue-kiosk or ~/.local/share/segue-kiosk

[sync]
enabled = false                  # send responses to segue-hq
server_url = "https://hq.example.com:8443"
token = ""                       # device token printed once by `segue-hq device add`
ca_file = ""                     # PEM file of a private CA (relative paths are beside this file)
)";
}

} // namespace segue::app
