#include "app/identity.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

namespace segue::app {

std::filesystem::path identityPath(const std::filesystem::path& dataDir) { return dataDir / "identity.json"; }

std::expected<std::optional<Identity>, std::string> loadIdentity(const std::filesystem::path& dataDir) {
    const auto path = identityPath(dataDir);
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) return std::optional<Identity>();
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::unexpected(path.string() + ": cannot read the enrolment identity");
    std::ostringstream text;
    text << in.rdbuf();
    const auto j = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
    auto field = [&](const char* key) -> std::optional<std::string> {
        if (!j.is_object() || !j.contains(key) || !j[key].is_string()) return std::nullopt;
        return j[key].get<std::string>();
    };
    const auto device = field("device_id"), store = field("store_id"), token = field("token");
    if (!device || !store || !token || device->empty() || store->empty() || token->empty())
        return std::unexpected(path.string() + ": not an enrolment identity (device_id, store_id, token)");
    return std::optional<Identity>(
        Identity{*device, *store, *token, field("server_url").value_or(""), field("enrolled_at").value_or("")});
}

std::expected<void, std::string> saveIdentity(const std::filesystem::path& dataDir, const Identity& id) {
    std::error_code ec;
    std::filesystem::create_directories(dataDir, ec);
    if (ec) return std::unexpected("cannot create " + dataDir.string() + ": " + ec.message());
    const std::string text = nlohmann::json{{"device_id", id.deviceId},
                                            {"store_id", id.storeId},
                                            {"token", id.token},
                                            {"server_url", id.serverUrl},
                                            {"enrolled_at", id.enrolledAt}}
                                 .dump(2) +
                             "\n";
    const auto path = identityPath(dataDir);
    const std::string tmp = path.string() + ".tmp";
    ::unlink(tmp.c_str());
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return std::unexpected("cannot write " + tmp + ": " + std::strerror(errno));
    std::size_t done = 0;
    while (done < text.size()) {
        const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            const std::string why = std::strerror(errno);
            ::close(fd);
            ::unlink(tmp.c_str());
            return std::unexpected("cannot write " + tmp + ": " + why);
        }
        done += static_cast<std::size_t>(n);
    }
    const bool synced = ::fsync(fd) == 0;
    ::close(fd);
    if (!synced || ::rename(tmp.c_str(), path.c_str()) != 0) {
        const std::string why = std::strerror(errno);
        ::unlink(tmp.c_str());
        return std::unexpected("cannot store " + path.string() + ": " + why);
    }
    return {};
}

std::expected<void, std::string> applyIdentity(KioskConfig& cfg, const Identity& id) {
    auto agree = [&](bool given, std::string& value, const std::string& enrolled, const char* key,
                     bool secret) -> std::expected<void, std::string> {
        if (given && value != enrolled)
            return std::unexpected(key + std::string(" in ") +
                                   (cfg.configFile.empty() ? std::string("the configuration") : cfg.configFile.string()) +
                                   (secret ? std::string(" differs from") : " is \"" + value + "\" but") +
                                   " the enrolled identity in " + identityPath(cfg.dataDir).string() +
                                   (secret ? std::string("") : " says \"" + enrolled + "\""));
        value = enrolled;
        return {};
    };
    if (auto r = agree(cfg.given.storeId, cfg.storeId, id.storeId, "[kiosk] store_id", false); !r) return r;
    if (auto r = agree(cfg.given.deviceId, cfg.deviceId, id.deviceId, "[kiosk] device_id", false); !r) return r;
    return agree(cfg.given.token, cfg.sync.token, id.token, "[sync] token", true);
}

bool needsEnrolment(const KioskConfig& cfg) { return cfg.sync.enabled && cfg.sync.token.empty(); }

} // namespace segue::app
