// One drain step of the outbox: read the oldest pending responses, post them as one batch,
// apply HQ's ack. The worker and `sync --once` both drive it, step by step; with a backlog a
// step reads the next batch, and leaves it in flight, on threads of its own.
#pragma once
#include <functional>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <future>
#include <optional>
#include <string>
#include <vector>

#include "core/response.hpp"
#include "core/time.hpp"
#include "core/uuid.hpp"
#include "store/database.hpp"
#include "store/outbox.hpp"
#include "sync/status.hpp"
#include "sync/transport.hpp"
#include "sync/wire.hpp"

namespace segue::sync {

/// The version sent as app_version (the project version).
std::string appVersion();

inline constexpr int kDefaultBatchLimit = 1000;
/// How long a batch made ahead may wait for its turn (its sent_at is when it was made).
inline constexpr std::int64_t kNextBatchFreshMs = 2'000;

/// What a batch says about the terminal's configuration (wire::Batch's optional keys).
struct ConfigReport {
    std::optional<std::string> surveyId;       ///< the survey running now
    std::optional<int> surveyVersion;
    std::optional<std::string> configError;    ///< why the last definition HQ sent was refused
};

struct DrainSettings {
    std::string deviceId;
    std::string appVersion = sync::appVersion();
    int batchLimit = kDefaultBatchLimit;   ///< records per batch; HQ takes at most wire::kMaxRecords
    /// With a backlog, the next batch goes out as soon as an ack settles the last one, and stays
    /// in flight while that ack is written; the next step collects its ack. Off, each step
    /// sends one batch and waits for it (the tests that count posts per step use that).
    bool pipelined = true;
    /// Read on the drainer's connection as each batch is made; empty: the batch says nothing of
    /// the configuration (as before terminals were configured from HQ).
    std::function<ConfigReport(store::Database&)> configReport = {};
};

/// How one ack changed the outbox.
struct AckResult {
    std::size_t synced = 0;      ///< accepted + duplicates, now "synced"
    std::size_t duplicates = 0;  ///< of those, HQ already had
    std::size_t rejected = 0;    ///< now "rejected" with HQ's reason
    std::size_t unlisted = 0;    ///< sent but not in the ack: still pending
    std::size_t foreign = 0;     ///< ids in the ack that were not sent: ignored
};

/// What an ack says about the batch sent: the counts, and the ids to record as synced and as
/// rejected (store::applyAck writes them). Only ids both sent and listed change state: accepted
/// and duplicates become synced, rejected keep HQ's reason; anything unlisted stays pending. An
/// id listed as both synced and rejected counts as synced (HQ holds it).
struct AckOutcome {
    AckResult result;
    std::vector<std::string> synced;
    std::vector<store::Rejection> rejected;
};
AckOutcome classifyAck(const std::vector<core::Response>& sent, const wire::BatchAck& ack);

struct StepReport {
    enum class Kind {
        NothingPending,   ///< the outbox is empty; nothing was sent
        Sent,             ///< a batch was acknowledged and applied
        Failed,           ///< the send failed; `failure` says why, nothing changed state
    };
    Kind kind = Kind::NothingPending;
    std::size_t batchSize = 0;      ///< records in the batch HQ acknowledged (or the last tried)
    AckResult ack;
    int splits = 0;                 ///< times the batch was halved after a 413 in this step
    std::optional<SendFailure> failure;
    std::int64_t contactsErased = 0; ///< sealed callback contacts deleted after this ack
    bool walTruncated = false;       ///< and the WAL cut to zero bytes after that
};

class Drainer {
public:
    /// `db`, `transport` and `clock` must outlive the drainer.
    Drainer(store::Database& db, Transport& transport, const core::Clock& clock, DrainSettings settings);

    /// Carries on from the status another run saved (clock offset, last success, batch limit).
    std::expected<void, store::Error> loadSaved();

    /// Waits for the next batch's ack (the one in flight, or one it sends now) and applies it.
    /// A 413 halves the batch size and retries at once (down to one record); every other
    /// failure is reported, not retried here. Pipelined, a step that settles a full batch with
    /// more pending leaves the next batch in flight for the next step; a drainer destroyed with
    /// one in flight waits for it and records nothing of it (those records stay pending and HQ
    /// answers them as duplicates when they are sent again).
    std::expected<StepReport, store::Error> step();

    /// True while a batch is in flight between steps.
    bool inFlight() const { return m_inFlight.valid(); }

    /// Re-reads the outbox counts into the status.
    std::expected<void, store::Error> refreshCounts();

    /// Saves the status to store meta for other processes.
    std::expected<void, store::Error> save();

    const SyncStatus& status() const { return m_status; }
    /// The worker records its schedule here so it is saved with the rest.
    void setSchedule(SyncState state, std::optional<std::int64_t> nextAttemptUtcMs);
    /// Records a failure that is not the transport's (the terminal's own database).
    void noteLocalError(const std::string& plainWords);
    int batchLimit() const { return m_limit; }

private:
    /// A batch ready to send, with the body the transport made for it (when it makes one).
    struct Ready {
        wire::Batch batch;
        std::optional<std::string> body;
        std::int64_t madeMonoMs = 0;
        std::int64_t freshForMs = kNextBatchFreshMs;   ///< after madeMonoMs + this it is made again
    };
    /// A batch sent, with HQ's answer and the clock around the send.
    struct Posted {
        Ready made;
        std::expected<wire::BatchAck, SendFailure> ack;
        core::Now before;
        core::Now after;
    };
    Posted send(Ready made);
    /// Truncates the WAL after `erased` sealed contacts were deleted; false (and the status
    /// says why) when it could not finish.
    bool eraseFromWal(std::int64_t erased);
    /// Keeps HQ's count of the store's open callback requests for the staff screen.
    void noteOpenCallbacks(std::int64_t open);
    wire::Batch buildBatch(std::vector<core::Response> rows, std::int64_t pending, std::int64_t nowUtcMs);
    /// Records a failed send in the status (unless the worker is stopping) and reports it.
    StepReport failed(StepReport report, SendFailure failure, std::int64_t atUtcMs);
    /// The next batch after `afterId` ("" = the oldest), `backlog` pending counted from there.
    std::expected<Ready, store::Error> prepare(const std::string& afterId, std::int64_t backlog, core::Now now);

    store::Database& m_db;
    Transport& m_transport;
    const core::Clock& m_clock;
    DrainSettings m_settings;
    int m_limit;
    core::UuidV7Generator m_ids;
    SyncStatus m_status;
    std::optional<Ready> m_next;   ///< made while the last batch was in flight, or whose send failed; sent next
    std::future<Posted> m_inFlight;   ///< last: destroyed (and waited for) before the rest
};

} // namespace segue::sync
