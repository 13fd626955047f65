// Fault-injecting HTTPS proxy for the sync end-to-end tests: terminates TLS with HQ's own
// certificate, forwards each request to segue-hq over verified TLS, and on command breaks the
// exchange the way real networks do (silence, resets, cut bodies, lost replies, 5xx).
//
//   fault_proxy --listen 127.0.0.1:0 --upstream 127.0.0.1:PORT --cert cert.pem --key key.pem
//               --ca cert.pem [--upstream-name localhost] --port-file FILE
//
// FILE receives "LISTEN_PORT CONTROL_PORT\n" once both sockets listen (ports are picked by the
// kernel, so parallel test runs never collide). The control port takes one command a line:
//   mode pass | blackhole | reset N | cut N | delay MS | drop-reply | status CODE [RETRY_AFTER_S]
//        | hold-request N | hold-reply          (optional trailing "times=K": then back to pass)
//   stats        -> "requests=.. forwarded=.. replies=.. dropped=.. held=.. answered=.. ..."
//   quit
// Modes apply per request, so a keep-alive connection follows a mode change.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

enum class Kind { Pass, Blackhole, Reset, Cut, Delay, DropReply, Status, HoldRequest, HoldReply };

struct Mode {
    Kind kind = Kind::Pass;
    long long arg = 0;
    long long arg2 = 0;
    long long times = -1;   ///< requests left under this mode; -1 = until changed
};

std::mutex g_modeMutex;
Mode g_mode;
std::atomic<unsigned long long> g_modeGen{0};
std::atomic<bool> g_stop{false};

struct Stats {
    std::atomic<long long> connections{0}, requests{0}, forwarded{0}, replies{0}, dropped{0},
        held{0}, answered{0}, upstreamFailures{0}, broken{0}, blackholed{0};
} g_stats;

struct Options {
    std::string listenHost = "127.0.0.1";
    int listenPort = 0;
    std::string upstreamHost = "127.0.0.1";
    int upstreamPort = 0;
    std::string upstreamName = "localhost";
    std::string cert, key, ca, portFile;
};

/// Takes the mode for one request, counting down a limited mode.
Mode takeMode() {
    std::lock_guard lock(g_modeMutex);
    Mode m = g_mode;
    if (g_mode.times > 0 && --g_mode.times == 0) {
        g_mode = Mode{};
        ++g_modeGen;
    }
    return m;
}

bool splitHostPort(const std::string& s, std::string& host, int& port) {
    const auto colon = s.rfind(':');
    if (colon == std::string::npos) return false;
    host = s.substr(0, colon);
    const char* b = s.data() + colon + 1;
    const char* e = s.data() + s.size();
    return std::from_chars(b, e, port).ec == std::errc{} && port >= 0 && port < 65536;
}

void setTimeouts(int fd, int seconds) {
    timeval tv{seconds, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

/// Closes with RST instead of FIN: the peer sees "connection reset".
void resetFd(int fd) {
    linger l{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    close(fd);
}

/// One TLS endpoint with its read buffer.
struct Tls {
    int fd = -1;
    SSL* ssl = nullptr;
    std::string buf;

    Tls() = default;
    Tls(const Tls&) = delete;
    Tls& operator=(const Tls&) = delete;
    ~Tls() { closeHard(); }

    bool open() const { return ssl != nullptr; }
    void closeHard() {
        if (ssl) { SSL_free(ssl); ssl = nullptr; }
        if (fd >= 0) { resetFd(fd); fd = -1; }
        buf.clear();
    }
    void closeClean() {
        if (ssl) { SSL_shutdown(ssl); SSL_free(ssl); ssl = nullptr; }
        if (fd >= 0) { close(fd); fd = -1; }
        buf.clear();
    }
    /// Appends what arrives to buf; false on EOF or error.
    bool readSome() {
        char tmp[16384];
        const int n = SSL_read(ssl, tmp, sizeof tmp);
        if (n <= 0) return false;
        buf.append(tmp, static_cast<std::size_t>(n));
        return true;
    }
    bool writeAll(std::string_view data) {
        while (!data.empty()) {
            const int n = SSL_write(ssl, data.data(), static_cast<int>(data.size()));
            if (n <= 0) return false;
            data.remove_prefix(static_cast<std::size_t>(n));
        }
        return true;
    }
};

std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

std::optional<std::string> header(const std::string& head, const std::string& name) {
    std::istringstream in(head);
    std::string line;
    const std::string want = lower(name) + ":";
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (lower(line.substr(0, want.size())) == want) {
            std::string v = line.substr(want.size());
            while (!v.empty() && v.front() == ' ') v.erase(v.begin());
            return v;
        }
    }
    return std::nullopt;
}

struct Message {
    std::string raw;    ///< exactly the bytes received
    std::string head;   ///< start line + headers
    int status = 0;     ///< responses only
};

/// Reads one whole HTTP/1.1 message (Content-Length, chunked, or, for responses, to EOF).
std::optional<Message> readMessage(Tls& c, bool isResponse) {
    std::size_t headEnd;
    while ((headEnd = c.buf.find("\r\n\r\n")) == std::string::npos) {
        if (c.buf.size() > 64 * 1024 || !c.readSome()) return std::nullopt;
    }
    Message m;
    m.head = c.buf.substr(0, headEnd + 2);
    std::size_t pos = headEnd + 4;
    if (isResponse) {
        const auto sp = m.head.find(' ');
        if (sp == std::string::npos) return std::nullopt;
        m.status = std::atoi(m.head.c_str() + sp + 1);
    }
    const auto te = header(m.head, "Transfer-Encoding");
    const auto cl = header(m.head, "Content-Length");
    if (te && lower(*te).find("chunked") != std::string::npos) {
        for (;;) {
            std::size_t lineEnd;
            while ((lineEnd = c.buf.find("\r\n", pos)) == std::string::npos)
                if (!c.readSome()) return std::nullopt;
            const unsigned long size = std::strtoul(c.buf.c_str() + pos, nullptr, 16);
            const std::size_t need = lineEnd + 2 + size + 2;
            while (c.buf.size() < need) if (!c.readSome()) return std::nullopt;
            pos = need;
            if (size == 0) break;
        }
    } else if (cl) {
        const std::size_t need = pos + std::strtoull(cl->c_str(), nullptr, 10);
        while (c.buf.size() < need) if (!c.readSome()) return std::nullopt;
        pos = need;
    } else if (isResponse && m.status >= 200 && m.status != 204 && m.status != 304) {
        while (c.readSome()) {}
        pos = c.buf.size();
    }
    m.raw = c.buf.substr(0, pos);
    c.buf.erase(0, pos);
    return m;
}

int connectTcp(const std::string& host, int port) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET, host.c_str(), &a.sin_addr) != 1 ||
        connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        close(fd);
        return -1;
    }
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setTimeouts(fd, 120);
    return fd;
}

bool connectUpstream(Tls& up, SSL_CTX* ctx, const Options& o) {
    up.fd = connectTcp(o.upstreamHost, o.upstreamPort);
    if (up.fd < 0) return false;
    up.ssl = SSL_new(ctx);
    if (!up.ssl) return false;
    SSL_set_fd(up.ssl, up.fd);
    SSL_set_tlsext_host_name(up.ssl, o.upstreamName.c_str());
    if (SSL_set1_host(up.ssl, o.upstreamName.c_str()) != 1) return false;
    return SSL_connect(up.ssl) == 1;
}

enum class WaitEnd { ModeChanged, ClientGone, Stopping };

/// Holds a request or reply until the test changes the mode or the client goes away.
WaitEnd waitForChange(unsigned long long gen, Tls& client) {
    for (;;) {
        if (g_stop) return WaitEnd::Stopping;
        if (g_modeGen.load() != gen) return WaitEnd::ModeChanged;
        pollfd p{client.fd, POLLIN | POLLRDHUP, 0};
        const int r = poll(&p, 1, 20);
        if (r > 0) {
            if (p.revents & (POLLHUP | POLLRDHUP | POLLERR)) return WaitEnd::ClientGone;
            char b;
            const ssize_t n = recv(client.fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
            if (n == 0) return WaitEnd::ClientGone;
            if (n > 0 && !client.readSome()) return WaitEnd::ClientGone;
        }
    }
}

std::string statusReply(int code, long long retryAfterS) {
    const char* reason = code == 500 ? "Internal Server Error" : code == 503 ? "Service Unavailable"
                       : code == 429 ? "Too Many Requests" : code == 413 ? "Payload Too Large"
                       : code == 408 ? "Request Timeout" : "Injected";
    const std::string body = std::string(R"({"error":"injected","message":"fault proxy answered )") +
                             std::to_string(code) + "\"}";
    std::string r = "HTTP/1.1 " + std::to_string(code) + " " + reason + "\r\n" +
                    "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
    if (retryAfterS >= 0) r += "Retry-After: " + std::to_string(retryAfterS) + "\r\n";
    return r + "\r\n" + body;
}

void serveClient(int fd, SSL_CTX* serverCtx, SSL_CTX* clientCtx, const Options& o) {
    ++g_stats.connections;
    Tls client;
    client.fd = fd;
    setTimeouts(fd, 120);
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    client.ssl = SSL_new(serverCtx);
    if (!client.ssl) return;
    SSL_set_fd(client.ssl, fd);
    if (SSL_accept(client.ssl) != 1) return;   // the client refused our certificate, etc.

    for (;;) {
        auto request = readMessage(client, false);
        if (!request) { client.closeClean(); return; }
        ++g_stats.requests;
        const unsigned long long gen = g_modeGen.load();
        const Mode mode = takeMode();

        if (mode.kind == Kind::Status) {
            ++g_stats.answered;
            if (!client.writeAll(statusReply(static_cast<int>(mode.arg), mode.arg2))) return;
            continue;
        }
        if (mode.kind == Kind::Blackhole) {
            ++g_stats.blackholed;
            ++g_stats.held;
            waitForChange(gen, client);
            --g_stats.held;
            return;   // client.closeHard() in the destructor
        }
        if (mode.kind == Kind::Delay)
            std::this_thread::sleep_for(std::chrono::milliseconds(mode.arg));

        Tls up;
        if (!connectUpstream(up, clientCtx, o)) {
            ++g_stats.upstreamFailures;
            return;   // reset the client: HQ is unreachable
        }
        if (mode.kind == Kind::Reset || mode.kind == Kind::Cut || mode.kind == Kind::HoldRequest) {
            const std::size_t n = std::min<std::size_t>(static_cast<std::size_t>(mode.arg), request->raw.size());
            up.writeAll(std::string_view(request->raw).substr(0, n));
            ++g_stats.broken;
            if (mode.kind == Kind::HoldRequest) {
                ++g_stats.held;
                waitForChange(gen, client);
                --g_stats.held;
            }
            if (mode.kind == Kind::Cut) { up.closeClean(); client.closeClean(); }
            return;   // Reset and HoldRequest: RST both sides
        }
        if (!up.writeAll(request->raw)) { ++g_stats.upstreamFailures; return; }
        ++g_stats.forwarded;
        auto reply = readMessage(up, true);
        if (!reply) { ++g_stats.upstreamFailures; return; }
        up.closeClean();
        if (mode.kind == Kind::DropReply) { ++g_stats.dropped; return; }
        if (mode.kind == Kind::HoldReply) {
            ++g_stats.held;
            const WaitEnd end = waitForChange(gen, client);
            --g_stats.held;
            Mode now;
            { std::lock_guard lock(g_modeMutex); now = g_mode; }
            if (end != WaitEnd::ModeChanged || now.kind != Kind::Pass) { ++g_stats.dropped; return; }
        }
        if (mode.kind == Kind::Delay)
            std::this_thread::sleep_for(std::chrono::milliseconds(mode.arg));
        if (!client.writeAll(reply->raw)) return;
        ++g_stats.replies;
        const auto conn = header(reply->head, "Connection");
        if (conn && lower(*conn) == "close") { client.closeClean(); return; }
    }
}

std::string handleCommand(const std::string& line) {
    std::istringstream in(line);
    std::string cmd;
    in >> cmd;
    if (cmd == "stats") {
        std::ostringstream out;
        out << "requests=" << g_stats.requests << " forwarded=" << g_stats.forwarded
            << " replies=" << g_stats.replies << " dropped=" << g_stats.dropped
            << " held=" << g_stats.held << " answered=" << g_stats.answered
            << " broken=" << g_stats.broken << " blackholed=" << g_stats.blackholed
            << " connections=" << g_stats.connections
            << " upstream_failures=" << g_stats.upstreamFailures;
        return out.str();
    }
    if (cmd == "quit") { g_stop = true; return "ok"; }
    if (cmd != "mode") return "error unknown command";
    std::string kind;
    in >> kind;
    Mode m;
    std::vector<std::string> args;
    for (std::string t; in >> t;) {
        if (t.rfind("times=", 0) == 0) m.times = std::atoll(t.c_str() + 6);
        else args.push_back(t);
    }
    auto num = [&](std::size_t i, long long dflt) {
        return i < args.size() ? std::atoll(args[i].c_str()) : dflt;
    };
    if (kind == "pass") m.kind = Kind::Pass;
    else if (kind == "blackhole") m.kind = Kind::Blackhole;
    else if (kind == "reset") { m.kind = Kind::Reset; m.arg = num(0, 200); }
    else if (kind == "cut") { m.kind = Kind::Cut; m.arg = num(0, 200); }
    else if (kind == "delay") { m.kind = Kind::Delay; m.arg = num(0, 500); }
    else if (kind == "drop-reply") m.kind = Kind::DropReply;
    else if (kind == "status") { m.kind = Kind::Status; m.arg = num(0, 503); m.arg2 = num(1, -1); }
    else if (kind == "hold-request") { m.kind = Kind::HoldRequest; m.arg = num(0, 200); }
    else if (kind == "hold-reply") m.kind = Kind::HoldReply;
    else return "error unknown mode " + kind;
    if (m.times == 0) return "error times must be positive";
    std::lock_guard lock(g_modeMutex);
    g_mode = m;
    return "ok gen=" + std::to_string(++g_modeGen);
}

void serveControl(int fd) {
    setTimeouts(fd, 30);
    std::string buf;
    char tmp[512];
    for (;;) {
        std::size_t nl;
        while ((nl = buf.find('\n')) == std::string::npos) {
            const ssize_t n = read(fd, tmp, sizeof tmp);
            if (n <= 0) { close(fd); return; }
            buf.append(tmp, static_cast<std::size_t>(n));
        }
        std::string line = buf.substr(0, nl);
        buf.erase(0, nl + 1);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        const std::string reply = handleCommand(line) + "\n";
        if (write(fd, reply.data(), reply.size()) != static_cast<ssize_t>(reply.size())) { close(fd); return; }
    }
}

int listenOn(const std::string& host, int port, int& boundPort) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET, host.c_str(), &a.sin_addr) != 1 ||
        bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, 64) != 0) {
        close(fd);
        return -1;
    }
    socklen_t len = sizeof a;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) { close(fd); return -1; }
    boundPort = ntohs(a.sin_port);
    return fd;
}

void onSignal(int) { g_stop = true; }

int usage(const char* why) {
    std::fprintf(stderr, "fault_proxy: %s\nusage: fault_proxy --listen HOST:PORT --upstream HOST:PORT "
                         "--cert F --key F --ca F [--upstream-name NAME] --port-file F\n", why);
    return 2;
}

} // namespace

int main(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (i + 1 >= argc) return usage(("missing value for " + a).c_str());
        const std::string v = argv[++i];
        if (a == "--listen") { if (!splitHostPort(v, o.listenHost, o.listenPort)) return usage("bad --listen"); }
        else if (a == "--upstream") { if (!splitHostPort(v, o.upstreamHost, o.upstreamPort)) return usage("bad --upstream"); }
        else if (a == "--upstream-name") o.upstreamName = v;
        else if (a == "--cert") o.cert = v;
        else if (a == "--key") o.key = v;
        else if (a == "--ca") o.ca = v;
        else if (a == "--port-file") o.portFile = v;
        else return usage(("unknown option " + a).c_str());
    }
    if (o.cert.empty() || o.key.empty() || o.ca.empty() || o.portFile.empty() || o.upstreamPort == 0)
        return usage("--upstream, --cert, --key, --ca and --port-file are required");

    signal(SIGPIPE, SIG_IGN);
    signal(SIGTERM, onSignal);
    signal(SIGINT, onSignal);

    SSL_CTX* serverCtx = SSL_CTX_new(TLS_server_method());
    SSL_CTX* clientCtx = SSL_CTX_new(TLS_client_method());
    if (!serverCtx || !clientCtx ||
        SSL_CTX_use_certificate_chain_file(serverCtx, o.cert.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(serverCtx, o.key.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_load_verify_locations(clientCtx, o.ca.c_str(), nullptr) != 1) {
        ERR_print_errors_fp(stderr);
        return usage("cannot load the TLS files");
    }
    SSL_CTX_set_verify(clientCtx, SSL_VERIFY_PEER, nullptr);

    int listenPort = 0, controlPort = 0;
    const int lfd = listenOn(o.listenHost, o.listenPort, listenPort);
    const int cfd = listenOn("127.0.0.1", 0, controlPort);
    if (lfd < 0 || cfd < 0) {
        std::fprintf(stderr, "fault_proxy: cannot listen: %s\n", std::strerror(errno));
        return 1;
    }
    {
        const std::string tmp = o.portFile + ".tmp";
        std::ofstream f(tmp);
        f << listenPort << ' ' << controlPort << '\n';
        f.close();
        if (!f || std::rename(tmp.c_str(), o.portFile.c_str()) != 0) {
            std::fprintf(stderr, "fault_proxy: cannot write %s\n", o.portFile.c_str());
            return 1;
        }
    }
    std::fprintf(stderr, "fault_proxy: listening on %s:%d, control on 127.0.0.1:%d, upstream %s:%d\n",
                 o.listenHost.c_str(), listenPort, controlPort, o.upstreamHost.c_str(), o.upstreamPort);

    while (!g_stop) {
        pollfd p[2] = {{lfd, POLLIN, 0}, {cfd, POLLIN, 0}};
        const int r = poll(p, 2, 100);
        if (r < 0 && errno != EINTR) break;
        if (r <= 0) continue;
        if (p[0].revents & POLLIN) {
            const int fd = accept(lfd, nullptr, nullptr);
            if (fd >= 0) std::thread(serveClient, fd, serverCtx, clientCtx, std::cref(o)).detach();
        }
        if (p[1].revents & POLLIN) {
            const int fd = accept(cfd, nullptr, nullptr);
            if (fd >= 0) std::thread(serveControl, fd).detach();
        }
    }
    // Held connections notice g_stop within one poll interval and reset their clients.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    close(lfd);
    close(cfd);
    return 0;
}
