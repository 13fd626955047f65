// segue-hq under systemd: READY once listening, and WATCHDOG pings while the server answers its
// own GET /healthz on loopback — so a server that hangs (a stuck pool, a dead database) is
// restarted, whatever loop the server runs.
#pragma once
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace segue::hq {

class ServiceWatchdog {
public:
    /// Says READY=1 and, when the unit has WatchdogSec=, starts a thread that asks
    /// `https://host:port/healthz` (or http with `https` false) every half interval and pings
    /// only on a 200. `host` is the listen address; 0.0.0.0 and :: are asked on loopback.
    ServiceWatchdog(const std::string& host, int port, bool https);
    /// Says STOPPING=1 and stops the thread.
    ~ServiceWatchdog();
    ServiceWatchdog(const ServiceWatchdog&) = delete;
    ServiceWatchdog& operator=(const ServiceWatchdog&) = delete;

private:
    void loop(std::string host, int port, bool https, std::chrono::milliseconds every);

    std::mutex m_mutex;
    std::condition_variable m_wake;
    bool m_stop = false;
    std::thread m_thread;
};

} // namespace segue::hq
