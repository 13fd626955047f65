#include "sync/drainer.hpp"

#include <algorithm>
#include <cstdlib>
#include <future>
#include <unordered_set>
#include <utility>

#include "core/version.hpp"
#include "store/checkpoint.hpp"
#include "store/meta.hpp"
#include "store/outbox.hpp"

namespace segue::sync {

namespace {
/// How long a batch whose send failed is sent again as it was made, neither read nor encoded
/// again. While HQ was down, 1 000 terminals re-reading and re-encoding 600 records on every
/// retry spent 53 CPU-seconds in 10 s (benchmark 11) and came back late. HQ reads sent_at only
/// from a terminal that has no measured clock offset yet, to show a skew (120 s by default):
/// 30 s keeps a resent batch's far below that.
constexpr std::int64_t kRetryReuseMs = 30'000;
/// How far the clock offset a batch made ahead carries may be from the newest estimate.
constexpr std::int64_t kOffsetToleranceMs = 1'000;
} // namespace

std::string appVersion() { return segue::kVersion; }

AckOutcome classifyAck(const std::vector<core::Response>& sent, const wire::BatchAck& ack) {
    std::unordered_set<std::string> inBatch;
    inBatch.reserve(sent.size());
    for (const auto& r : sent) inBatch.insert(r.id);

    AckOutcome out;
    AckResult& result = out.result;
    std::unordered_set<std::string> decided;
    auto takeSynced = [&](const std::vector<std::string>& ids, bool duplicate) {
        for (const auto& id : ids) {
            if (!inBatch.contains(id)) { ++result.foreign; continue; }
            if (!decided.insert(id).second) continue;   // listed twice
            out.synced.push_back(id);
            if (duplicate) ++result.duplicates;
        }
    };
    takeSynced(ack.accepted, false);
    takeSynced(ack.duplicates, true);

    for (const auto& r : ack.rejected) {
        if (!inBatch.contains(r.id)) { ++result.foreign; continue; }
        if (!decided.insert(r.id).second) continue;
        out.rejected.push_back({r.id, r.reason.empty() ? std::string("rejected by HQ without a reason") : r.reason});
    }
    result.synced = out.synced.size();
    result.rejected = out.rejected.size();
    result.unlisted = inBatch.size() - decided.size();
    return out;
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

bool Drainer::eraseFromWal(std::int64_t erased) {
    // The deleted rows' old frames are still in the WAL: copy the zeroed pages (secure_delete)
    // into the file and cut the WAL to nothing.
    auto done = store::checkpointTruncate(m_db);
    if (!done) {
        noteLocalError("erasing " + std::to_string(erased) + " sealed contacts from the WAL: " + done.error().message);
        return false;
    }
    if (done->busy) {
        noteLocalError("the WAL still holds " + std::to_string(erased) +
                       " deleted sealed contacts (a reader kept the checkpoint from finishing); the next one cuts it");
        return false;
    }
    return true;
}

void Drainer::noteOpenCallbacks(std::int64_t open) {
    if (auto saved = store::setMeta(m_db, store::kMetaOpenCallbacks, std::to_string(open)); !saved)
        noteLocalError("keeping HQ's count of open callback requests: " + saved.error().message);
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
    if (m_settings.configReport) {
        ConfigReport report = m_settings.configReport(m_db);
        b.appliedSurveyId = std::move(report.surveyId);
        b.appliedSurveyVersion = report.surveyVersion;
        b.configError = std::move(report.configError);
    }
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
    auto contacts = store::sealedContacts(m_db, *rows);
    if (!contacts) return std::unexpected(std::move(contacts.error()));
    ready.batch = buildBatch(std::move(*rows), behind, now.utcMs);
    ready.batch.sealedContacts = std::move(*contacts);
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

Drainer::Posted Drainer::send(Ready made) {
    Posted p;
    p.before = m_clock.now();
    p.ack = made.body ? m_transport.post(made.batch, *made.body) : m_transport.post(made.batch);
    p.after = m_clock.now();
    p.made = std::move(made);
    return p;
}

std::expected<StepReport, store::Error> Drainer::step() {
    if (auto ok = refreshCounts(); !ok) return std::unexpected(std::move(ok.error()));
    StepReport report;
    // A batch made while the previous one was in flight goes first (it is what follows it),
    // unless the worker paused since: then it is made again from what is pending now.
    std::optional<Ready> made = std::exchange(m_next, std::nullopt);
    std::future<Posted> flying = std::move(m_inFlight);
    if (!flying.valid() && m_status.pending == 0) return report;

    for (;;) {
        Posted posted;
        std::optional<Ready> following;
        if (flying.valid()) {
            // Sent at the end of the last step; the batch made while it flew follows it.
            posted = flying.get();
            following = std::exchange(made, std::nullopt);
        } else {
            const core::Now now = m_clock.now();
            if (!made || made->batch.responses.empty() || now.monoMs - made->madeMonoMs > made->freshForMs ||
                made->batch.responses.size() > static_cast<std::size_t>(m_limit)) {
                auto fresh = prepare({}, m_status.pending, now);
                if (!fresh) return std::unexpected(std::move(fresh.error()));
                made = std::move(*fresh);
            }
            if (made->batch.responses.empty()) return report;   // drained by someone else meanwhile

            // With more waiting behind a full batch, the next one is read and encoded while this one
            // travels (the database is not touched on this thread until the send returns).
            std::future<std::expected<Ready, store::Error>> next;
            const auto size = made->batch.responses.size();
            const auto backlog = m_status.pending - static_cast<std::int64_t>(size);
            if (size == static_cast<std::size_t>(m_limit) && backlog > 0)
                next = std::async(std::launch::async, [this, after = made->batch.responses.back().id, backlog, now] {
                    return prepare(after, backlog, now);
                });
            posted = send(std::move(*std::exchange(made, std::nullopt)));
            if (next.valid()) {
                auto got = next.get();
                if (!got) return std::unexpected(std::move(got.error()));
                if (!got->batch.responses.empty()) following = std::move(*got);
            }
        }
        const wire::Batch& batch = posted.made.batch;
        const core::Now after = posted.after;
        report.batchSize = batch.responses.size();
        m_status.lastAttemptUtcMs = after.utcMs;

        if (!posted.ack) {
            SendFailure f = std::move(posted.ack.error());
            if (f.kind == SendError::TooLarge && batch.responses.size() > 1) {
                m_limit = static_cast<int>(batch.responses.size() / 2);
                m_status.batchLimit = m_limit;
                ++report.splits;
                continue;   // nothing made: a smaller batch is made from what is pending
            }
            if (f.kind != SendError::Aborted) m_status.online = f.httpStatus.has_value();
            // The same batch goes again on the next attempt (same id: HQ answers a repeat with
            // duplicates), unless it has grown stale by then.
            Ready again = std::move(posted.made);
            again.freshForMs = kRetryReuseMs;
            m_next = std::move(again);
            return failed(std::move(report), std::move(f), after.utcMs);
        }

        const wire::BatchAck& ack = *posted.ack;
        const AckOutcome outcome = classifyAck(batch.responses, ack);
        report.ack = outcome.result;
        // Halfway between sending and hearing back is the best guess of when HQ stamped it.
        m_status.clockOffsetMs = posted.before.utcMs + (after.utcMs - posted.before.utcMs) / 2 - ack.serverTimeMs;
        m_status.online = true;
        if (outcome.result.synced == 0 && outcome.result.rejected == 0) {
            // An ack that settles nothing would have the worker resend the same batch forever.
            if (auto ok = refreshCounts(); !ok) return std::unexpected(std::move(ok.error()));
            return failed(std::move(report),
                          SendFailure{SendError::ServerError,
                                      "HQ's reply settled none of the " + std::to_string(batch.responses.size()) +
                                          " records sent",
                                      200, std::nullopt},
                          after.utcMs);
        }

        // The batch made ahead goes next only when every record of this batch was settled (an
        // unlisted one must go before it) and it carries the clock offset this ack gave, to
        // within a second.
        const auto& offset = m_status.clockOffsetMs;
        const bool keep = following && outcome.result.unlisted == 0 &&
                          following->batch.clockOffsetMs.has_value() == offset.has_value() &&
                          (!offset || std::abs(*following->batch.clockOffsetMs - *offset) <= kOffsetToleranceMs);
        std::string flyingLast;
        std::size_t flyingSize = 0;
        if (keep && m_settings.pipelined) {
            // HQ stores it while this ack is written; the next step collects its answer.
            if (m_clock.now().monoMs - following->madeMonoMs <= kNextBatchFreshMs) {
                flyingLast = following->batch.responses.back().id;
                flyingSize = following->batch.responses.size();
                m_inFlight = std::async(std::launch::async, [this, next = std::move(*following)]() mutable {
                    return send(std::move(next));
                });
            }
        } else if (keep) {
            m_next = std::move(following);
        }

        // One transaction: the outbox records all of HQ's answer or none of it.
        auto applied = store::applyAck(m_db, outcome.synced, after.utcMs, outcome.rejected);
        if (!applied) return std::unexpected(std::move(applied.error()));
        if (auto ok = refreshCounts(); !ok) return std::unexpected(std::move(ok.error()));
        m_status.lastSuccessUtcMs = after.utcMs;
        m_status.lastError.clear();
        m_status.lastErrorKind.reset();
        if (ack.openCallbacks) noteOpenCallbacks(*ack.openCallbacks);
        report.contactsErased = *applied;
        if (*applied > 0) report.walTruncated = eraseFromWal(*applied);
        report.kind = StepReport::Kind::Sent;

        // While a full batch flies with more behind it, the one after it is read and encoded.
        if (flyingSize == static_cast<std::size_t>(m_limit)) {
            const auto backlog = m_status.pending - static_cast<std::int64_t>(flyingSize);
            if (backlog > 0) {
                auto next = prepare(flyingLast, backlog, m_clock.now());
                if (!next) return std::unexpected(std::move(next.error()));
                if (!next->batch.responses.empty()) m_next = std::move(*next);
            }
        }
        return report;
    }
}

} // namespace segue::sync
