#include "tests/sync/harness.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace segue::test {

namespace {

sockaddr_in loopback(const std::string& host, int port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, host.c_str(), &a.sin_addr);
    return a;
}

int connectTo(const std::string& host, int port) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    sockaddr_in a = loopback(host, port);
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        close(fd);
        return -1;
    }
    timeval tv{30, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    return fd;
}

std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

} // namespace

int freePort() {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error("socket failed");
    sockaddr_in a = loopback("127.0.0.1", 0);
    socklen_t len = sizeof a;
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
        close(fd);
        throw std::runtime_error("bind failed");
    }
    close(fd);
    return ntohs(a.sin_port);
}

bool canConnect(const std::string& host, int port) {
    const int fd = connectTo(host, port);
    if (fd < 0) return false;
    close(fd);
    return true;
}

std::string readFile(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

void writeFile(const std::filesystem::path& p, const std::string& text) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out) throw std::runtime_error("cannot write " + p.string());
}

Child Child::spawn(const std::vector<std::string>& argv, const std::filesystem::path& out,
                   const std::filesystem::path& err) {
    Child c;
    c.outPath = out;
    c.errPath = err;
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const pid_t pid = fork();
    if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    if (pid == 0) {
        const int o = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        const int e = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        const int n = open("/dev/null", O_RDONLY);
        if (o < 0 || e < 0 || n < 0) _exit(126);
        dup2(n, 0);
        dup2(o, 1);
        dup2(e, 2);
        execv(args[0], args.data());
        _exit(127);
    }
    c.m_pid = pid;
    return c;
}

Child::Child(Child&& o) noexcept
    : outPath(std::move(o.outPath)), errPath(std::move(o.errPath)), m_pid(o.m_pid), m_status(o.m_status) {
    o.m_pid = -1;
}

Child& Child::operator=(Child&& o) noexcept {
    if (this != &o) {
        if (m_pid > 0 && !m_status) { kill(m_pid, SIGKILL); waitpid(m_pid, nullptr, 0); }
        outPath = std::move(o.outPath);
        errPath = std::move(o.errPath);
        m_pid = o.m_pid;
        m_status = o.m_status;
        o.m_pid = -1;
    }
    return *this;
}

Child::~Child() {
    if (m_pid > 0 && !m_status) {
        kill(m_pid, SIGKILL);
        waitpid(m_pid, nullptr, 0);
    }
}

bool Child::running() {
    if (m_pid <= 0 || m_status) return false;
    int st = 0;
    const pid_t r = waitpid(m_pid, &st, WNOHANG);
    if (r == m_pid) {
        m_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        return false;
    }
    return true;
}

void Child::signal(int sig) {
    if (m_pid > 0 && !m_status) kill(m_pid, sig);
}

std::optional<int> Child::wait(std::chrono::milliseconds bound) {
    if (m_pid <= 0) return std::nullopt;
    eventually([&] { return !running(); }, bound);
    return m_status;
}

RunResult run(const std::vector<std::string>& argv, const std::filesystem::path& workDir,
              std::chrono::milliseconds bound) {
    static int counter = 0;
    const auto base = workDir / ("run-" + std::to_string(++counter));
    Child c = Child::spawn(argv, base.string() + ".out", base.string() + ".err");
    RunResult r;
    if (auto code = c.wait(bound)) r.code = *code;
    else {
        c.signal(SIGKILL);
        c.wait(std::chrono::seconds(10));
        r.code = -1;
    }
    r.out = readFile(base.string() + ".out");
    r.err = readFile(base.string() + ".err");
    return r;
}

std::optional<HttpReply> httpsGet(const std::string& hostName, int port, const std::string& path,
                                  const std::string& caFile, const std::string& bearer) {
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) return std::nullopt;
    std::optional<HttpReply> result;
    const int fd = connectTo("127.0.0.1", port);
    SSL* ssl = nullptr;
    do {
        if (fd < 0) break;
        if (SSL_CTX_load_verify_locations(ctx, caFile.c_str(), nullptr) != 1) break;
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
        ssl = SSL_new(ctx);
        if (!ssl) break;
        SSL_set_fd(ssl, fd);
        SSL_set_tlsext_host_name(ssl, hostName.c_str());
        if (SSL_set1_host(ssl, hostName.c_str()) != 1 || SSL_connect(ssl) != 1) break;
        std::string req = "GET " + path + " HTTP/1.1\r\nHost: " + hostName + ":" + std::to_string(port) +
                          "\r\nConnection: close\r\n";
        if (!bearer.empty()) req += "Authorization: Bearer " + bearer + "\r\n";
        req += "\r\n";
        if (SSL_write(ssl, req.data(), static_cast<int>(req.size())) != static_cast<int>(req.size())) break;
        std::string raw;
        char buf[16384];
        for (;;) {
            const int n = SSL_read(ssl, buf, sizeof buf);
            if (n <= 0) break;
            raw.append(buf, static_cast<std::size_t>(n));
        }
        const auto headEnd = raw.find("\r\n\r\n");
        if (headEnd == std::string::npos) break;
        HttpReply reply;
        std::istringstream head(raw.substr(0, headEnd));
        std::string line;
        std::getline(head, line);
        if (line.size() < 12) break;
        reply.status = std::atoi(line.c_str() + 9);
        while (std::getline(head, line)) {
            if (!line.empty() && line.back() == '\r') line.pop_back();
            const auto colon = line.find(':');
            if (colon == std::string::npos) continue;
            std::string v = line.substr(colon + 1);
            while (!v.empty() && v.front() == ' ') v.erase(v.begin());
            reply.headers[lower(line.substr(0, colon))] = v;
        }
        std::string body = raw.substr(headEnd + 4);
        if (lower(reply.headers["transfer-encoding"]).find("chunked") != std::string::npos) {
            std::string out;
            std::size_t pos = 0;
            bool complete = false;
            while (pos < body.size()) {
                const auto eol = body.find("\r\n", pos);
                if (eol == std::string::npos) break;
                const std::size_t size = std::strtoul(body.c_str() + pos, nullptr, 16);
                if (size == 0) { complete = true; break; }
                if (eol + 2 + size > body.size()) break;
                out.append(body, eol + 2, size);
                pos = eol + 2 + size + 2;
            }
            if (!complete) break;   // a cut-off export must not pass as a whole one
            body = std::move(out);
        }
        reply.body = std::move(body);
        result = std::move(reply);
    } while (false);
    if (ssl) SSL_free(ssl);
    if (fd >= 0) close(fd);
    SSL_CTX_free(ctx);
    return result;
}

std::string proxyCommand(int controlPort, const std::string& command) {
    const int fd = connectTo("127.0.0.1", controlPort);
    if (fd < 0) return "error cannot connect";
    const std::string line = command + "\n";
    std::string reply;
    if (write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size())) {
        char c;
        while (read(fd, &c, 1) == 1 && c != '\n') reply.push_back(c);
    }
    close(fd);
    return reply;
}

long long proxyStat(int controlPort, const std::string& name) {
    const std::string stats = proxyCommand(controlPort, "stats");
    const std::string key = name + "=";
    std::istringstream in(stats);
    for (std::string tok; in >> tok;)
        if (tok.rfind(key, 0) == 0) return std::atoll(tok.c_str() + key.size());
    return -1;
}

} // namespace segue::test
