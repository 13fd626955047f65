#include "hq/partitions.hpp"

#include <chrono>

#include <spdlog/spdlog.h>

namespace segue::hq {
namespace {
constexpr std::int64_t kDayMs = 86'400'000;
} // namespace

PartitionWorker::PartitionWorker(Storage& storage, const core::Clock& clock, RetentionConfig retention, Metrics& metrics)
    : m_storage(storage), m_clock(clock), m_retention(retention), m_metrics(metrics) {}

PartitionWorker::~PartitionWorker() { stop(); }

Result<Storage::PartitionPass> PartitionWorker::runPass() {
    const std::int64_t now = m_clock.now().utcMs;
    auto pass = m_storage.maintainPartitions(now, m_retention.responsesMonths);
    if (!pass) {
        spdlog::error("month partitions of responses: {}", pass.error().message);
        return pass;
    }
    m_lastPassDay = now / kDayMs;
    if (!pass->partitioned) return pass;
    if (pass->created > 0) spdlog::info("month partitions of responses: {} created ahead", pass->created);
    for (const auto& name : pass->dropped)
        spdlog::info("retention: dropped {} ([retention] responses_months = {}; the day sums stay)", name,
                     *m_retention.responsesMonths);
    if (pass->defaultRows > 0)
        spdlog::warn("{} responses in the default partition (ids of no month: a terminal clock far off)",
                     pass->defaultRows);
    m_metrics.notePartitionPass(pass->created, static_cast<std::int64_t>(pass->dropped.size()), pass->defaultRows);
    return pass;
}

void PartitionWorker::tick() {
    const std::int64_t day = m_clock.now().utcMs / kDayMs;
    if (!m_lastPassDay || *m_lastPassDay != day) {
        (void)runPass();
        return;
    }
    if (auto rows = m_storage.defaultPartitionRows(); !rows)
        spdlog::error("counting the default partition: {}", rows.error().message);
    else if (*rows)
        m_metrics.setDefaultPartitionRows(**rows);
}

void PartitionWorker::start() {
    if (m_thread.joinable()) return;
    m_thread = std::thread([this] {
        std::unique_lock lock(m_mutex);
        while (!m_stop) {
            lock.unlock();
            tick();
            lock.lock();
            m_wake.wait_for(lock, std::chrono::milliseconds(kPartitionCheckEveryMs), [this] { return m_stop; });
        }
    });
}

void PartitionWorker::stop() {
    {
        std::lock_guard lock(m_mutex);
        m_stop = true;
    }
    m_wake.notify_all();
    if (m_thread.joinable()) m_thread.join();
}

} // namespace segue::hq
