// The drain logic through a real SQLite outbox and a scripted HQ.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>

#include "core/uuid.hpp"
#include "store/outbox.hpp"
#include "store/responses.hpp"
#include "sync/drainer.hpp"
#include "sync/status.hpp"
#include "tests/sync/support.hpp"

using namespace segue;
using segue::test::FakeHq;
using segue::test::TempDir;

namespace {

constexpr std::int64_t kNow = 1'795'000'000'000;

struct Kiosk {
    TempDir dir{"drain"};
    store::Database db;
    core::FakeClock clock{kNow};
    FakeHq hq{clock};
    std::vector<core::Response> saved;

    explicit Kiosk(int count) : db(openDb(dir.path() / "kiosk.sqlite")) {
        saved = test::makeResponses(count, "store-1", "kiosk-1", kNow - 60'000);
        if (!saved.empty()) REQUIRE(store::saveResponses(db, saved).has_value());
    }
    static store::Database openDb(const std::filesystem::path& p) {
        auto db = store::Database::open(p);
        REQUIRE(db.has_value());
        return std::move(*db);
    }
    sync::Drainer drainer(int limit = sync::kDefaultBatchLimit) {
        return sync::Drainer(db, hq, clock, sync::DrainSettings{"kiosk-1", "9.9.9-test", limit, false});
    }
    store::OutboxCounts counts() {
        auto c = store::outboxCounts(db);
        REQUIRE(c.has_value());
        return *c;
    }
};

std::vector<std::string> idsOf(const std::vector<core::Response>& rs) {
    std::vector<std::string> out;
    for (const auto& r : rs) out.push_back(r.id);
    return out;
}

} // namespace

TEST_CASE("a backlog drains oldest first in batches of at most 500", "[drain]") {
    Kiosk k(1234);
    auto d = k.drainer(500);
    std::vector<std::size_t> sizes;
    for (int i = 0; i < 10; ++i) {
        auto step = d.step();
        REQUIRE(step.has_value());
        if (step->kind == sync::StepReport::Kind::NothingPending) break;
        REQUIRE(step->kind == sync::StepReport::Kind::Sent);
        sizes.push_back(step->batchSize);
        k.clock.advance(1'000);
    }
    CHECK(sizes == std::vector<std::size_t>{500, 500, 234});
    REQUIRE(k.hq.batches.size() == 3);

    // The records went out in id (= time) order, each exactly once.
    std::vector<std::string> sent;
    for (const auto& b : k.hq.batches)
        for (const auto& r : b.responses) sent.push_back(r.id);
    auto expected = idsOf(k.saved);
    std::sort(expected.begin(), expected.end());
    CHECK(sent == expected);
    CHECK(k.hq.batches[0].responses.front() == k.saved.front());   // the whole record, not just the id

    // The envelope: protocol, device, fresh UUIDv7 batch ids, the backlog behind each batch.
    // The third batch was made while the second was in flight (the second was made again: the
    // one made during the first lacked the clock offset the first ack brought).
    std::set<std::string> batchIds;
    const std::int64_t pendingSeen[] = {734, 234, 0};
    const std::int64_t madeAt[] = {kNow, kNow + 1'000, kNow + 1'000};
    for (std::size_t i = 0; i < 3; ++i) {
        const auto& b = k.hq.batches[i];
        CHECK(b.protocol == wire::kProtocol);
        CHECK(b.deviceId == "kiosk-1");
        CHECK(b.appVersion == "9.9.9-test");
        CHECK(b.pending == pendingSeen[i]);
        CHECK(b.sentAtMs == madeAt[i]);
        CHECK(core::uuidV7Millis(b.batchId) == b.sentAtMs);
        batchIds.insert(b.batchId);
    }
    CHECK(batchIds.size() == 3);

    const auto c = k.counts();
    CHECK(c.pending == 0);
    CHECK(c.synced == 1234);
    CHECK(c.rejected == 0);
    CHECK(d.status().pending == 0);
    CHECK(d.status().synced == 1234);
    CHECK(d.status().lastSuccessUtcMs == kNow + 2'000);
    CHECK(d.status().lastError.empty());
}

TEST_CASE("nothing pending sends nothing", "[drain]") {
    Kiosk k(0);
    auto d = k.drainer();
    auto step = d.step();
    REQUIRE(step.has_value());
    CHECK(step->kind == sync::StepReport::Kind::NothingPending);
    CHECK(k.hq.batches.empty());
}

TEST_CASE("rejected records keep HQ's reason, stay stored and are never resent", "[drain][ack]") {
    Kiosk k(30);
    k.hq.rejectIds[k.saved[3].id] = "conflict: this id is stored with different content";
    k.hq.rejectIds[k.saved[17].id] = "stars must be 1..5";
    auto d = k.drainer(10);
    for (int i = 0; i < 10; ++i) {
        auto step = d.step();
        REQUIRE(step.has_value());
        if (step->kind != sync::StepReport::Kind::Sent) break;
    }
    CHECK(k.hq.batches.size() == 3);
    auto c = k.counts();
    CHECK(c.pending == 0);
    CHECK(c.synced == 28);
    CHECK(c.rejected == 2);
    auto rejected = store::rejectedList(k.db, 10);
    REQUIRE(rejected.has_value());
    REQUIRE(rejected->size() == 2);
    std::map<std::string, std::string> byId;
    for (const auto& r : *rejected) byId[r.id] = r.reason;
    CHECK(byId[k.saved[3].id] == "conflict: this id is stored with different content");
    CHECK(byId[k.saved[17].id] == "stars must be 1..5");
    // Kept: the record itself is still in the store.
    auto kept = store::findResponse(k.db, k.saved[3].id);
    REQUIRE(kept.has_value());
    REQUIRE(kept->has_value());
    CHECK(**kept == k.saved[3]);

    // More steps send nothing: rejected ones are not pending.
    auto step = d.step();
    REQUIRE(step.has_value());
    CHECK(step->kind == sync::StepReport::Kind::NothingPending);
    CHECK(k.hq.batches.size() == 3);
    CHECK(d.status().rejected == 2);
}

TEST_CASE("only ids the ack lists change state", "[drain][ack]") {
    Kiosk k(20);
    auto d = k.drainer(20);
    const std::string lost = k.saved[5].id;
    k.hq.tamper = [&](wire::BatchAck& ack) {
        std::erase(ack.accepted, lost);                                          // HQ forgot one
        ack.accepted.push_back("01900000-0000-7000-8000-000000000000");         // and named a stranger
        if (!ack.accepted.empty()) ack.duplicates.push_back(ack.accepted.front()); // and one twice
    };
    auto step = d.step();
    REQUIRE(step.has_value());
    REQUIRE(step->kind == sync::StepReport::Kind::Sent);
    CHECK(step->ack.synced == 19);
    CHECK(step->ack.unlisted == 1);
    CHECK(step->ack.foreign == 1);
    auto c = k.counts();
    CHECK(c.pending == 1);
    CHECK(c.synced == 19);

    // The unlisted one goes again, alone, and HQ's honest answer settles it.
    k.hq.tamper = nullptr;
    step = d.step();
    REQUIRE(step.has_value());
    REQUIRE(step->kind == sync::StepReport::Kind::Sent);
    REQUIRE(k.hq.batches.back().responses.size() == 1);
    CHECK(k.hq.batches.back().responses[0].id == lost);
    CHECK(k.counts().pending == 0);
}

TEST_CASE("an ack that settles nothing is a failure, not a reason to spin", "[drain][ack]") {
    Kiosk k(5);
    auto d = k.drainer();
    k.hq.tamper = [](wire::BatchAck& ack) { ack = wire::BatchAck{{}, {}, {}, ack.serverTimeMs}; };
    auto step = d.step();
    REQUIRE(step.has_value());
    CHECK(step->kind == sync::StepReport::Kind::Failed);
    REQUIRE(step->failure.has_value());
    CHECK(step->failure->kind == sync::SendError::ServerError);
    CHECK(k.counts().pending == 5);
    CHECK(d.status().lastError.find("settled none") != std::string::npos);
}

TEST_CASE("a failed send changes nothing and is described in plain words", "[drain]") {
    Kiosk k(50);
    auto d = k.drainer();
    SECTION("offline") {
        k.hq.failNext.push_back({sync::SendError::Offline, "Failed to connect to localhost port 1: Connection refused", {}, {}});
        auto step = d.step();
        REQUIRE(step.has_value());
        CHECK(step->kind == sync::StepReport::Kind::Failed);
        CHECK(step->failure->kind == sync::SendError::Offline);
        CHECK_FALSE(d.status().online);
        CHECK(d.status().lastError == "HQ cannot be reached (Failed to connect to localhost port 1: Connection refused)");
        CHECK(d.status().lastErrorKind == sync::SendError::Offline);
    }
    SECTION("HQ answers 503") {
        k.hq.failNext.push_back({sync::SendError::ServerError, "unavailable: draining", 503, 5'000});
        auto step = d.step();
        REQUIRE(step.has_value());
        CHECK(step->failure->retryAfterMs == 5'000);
        CHECK(d.status().online);   // HQ answered: the link is up, the server is not
        CHECK(d.status().lastError.find("HTTP 503") != std::string::npos);
    }
    SECTION("wrong token") {
        k.hq.failNext.push_back({sync::SendError::Unauthorized, "unauthorized: unknown token", 401, {}});
        auto step = d.step();
        REQUIRE(step.has_value());
        CHECK(step->failure->kind == sync::SendError::Unauthorized);
    }
    SECTION("protocol mismatch") {
        k.hq.failNext.push_back({sync::SendError::Protocol, "protocol: version 1 unknown", 409, {}});
        auto step = d.step();
        REQUIRE(step.has_value());
        CHECK(step->failure->kind == sync::SendError::Protocol);
    }
    auto c = k.counts();
    CHECK(c.pending == 50);
    CHECK(c.synced == 0);
    CHECK(c.rejected == 0);
    CHECK(d.status().pending == 50);
    CHECK_FALSE(d.status().lastSuccessUtcMs.has_value());

    // The next attempt succeeds and clears the error.
    auto step = d.step();
    REQUIRE(step.has_value());
    CHECK(step->kind == sync::StepReport::Kind::Sent);
    CHECK(d.status().lastError.empty());
    CHECK(k.counts().pending == 0);
}

TEST_CASE("a batch whose send failed goes again as it was made for 30 s, then is made again", "[drain][retry]") {
    Kiosk k(100);
    auto ids = idsOf(k.saved);
    std::sort(ids.begin(), ids.end());
    auto d = k.drainer();
    k.hq.failNext.push_back({sync::SendError::Offline, "Connection refused", {}, {}});
    auto first = d.step();
    REQUIRE(first.has_value());
    REQUIRE(first->kind == sync::StepReport::Kind::Failed);
    REQUIRE(k.hq.batches.size() == 1);
    const std::string batchId = k.hq.batches[0].batchId;
    const std::int64_t madeAt = k.hq.batches[0].sentAtMs;

    // Meanwhile another process settles the first ten records: a batch read again leaves them out.
    REQUIRE(store::markSynced(k.db, std::vector<std::string>(ids.begin(), ids.begin() + 10), kNow).has_value());

    std::string expectedId, expectedFirst;
    std::size_t expectedSize = 0;
    SECTION("within 30 s: the same batch, neither read nor encoded again") {
        k.clock.advance(29'000);
        k.hq.failNext.push_back({sync::SendError::ServerError, "unavailable", 503, 1'000});
        auto second = d.step();
        REQUIRE(second.has_value());
        REQUIRE(second->kind == sync::StepReport::Kind::Failed);
        REQUIRE(k.hq.batches.size() == 2);
        CHECK(k.hq.batches[1].batchId == batchId);
        CHECK(k.hq.batches[1].sentAtMs == madeAt);
        CHECK(k.hq.batches[1].responses.size() == 100);
        k.clock.advance(500);   // still within 30 s of when it was made
        expectedId = batchId;
        expectedFirst = ids[0];
        expectedSize = 100;
    }
    SECTION("after 30 s: made again from what is pending now") {
        k.clock.advance(30'001);
        expectedFirst = ids[10];
        expectedSize = 90;
    }
    auto sent = d.step();
    REQUIRE(sent.has_value());
    REQUIRE(sent->kind == sync::StepReport::Kind::Sent);
    const auto& last = k.hq.batches.back();
    CHECK(last.responses.size() == expectedSize);
    CHECK(last.responses.front().id == expectedFirst);
    if (expectedId.empty()) {
        CHECK(last.batchId != batchId);
        CHECK(last.sentAtMs == k.clock.now().utcMs);
    } else {
        CHECK(last.batchId == expectedId);
    }
    CHECK(k.counts().pending == 0);
    CHECK(k.counts().synced == 100);
}

TEST_CASE("a batch HQ finds too large is halved until it fits", "[drain][split]") {
    Kiosk k(1100);
    k.hq.maxRecords = 120;
    auto d = k.drainer(500);
    auto step = d.step();
    REQUIRE(step.has_value());
    REQUIRE(step->kind == sync::StepReport::Kind::Sent);
    CHECK(step->splits == 3);          // 500 -> 250 -> 125 -> 62
    CHECK(step->batchSize == 62);
    CHECK(d.batchLimit() == 62);
    int steps = 1;
    while (true) {
        step = d.step();
        REQUIRE(step.has_value());
        if (step->kind == sync::StepReport::Kind::NothingPending) break;
        REQUIRE(step->kind == sync::StepReport::Kind::Sent);
        CHECK(step->splits == 0);      // the smaller size sticks
        ++steps;
    }
    CHECK(steps == 18);                // ceil(1100 / 62)
    CHECK(k.counts().synced == 1100);
    CHECK(k.hq.stored.size() == 1100);
}

TEST_CASE("a single record HQ finds too large is parked, not dropped", "[drain][split]") {
    Kiosk k(3);
    k.hq.maxRecords = 0;
    k.hq.failNext.assign(3, sync::SendFailure{sync::SendError::TooLarge, "body too large", 413, {}});
    auto d = k.drainer(4);
    auto step = d.step();
    REQUIRE(step.has_value());
    // 3 -> 1 record -> still too large: reported.
    CHECK(step->kind == sync::StepReport::Kind::Failed);
    CHECK(step->failure->kind == sync::SendError::TooLarge);
    CHECK(k.counts().pending == 3);
}

TEST_CASE("the clock offset from HQ's reply goes out with the next batch and survives a restart", "[drain][clock]") {
    Kiosk k(15);
    k.hq.serverSkewMs = -90'000;   // the terminal's clock is 90 s fast
    {
        auto d = k.drainer(5);
        REQUIRE(d.step().has_value());
        CHECK_FALSE(k.hq.batches[0].clockOffsetMs.has_value());
        CHECK(d.status().clockOffsetMs == 90'000);
        REQUIRE(d.step().has_value());
        CHECK(k.hq.batches[1].clockOffsetMs == 90'000);
        REQUIRE(d.save().has_value());
    }
    // A later process (sync --once) picks up the saved offset and last success.
    auto d = k.drainer(5);
    REQUIRE(d.loadSaved().has_value());
    CHECK(d.status().clockOffsetMs == 90'000);
    CHECK(d.status().lastSuccessUtcMs == kNow);
    CHECK(d.status().pending == 5);
    REQUIRE(d.step().has_value());
    CHECK(k.hq.batches[2].clockOffsetMs == 90'000);
}

TEST_CASE("records HQ already holds come back as duplicates and count as synced", "[drain][ack]") {
    Kiosk k(40);
    for (int i = 0; i < 40; i += 2) k.hq.stored.insert(k.saved[static_cast<std::size_t>(i)].id);
    auto d = k.drainer();
    auto step = d.step();
    REQUIRE(step.has_value());
    CHECK(step->ack.synced == 40);
    CHECK(step->ack.duplicates == 20);
    CHECK(k.counts().synced == 40);
}

TEST_CASE("sync status survives a round trip through store meta", "[status]") {
    sync::SyncStatus s;
    s.state = sync::SyncState::ConfigProblem;
    s.online = true;
    s.lastSuccessUtcMs = kNow - 5;
    s.lastAttemptUtcMs = kNow;
    s.lastError = "HQ refused this terminal's token (HTTP 401: 不对)";
    s.lastErrorKind = sync::SendError::Unauthorized;
    s.lastErrorUtcMs = kNow;
    s.clockOffsetMs = -1234;
    s.pending = 7;
    s.synced = 9;
    s.rejected = 1;
    s.oldestPendingUtcMs = kNow - 3'600'000;
    s.nextAttemptUtcMs = kNow + 300'000;
    s.batchLimit = 250;
    auto back = sync::decodeStatus(sync::encodeStatus(s));
    REQUIRE(back.has_value());
    CHECK(*back == s);
    CHECK(s.oldestPendingAgeS(kNow) == 3'600);

    TempDir dir("status");
    auto db = store::Database::open(dir / "kiosk.sqlite");
    REQUIRE(db.has_value());
    auto none = sync::loadStatus(*db);
    REQUIRE(none.has_value());
    CHECK_FALSE(none->has_value());
    REQUIRE(sync::saveStatus(*db, s).has_value());
    auto loaded = sync::loadStatus(*db);
    REQUIRE(loaded.has_value());
    REQUIRE(loaded->has_value());
    CHECK(**loaded == s);

    CHECK_FALSE(sync::decodeStatus("not json").has_value());
    CHECK_FALSE(sync::decodeStatus(R"({"state":"dancing"})").has_value());
    CHECK_FALSE(sync::decodeStatus(R"({"pending":"many"})").has_value());
}

TEST_CASE("the batch made while one is in flight goes next, unless the drain paused", "[drain][ahead]") {
    Kiosk k(3500);
    auto ids = idsOf(k.saved);
    std::sort(ids.begin(), ids.end());
    auto d = k.drainer(1000);
    for (int i = 0; i < 2; ++i) {   // the first ack brings the clock offset the next batches carry
        auto sent = d.step();
        REQUIRE(sent.has_value());
        REQUIRE(sent->kind == sync::StepReport::Kind::Sent);
        k.clock.advance(100);
    }
    REQUIRE(k.hq.batches.size() == 2);

    // Meanwhile another process settles the first ten records of the next batch.
    const std::vector<std::string> settled(ids.begin() + 2000, ids.begin() + 2010);
    REQUIRE(store::markSynced(k.db, settled, kNow).has_value());

    std::string nextFirst;
    std::int64_t madeAt = 0;
    SECTION("right away: the batch made ahead is sent as it was made") {
        madeAt = k.clock.now().utcMs - 100;
        nextFirst = ids[2000];
    }
    SECTION("after a pause: the batch is made again from what is pending now") {
        k.clock.advance(3'000);
        madeAt = k.clock.now().utcMs;
        nextFirst = ids[2010];
    }
    auto third = d.step();
    REQUIRE(third.has_value());
    REQUIRE(third->kind == sync::StepReport::Kind::Sent);
    REQUIRE(k.hq.batches.size() == 3);
    CHECK(k.hq.batches[2].responses.size() == 1000);
    CHECK(k.hq.batches[2].responses.front().id == nextFirst);
    CHECK(k.hq.batches[2].sentAtMs == madeAt);

    for (int i = 0; i < 5 && d.step()->kind == sync::StepReport::Kind::Sent; ++i) k.clock.advance(100);
    const auto c = k.counts();
    CHECK(c.pending == 0);
    CHECK(c.synced == 3500);
    std::set<std::string> atHq(k.hq.stored.begin(), k.hq.stored.end());
    for (const auto& id : settled) atHq.insert(id);
    CHECK(atHq.size() == 3500);
}

TEST_CASE("a record HQ left out of its ack is sent before the batch made ahead", "[drain][ahead]") {
    Kiosk k(3500);
    auto ids = idsOf(k.saved);
    std::sort(ids.begin(), ids.end());
    auto d = k.drainer(1000);
    auto first = d.step();   // brings the clock offset
    REQUIRE(first.has_value());
    REQUIRE(first->kind == sync::StepReport::Kind::Sent);
    k.clock.advance(100);

    const std::string left = ids[1005];
    k.hq.tamper = [&](wire::BatchAck& ack) {
        std::erase(ack.accepted, left);
        k.hq.stored.erase(left);
    };
    auto second = d.step();
    REQUIRE(second.has_value());
    REQUIRE(second->kind == sync::StepReport::Kind::Sent);
    CHECK(second->ack.unlisted == 1);
    k.hq.tamper = nullptr;

    k.clock.advance(100);
    auto third = d.step();
    REQUIRE(third.has_value());
    REQUIRE(third->kind == sync::StepReport::Kind::Sent);
    REQUIRE(k.hq.batches.size() == 3);
    CHECK(k.hq.batches[2].responses.front().id == left);   // oldest first again
    for (int i = 0; i < 5 && d.step()->kind == sync::StepReport::Kind::Sent; ++i) k.clock.advance(100);
    CHECK(k.counts().pending == 0);
    CHECK(k.hq.stored.size() == 3500);
}

namespace {

/// Holds every post at its door until the test lets it through, and tells the test when one
/// is waiting there; then hands it to the scripted HQ behind it.
class GatedHq final : public sync::Transport {
public:
    explicit GatedHq(FakeHq& hq) : m_hq(hq) {}
    std::expected<wire::BatchAck, sync::SendFailure> post(const wire::Batch& batch) override {
        std::unique_lock lock(m_mutex);
        const int mine = ++m_arrived;
        m_cv.notify_all();
        m_cv.wait(lock, [&] { return m_open || m_released >= mine; });
        return m_hq.post(batch);
    }
    void release() { std::lock_guard lock(m_mutex); ++m_released; m_cv.notify_all(); }
    void open() { std::lock_guard lock(m_mutex); m_open = true; m_cv.notify_all(); }
    /// Whether the n-th post has reached the door within a few seconds.
    bool arrived(int n) {
        std::unique_lock lock(m_mutex);
        return m_cv.wait_for(lock, std::chrono::seconds(5), [&] { return m_arrived >= n; });
    }

private:
    FakeHq& m_hq;
    std::mutex m_mutex;
    std::condition_variable m_cv;
    int m_arrived = 0;
    int m_released = 0;
    bool m_open = false;
};

sync::DrainSettings pipelined(int limit) { return sync::DrainSettings{"kiosk-1", "9.9.9-test", limit, true}; }

/// Two steps through the gate: the first ack brings the clock offset (so the batch made during
/// the first flight, which lacked it, is made again), the second leaves the third batch in flight.
void firstTwoSteps(sync::Drainer& d, GatedHq& gate) {
    gate.release();
    auto first = d.step();
    REQUIRE(first.has_value());
    REQUIRE(first->kind == sync::StepReport::Kind::Sent);
    CHECK_FALSE(d.inFlight());
    gate.release();
    auto second = d.step();
    REQUIRE(second.has_value());
    REQUIRE(second->kind == sync::StepReport::Kind::Sent);
    REQUIRE(gate.arrived(3));
}

/// Steps until nothing is pending, each step a sent batch; the duplicates HQ reported on the way.
std::size_t drainToEnd(sync::Drainer& d) {
    std::size_t duplicates = 0;
    for (int i = 0; i < 10; ++i) {
        auto step = d.step();
        REQUIRE(step.has_value());
        if (step->kind == sync::StepReport::Kind::NothingPending) return duplicates;
        REQUIRE(step->kind == sync::StepReport::Kind::Sent);
        duplicates += step->ack.duplicates;
    }
    FAIL("still pending after 10 steps");
    return duplicates;
}

} // namespace

TEST_CASE("pipelined, the next batch flies while the last ack is written, and the next step collects it",
          "[drain][pipelined]") {
    Kiosk k(3500);
    auto ids = idsOf(k.saved);
    std::sort(ids.begin(), ids.end());
    GatedHq gate(k.hq);
    {
        sync::Drainer d(k.db, gate, k.clock, pipelined(1000));
        firstTwoSteps(d, gate);
        // The third batch is at HQ's door, unanswered, while the second ack is already recorded.
        CHECK(d.inFlight());
        CHECK(k.hq.batches.size() == 2);
        CHECK(k.counts().synced == 2000);
        CHECK(k.counts().pending == 1500);
        CHECK(d.status().synced == 2000);

        gate.release();
        auto third = d.step();   // collects the third batch's ack; the last 500 fly
        REQUIRE(third.has_value());
        REQUIRE(third->kind == sync::StepReport::Kind::Sent);
        CHECK(third->batchSize == 1000);
        CHECK(third->ack.synced == 1000);
        REQUIRE(gate.arrived(4));
        CHECK(d.inFlight());
        CHECK(k.counts().synced == 3000);

        gate.release();
        auto fourth = d.step();
        REQUIRE(fourth.has_value());
        REQUIRE(fourth->kind == sync::StepReport::Kind::Sent);
        CHECK(fourth->batchSize == 500);
        CHECK_FALSE(d.inFlight());   // nothing behind a batch that is not full
        auto done = d.step();
        REQUIRE(done.has_value());
        CHECK(done->kind == sync::StepReport::Kind::NothingPending);
        CHECK(d.status().pending == 0);
        CHECK(d.status().lastSuccessUtcMs == kNow);
    }
    REQUIRE(k.hq.batches.size() == 4);
    std::vector<std::string> sent;
    for (const auto& b : k.hq.batches)
        for (const auto& r : b.responses) sent.push_back(r.id);
    CHECK(sent == ids);   // oldest first, each record once
    const std::int64_t behind[] = {2500, 1500, 500, 0};
    for (std::size_t i = 0; i < 4; ++i) CHECK(k.hq.batches[i].pending == behind[i]);
    CHECK(k.hq.batches[2].clockOffsetMs.has_value());
    CHECK(k.counts().synced == 3500);
    CHECK(k.hq.stored.size() == 3500);
}

TEST_CASE("a drainer that stops with a batch in flight records nothing of it; sent again, HQ has it",
          "[drain][pipelined]") {
    Kiosk k(3500);
    GatedHq gate(k.hq);
    {
        sync::Drainer d(k.db, gate, k.clock, pipelined(1000));
        firstTwoSteps(d, gate);
        gate.release();   // HQ stores the third batch; nobody collects its ack
    }   // the drainer waits for the batch in flight as it goes
    CHECK(k.hq.stored.size() == 3000);
    CHECK(k.counts().synced == 2000);
    CHECK(k.counts().pending == 1500);

    sync::Drainer again(k.db, k.hq, k.clock, pipelined(1000));
    CHECK(drainToEnd(again) == 1000);
    CHECK(k.counts().synced == 3500);
    CHECK(k.counts().pending == 0);
    CHECK(k.hq.stored.size() == 3500);
}

TEST_CASE("a batch in flight that fails is reported by the step that collects it, and nothing of it changes",
          "[drain][pipelined]") {
    Kiosk k(3500);
    GatedHq gate(k.hq);
    sync::Drainer d(k.db, gate, k.clock, pipelined(1000));
    firstTwoSteps(d, gate);
    k.hq.failNext.push_back({sync::SendError::Offline, "Connection refused", std::nullopt, std::nullopt});
    gate.open();
    auto third = d.step();
    REQUIRE(third.has_value());
    REQUIRE(third->kind == sync::StepReport::Kind::Failed);
    CHECK(third->failure->kind == sync::SendError::Offline);
    CHECK_FALSE(d.inFlight());
    CHECK(k.counts().synced == 2000);
    CHECK(k.counts().pending == 1500);
    CHECK(d.status().lastError.find("Connection refused") != std::string::npos);

    CHECK(drainToEnd(d) == 0);
    CHECK(k.counts().synced == 3500);
    CHECK(k.hq.stored.size() == 3500);
    CHECK(d.status().lastError.empty());
}
