#include "hq/server.hpp"

#include <cerrno>
#include <cstring>
#include <thread>

#include <sys/prctl.h>
#include <sys/socket.h>

#include <httplib.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include "sync/wire.hpp"

namespace segue::hq {

HqServer::HqServer(Storage& storage, const core::Clock& clock, ServerOptions options)
    : m_options(std::move(options)), m_router(storage, clock, m_options.router) {}

HqServer::~HqServer() = default;

std::expected<int, BindError> HqServer::bind() {
    if (m_options.certFile && m_options.keyFile) {
        auto tls = std::make_unique<httplib::SSLServer>(m_options.certFile->c_str(), m_options.keyFile->c_str());
        if (!tls->is_valid())
            return std::unexpected(BindError{true, "cannot load TLS certificate " + *m_options.certFile +
                                                       " with key " + *m_options.keyFile});
        SSL_CTX_set_min_proto_version(tls->ssl_context(), TLS1_2_VERSION);
        m_server = std::move(tls);
    } else {
        m_server = std::make_unique<httplib::Server>();
    }
    httplib::Server& s = *m_server;
    // Without TCP_NODELAY every small reply waits for the peer's delayed ACK (~40 ms).
    s.set_tcp_nodelay(true);
    // httplib's default also sets SO_REUSEPORT, which lets a second server bind the same port and
    // silently take half the traffic; SO_REUSEADDR alone still allows a quick restart.
    s.set_socket_options([this](socket_t sock) {
        m_socket = sock;   // httplib tries each address in turn and keeps the first that binds
        int yes = 1;
        if (setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes) != 0)
            spdlog::warn("SO_REUSEADDR: {} (a restart may have to wait for TIME_WAIT)", std::strerror(errno));
    });
    // Checked against Content-Length before reading; gzip bodies are limited after decoding by
    // the router, and chunked bodies (which httplib does not count) likewise.
    s.set_payload_max_length(wire::kMaxBodyBytes);
    s.set_read_timeout(10, 0);
    s.set_write_timeout(10, 0);
    s.set_keep_alive_timeout(kKeepAliveS);
    s.set_keep_alive_max_count(1000);
    const int threads = m_options.threads;
    s.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<std::size_t>(threads)); };
    m_router.install(s);

    int port = -1;
    if (m_options.port == 0) {
        port = s.bind_to_any_port(m_options.host);
    } else if (s.bind_to_port(m_options.host, m_options.port)) {
        port = m_options.port;
    }
    if (port <= 0)
        return std::unexpected(BindError{false, "cannot listen on " + m_options.host + ":" +
                                                    std::to_string(m_options.port) + ": " + std::strerror(errno)});
    // cpp-httplib 0.11 listens with a backlog of 5, compiled into Debian's .so. When a fleet
    // connects at once (after an HQ restart), the kernel drops the SYNs beyond it and each of
    // those terminals retries after 1 s, then 3 s, then 7 s: past a 5 s connect timeout. Linux
    // lets listen() on the listening socket raise its backlog.
    int listening = 0;
    socklen_t len = sizeof listening;
    const char* problem = nullptr;
    if (m_socket < 0 || getsockopt(m_socket, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening)
        problem = "the listening socket is unknown";
    else if (::listen(m_socket, kListenBacklog) != 0)
        problem = std::strerror(errno);
    if (problem)
        spdlog::warn("cannot raise the listen backlog to {}: {} (terminals connecting at once may time out)",
                     kListenBacklog, problem);
    return port;
}

bool HqServer::run() {
    m_runEntered = true;
    bool ok = true;
    // cpp-httplib 0.11 waits on each kept-alive connection with a 10 ms poll and a 1 ms sleep in
    // a loop: about 90 wakeups a second per idle connection, on a thread of its own. The request
    // threads, started by listen_after_bind, inherit this thread's timer slack; with 20 ms the
    // kernel may let those timeouts run late and batch them. A request that arrives during the
    // poll still wakes its thread at once; one that arrives during the sleep waits up to 21 ms.
    // With 200 terminals at 15 000 responses/s this cut segue-hq's CPU time by a third
    // (bench/findings.md, 6).
    if (prctl(PR_SET_TIMERSLACK, kRequestTimerSlackNs) != 0)
        spdlog::warn("PR_SET_TIMERSLACK: {} (idle connections will cost more CPU)", std::strerror(errno));
    if (!m_stopRequested) ok = m_server->listen_after_bind();
    m_runExited = true;
    return ok || m_stopRequested;
}

void HqServer::stop() {
    m_stopRequested = true;
    if (!m_server || !m_runEntered) return;   // run() will see the request and not start
    // run() may be between its check and the server's start: wait for either.
    while (!m_server->is_running() && !m_runExited) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    bool expected = false;
    if (m_server->is_running() && m_stopped.compare_exchange_strong(expected, true)) m_server->stop();
}

} // namespace segue::hq
