// segue-hq's HTTP(S) server: Boost.Beast on Asio (event-driven I/O on a few threads, route
// handlers on a pool of their own), TLS as Mozilla's "intermediate" profile, limits against slow
// and abusive clients, and an optional loopback operations listener; it serves a Router.
#pragma once
#include <atomic>
#include <cstddef>
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
/// Timer slack of the server's threads (see HqServer::run).
inline constexpr unsigned long kRequestTimerSlackNs = 20'000'000;
/// Threads that run the sockets (TLS, parsing, writing); the route handlers have their own pool.
inline constexpr int kIoThreads = 2;

/// What one client may hold and how fast it must be.
struct ConnectionLimits {
    int maxConnections = 4096;       ///< open connections in all; past it idle ones are closed, else refused
    int maxPerAddress = 32;          ///< open connections from one IP address (0: no limit)
    int headerDeadlineS = 10;        ///< TLS handshake + request headers, in all (not per read)
    std::size_t maxHeaderBytes = 16 * 1024;   ///< request line + headers; past it 431
    int maxHeaderFields = 100;       ///< past it 431
    /// A request body must bring at least this many bytes in every kBodyWindowS (or end).
    std::size_t minBodyBytesPerWindow = 10 * 1024;
    int bodyWindowS = 10;
    int writeTimeoutS = 10;          ///< each write of a reply
};

struct ServerOptions {
    std::string host = "127.0.0.1";
    int port = 8443;                       ///< 0: the kernel picks a free port (see bind())
    std::optional<std::string> certFile;   ///< PEM; with keyFile → HTTPS
    std::optional<std::string> keyFile;    ///< both absent → plain HTTP (tests only; the CLI guards it)
    /// Route handler threads: the requests whose handlers run at once (they wait on storage).
    /// Connections, idle or slow, hold none.
    int threads = kDefaultThreads;
    /// The operations listener (plain HTTP, loopback only): /healthz and /metrics, answered by a
    /// thread of their own while the request pool is busy. Port 0: the kernel picks one.
    std::optional<std::string> opsHost;
    int opsPort = 0;
    ConnectionLimits limits;
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

    /// Loads the certificate and binds the listening sockets. Returns the main port bound.
    std::expected<int, BindError> bind();
    /// The operations listener's port once bound (0 without one).
    int opsPort() const;
    /// Serves until stop(); false when the listening socket failed.
    bool run();
    /// Stops accepting; requests in flight finish before run() returns. Thread-safe, idempotent.
    void stop();

    const Router& router() const { return m_router; }
    Router& router() { return m_router; }

    struct Impl;

private:
    ServerOptions m_options;
    Router m_router;
    std::unique_ptr<Impl> m_impl;
};

} // namespace segue::hq
