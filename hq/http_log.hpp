// segue-hq's request log: one line per request, safe to read in a terminal and bounded in size.
// Control characters and bytes outside printable ASCII are escaped visibly (\n, \x1b), the path is
// cut to kLoggedPathChars, and 4xx lines from one address past kQuietBurst in a kQuietWindowMs
// window are counted instead of written ("N more suppressed" when the window ends).
#pragma once
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace segue::hq {

inline constexpr std::size_t kLoggedPathChars = 200;
inline constexpr int kQuietBurst = 20;
inline constexpr std::int64_t kQuietWindowMs = 5000;

/// `text` with \\, control characters and non-ASCII bytes escaped (\n, \r, \t, \xNN).
std::string escapeForLog(std::string_view text);
/// escapeForLog, cut to `maxChars` (then "...(N bytes)" says how long it was).
std::string loggedPath(std::string_view path, std::size_t maxChars = kLoggedPathChars);

class RequestLog {
public:
    /// Writes the line for one request (status, time, device, address); `nowMs` is monotonic.
    /// A `/healthz` answered 200 is written at debug level (watchdog and load-balancer checks).
    void write(std::string_view method, std::string_view path, int status, double ms, std::string_view device,
               const std::string& address, std::int64_t nowMs);
    /// Writes the "N more suppressed" lines of windows that have ended; call about once a second.
    void flush(std::int64_t nowMs);

private:
    struct Window {
        std::int64_t startMs = 0;
        int written = 0;
        std::int64_t suppressed = 0;
    };
    std::mutex m_mutex;
    std::map<std::string, Window> m_windows;   ///< by address; only addresses with 4xx lines
};

} // namespace segue::hq
