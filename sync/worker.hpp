// The kiosk's background sync: a thread with its own database connection that drains the
// outbox to HQ, backs off when HQ is unreachable, and publishes a status snapshot the UI copies.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <expected>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>

#include "core/time.hpp"
#include "sync/backoff.hpp"
#include "sync/drainer.hpp"
#include "sync/status.hpp"
#include "sync/transport.hpp"

namespace segue::sync {

struct RetryPolicy {
    BackoffPolicy backoff;                     ///< retryable failures: 1 s doubling to 5 min
    std::int64_t slowRetryMs = 300'000;        ///< configuration problems and parked requests
    std::int64_t idleRecheckMs = 60'000;       ///< with nothing pending, look again this often
    std::int64_t maxRetryAfterMs = 3'600'000;  ///< a Retry-After longer than this is capped
};

/// Where the worker goes after a drain that ended with `failure`, and how long it waits.
struct Plan {
    SyncState state = SyncState::Idle;
    std::int64_t waitMs = 0;
};

/// The schedule after a failed send. Retryable failures back off with full jitter, never
/// sooner than HQ's Retry-After; configuration problems and parked requests wait slowRetryMs.
/// With `nowMonoMs` (the worker passes its clock) the backoff ceiling is also bounded by how
/// long the link has been down (sync/backoff.hpp).
template <class Rng>
Plan planAfterFailure(const SendFailure& failure, Backoff& backoff, Rng& rng, const RetryPolicy& policy,
                      std::optional<std::int64_t> nowMonoMs = std::nullopt) {
    switch (dispositionOf(failure.kind)) {
    case Disposition::ConfigProblem: return {SyncState::ConfigProblem, policy.slowRetryMs};
    case Disposition::Parked:
    case Disposition::Split:   // only reported when a single record is too large
        return {SyncState::Parked, policy.slowRetryMs};
    case Disposition::Stop: return {SyncState::Stopped, 0};
    case Disposition::Retry: break;
    }
    std::int64_t wait = nowMonoMs ? backoff.onFailure(rng, *nowMonoMs) : backoff.onFailure(rng);
    if (failure.retryAfterMs) wait = std::max(wait, std::min(*failure.retryAfterMs, policy.maxRetryAfterMs));
    return {SyncState::Retrying, wait};
}

/// Whether a wake-up starts a drain now. "Sync now" always does; a new response does only
/// while the link is up (not during backoff, and never against a configuration problem).
bool wakeStartsDrain(SyncState state, bool manual);

struct WorkerOptions {
    std::filesystem::path databasePath;   ///< the kiosk's database; the worker opens its own connection
    DrainSettings drain;
    RetryPolicy retry;
    std::optional<std::uint64_t> seed;    ///< jitter seed (tests); random otherwise
    /// Run `PRAGMA quick_check` when opening (store::OpenOptions::check). The terminal turns it
    /// off: it starts the worker only after its own connection checked the same file.
    bool checkStore = true;
    /// Runs on the worker thread after every drain attempt, on the worker's connection: the
    /// terminal asks HQ for its configuration there (sync/config_fetch.hpp), so it does on every
    /// sync cycle, and at least every idleRecheckMs (or slowRetryMs) while it runs.
    std::function<void(store::Database&)> afterDrain;
    /// Runs on the worker thread with the status after every drain attempt (the terminal logs
    /// the full error text there; its screens show a short phrase in their own language).
    std::function<void(const SyncStatus&)> onStatus = {};
};

class SyncWorker {
public:
    /// `clock` must outlive the worker. The transport is used only from the worker thread
    /// (and cancel() from stop()).
    SyncWorker(WorkerOptions options, std::unique_ptr<Transport> transport, const core::Clock& clock);
    ~SyncWorker();
    SyncWorker(const SyncWorker&) = delete;
    SyncWorker& operator=(const SyncWorker&) = delete;

    /// Opens the worker's connection and starts the thread, which drains at once.
    std::expected<void, std::string> start();
    /// Asks for a drain. `manual` ("sync now") always tries; otherwise it is a hint that a
    /// response was saved, acted on only while the link is up. Never blocks on the network.
    void wake(bool manual = false);
    /// Interrupts a wait at once, aborts a transfer in flight, joins. Idempotent and final:
    /// the transport stays cancelled, so a stopped worker is not started again.
    void stop();
    /// A copy of the latest status; takes a mutex only for the copy.
    SyncStatus status() const;
    /// Counts completed drain attempts (tests wait on it with a bound).
    std::uint64_t drainCount() const;
    /// Blocks until drainCount() exceeds `seen` or `timeout` passes; returns the count.
    std::uint64_t waitForDrain(std::uint64_t seen, std::chrono::milliseconds timeout) const;

private:
    void run();
    /// One drain: steps until nothing is pending, a failure, or stop. Returns the plan.
    Plan drainOnce(Drainer& drainer);
    void publish(const Drainer& drainer);

    WorkerOptions m_options;
    std::unique_ptr<Transport> m_transport;
    const core::Clock& m_clock;
    std::optional<store::Database> m_db;
    std::thread m_thread;
    Backoff m_backoff;
    std::mt19937_64 m_rng;

    mutable std::mutex m_mutex;
    mutable std::condition_variable m_cv;          ///< wakes the worker
    mutable std::condition_variable m_drainedCv;   ///< wakes waitForDrain
    bool m_stop = false;
    bool m_wakeManual = false;
    bool m_wakeAuto = false;
    SyncStatus m_snapshot;
    std::uint64_t m_drains = 0;
};

} // namespace segue::sync
