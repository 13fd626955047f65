// segue-hq's HTTP(S) server: cpp-httplib with TLS, limits and timeouts, serving a Router.
#pragma once
#include <atomic>
#include <expected>
#include <memory>
#include <optional>
#include <string>

#include "core/time.hpp"
#include "hq/router.hpp"
#include "hq/storage.hpp"

namespace segue::hq {

inline constexpr int kDefaultThreads = 256;
inline constexpr int kKeepAliveS = 5;
/// Pending connections the listening socket holds (see HqServer::bind); net.core.somaxconn caps it.
inline constexpr int kListenBacklog = 1024;
/// Timer slack of the request threads (see HqServer::run).
inline constexpr unsigned long kRequestTimerSlackNs = 20'000'000;

struct ServerOptions {
    std::string host = "127.0.0.1";
    int port = 8443;                       ///< 0: the kernel picks a free port (see bind())
    std::optional<std::string> certFile;   ///< PEM; with keyFile → HTTPS
    std::optional<std::string> keyFile;    ///< both absent → plain HTTP (tests only; the CLI guards it)
    /// Request threads. A kept-alive connection holds one until it has been idle kKeepAliveS, so
    /// this bounds the terminals that can sync within a few seconds of each other.
    int threads = kDefaultThreads;
    RouterOptions router;
};

/// Why bind() failed: a certificate problem is configuration, a busy port is not.
struct BindError {
    bool configuration = false;
    std::string message;
};

class HqServer {
public:
    HqServer(Storage& storage, const core::Clock& clock, ServerOptions options);
    ~HqServer();
    HqServer(const HqServer&) = delete;
    HqServer& operator=(const HqServer&) = delete;

    /// Loads the certificate and binds the listening socket. Returns the port bound.
    std::expected<int, BindError> bind();
    /// Serves until stop(); false when the listening socket failed.
    bool run();
    /// Stops accepting; requests in flight finish before run() returns. Thread-safe, idempotent.
    void stop();

    const Router& router() const { return m_router; }

private:
    ServerOptions m_options;
    Router m_router;
    std::unique_ptr<httplib::Server> m_server;
    int m_socket = -1;   ///< the last socket httplib offered for binding: the listening one once bound
    std::atomic<bool> m_stopRequested{false};
    std::atomic<bool> m_runEntered{false};
    std::atomic<bool> m_runExited{false};
    std::atomic<bool> m_stopped{false};
};

} // namespace segue::hq
