#include "hq/demo.hpp"

#include "hq/contact_key.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hq/enrolment.hpp"
#include "hq/self_signed.hpp"
#include "hq/storage.hpp"

namespace segue::hq {
namespace {

constexpr int kCertificateDays = 825;

/// Writes `content` to `file` with `mode` (also when the file existed), flushed to disk.
std::expected<void, std::string> writeFile(const std::filesystem::path& file, const std::string& content, mode_t mode) {
    const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) return std::unexpected("cannot write " + file.string() + ": " + std::strerror(errno));
    std::string error;
    if (::fchmod(fd, mode) != 0) error = std::strerror(errno);
    std::size_t done = 0;
    while (error.empty() && done < content.size()) {
        const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) error = std::strerror(errno);
        else done += static_cast<std::size_t>(n);
    }
    if (error.empty() && ::fsync(fd) != 0) error = std::strerror(errno);
    if (::close(fd) != 0 && error.empty()) error = std::strerror(errno);
    if (!error.empty()) return std::unexpected("cannot write " + file.string() + ": " + error);
    return {};
}

} // namespace

std::string tomlString(const std::string& value) {
    std::string out = "\"";
    for (const char c : value) {
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
                char buf[8];
                std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned char>(c));
                out += buf;
            } else {
                out += c;
            }
        }
    }
    return out + "\"";
}

std::expected<DemoFiles, std::string> initDemo(const std::filesystem::path& dirIn, int port, std::int64_t nowMs) {
    std::error_code ec;
    std::filesystem::create_directories(dirIn, ec);
    if (ec) return std::unexpected("cannot create " + dirIn.string() + ": " + ec.message());
    const auto dir = std::filesystem::absolute(dirIn, ec);
    if (ec) return std::unexpected("cannot resolve " + dirIn.string() + ": " + ec.message());
    const auto db = dir / "hq.sqlite";
    if (std::filesystem::exists(db, ec))
        return std::unexpected(db.string() + " already exists; init-demo needs a directory without one");

    auto cert = makeSelfSigned("localhost", {"localhost"}, {"127.0.0.1"}, kCertificateDays);
    if (!cert) return std::unexpected("cannot make a certificate: " + cert.error());
    if (auto r = writeFile(dir / "cert.pem", cert->certificate, 0644); !r) return std::unexpected(r.error());
    if (auto r = writeFile(dir / "key.pem", cert->privateKey, 0600); !r) return std::unexpected(r.error());

    auto storage = openStorage("sqlite:" + db.string());
    if (!storage) return std::unexpected(storage.error().message);
    auto device = enrolDevice(**storage, kDemoStore, "Demo kiosk", std::nullopt, nowMs);
    if (!device) return std::unexpected(device.error().message);
    auto readToken = issueReadToken(**storage, nowMs);
    if (!readToken) return std::unexpected(readToken.error().message);

    const std::string toml =
        "# A kiosk enrolled with the demo HQ (written by `segue-hq init-demo`).\n"
        "[kiosk]\n"
        "store_id = " + tomlString(device->storeId) + "\n"
        "device_id = " + tomlString(device->deviceId) + "\n"
        "language = \"zh-CN\"\n"
        "timezone = \"Asia/Shanghai\"\n"
        "\n"
        "[sync]\n"
        "enabled = true\n"
        "server_url = " + tomlString("https://localhost:" + std::to_string(port)) + "\n"
        "token = " + tomlString(device->token) + "\n"
        "ca_file = " + tomlString((dir / "cert.pem").string()) + "\n";
    if (auto r = writeFile(dir / "kiosk.toml", toml, 0600); !r) return std::unexpected(r.error());
    if (auto r = writeFile(dir / "read-token.txt", *readToken + "\n", 0600); !r) return std::unexpected(r.error());
    // HQ's contact key pair (callback numbers); one left by an earlier demo is kept.
    if (!std::filesystem::exists(dir / "contact.key", ec))
        if (auto k = writeContactKeys(dir); !k) return std::unexpected(k.error());
    return DemoFiles{dir, device->deviceId, device->storeId, port};
}

} // namespace segue::hq
