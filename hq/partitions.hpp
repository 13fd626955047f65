// The daily pass over PostgreSQL's month partitions of responses: months created ahead, old ones
// dropped under [retention], the rows of the default partition counted for /metrics. segue-hq
// serve runs it at start and then on a thread of its own (docs/scaling.md).
#pragma once
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "core/time.hpp"
#include "hq/config.hpp"
#include "hq/metrics.hpp"
#include "hq/storage.hpp"

namespace segue::hq {

/// How often the worker wakes: it counts the default partition's rows each time, and runs the
/// whole pass when the UTC day changed since the last one.
inline constexpr std::int64_t kPartitionCheckEveryMs = 60'000;

class PartitionWorker {
public:
    /// `storage` (best a Storage of its own, whose connections never wait on requests') and
    /// `metrics` outlive the worker.
    PartitionWorker(Storage& storage, const core::Clock& clock, RetentionConfig retention, Metrics& metrics);
    ~PartitionWorker();
    PartitionWorker(const PartitionWorker&) = delete;
    PartitionWorker& operator=(const PartitionWorker&) = delete;

    /// One pass now (the clock's time): creates months ahead, drops old ones under retention,
    /// logs what changed and notes it in the metrics.
    Result<Storage::PartitionPass> runPass();
    /// Runs a pass when the clock's UTC day differs from the last pass's, else counts the default
    /// partition's rows; what the thread does each time it wakes.
    void tick();

    /// Keeps `handle` (a lock held on this worker's storage) until the worker ends.
    void keep(std::shared_ptr<void> handle) { m_kept = std::move(handle); }

    void start();
    /// Joins the thread. Idempotent.
    void stop();

private:
    Storage& m_storage;
    const core::Clock& m_clock;
    RetentionConfig m_retention;
    Metrics& m_metrics;
    std::shared_ptr<void> m_kept;
    std::optional<std::int64_t> m_lastPassDay;   ///< UTC days since the epoch

    std::mutex m_mutex;
    std::condition_variable m_wake;
    bool m_stop = false;
    std::thread m_thread;
};

} // namespace segue::hq
