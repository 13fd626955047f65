#include "hq/service_watchdog.hpp"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include "service/sd_notify.hpp"

namespace segue::hq {
namespace {

std::string probeHost(const std::string& host) {
    if (host.empty() || host == "0.0.0.0") return "127.0.0.1";
    if (host == "::") return "::1";
    return host;
}

/// One GET /healthz; true on a 200.
bool healthy(const std::string& host, int port, bool https, std::chrono::milliseconds timeout) {
    const auto ask = [&](httplib::ClientImpl& c) {
        c.set_connection_timeout(timeout);
        c.set_read_timeout(timeout);
        c.set_write_timeout(timeout);
        const auto res = c.Get("/healthz");
        return res && res->status == 200;
    };
    if (https) {
        // Our own certificate on loopback: what is checked is that the server answers.
        httplib::SSLClient c(host, port);
        c.enable_server_certificate_verification(false);
        return ask(c);
    }
    httplib::ClientImpl c(host, port);
    return ask(c);
}

} // namespace

ServiceWatchdog::ServiceWatchdog(const std::string& host, int port, bool https) {
    service::notifyReady();
    const auto interval = service::watchdogInterval();
    if (!interval) return;
    const auto every = std::max(std::chrono::milliseconds(100),
                                std::chrono::duration_cast<std::chrono::milliseconds>(*interval) / 3);
    spdlog::info("systemd watchdog: asking /healthz every {} ms", every.count());
    m_thread = std::thread([this, h = probeHost(host), port, https, every] { loop(h, port, https, every); });
}

ServiceWatchdog::~ServiceWatchdog() {
    service::notifyStopping();
    {
        std::lock_guard lock(m_mutex);
        m_stop = true;
    }
    m_wake.notify_all();
    if (m_thread.joinable()) m_thread.join();
}

void ServiceWatchdog::loop(std::string host, int port, bool https, std::chrono::milliseconds every) {
    bool wasHealthy = true;
    for (;;) {
        const bool ok = healthy(host, port, https, every);
        if (ok) service::notifyWatchdog();
        if (ok != wasHealthy)
            ok ? spdlog::info("/healthz answers again") : spdlog::error("/healthz does not answer: no watchdog ping");
        wasHealthy = ok;
        std::unique_lock lock(m_mutex);
        if (m_wake.wait_for(lock, every, [this] { return m_stop; })) return;
    }
}

} // namespace segue::hq
