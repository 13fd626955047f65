// End-to-end harness: child processes (segue-hq, segue-kiosk, fault_proxy) with bounded waits,
// loopback ports, a minimal verified HTTPS GET for HQ's read API, and the proxy's control line.
#pragma once
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace segue::test {

/// A free TCP port on 127.0.0.1 (bound by the kernel, then released).
int freePort();
/// True once something accepts TCP connections on host:port.
bool canConnect(const std::string& host, int port);

std::string readFile(const std::filesystem::path& p);
void writeFile(const std::filesystem::path& p, const std::string& text);

/// A child process; killed with SIGKILL when still running at destruction.
class Child {
public:
    Child() = default;
    /// Starts argv[0] (a path) with stdout/stderr to files.
    static Child spawn(const std::vector<std::string>& argv, const std::filesystem::path& out,
                       const std::filesystem::path& err);
    Child(Child&& o) noexcept;
    Child& operator=(Child&& o) noexcept;
    ~Child();

    pid_t pid() const { return m_pid; }
    bool running();
    /// Sends a signal (SIGTERM, SIGKILL, ...).
    void signal(int sig);
    /// Waits at most `bound` for the exit; the exit code, or 128+signal, or nullopt on timeout.
    std::optional<int> wait(std::chrono::milliseconds bound);
    std::filesystem::path outPath, errPath;

private:
    pid_t m_pid = -1;
    std::optional<int> m_status;
};

struct RunResult {
    int code = -1;        ///< exit code; 128+signal; -1 when it had to be killed at the bound
    std::string out;
    std::string err;
};

/// Runs to completion, at most `bound`; a process still running then is killed and reported -1.
RunResult run(const std::vector<std::string>& argv, const std::filesystem::path& workDir,
              std::chrono::milliseconds bound = std::chrono::seconds(120));

struct HttpReply {
    int status = 0;
    std::map<std::string, std::string> headers;   ///< lowercase names
    std::string body;                             ///< de-chunked
};

/// GET https://host:port/path, verifying the certificate against `caFile` for `hostName`.
std::optional<HttpReply> httpsGet(const std::string& hostName, int port, const std::string& path,
                                  const std::string& caFile, const std::string& bearer);

/// One command to the fault proxy's control port; returns its one-line answer.
std::string proxyCommand(int controlPort, const std::string& command);
/// A counter from the proxy's "stats" answer.
long long proxyStat(int controlPort, const std::string& name);

/// Polls `pred` every 20 ms until it holds or `bound` passes.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds bound) {
    const auto end = std::chrono::steady_clock::now() + bound;
    for (;;) {
        if (pred()) return true;
        if (std::chrono::steady_clock::now() >= end) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

} // namespace segue::test
