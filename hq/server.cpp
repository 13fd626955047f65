// The only file that includes Boost.Beast/Asio (they cost compile time): sockets, TLS, HTTP/1.1
// framing, deadlines and connection limits. Route handlers run on a pool of their own, so no
// I/O thread ever waits on storage.
#include "hq/server.hpp"

#include <cctype>
#include <cerrno>
#include <array>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <limits>
#include <list>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <type_traits>
#include <vector>

#include <sys/prctl.h>
#include <sys/resource.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include "hq/http_log.hpp"
#include "sync/wire.hpp"

namespace segue::hq {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

// A body past this is not read at all (its Content-Length says so) or stops being read.
constexpr std::uint64_t kDrainLimit = 64 * 1024 * 1024;
constexpr std::size_t kMaxTargetBytes = 8192;
constexpr int kMaxRequestsPerConnection = 1000;
constexpr std::size_t kReadBufferLimit = 256 * 1024;
constexpr std::size_t kBodyChunkBytes = 64 * 1024;
constexpr int kOpsMaxConnections = 64;
// Mozilla's "intermediate" TLS 1.2 suites without the DHE ones: ECDHE with AES-GCM or
// ChaCha20-Poly1305 only. TLS 1.3's suites are all AEAD and stay OpenSSL's default.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

std::int64_t monotonicMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now().time_since_epoch()).count();
}

bool compressible(const std::string& type) {
    if (type.starts_with("text/") && !type.starts_with("text/event-stream")) return true;
    for (const char* t : {"application/json", "application/javascript", "application/xml", "image/svg+xml"})
        if (type.starts_with(t)) return true;
    return false;
}

bool acceptsGzip(const HttpRequest& req) {
    std::string v = req.header("Accept-Encoding");
    for (auto& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return v.find("gzip") != std::string::npos;
}

/// A fixed set of threads running queued jobs in order.
class WorkPool {
public:
    void start(int threads) {
        for (int i = 0; i < threads; ++i) m_threads.emplace_back([this] { work(); });
    }
    void post(std::function<void()> job) {
        {
            std::lock_guard lock(m_mutex);
            m_jobs.push_back(std::move(job));
        }
        m_wake.notify_one();
    }
    void stop() {
        {
            std::lock_guard lock(m_mutex);
            m_stopping = true;
        }
        m_wake.notify_all();
        for (auto& t : m_threads) t.join();
        m_threads.clear();
    }

private:
    void work() {
        for (;;) {
            std::function<void()> job;
            {
                std::unique_lock lock(m_mutex);
                m_wake.wait(lock, [this] { return m_stopping || !m_jobs.empty(); });
                if (m_jobs.empty()) return;
                job = std::move(m_jobs.front());
                m_jobs.pop_front();
            }
            job();
        }
    }
    std::mutex m_mutex;
    std::condition_variable m_wake;
    std::deque<std::function<void()>> m_jobs;
    std::vector<std::thread> m_threads;
    bool m_stopping = false;
};

/// What a connection is doing, for choosing whom to close under pressure and at stop.
enum class Phase { Starting, Idle, Reading, Busy };

class ConnectionBase {
public:
    virtual ~ConnectionBase() = default;
    /// Closes the socket from any thread (posts to the connection's strand).
    virtual void closeSoon() = 0;
    std::atomic<Phase> phase{Phase::Starting};
    std::atomic<std::int64_t> idleSinceMs{0};
    std::string address;
    bool evicting = false;   ///< guarded by the registry's mutex
};

/// Open connections by address, with the caps; thread-safe.
class Registry {
public:
    Registry(int maxTotal, int maxPerAddress, Metrics* metrics)
        : m_maxTotal(maxTotal), m_maxPerAddress(maxPerAddress), m_metrics(metrics) {}

    /// Counts a connection event in /metrics (the main listener's only).
    void count(const char* outcome) {
        if (m_metrics) m_metrics->countConnection(outcome);
    }

    /// Admits a new connection from `address`, closing the longest-idle kept-alive one if the
    /// total is reached; false: refuse it.
    bool admit(const std::string& address) {
        std::lock_guard lock(m_mutex);
        if (m_stopping) return false;
        auto& perAddress = m_byAddress[address];
        if (m_maxPerAddress > 0 && perAddress >= m_maxPerAddress) {
            if (perAddress == 0) m_byAddress.erase(address);
            count("refused_per_address");
            return false;
        }
        if (m_total - m_evicting >= m_maxTotal) {
            ConnectionBase* oldest = nullptr;
            for (ConnectionBase* c : m_all)
                if (!c->evicting && c->phase == Phase::Idle &&
                    (!oldest || c->idleSinceMs.load() < oldest->idleSinceMs.load()))
                    oldest = c;
            if (!oldest) {
                if (perAddress == 0) m_byAddress.erase(address);
                count("refused_total");
                return false;
            }
            oldest->evicting = true;
            ++m_evicting;
            count("closed_idle_for_new");
            oldest->closeSoon();
        }
        ++perAddress;
        ++m_total;
        count("accepted");
        if (m_metrics) m_metrics->addOpenConnections(1);
        return true;
    }
    void add(ConnectionBase* c) {
        std::lock_guard lock(m_mutex);
        m_all.insert(c);
    }
    void remove(ConnectionBase* c) {
        std::lock_guard lock(m_mutex);
        m_all.erase(c);
        if (c->evicting) --m_evicting;
        if (--m_byAddress[c->address] <= 0) m_byAddress.erase(c->address);
        --m_total;
        if (m_metrics) m_metrics->addOpenConnections(-1);
        if (m_total == 0) m_empty.notify_all();
    }
    /// Closes every connection that has no request in flight; the rest close after their reply.
    void stopAll() {
        std::lock_guard lock(m_mutex);
        m_stopping = true;
        for (ConnectionBase* c : m_all)
            if (c->phase != Phase::Busy) c->closeSoon();
    }
    bool stopping() {
        std::lock_guard lock(m_mutex);
        return m_stopping;
    }
    /// Waits until no connection is open, at most `timeout`.
    bool waitEmpty(std::chrono::milliseconds timeout) {
        std::unique_lock lock(m_mutex);
        return m_empty.wait_for(lock, timeout, [this] { return m_total == 0; });
    }

private:
    const int m_maxTotal, m_maxPerAddress;
    std::mutex m_mutex;
    std::condition_variable m_empty;
    std::set<ConnectionBase*> m_all;
    std::map<std::string, int> m_byAddress;
    int m_total = 0, m_evicting = 0;
    bool m_stopping = false;
    Metrics* m_metrics;
};

/// What every connection of one listener shares.
struct Listener {
    Router& router;
    WorkPool& pool;
    Registry& registry;
    const ConnectionLimits& limits;
    bool ops = false;
};

using TlsStream = beast::ssl_stream<beast::tcp_stream>;
using PlainStream = beast::tcp_stream;

template <typename Stream>
class Connection : public ConnectionBase, public std::enable_shared_from_this<Connection<Stream>> {
public:
    template <typename... Args>
    Connection(const Listener& listener, std::string remote, Args&&... args)
        : m_listener(listener), m_stream(std::forward<Args>(args)...), m_buffer(kReadBufferLimit) {
        address = std::move(remote);
        m_listener.registry.add(this);
    }
    ~Connection() override { m_listener.registry.remove(this); }

    void start() {
        lowest().expires_after(std::chrono::seconds(m_listener.limits.headerDeadlineS));
        if constexpr (std::is_same_v<Stream, TlsStream>) {
            m_stream.async_handshake(ssl::stream_base::server,
                                     beast::bind_front_handler(&Connection::onHandshake, this->shared_from_this()));
        } else {
            readHeader();
        }
    }

    void closeSoon() override {
        net::post(lowest().get_executor(), [self = this->shared_from_this()] { self->closeNow(); });
    }

private:
    beast::tcp_stream& lowest() { return beast::get_lowest_layer(m_stream); }

    void closeNow() {
        beast::error_code ec;
        lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
        lowest().close();
    }

    void onHandshake(beast::error_code ec) {
        if (ec == beast::error::timeout) m_listener.registry.count("header_deadline");
        if (ec) return closeNow();
        readHeader();
    }

    /// The next request: after a reply, wait up to the keep-alive time for its first byte, then
    /// give its headers the whole deadline.
    void nextRequest() {
        if (m_listener.registry.stopping()) return closeNow();
        if (m_buffer.size() > 0) {
            lowest().expires_after(std::chrono::seconds(m_listener.limits.headerDeadlineS));
            return readHeader();
        }
        idleSinceMs = monotonicMs();
        phase = Phase::Idle;
        lowest().expires_after(std::chrono::seconds(kKeepAliveS));
        m_stream.async_read_some(m_buffer.prepare(4096), [self = this->shared_from_this()](beast::error_code ec,
                                                                                           std::size_t n) {
            if (ec) return self->closeNow();
            self->m_buffer.commit(n);
            self->lowest().expires_after(std::chrono::seconds(self->m_listener.limits.headerDeadlineS));
            self->readHeader();
        });
    }

    void readHeader() {
        phase = Phase::Reading;
        m_parser.emplace();
        m_parser->header_limit(static_cast<std::uint32_t>(m_listener.limits.maxHeaderBytes));
        m_parser->body_limit(std::numeric_limits<std::uint64_t>::max());
        m_started = SteadyClock::now();
        http::async_read_header(m_stream, m_buffer, *m_parser,
                                beast::bind_front_handler(&Connection::onHeader, this->shared_from_this()));
    }

    void onHeader(beast::error_code ec, std::size_t) {
        m_request = HttpRequest{};
        m_request.remoteAddress = address;
        m_request.opsListener = m_listener.ops;
        if (ec == http::error::header_limit) return refuse(431, "the request headers are larger than " +
                                                                    std::to_string(m_listener.limits.maxHeaderBytes) + " bytes");
        if (ec == beast::error::timeout) m_listener.registry.count("header_deadline");
        if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == net::error::eof ||
            ec == net::error::connection_reset || ec == net::error::operation_aborted || ec == net::error::bad_descriptor ||
            ec == ssl::error::stream_truncated)
            return closeNow();
        if (ec) return refuse(400, "the request could not be parsed: " + ec.message());
        const auto& msg = m_parser->get();
        std::size_t fields = 0;
        for (auto it = msg.begin(); it != msg.end(); ++it) ++fields;
        if (fields > static_cast<std::size_t>(m_listener.limits.maxHeaderFields))
            return refuse(431, "more than " + std::to_string(m_listener.limits.maxHeaderFields) + " request headers");
        if (msg.target().size() > kMaxTargetBytes) return refuse(414, "the request target is too long");
        m_request.method = std::string(msg.method_string());
        m_request.target = std::string(msg.target());
        const auto q = m_request.target.find('?');
        m_request.path = percentDecode(std::string_view(m_request.target).substr(0, q), false);
        if (q != std::string::npos) m_request.params = parseQuery(std::string_view(m_request.target).substr(q + 1));
        for (const auto& f : msg) m_request.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
        m_keepAlive = msg.keep_alive();
        m_version = msg.version();

        if (m_parser->is_done()) return dispatch();
        if (const auto length = m_parser->content_length(); length && *length > kDrainLimit) {
            m_request.bodyCut = true;
            return dispatch();
        }
        m_windowBytes = 0;
        lowest().expires_after(std::chrono::seconds(m_listener.limits.bodyWindowS));
        if (beast::iequals(msg[http::field::expect], "100-continue")) {
            static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
            return net::async_write(m_stream, net::buffer(kContinue),
                                    [self = this->shared_from_this()](beast::error_code e, std::size_t) {
                                        if (e) return self->closeNow();
                                        self->readBody();
                                    });
        }
        readBody();
    }

    void readBody() {
        // Only a connection that is reading a body holds this buffer.
        if (m_chunk.empty()) m_chunk.resize(kBodyChunkBytes);
        m_parser->get().body().data = m_chunk.data();
        m_parser->get().body().size = m_chunk.size();
        http::async_read(m_stream, m_buffer, *m_parser,
                         beast::bind_front_handler(&Connection::onBody, this->shared_from_this()));
    }

    void onBody(beast::error_code ec, std::size_t) {
        if (ec == http::error::need_buffer) ec = {};
        if (ec == beast::error::timeout) m_listener.registry.count("body_too_slow");
        if (ec) {
            if (ec == beast::error::timeout || ec == net::error::eof || ec == http::error::end_of_stream ||
                ec == net::error::connection_reset || ec == net::error::operation_aborted ||
                ec == http::error::partial_message || ec == ssl::error::stream_truncated)
                return closeNow();
            return refuse(400, "the request body could not be read: " + ec.message());
        }
        const std::size_t n = m_chunk.size() - m_parser->get().body().size;
        m_bodyBytes += n;
        if (!m_request.bodyTooLarge) {
            if (m_request.body.size() + n > wire::kMaxBodyBytes) {
                m_request.bodyTooLarge = true;
                std::string().swap(m_request.body);
            } else {
                m_request.body.append(m_chunk.data(), n);
            }
        }
        if (m_parser->is_done()) return dispatch();
        if (m_bodyBytes > kDrainLimit) {
            m_request.bodyCut = true;
            return dispatch();
        }
        // The minimum rate: each window must bring enough bytes, or the connection closes.
        m_windowBytes += n;
        if (m_windowBytes >= m_listener.limits.minBodyBytesPerWindow) {
            m_windowBytes = 0;
            lowest().expires_after(std::chrono::seconds(m_listener.limits.bodyWindowS));
        }
        readBody();
    }

    /// A reply without routing (the request could not be read); the connection closes after it.
    void refuse(int status, const std::string& message) {
        phase = Phase::Busy;
        m_keepAlive = false;
        m_version = 11;
        HttpResponse res = m_listener.router.refuse(status, message);
        m_listener.router.log(m_request, res, elapsedMs(), monotonicMs());
        write(std::move(res));
    }

    double elapsedMs() const {
        return std::chrono::duration<double, std::milli>(SteadyClock::now() - m_started).count();
    }

    void dispatch() {
        phase = Phase::Busy;
        lowest().expires_never();
        m_parser.reset();
        std::vector<char>().swap(m_chunk);
        m_listener.pool.post([self = this->shared_from_this()] {
            HttpResponse res = self->m_listener.router.handle(self->m_request);
            self->m_listener.router.log(self->m_request, res, self->elapsedMs(), monotonicMs());
            // Compressed here, on the handler thread, as httplib did for clients that accept it.
            if (acceptsGzip(self->m_request) && !res.stream && !res.body.empty() &&
                self->m_request.method != "HEAD" && compressible(res.header("Content-Type"))) {
                if (auto packed = wire::gzip(res.body, res.gzipLevel)) {
                    res.body = std::move(*packed);
                    res.setHeader("Content-Encoding", "gzip");
                }
            }
            std::string().swap(self->m_request.body);
            net::post(self->lowest().get_executor(), [self, res = std::move(res)]() mutable {
                self->write(std::move(res));
            });
        });
    }

    template <typename Message>
    void setHeaders(Message& m, const HttpResponse& res, bool keepAlive) {
        m.result(static_cast<unsigned>(res.status));
        m.version(m_version);
        for (const auto& [k, v] : res.headers) m.insert(k, v);
        m.keep_alive(keepAlive);
        if (keepAlive && m_version == 11)
            m.set(http::field::keep_alive, "timeout=" + std::to_string(kKeepAliveS) + ", max=" +
                                               std::to_string(kMaxRequestsPerConnection - m_served));
    }

    void write(HttpResponse res) {
        ++m_served;
        const bool keepAlive = m_keepAlive && !res.close && m_served < kMaxRequestsPerConnection &&
                               !m_listener.registry.stopping();
        lowest().expires_after(std::chrono::seconds(m_listener.limits.writeTimeoutS));
        if (res.stream) return writeStreamed(std::move(res), keepAlive);
        const bool head = m_request.method == "HEAD";
        auto reply = std::make_shared<http::response<http::string_body>>();
        setHeaders(*reply, res, keepAlive);
        const std::size_t length = res.body.size();
        if (!head) reply->body() = std::move(res.body);
        reply->prepare_payload();
        if (head) reply->content_length(length);
        auto serializer = std::make_shared<http::response_serializer<http::string_body>>(*reply);
        auto done = [self = this->shared_from_this(), reply, serializer, keepAlive](beast::error_code ec, std::size_t) {
            self->afterReply(ec, keepAlive);
        };
        if (head) http::async_write_header(m_stream, *serializer, std::move(done));
        else http::async_write(m_stream, *serializer, std::move(done));
    }

    void afterReply(beast::error_code ec, bool keepAlive) {
        if (ec || !keepAlive) return closeNow();
        nextRequest();
    }

    /// A chunked reply whose pieces a handler thread makes one at a time: flat memory however
    /// long, and the I/O thread never waits on storage.
    void writeStreamed(HttpResponse res, bool keepAlive) {
        auto reply = std::make_shared<http::response<http::empty_body>>();
        setHeaders(*reply, res, keepAlive);
        reply->chunked(true);
        auto serializer = std::make_shared<http::response_serializer<http::empty_body>>(*reply);
        auto producer = std::make_shared<std::function<StreamStep(std::string&)>>(std::move(res.stream));
        http::async_write_header(m_stream, *serializer,
                                 [self = this->shared_from_this(), reply, serializer, producer,
                                  keepAlive](beast::error_code ec, std::size_t) {
                                     if (ec) return self->closeNow();
                                     if (self->m_request.method == "HEAD") return self->afterReply(ec, false);
                                     self->nextChunk(producer, keepAlive);
                                 });
    }

    void nextChunk(std::shared_ptr<std::function<StreamStep(std::string&)>> producer, bool keepAlive) {
        m_listener.pool.post([self = this->shared_from_this(), producer, keepAlive] {
            auto piece = std::make_shared<std::string>();
            const StreamStep step = (*producer)(*piece);
            net::post(self->lowest().get_executor(), [self, producer, piece, step, keepAlive] {
                self->sendChunk(producer, piece, step, keepAlive);
            });
        });
    }

    void sendChunk(std::shared_ptr<std::function<StreamStep(std::string&)>> producer, std::shared_ptr<std::string> piece,
                   StreamStep step, bool keepAlive) {
        if (step == StreamStep::Abort) return closeNow();
        lowest().expires_after(std::chrono::seconds(m_listener.limits.writeTimeoutS));
        auto then = [self = this->shared_from_this(), producer, piece, step, keepAlive](beast::error_code ec, std::size_t) {
            if (ec) return self->closeNow();
            if (step == StreamStep::More) return self->nextChunk(producer, keepAlive);
            self->lowest().expires_after(std::chrono::seconds(self->m_listener.limits.writeTimeoutS));
            net::async_write(self->m_stream, http::make_chunk_last(),
                             [self, keepAlive](beast::error_code e, std::size_t) { self->afterReply(e, keepAlive); });
        };
        if (piece->empty()) return then({}, 0);
        net::async_write(m_stream, http::make_chunk(net::buffer(*piece)), std::move(then));
    }

    const Listener& m_listener;
    Stream m_stream;
    beast::flat_buffer m_buffer;
    std::optional<http::request_parser<http::buffer_body>> m_parser;
    std::vector<char> m_chunk;
    HttpRequest m_request;
    SteadyClock::time_point m_started = SteadyClock::now();
    std::uint64_t m_bodyBytes = 0;
    std::size_t m_windowBytes = 0;
    bool m_keepAlive = false;
    unsigned m_version = 11;
    int m_served = 0;
};

std::string addressOf(const tcp::endpoint& e) {
    auto a = e.address();
    if (a.is_v6() && a.to_v6().is_v4_mapped()) a = net::ip::make_address_v4(net::ip::v4_mapped, a.to_v6());
    return a.to_string();
}

} // namespace

struct HqServer::Impl {
    Impl(Router& router, const ServerOptions& options)
        : options(options),
          registry(options.limits.maxConnections, options.limits.maxPerAddress, &router.metrics()),
          opsRegistry(kOpsMaxConnections, 0, nullptr),
          main{router, pool, registry, options.limits, false},
          ops{router, opsPool, opsRegistry, options.limits, true} {}

    // Declared so that the I/O context (whose pending handlers own the connections) goes
    // before the registries and pools the connections report to.
    const ServerOptions& options;
    WorkPool pool, opsPool;
    Registry registry, opsRegistry;
    Listener main, ops;
    std::atomic<bool> stopRequested{false};
    std::mutex stopMutex;
    std::condition_variable stopWake;
    int opsPortBound = 0;
    std::optional<ssl::context> tls;
    net::io_context ioc{kIoThreads};
    tcp::acceptor mainAcceptor{ioc};
    tcp::acceptor opsAcceptor{ioc};
    net::steady_timer logTimer{ioc};

    void accept(tcp::acceptor& acceptor, Listener& listener) {
        acceptor.async_accept(net::make_strand(ioc), [this, &acceptor, &listener](beast::error_code ec, tcp::socket socket) {
            if (ec == net::error::operation_aborted || !acceptor.is_open()) return;
            if (ec) {
                // Out of descriptors (or memory): wait a little rather than spin.
                spdlog::warn("accept: {}", ec.message());
                auto timer = std::make_shared<net::steady_timer>(ioc, std::chrono::milliseconds(100));
                timer->async_wait([this, &acceptor, &listener, timer](beast::error_code) { accept(acceptor, listener); });
                return;
            }
            serve(std::move(socket), listener);
            accept(acceptor, listener);
        });
    }

    void serve(tcp::socket socket, Listener& listener) {
        beast::error_code ec;
        const auto remote = socket.remote_endpoint(ec);
        if (ec) return;
        const std::string address = addressOf(remote);
        // Refused at once, never queued: the client sees the close now, not a timeout later.
        if (!listener.registry.admit(address)) {
            socket.close(ec);
            return;
        }
        socket.set_option(tcp::no_delay(true), ec);
        if (tls && !listener.ops) {
            auto c = std::make_shared<Connection<TlsStream>>(listener, address, std::move(socket), *tls);
            c->start();
        } else {
            auto c = std::make_shared<Connection<PlainStream>>(listener, address, std::move(socket));
            c->start();
        }
    }

    void tickLog(Router& router) {
        logTimer.expires_after(std::chrono::seconds(1));
        logTimer.async_wait([this, &router](beast::error_code ec) {
            if (ec) return;
            router.flushLog(monotonicMs());
            tickLog(router);
        });
    }
};

namespace {

/// Opens, binds and listens on HOST:PORT (the first address HOST resolves to that binds).
std::optional<std::string> listenOn(net::io_context& ioc, tcp::acceptor& acceptor, const std::string& host, int port) {
    tcp::resolver resolver(ioc);
    beast::error_code ec;
    const auto results = resolver.resolve(host, std::to_string(port), tcp::resolver::passive, ec);
    if (ec) return "cannot resolve " + host + ": " + ec.message();
    std::string why = "no address";
    for (const auto& entry : results) {
        acceptor.close(ec);
        acceptor.open(entry.endpoint().protocol(), ec);
        if (ec) {
            why = ec.message();
            continue;
        }
        // SO_REUSEADDR allows a quick restart; SO_REUSEPORT is never set, so a second server
        // cannot bind the same port and silently take half the traffic.
        acceptor.set_option(net::socket_base::reuse_address(true), ec);
        if (ec) spdlog::warn("SO_REUSEADDR: {} (a restart may have to wait for TIME_WAIT)", ec.message());
        acceptor.bind(entry.endpoint(), ec);
        if (!ec) acceptor.listen(kListenBacklog, ec);
        if (!ec) return std::nullopt;
        why = ec.message();
    }
    acceptor.close(ec);
    return why;
}

/// Raises the descriptor limit to the hard one; returns the soft limit then in force.
rlim_t raiseFileLimit() {
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return 1024;
    if (lim.rlim_cur < lim.rlim_max) {
        rlimit raised = lim;
        raised.rlim_cur = lim.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0) return raised.rlim_cur;
    }
    return lim.rlim_cur;
}

} // namespace

HqServer::HqServer(Storage& storage, const core::Clock& clock, ServerOptions options)
    : m_options(std::move(options)), m_router(storage, clock, [&] {
          RouterOptions r = m_options.router;
          r.tls = m_options.certFile && m_options.keyFile;
          return r;
      }()) {}

HqServer::~HqServer() = default;

std::expected<int, BindError> HqServer::bind() {
    // Every connection costs a descriptor (two while a database file is open per thread): take
    // what the hard limit allows, and keep the connection cap below it.
    const rlim_t files = raiseFileLimit();
    const auto reserve = static_cast<rlim_t>(m_options.threads) + kOpsMaxConnections + 64;
    if (files != RLIM_INFINITY && static_cast<rlim_t>(m_options.limits.maxConnections) + reserve > files) {
        const int capped = files > reserve ? static_cast<int>(files - reserve) : 16;
        spdlog::warn("the descriptor limit is {}: at most {} connections instead of {}", files, capped,
                     m_options.limits.maxConnections);
        m_options.limits.maxConnections = capped;
    }
    m_impl = std::make_unique<Impl>(m_router, m_options);
    Impl& s = *m_impl;
    if (m_options.certFile && m_options.keyFile) {
        s.tls.emplace(ssl::context::tls_server);
        SSL_CTX* ctx = s.tls->native_handle();
        const bool loaded = SSL_CTX_use_certificate_chain_file(ctx, m_options.certFile->c_str()) == 1 &&
                            SSL_CTX_use_PrivateKey_file(ctx, m_options.keyFile->c_str(), SSL_FILETYPE_PEM) == 1 &&
                            SSL_CTX_check_private_key(ctx) == 1;
        if (!loaded)
            return std::unexpected(BindError{true, "cannot load TLS certificate " + *m_options.certFile +
                                                       " with key " + *m_options.keyFile});
        SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
        SSL_CTX_set_cipher_list(ctx, kTls12Ciphers);
        SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
        SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    }
    if (const auto why = listenOn(s.ioc, s.mainAcceptor, m_options.host, m_options.port))
        return std::unexpected(BindError{false, "cannot listen on " + m_options.host + ":" +
                                                    std::to_string(m_options.port) + ": " + *why});
    const int port = s.mainAcceptor.local_endpoint().port();
    if (m_options.opsHost) {
        if (const auto why = listenOn(s.ioc, s.opsAcceptor, *m_options.opsHost, m_options.opsPort))
            return std::unexpected(BindError{false, "cannot listen on " + *m_options.opsHost + ":" +
                                                        std::to_string(m_options.opsPort) + " (--ops-listen): " + *why});
        s.opsPortBound = s.opsAcceptor.local_endpoint().port();
    }
    return port;
}

int HqServer::opsPort() const { return m_impl ? m_impl->opsPortBound : 0; }

bool HqServer::run() {
    Impl& s = *m_impl;
    // The server's threads, started below, inherit this thread's timer slack: the deadlines of
    // thousands of connections may then be batched by the kernel (a few ms late is harmless).
    if (prctl(PR_SET_TIMERSLACK, kRequestTimerSlackNs) != 0)
        spdlog::warn("PR_SET_TIMERSLACK: {} (timers will cost more wakeups)", std::strerror(errno));
    if (s.stopRequested) return true;
    s.pool.start(m_options.threads);
    s.opsPool.start(1);
    s.accept(s.mainAcceptor, s.main);
    if (s.opsAcceptor.is_open()) s.accept(s.opsAcceptor, s.ops);
    s.tickLog(m_router);
    auto work = net::make_work_guard(s.ioc);
    std::vector<std::thread> io;
    for (int i = 0; i < kIoThreads; ++i) io.emplace_back([&s] { s.ioc.run(); });
    {
        std::unique_lock lock(s.stopMutex);
        s.stopWake.wait(lock, [&s] { return s.stopRequested.load(); });
    }
    // Stop accepting, close what waits for a request, let the replies in flight finish.
    net::post(s.ioc, [&s] {
        beast::error_code ec;
        s.mainAcceptor.close(ec);
        s.opsAcceptor.close(ec);
        s.logTimer.cancel();
    });
    s.registry.stopAll();
    s.opsRegistry.stopAll();
    if (!s.registry.waitEmpty(std::chrono::seconds(30)))
        spdlog::warn("connections still open after 30 s; closing them");
    s.opsRegistry.waitEmpty(std::chrono::seconds(5));
    s.pool.stop();
    s.opsPool.stop();
    work.reset();
    s.ioc.stop();
    for (auto& t : io) t.join();
    m_router.flushLog(std::numeric_limits<std::int64_t>::max());
    return true;
}

void HqServer::stop() {
    if (!m_impl) return;
    {
        std::lock_guard lock(m_impl->stopMutex);
        m_impl->stopRequested = true;
    }
    m_impl->stopWake.notify_all();
}

} // namespace segue::hq
