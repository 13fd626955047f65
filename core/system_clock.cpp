#include "core/system_clock.hpp"

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <time.h>
#include <unistd.h>

namespace segue::core {

bool setProcessTimezone(const std::string& ianaName) {
    if (ianaName.empty() || ianaName.find("..") != std::string::npos) return false;
    std::error_code ec;
    const bool known = std::filesystem::is_regular_file("/usr/share/zoneinfo/" + ianaName, ec);
    if (::setenv("TZ", ianaName.c_str(), 1) != 0) return false;
    ::tzset();
    return known;
}

std::optional<std::int64_t> msSinceProcessStart() {
    std::ifstream in("/proc/self/stat");
    std::string stat;
    if (!std::getline(in, stat)) return std::nullopt;
    // Field 22 is the start time in clock ticks after boot; the command name (field 2) may
    // hold spaces, so count from the closing parenthesis.
    const auto close = stat.rfind(')');
    if (close == std::string::npos) return std::nullopt;
    std::istringstream fields(stat.substr(close + 2));
    std::string field;
    for (int i = 3; i <= 22 && fields >> field; ++i)
        if (i == 22) {
            const long hz = ::sysconf(_SC_CLK_TCK);
            timespec boot{};
            if (hz <= 0 || ::clock_gettime(CLOCK_BOOTTIME, &boot) != 0) return std::nullopt;
            const std::int64_t startMs = std::stoll(field) * 1000 / hz;
            return static_cast<std::int64_t>(boot.tv_sec) * 1000 + boot.tv_nsec / 1'000'000 - startMs;
        }
    return std::nullopt;
}

Now SystemClock::now() const {
    using namespace std::chrono;
    Now n;
    n.monoMs = duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
    n.utcMs = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
    const std::time_t secs = static_cast<std::time_t>(n.utcMs / 1000);
    std::tm local{};
    if (::localtime_r(&secs, &local) != nullptr) n.utcOffsetMin = static_cast<int>(local.tm_gmtoff / 60);
    return n;
}

} // namespace segue::core
