// Telling systemd how a service is doing (sd_notify): ready, alive, stopping. No-ops when the
// program was not started by systemd with a notification socket.
#pragma once
#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace segue::service {

/// READY=1: the service does what it is for (HQ listens, the kiosk shows its first frame).
void notifyReady();
/// STOPPING=1: shutting down on purpose, so a slow stop is not taken for a hang.
void notifyStopping();
/// WATCHDOG=1: the service's loop is alive.
void notifyWatchdog();

/// How often systemd wants a WATCHDOG=1 (the unit's WatchdogSec=), or nullopt when it watches
/// nothing. `WATCHDOG_PID` names the process systemd started; `acceptParent` also accepts it
/// naming this process's parent, as for the kiosk, which systemd starts inside `cage`.
std::optional<std::chrono::microseconds> watchdogInterval(bool acceptParent = false);

/// Sends WATCHDOG=1 at most every half interval, from whichever loop calls `tick` — the kiosk's
/// main loop, which wakes at least once a second also when idle.
class WatchdogPinger {
public:
    /// Disabled (every tick a no-op) when `interval` is nullopt.
    explicit WatchdogPinger(std::optional<std::chrono::microseconds> interval);
    /// `monoMs`: the caller's monotonic clock. True when it pinged.
    bool tick(std::int64_t monoMs);
    bool enabled() const { return m_everyMs > 0; }
    std::int64_t everyMs() const { return m_everyMs; }

private:
    std::int64_t m_everyMs = 0;
    std::optional<std::int64_t> m_lastMs;
};

} // namespace segue::service
