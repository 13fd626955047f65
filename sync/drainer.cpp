#include "sync/drainer.hpp"

#include <algorithm>
#include <cstdlib>
#include <future>
#include <unordered_set>
#include <utility>

#include "core/version.hpp"
#include "store/outbox.hpp"

namespace segue::sync {

namespace {
/// How long a batch made ahead may wait for its turn (its sent_at is when it was made).
constexpr std::int64_t kNextBatchFreshMs = 2'000;
/// How far the clock offset a batch made ahead carries may be from the newest estimate.
constexpr std::int64_t kOffsetToleranceMs = 1'000;
} // namespace

std::string appVersion() { return segue::kVersion; }

std::expected<AckResult, store::Error> applyAck(store::Database& db,
                                                const std::vector<core::Response>& sent,
                                                const wire::BatchAck& ack, std::int64_t nowUtcMs) {
    std::unordered_set<std::string> inBatch;
    inBatch.reserve(sent.size());
    for (const auto& r : sent) inBatch.insert(r.id);

    AckResult result;
    std::unordered_set<std::string> decided;
    std::vector<std::string> synced;
    auto takeSynced = [&](const std::vector<std::string>& ids, bool duplicate) {
        for (const auto& id : ids) {
            if (!inBatch.contains(id)) { ++result.foreign; continue; }
            if (!decided.insert(id).second) continue;   // listed twice
            synced.push_back(id);
            if (duplicate) ++result.duplicates;
        }
    };
    takeSynced(ack.accepted, false);
    takeSynced(ack.duplicates, true);

    std::vector<store::Rejection> rejected;
    for (const auto& r : ack.rejected) {
        if (!inBatch.contains(r.id)) { ++result.foreign; continue; }
        if (!decided.insert(r.id).second) continue;
        rejected.push_back({r.id, r.reason.empty() ? std::string("rejected by HQ without a reason") : r.reason});
    }
    result.synced = synced.size();
    result.rejected = rejected.size();
    result.unlisted = inBatch.size() - decided.size();

    // One transaction: the outbox records all of HQ's answer or none of it.
    if (auto ok = store::applyAck(db, synced, nowUtcMs, rejected); !ok)
        return std::unexpected(std::move(ok.error()));
    return result;
}

Drainer::Drainer(store::Database& db, Transport& transport, const core::Clock& clock, DrainSettings settings)
    : m_db(db), m_transport(transport), m_clock(clock), m_settings(std::move(settings)),
      m_limit(std::clamp<int>(m_settings.batchLimit, 1, 100'000)) {
    m_status.batchLimit = m_limit;
}

std::expected<void, store::Error> Drainer::loadSaved() {
    auto saved = loadStatus(m_db);
    if (!saved) return std::unexpected(std::move(saved.error()));
    if (*saved) {
        const SyncStatus& s = **saved;
        m_status.lastSuccessUtcMs = s.lastSuccessUtcMs;
        m_status.lastAttemptUtcMs = s.lastAttemptUtcMs;
        m_status.lastError = s.lastError;
        m_status.lastErrorKind = s.lastErrorKind;
        m_status.lastErrorUtcMs = s.lastErrorUtcMs;
        m_status.clockOffsetMs = s.clockOffsetMs;
        m_status.online = s.online;
    }
    return refreshCounts();
}

std::expected<void, store::Error> Drainer::refreshCounts() {
    auto counts = store::outboxCounts(m_db);
    if (!counts) return std::unexpected(std::move(counts.error()));
    m_status.pending = counts->pending;
    m_status.synced = counts->synced;
    m_status.rejected = counts->rejected;
    m_status.oldestPendingUtcMs = counts->oldestPendingUtcMs;
    return {};
}

std::expected<void, store::Error> Drainer::save() { return saveStatus(m_db, m_status); }

void Drainer::setSchedule(SyncState state, std::optional<std::int64_t> nextAttemptUtcMs) {
    m_status.state = state;
    m_status.nextAttemptUtcMs = nextAttemptUtcMs;
}

void Drainer::noteLocalError(const std::string& plainWords) {
    m_status.lastError = plainWords;
    m_status.lastErrorKind.reset();
    m_status.lastErrorUtcMs = m_clock.now().utcMs;
}

wire::Batch Drainer::buildBatch(std::vector<core::Response> rows, std::int64_t pending, std::int64_t nowUtcMs) {
    wire::Batch b;
    b.protocol = wire::kProtocol;
    b.batchId = m_ids.next(nowUtcMs);
    b.deviceId = m_settings.deviceId;
    b.sentAtMs = nowUtcMs;
    b.pending = pending;
    b.appVersion = m_settings.appVersion;
    b.clockOffsetMs = m_status.clockOffsetMs;
    b.responses = std::move(rows);
    return b;
}

std::expected<Drainer::Ready, store::Error> Drainer::prepare(const std::string& afterId, std::int64_t backlog,
                                                             core::Now now) {
    auto rows = store::pendingBatch(m_db, m_limit, afterId);
    if (!rows) return std::unexpected(std::move(rows.error()));
    Ready ready;
    if (rows->empty()) return ready;
    // `pending` is the backlog behind this batch: once the last batch lands HQ's fleet view
    // shows 0, as the terminal's own stats do.
    const auto behind = std::max<std::int64_t>(0, backlog - static_cast<std::int64_t>(rows->size()));
    ready.batch = buildBatch(std::move(*rows), behind, now.utcMs);
    ready.body = m_transport.encode(ready.batch);
    ready.madeMonoMs = now.monoMs;
    return ready;
}

StepReport Drainer::failed(StepReport report, SendFailure failure, std::int64_t atUtcMs) {
    if (failure.kind != SendError::Aborted) {   // stopping is not an error
        m_status.lastError = describe(failure);
        m_status.lastErrorKind = failure.kind;
        m_status.lastErrorUtcMs = atUtcMs;
    }
    report.kind = StepReport::Kind::Failed;
    report.failure = std::move(failure);
    return report;
}

std::expected<StepReport, store::Error> Drainer::step() {
    if (auto ok = refreshCounts(); !ok) return std::unexpected(std::move(ok.error()));
    StepReport report;
    // A batch made while the previous one was in flight goes first (it is what follows it),
    // unless the worker paused since: then it is made again from what is pending now.
    std::optional<Ready> made = std::exchange(m_next, std::nullopt);
    if (m_status.pending == 0) return report;

    for (;;) {
        const core::Now before = m_clock.now();
        if (!made || made->batch.responses.empty() || before.monoMs - made->madeMonoMs > kNextBatchFreshMs ||
            made->batch.responses.size() > static_cast<std::size_t>(m_limit)) {
            auto fresh = prepare({}, m_status.pending, before);
            if (!fresh) return std::unexpected(std::move(fresh.error()));
            made = std::move(*fresh);
        }
        if (made->batch.responses.empty()) return report;   // drained by someone else meanwhile
        const wire::Batch& batch = made->batch;
        report.batchSize = batch.responses.size();

        // With more waiting behind a full batch, the next one is read and encoded while this one
        // travels (the database is not touched on this thread until the send returns).
        std::future<std::expected<Ready, store::Error>> next;
        const auto backlog = m_status.pending - static_cast<std::int64_t>(batch.responses.size());
        if (batch.responses.size() == static_cast<std::size_t>(m_limit) && backlog > 0)
            next = std::async(std::launch::async, [this, after = batch.responses.back().id, backlog, now = before] {
                return prepare(after, backlog, now);
            });
        auto ack = made->body ? m_transport.post(batch, *made->body) : m_transport.post(batch);
        const core::Now after = m_clock.now();
        m_status.lastAttemptUtcMs = after.utcMs;
        std::optional<Ready> following;
        if (next.valid()) {
            auto got = next.get();
            if (!got) return std::unexpected(std::move(got.error()));
            if (!got->batch.responses.empty()) following = std::move(*got);
        }

        if (!ack) {
            SendFailure f = std::move(ack.error());
            if (f.kind == SendError::TooLarge && batch.responses.size() > 1) {
                m_limit = static_cast<int>(batch.responses.size() / 2);
                m_status.batchLimit = m_limit;
                ++report.splits;
                made.reset();
                continue;
            }
            if (f.kind != SendError::Aborted) m_status.online = f.httpStatus.has_value();
            return failed(std::move(report), std::move(f), after.utcMs);
        }

        auto applied = applyAck(m_db, batch.responses, *ack, after.utcMs);
        if (!applied) return std::unexpected(std::move(applied.error()));
        report.ack = *applied;
        // Halfway between sending and hearing back is the best guess of when HQ stamped it.
        m_status.clockOffsetMs = before.utcMs + (after.utcMs - before.utcMs) / 2 - ack->serverTimeMs;
        m_status.online = true;
        if (auto ok = refreshCounts(); !ok) return std::unexpected(std::move(ok.error()));

        if (applied->synced == 0 && applied->rejected == 0) {
            // An ack that settles nothing would have the worker resend the same batch forever.
            return failed(std::move(report),
                          SendFailure{SendError::ServerError,
                                      "HQ's reply settled none of the " + std::to_string(batch.responses.size()) +
                                          " records sent",
                                      200, std::nullopt},
                          after.utcMs);
        }
        m_status.lastSuccessUtcMs = after.utcMs;
        m_status.lastError.clear();
        m_status.lastErrorKind.reset();
        report.kind = StepReport::Kind::Sent;
        // Kept only when every record of this batch was settled (an unlisted one must go before
        // it) and it carries the clock offset this ack gave, to within a second.
        const auto& offset = m_status.clockOffsetMs;
        if (following && applied->unlisted == 0 && following->batch.clockOffsetMs.has_value() == offset.has_value() &&
            (!offset || std::abs(*following->batch.clockOffsetMs - *offset) <= kOffsetToleranceMs))
            m_next = std::move(following);
        return report;
    }
}

} // namespace segue::sync
