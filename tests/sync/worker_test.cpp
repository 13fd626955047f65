// The worker thread with a scripted HQ and a real SQLite file. No test sleeps: each waits for
// the worker's own drain counter, bounded.
#include <catch2/catch.hpp>

#include <condition_variable>
#include <mutex>

#include "store/outbox.hpp"
#include "store/responses.hpp"
#include "sync/status.hpp"
#include "sync/worker.hpp"
#include "tests/sync/support.hpp"

using namespace segue;
using namespace std::chrono_literals;
using segue::test::TempDir;

namespace {

constexpr std::int64_t kNow = 1'795'000'000'000;
constexpr auto kBound = 20s;   // generous: the machine is shared

/// Wraps FakeHq behind a mutex so the test thread can look at it while the worker posts.
class SharedHq final : public sync::Transport {
public:
    explicit SharedHq(const core::Clock& clock) : hq(clock) {}
    std::expected<wire::BatchAck, sync::SendFailure> post(const wire::Batch& b) override {
        std::unique_lock lock(mutex);
        ++posts;
        if (block) {
            blocked = true;
            cv.notify_all();
            cv.wait(lock, [&] { return cancelled; });
            return std::unexpected(sync::SendFailure{sync::SendError::Aborted, "cancelled", {}, {}});
        }
        return hq.post(b);
    }
    void cancel() override {
        std::lock_guard lock(mutex);
        cancelled = true;
        cv.notify_all();
    }
    std::mutex mutex;
    std::condition_variable cv;
    test::FakeHq hq;
    int posts = 0;
    bool block = false;
    bool blocked = false;
    bool cancelled = false;
};

struct Setup {
    TempDir dir{"worker"};
    core::FakeClock clock{kNow};
    std::filesystem::path dbPath = dir / "kiosk.sqlite";
    store::Database ui;   // the UI thread's own connection
    SharedHq* hq = nullptr;
    std::unique_ptr<sync::SyncWorker> worker;

    /// backoffBaseMs: tests that look at a Retrying state make it long, so no retry of the
    /// worker's own races with the test's "sync now".
    explicit Setup(std::int64_t backoffBaseMs = 1'000) : ui(open(dbPath)) {
        auto t = std::make_unique<SharedHq>(clock);
        hq = t.get();
        sync::WorkerOptions o;
        o.databasePath = dbPath;
        o.drain.deviceId = "kiosk-1";
        o.drain.batchLimit = 100;
        o.seed = 11;
        o.retry.backoff.baseMs = backoffBaseMs;
        worker = std::make_unique<sync::SyncWorker>(std::move(o), std::move(t), clock);
    }
    /// Opened as the kiosk opens the connection its customers' taps commit on.
    static store::Database open(const std::filesystem::path& p) {
        store::OpenOptions options;
        options.checkpoints = store::Checkpoints::Deferred;
        auto db = store::Database::open(p, options);
        REQUIRE(db.has_value());
        return std::move(*db);
    }
    void save(int count, std::uint64_t seed) {
        REQUIRE(store::saveResponses(ui, test::makeResponses(count, "store-1", "kiosk-1", kNow, 2, seed)).has_value());
    }
    std::int64_t pending() {
        auto c = store::outboxCounts(ui);
        REQUIRE(c.has_value());
        return c->pending;
    }
};

} // namespace

TEST_CASE("the worker drains the backlog on start and publishes its status", "[worker]") {
    Setup s;
    s.save(350, 1);
    REQUIRE(s.worker->start().has_value());
    REQUIRE(s.worker->waitForDrain(0, kBound) >= 1);
    CHECK(s.pending() == 0);
    const auto st = s.worker->status();
    CHECK(st.state == sync::SyncState::Idle);
    CHECK(st.online);
    CHECK(st.pending == 0);
    CHECK(st.synced == 350);
    CHECK(st.lastSuccessUtcMs == kNow);
    {
        std::lock_guard lock(s.hq->mutex);
        CHECK(s.hq->hq.batches.size() == 4);
        CHECK(s.hq->hq.stored.size() == 350);
    }
    // Another process reads the same status from store meta.
    auto saved = sync::loadStatus(s.ui);
    REQUIRE(saved.has_value());
    REQUIRE(saved->has_value());
    CHECK((*saved)->synced == 350);
    CHECK((*saved)->state == sync::SyncState::Idle);

    // A new response wakes it while the link is up.
    const auto seen = s.worker->drainCount();
    s.save(1, 2);
    s.worker->wake();
    REQUIRE(s.worker->waitForDrain(seen, kBound) > seen);
    CHECK(s.pending() == 0);
    CHECK(s.worker->status().synced == 351);
    s.worker->stop();
    CHECK(s.worker->status().state == sync::SyncState::Stopped);
}

TEST_CASE("HQ unreachable: the worker backs off, sync now retries, nothing is lost", "[worker]") {
    Setup s(3'600'000);
    s.save(120, 3);
    {
        std::lock_guard lock(s.hq->mutex);
        s.hq->hq.failNext.assign(2, sync::SendFailure{sync::SendError::Offline, "Connection refused", {}, {}});
    }
    REQUIRE(s.worker->start().has_value());
    auto seen = s.worker->waitForDrain(0, kBound);
    REQUIRE(seen >= 1);
    auto st = s.worker->status();
    CHECK(st.state == sync::SyncState::Retrying);
    CHECK_FALSE(st.online);
    CHECK(st.lastError.find("HQ cannot be reached") != std::string::npos);
    CHECK(st.pending == 120);
    REQUIRE(st.nextAttemptUtcMs.has_value());
    CHECK(*st.nextAttemptUtcMs <= kNow + 3'600'000);   // first failure: at most the base

    s.worker->wake(true);
    seen = s.worker->waitForDrain(seen, kBound);
    CHECK(s.worker->status().state == sync::SyncState::Retrying);
    CHECK(s.pending() == 120);
    s.worker->wake(true);
    seen = s.worker->waitForDrain(seen, kBound);
    st = s.worker->status();
    CHECK(st.state == sync::SyncState::Idle);
    CHECK(st.pending == 0);
    CHECK(s.pending() == 0);
    CHECK(st.lastError.empty());
}

TEST_CASE("a refused token is a configuration problem shown with a slow retry", "[worker]") {
    Setup s;
    s.save(10, 4);
    {
        std::lock_guard lock(s.hq->mutex);
        s.hq->hq.failNext.assign(1, sync::SendFailure{sync::SendError::Unauthorized, "unauthorized: revoked", 401, {}});
    }
    REQUIRE(s.worker->start().has_value());
    auto seen = s.worker->waitForDrain(0, kBound);
    auto st = s.worker->status();
    CHECK(st.state == sync::SyncState::ConfigProblem);
    CHECK(st.nextAttemptUtcMs == kNow + 300'000);
    CHECK(st.lastError.find("token") != std::string::npos);
    CHECK(s.pending() == 10);
    // Staff fixed it and pressed "sync now".
    s.worker->wake(true);
    s.worker->waitForDrain(seen, kBound);
    CHECK(s.worker->status().state == sync::SyncState::Idle);
    CHECK(s.pending() == 0);
}

TEST_CASE("stop aborts a transfer in flight and the UI's status() never waits for it", "[worker]") {
    Setup s;
    s.save(5, 5);
    {
        std::lock_guard lock(s.hq->mutex);
        s.hq->block = true;
    }
    REQUIRE(s.worker->start().has_value());
    {
        std::unique_lock lock(s.hq->mutex);
        REQUIRE(s.hq->cv.wait_for(lock, kBound, [&] { return s.hq->blocked; }));
    }
    // The post is stuck "on the network"; the snapshot is still available.
    const auto st = s.worker->status();
    CHECK(st.state == sync::SyncState::Syncing);
    CHECK(st.pending == 5);
    s.worker->stop();   // would hang (and time out the test) without cancel()
    CHECK(s.worker->status().state == sync::SyncState::Stopped);
    CHECK(s.pending() == 5);
}

TEST_CASE("after a drain the worker checkpoints the WAL the taps left behind", "[worker]") {
    Setup s;
    s.save(350, 21);
    std::error_code ec;
    const auto before = std::filesystem::file_size(s.dbPath, ec);   // the rows are in the WAL only
    REQUIRE_FALSE(ec);
    REQUIRE(s.worker->start().has_value());
    REQUIRE(s.worker->waitForDrain(0, kBound) >= 1);
    CHECK(s.pending() == 0);
    // A checkpoint is the only thing that writes pages into the database file itself.
    CHECK(std::filesystem::file_size(s.dbPath, ec) > before);
    s.worker->stop();
    CHECK(s.pending() == 0);
}
