#include "bench/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <mutex>
#include <set>
#include <sstream>

#include "bench/support.hpp"

namespace segue::bench {

void sleepMs(double ms) {
    std::this_thread::sleep_for(std::chrono::microseconds(static_cast<long long>(ms * 1000)));
}

namespace {

[[noreturn]] void execChild(const std::vector<std::string>& argv, int errFd) {
    ::dup2(errFd, 2);
    // Its standard output is not ours: bench rows go there.
    const int devNull = ::open("/dev/null", O_RDWR);
    if (devNull >= 0) {
        ::dup2(devNull, 1);
        ::dup2(devNull, 0);
    }
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    std::fprintf(stderr, "exec %s: %s\n", args[0], std::strerror(errno));
    ::_exit(127);
}

int exitCode(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }

// Children still running, so that fail() (which exits without unwinding) stops them too.
std::mutex g_liveMutex;
std::set<pid_t> g_live;

void stopLiveChildren() {
    std::lock_guard lock(g_liveMutex);
    for (const pid_t pid : g_live) ::kill(pid, SIGTERM);
    for (const pid_t pid : g_live) {
        int status = 0;
        for (int i = 0; i < 250 && ::waitpid(pid, &status, WNOHANG) == 0; ++i) sleepMs(20);
        if (::waitpid(pid, &status, WNOHANG) == 0) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &status, 0);
        }
    }
    g_live.clear();
}

void track(pid_t pid) {
    std::lock_guard lock(g_liveMutex);
    if (g_live.empty()) setFailHook(&stopLiveChildren);
    g_live.insert(pid);
}

void untrack(pid_t pid) {
    std::lock_guard lock(g_liveMutex);
    g_live.erase(pid);
}

} // namespace

int runQuiet(const std::vector<std::string>& argv) {
    const pid_t pid = ::fork();
    if (pid < 0) fail(std::string("fork: ") + std::strerror(errno));
    if (pid == 0) {
        const int devNull = ::open("/dev/null", O_RDWR);
        execChild(argv, devNull < 0 ? 2 : devNull);
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return exitCode(status);
}

Child::Child(const std::vector<std::string>& argv) : m_name(argv.at(0)) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) fail(std::string("pipe: ") + std::strerror(errno));
    m_startMs = monoMs();
    m_pid = ::fork();
    if (m_pid < 0) fail(std::string("fork: ") + std::strerror(errno));
    if (m_pid == 0) execChild(argv, fds[1]);
    track(m_pid);
    ::close(fds[1]);
    m_err = fds[0];
}

Child::~Child() {
    stop();
    if (m_drain.joinable()) m_drain.join();
    if (m_err >= 0) ::close(m_err);
}

double Child::waitFirstFrame(double timeoutMs) {
    waitFor("first frame", timeoutMs);
    return m_seenAtMs - m_startMs;
}

std::string Child::waitFor(const std::string& needle, double timeoutMs) {
    const double deadline = monoMs() + timeoutMs;
    char chunk[4096];
    for (;;) {
        if (const auto at = m_log.find(needle, m_scanned); at != std::string::npos) {
            const auto end = m_log.find('\n', at);
            const auto from = at + needle.size();
            const std::string rest = m_log.substr(from, end == std::string::npos ? std::string::npos : end - from);
            m_scanned = end == std::string::npos ? m_log.size() : end;
            return rest;
        }
        const double left = deadline - monoMs();
        if (left <= 0) fail(m_name + ": no '" + needle + "' within " + std::to_string(timeoutMs) + " ms: " + m_log);
        pollfd p{m_err, POLLIN, 0};
        const int n = ::poll(&p, 1, static_cast<int>(left) + 1);
        if (n <= 0) continue;
        const ssize_t got = ::read(m_err, chunk, sizeof chunk);
        if (got <= 0) fail(m_name + " exited before '" + needle + "': " + m_log);
        m_seenAtMs = monoMs();
        m_log.append(chunk, static_cast<std::size_t>(got));
        if (m_log.size() > (1u << 20)) fail(m_name + " logged over 1 MiB before '" + needle + "'");
    }
}

void Child::drainLog() {
    if (m_drain.joinable()) return;
    const int fd = m_err;
    m_drain = std::thread([fd] {
        char sink[4096];
        while (::read(fd, sink, sizeof sink) > 0) {
        }
    });
}

double Child::cpuSeconds() const {
    std::ifstream in("/proc/" + std::to_string(m_pid) + "/stat");
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto close = text.rfind(')');
    if (close == std::string::npos) fail("cannot read /proc/" + std::to_string(m_pid) + "/stat");
    std::istringstream rest(text.substr(close + 2));
    std::string field;
    long long utime = 0, stime = 0;
    // After the command come the state (field 3) ... utime (14) and stime (15), whole process.
    for (int i = 3; i <= 15 && rest >> field; ++i) {
        if (i == 14) utime = std::stoll(field);
        if (i == 15) stime = std::stoll(field);
    }
    return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

double Child::rssMiB() const {
    std::ifstream in("/proc/" + std::to_string(m_pid) + "/status");
    std::string line;
    while (std::getline(in, line))
        if (line.starts_with("VmRSS:")) return std::stod(line.substr(6)) / 1024.0;
    fail("no VmRSS for " + m_name);
}

int Child::wait(double timeoutMs) {
    if (m_pid <= 0) return -1;
    const double deadline = monoMs() + timeoutMs;
    int status = 0;
    for (;;) {
        struct rusage usage {};
        const pid_t r = ::wait4(m_pid, &status, WNOHANG, &usage);
        if (r == m_pid) {
            m_exitCpuSeconds = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                               static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
            untrack(m_pid);
            m_pid = -1;
            return exitCode(status);
        }
        if (monoMs() > deadline) return -1;
        sleepMs(20);
    }
}

int Child::stop() {
    if (m_pid <= 0) return -1;
    ::kill(m_pid, SIGTERM);
    const int code = wait(5000);
    if (code >= 0) return code;
    ::kill(m_pid, SIGKILL);
    int status = 0;
    ::waitpid(m_pid, &status, 0);
    untrack(m_pid);
    m_pid = -1;
    return exitCode(status);
}

} // namespace segue::bench
