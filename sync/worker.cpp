#include "sync/worker.hpp"

#include <chrono>
#include <utility>

#include "store/checkpoint.hpp"

namespace segue::sync {

bool wakeStartsDrain(SyncState state, bool manual) {
    if (manual) return true;
    return state == SyncState::Idle;
}

SyncWorker::SyncWorker(WorkerOptions options, std::unique_ptr<Transport> transport, const core::Clock& clock)
    : m_options(std::move(options)), m_transport(std::move(transport)), m_clock(clock),
      m_backoff(m_options.retry.backoff),
      m_rng(m_options.seed ? *m_options.seed : std::random_device{}()) {
    m_snapshot.batchLimit = m_options.drain.batchLimit;
}

SyncWorker::~SyncWorker() { stop(); }

std::expected<void, std::string> SyncWorker::start() {
    if (m_thread.joinable()) return {};
    if (!m_transport) return std::unexpected(std::string("no transport"));
    {
        std::lock_guard lock(m_mutex);
        if (m_stop) return std::unexpected(std::string("the sync worker was stopped"));
    }
    store::OpenOptions open;
    open.check = m_options.checkStore;
    auto db = store::Database::open(m_options.databasePath, open);
    if (!db) return std::unexpected("sync cannot open " + m_options.databasePath.string() + ": " + db.error().message);
    m_db.emplace(std::move(*db));
    {
        std::lock_guard lock(m_mutex);
        m_wakeManual = true;   // drain at once on start
    }
    m_thread = std::thread([this] { run(); });
    return {};
}

void SyncWorker::wake(bool manual) {
    {
        std::lock_guard lock(m_mutex);
        if (manual) m_wakeManual = true;
        else m_wakeAuto = true;
    }
    m_cv.notify_all();
}

void SyncWorker::stop() {
    {
        std::lock_guard lock(m_mutex);
        m_stop = true;
    }
    if (m_transport) m_transport->cancel();
    m_cv.notify_all();
    if (m_thread.joinable()) m_thread.join();
}

SyncStatus SyncWorker::status() const {
    std::lock_guard lock(m_mutex);
    return m_snapshot;
}

std::uint64_t SyncWorker::drainCount() const {
    std::lock_guard lock(m_mutex);
    return m_drains;
}

std::uint64_t SyncWorker::waitForDrain(std::uint64_t seen, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(m_mutex);
    m_drainedCv.wait_for(lock, timeout, [&] { return m_drains > seen; });
    return m_drains;
}

void SyncWorker::publish(const Drainer& drainer) {
    std::lock_guard lock(m_mutex);
    m_snapshot = drainer.status();
}

Plan SyncWorker::drainOnce(Drainer& drainer) {
    for (;;) {
        {
            std::lock_guard lock(m_mutex);
            if (m_stop) return {SyncState::Stopped, 0};
        }
        auto step = drainer.step();
        if (!step) {
            // The terminal's own database refused (busy, full, ...): try again like a network error.
            drainer.noteLocalError("the terminal's database: " + step.error().message);
            return {SyncState::Retrying, m_backoff.onFailure(m_rng, m_clock.now().monoMs)};
        }
        switch (step->kind) {
        case StepReport::Kind::NothingPending:
            m_backoff.reset();
            return {SyncState::Idle, m_options.retry.idleRecheckMs};
        case StepReport::Kind::Sent:
            m_backoff.reset();
            drainer.setSchedule(SyncState::Syncing, std::nullopt);
            // Saved per batch so `sync status` in another process follows a long backlog drain.
            if (auto ok = drainer.save(); !ok) drainer.noteLocalError("the terminal's database: " + ok.error().message);
            publish(drainer);
            continue;
        case StepReport::Kind::Failed:
            return planAfterFailure(*step->failure, m_backoff, m_rng, m_options.retry, m_clock.now().monoMs);
        }
    }
}

void SyncWorker::run() {
    Drainer drainer(*m_db, *m_transport, m_clock, m_options.drain);
    if (auto ok = drainer.loadSaved(); !ok) drainer.noteLocalError("the terminal's database: " + ok.error().message);
    SyncState state = SyncState::Idle;
    auto deadline = std::chrono::steady_clock::now();
    for (;;) {
        {
            std::unique_lock lock(m_mutex);
            m_cv.wait_until(lock, deadline, [&] {
                return m_stop || m_wakeManual || (m_wakeAuto && wakeStartsDrain(state, false));
            });
            if (m_stop) break;
            m_wakeManual = false;
            m_wakeAuto = false;
        }
        drainer.setSchedule(SyncState::Syncing, std::nullopt);
        publish(drainer);

        const Plan plan = drainOnce(drainer);
        if (plan.state == SyncState::Stopped) break;
        state = plan.state;
        // The kiosk's taps never checkpoint (store::Checkpoints::Deferred): this connection
        // does, after each drain, off the customer's path. The status saved just below is the
        // commit that rewinds the WAL, so no customer's commit has to. A failure here is not a
        // sync failure, and the next commit reports a database that really is in trouble.
        (void)store::checkpointPassive(*m_db);
        if (m_options.afterDrain && plan.state != SyncState::Stopped) m_options.afterDrain(*m_db);
        deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(plan.waitMs);
        drainer.setSchedule(state, m_clock.now().utcMs + plan.waitMs);
        if (auto ok = drainer.save(); !ok) drainer.noteLocalError("the terminal's database: " + ok.error().message);
        {
            std::lock_guard lock(m_mutex);
            m_snapshot = drainer.status();
            ++m_drains;
        }
        if (m_options.onStatus) m_options.onStatus(drainer.status());
        m_drainedCv.notify_all();
    }
    drainer.setSchedule(SyncState::Stopped, std::nullopt);
    (void)drainer.save();   // best effort: the status is advisory and the process is leaving
    publish(drainer);
}

} // namespace segue::sync
