#include "hq/http_log.hpp"

#include <spdlog/spdlog.h>

namespace segue::hq {

std::string escapeForLog(std::string_view text) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(text.size());
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if (c == '\\') out += "\\\\";
        else if (c == '\n') out += "\\n";
        else if (c == '\r') out += "\\r";
        else if (c == '\t') out += "\\t";
        else if (c < 0x20 || c >= 0x7f) {
            out += "\\x";
            out += kHex[c >> 4];
            out += kHex[c & 15];
        } else {
            out += ch;
        }
    }
    return out;
}

std::string loggedPath(std::string_view path, std::size_t maxChars) {
    std::string out = escapeForLog(path.substr(0, maxChars));
    if (out.size() > maxChars) out.resize(maxChars);
    if (path.size() > maxChars) out += "...(" + std::to_string(path.size()) + " bytes)";
    return out;
}

void RequestLog::write(std::string_view method, std::string_view path, int status, double ms,
                       std::string_view device, const std::string& address, std::int64_t nowMs) {
    if (status >= 400 && status < 500) {
        std::lock_guard lock(m_mutex);
        Window& w = m_windows[address];
        if (nowMs - w.startMs >= kQuietWindowMs) {
            if (w.suppressed > 0)
                spdlog::info("{} more suppressed: 4xx lines from {}", w.suppressed, escapeForLog(address));
            w = Window{nowMs, 0, 0};
        }
        if (w.written >= kQuietBurst) {
            ++w.suppressed;
            return;
        }
        ++w.written;
    }
    // Health checks answered 200 come every few seconds from the watchdog and the load balancer:
    // debug level, so the log keeps what people read it for. A failing one is logged as any request.
    const auto level = status == 200 && path == "/healthz" ? spdlog::level::debug : spdlog::level::info;
    spdlog::log(level, "{} {} {} {:.1f}ms device={} from={}", method.empty() ? "-" : escapeForLog(method.substr(0, 16)),
                 loggedPath(path), status, ms, device.empty() ? "-" : escapeForLog(device), escapeForLog(address));
}

void RequestLog::flush(std::int64_t nowMs) {
    std::lock_guard lock(m_mutex);
    for (auto it = m_windows.begin(); it != m_windows.end();) {
        Window& w = it->second;
        if (nowMs - w.startMs < kQuietWindowMs) {
            ++it;
            continue;
        }
        if (w.suppressed > 0) spdlog::info("{} more suppressed: 4xx lines from {}", w.suppressed, escapeForLog(it->first));
        it = m_windows.erase(it);
    }
}

} // namespace segue::hq
