#include "service/sd_notify.hpp"

#include <cerrno>
#include <cstdlib>
#include <string>

#include <systemd/sd-daemon.h>
#include <unistd.h>

namespace segue::service {
namespace {

std::optional<long long> envNumber(const char* name) {
    const char* v = std::getenv(name);
    if (v == nullptr || *v == '\0') return std::nullopt;
    char* end = nullptr;
    errno = 0;
    const long long n = std::strtoll(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || n <= 0) return std::nullopt;
    return n;
}

} // namespace

// The environment stays set: the kiosk's threads and the commands it runs need nothing from it,
// and sd_notify only reads it.
void notifyReady() { (void)sd_notify(0, "READY=1"); }
void notifyStopping() { (void)sd_notify(0, "STOPPING=1"); }
void notifyWatchdog() { (void)sd_notify(0, "WATCHDOG=1"); }

std::optional<std::chrono::microseconds> watchdogInterval(bool acceptParent) {
    const auto usec = envNumber("WATCHDOG_USEC");
    if (!usec) return std::nullopt;
    if (const auto pid = envNumber("WATCHDOG_PID")) {
        const bool mine = *pid == static_cast<long long>(getpid());
        const bool parents = acceptParent && *pid == static_cast<long long>(getppid());
        if (!mine && !parents) return std::nullopt;
    }
    return std::chrono::microseconds(*usec);
}

WatchdogPinger::WatchdogPinger(std::optional<std::chrono::microseconds> interval) {
    // Half the interval: one late wake-up (a slow frame, a font rebuild) is not yet a miss.
    if (interval) m_everyMs = std::max<std::int64_t>(1, std::chrono::duration_cast<std::chrono::milliseconds>(*interval).count() / 2);
}

bool WatchdogPinger::tick(std::int64_t monoMs) {
    if (m_everyMs <= 0) return false;
    if (m_lastMs && monoMs - *m_lastMs < m_everyMs) return false;
    m_lastMs = monoMs;
    notifyWatchdog();
    return true;
}

} // namespace segue::service
