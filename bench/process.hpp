// A benchmark's child processes: started with their stderr on a pipe so the first frame or a
// "listening" line can be timed, read from /proc, and always stopped and reaped.
#pragma once
#include <sys/types.h>

#include <string>
#include <thread>
#include <vector>

namespace segue::bench {

void sleepMs(double ms);

/// Runs a command to completion with its output discarded; its exit status (128+ on a signal).
int runQuiet(const std::vector<std::string>& argv);

/// A child process with its stderr on a pipe; SIGTERM and reaped on destruction.
class Child {
public:
    explicit Child(const std::vector<std::string>& argv);
    ~Child();
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;
    pid_t pid() const { return m_pid; }
    double waitFirstFrame(double timeoutMs);
    std::string waitFor(const std::string& needle, double timeoutMs);
    void drainLog();
    double cpuSeconds() const;
    double rssMiB() const;
    /// SIGTERM, then SIGKILL after 5 s; returns the exit status (-1 when already stopped).
    int stop();
    /// Waits for it to exit by itself; its exit status (128+ on a signal), or -1 after timeoutMs.
    int wait(double timeoutMs);
    /// CPU time (user + system) of a child that exited by itself and `wait` reaped; 0 otherwise
    /// (before that, or when `stop` had to kill it).
    double cpuSecondsAtExit() const { return m_exitCpuSeconds; }
    const std::string& log() const { return m_log; }

private:
    pid_t m_pid = -1;
    int m_err = -1;
    double m_startMs = 0;
    std::string m_name;
    std::string m_log;
    std::size_t m_scanned = 0;
    double m_exitCpuSeconds = 0;
    double m_seenAtMs = 0;
    std::thread m_drain;
};

} // namespace segue::bench
