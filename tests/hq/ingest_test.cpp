// Ingest (batch body → stored rows + reply), the per-device rate limiter and the metrics text,
// over a real SQLite store and a FakeClock.
#include <limits>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "hq/ingest.hpp"
#include "hq/surveys.hpp"
#include "hq/metrics.hpp"
#include "hq/rate_limiter.hpp"
#include "hq/token.hpp"
#include "tests/hq/hq_test_support.hpp"

using namespace segue;
using nlohmann::json;

namespace {

struct Fixture {
    test::TempDir dir;
    std::unique_ptr<hq::Storage> storage;
    core::FakeClock clock{1'795'000'000'000};
    hq::DeviceAuth device{"kiosk-1", "store-1", false};

    Fixture() {
        auto s = hq::openStorage("sqlite:" + (dir / "hq.sqlite").string());
        REQUIRE(s);
        storage = std::move(*s);
        REQUIRE(storage->addDevice({"kiosk-1", "store-1", "Kiosk 1", hq::hashToken("t1"), 1}));
    }

    std::string body(const std::vector<core::Response>& rs, std::optional<std::int64_t> offset = 250) {
        wire::Batch b;
        b.batchId = "0190f1e2-3a4b-7c5d-8e6f-0123456789ab";
        b.deviceId = "kiosk-1";
        b.sentAtMs = clock.now().utcMs + 90'000;
        b.pending = 42;
        b.appVersion = "0.1.0";
        b.clockOffsetMs = offset;
        b.responses = rs;
        return wire::encodeBatch(b);
    }
};

} // namespace

TEST_CASE("ingest: valid records are accepted, resent ones are duplicates", "[ingest]") {
    Fixture f;
    hq::Ingest ingest(*f.storage, f.clock);
    const auto rs = test::ResponseFactory("store-1", "kiosk-1").make(5);
    const auto ack = ingest.handle(f.device, f.body(rs));
    REQUIRE(ack);
    CHECK(ack->accepted.size() == 5);
    CHECK(ack->duplicates.empty());
    CHECK(ack->rejected.empty());
    CHECK(ack->serverTimeMs == f.clock.now().utcMs);

    f.clock.advance(1000);
    const auto again = ingest.handle(f.device, f.body(rs));
    REQUIRE(again);
    CHECK(again->accepted.empty());
    CHECK(again->duplicates == ack->accepted);
    CHECK(again->serverTimeMs == f.clock.now().utcMs);
}

TEST_CASE("ingest: records for another store or device are refused and kept, the rest accepted", "[ingest]") {
    Fixture f;
    hq::Ingest ingest(*f.storage, f.clock);
    auto rs = test::ResponseFactory("store-1", "kiosk-1").make(4);
    rs[1].storeId = "store-2";
    rs[2].deviceId = "kiosk-2";
    const auto ack = ingest.handle(f.device, f.body(rs));
    REQUIRE(ack);
    CHECK(ack->accepted == std::vector<std::string>{rs[0].id, rs[3].id});
    CHECK(ack->rejected == std::vector<wire::Rejected>{{rs[1].id, "wrong store"}, {rs[2].id, "wrong device"}});
    CHECK(f.storage->counts()->responses == 2);
    CHECK(f.storage->counts()->rejections == 2);
}

TEST_CASE("ingest: an id repeated inside one body is answered once and different content is a conflict", "[ingest]") {
    Fixture f;
    hq::Ingest ingest(*f.storage, f.clock);
    auto rs = test::ResponseFactory("store-1", "kiosk-1").make(2);
    auto changed = rs[0];
    changed.stars = changed.stars == 1 ? 2 : 1;
    const auto ack = ingest.handle(f.device, f.body({rs[0], rs[1], rs[0], changed}));
    REQUIRE(ack);
    CHECK(ack->accepted == std::vector<std::string>{rs[0].id, rs[1].id});
    CHECK(ack->rejected == std::vector<wire::Rejected>{{rs[0].id, "conflict"}});
    CHECK(f.storage->counts()->responses == 2);
    CHECK(f.storage->counts()->conflicts == 1);
}

TEST_CASE("ingest: whole-body errors map to 400, 409 and 413 and store nothing", "[ingest]") {
    Fixture f;
    hq::Ingest ingest(*f.storage, f.clock);
    const auto rs = test::ResponseFactory("store-1", "kiosk-1").make(1);

    auto status = [&](const std::string& body) {
        const auto r = ingest.handle(f.device, body);
        REQUIRE_FALSE(r);
        return r.error().status;
    };
    CHECK(status("{") == 400);
    json p2 = json::parse(f.body(rs));
    p2["protocol"] = 2;
    CHECK(status(p2.dump()) == 409);
    json otherDevice = json::parse(f.body(rs));
    otherDevice["device_id"] = "kiosk-2";
    const auto mismatch = ingest.handle(f.device, otherDevice.dump());
    REQUIRE_FALSE(mismatch);
    CHECK(mismatch.error().status == 400);
    CHECK(mismatch.error().code == "device_mismatch");
    json many = json::parse(f.body(rs));
    for (int i = 0; i < 1000; ++i) many["responses"].push_back(many["responses"][0]);
    CHECK(status(many.dump()) == 413);
    CHECK(f.storage->counts()->responses == 0);
    CHECK(f.storage->listDevices()->front().lastSeenMs == std::nullopt);
}

TEST_CASE("ingest: the device's status and clock offset are recorded", "[ingest]") {
    Fixture f;
    hq::Ingest ingest(*f.storage, f.clock);
    REQUIRE(ingest.handle(f.device, f.body({}, 250)));
    auto d = f.storage->listDevices()->front();
    CHECK(d.lastSeenMs == std::optional<std::int64_t>(f.clock.now().utcMs));
    CHECK(d.lastPending == std::optional<std::int64_t>(42));
    CHECK(d.appVersion == std::optional<std::string>("0.1.0"));
    CHECK(d.clockOffsetMs == std::optional<std::int64_t>(250));
    // Without a reported offset, HQ estimates it from sent_at (here 90 s ahead of HQ's clock).
    REQUIRE(ingest.handle(f.device, f.body({}, std::nullopt)));
    d = f.storage->listDevices()->front();
    CHECK(d.clockOffsetMs == std::optional<std::int64_t>(90'000));
}

TEST_CASE("rate limiter: a burst passes, then one request per refill interval", "[ingest]") {
    core::FakeClock clock;
    hq::RateLimiter limiter(2.0, 3.0, clock);   // 2 per second, burst 3
    CHECK_FALSE(limiter.take("a"));
    CHECK_FALSE(limiter.take("a"));
    CHECK_FALSE(limiter.take("a"));
    CHECK(limiter.take("a") == std::optional<int>(1));
    CHECK_FALSE(limiter.take("b"));   // buckets are per device
    clock.advance(499);
    CHECK(limiter.take("a") == std::optional<int>(1));
    clock.advance(2);
    CHECK_FALSE(limiter.take("a"));
    clock.advance(60'000);            // refills only up to the burst
    CHECK_FALSE(limiter.take("a"));
    CHECK_FALSE(limiter.take("a"));
    CHECK_FALSE(limiter.take("a"));
    CHECK(limiter.take("a"));

    hq::RateLimiter slow(0.01, 1.0, clock);
    CHECK_FALSE(slow.take("a"));
    CHECK(slow.take("a") == std::optional<int>(100));
}

TEST_CASE("metrics: counters and a cumulative latency histogram in Prometheus text", "[ingest]") {
    hq::Metrics m;
    m.countRequest("/api/v1/batches", 200);
    m.countRequest("/api/v1/batches", 200);
    m.countRequest("/api/v1/batches", 401);
    m.countResponses(7, 2, 1);
    m.observeIngest(0.003);
    m.observeIngest(0.2);
    m.observeIngest(9.0);
    const std::string text = m.render();
    CHECK_THAT(text, Catch::Contains("segue_hq_requests_total{route=\"/api/v1/batches\",code=\"200\"} 2\n"));
    CHECK_THAT(text, Catch::Contains("segue_hq_requests_total{route=\"/api/v1/batches\",code=\"401\"} 1\n"));
    CHECK_THAT(text, Catch::Contains("segue_hq_responses_total{result=\"accepted\"} 7\n"));
    CHECK_THAT(text, Catch::Contains("segue_hq_responses_total{result=\"duplicate\"} 2\n"));
    CHECK_THAT(text, Catch::Contains("segue_hq_responses_total{result=\"rejected\"} 1\n"));
    CHECK_THAT(text, Catch::Contains("segue_hq_ingest_seconds_bucket{le=\"0.005\"} 1\n"));
    CHECK_THAT(text, Catch::Contains("segue_hq_ingest_seconds_bucket{le=\"0.1\"} 1\n"));
    CHECK_THAT(text, Catch::Contains("segue_hq_ingest_seconds_bucket{le=\"0.25\"} 2\n"));
    CHECK_THAT(text, Catch::Contains("segue_hq_ingest_seconds_bucket{le=\"5\"} 2\n"));
    CHECK_THAT(text, Catch::Contains("segue_hq_ingest_seconds_bucket{le=\"+Inf\"} 3\n"));
    CHECK_THAT(text, Catch::Contains("segue_hq_ingest_seconds_count 3\n"));
    CHECK_THAT(text, Catch::Contains("segue_hq_ingest_seconds_sum 9.203000\n"));
}

namespace {

constexpr std::int64_t kDayMs = 24LL * 3600 * 1000;

/// A valid record of kiosk-1 at `createdAtMs` (its own clock) on the built-in survey.
core::Response recordAt(core::UuidV7Generator& ids, std::int64_t createdAtMs, int stars = 2) {
    return test::makeResponse(ids.next(createdAtMs), "store-1", "kiosk-1", createdAtMs, stars);
}

std::vector<core::Response> stored(hq::Storage& s) {
    std::vector<core::Response> out;
    auto page = s.exportPage({}, "", 1000);
    REQUIRE(page);
    for (auto& row : *page) out.push_back(row.response);
    return out;
}

} // namespace

TEST_CASE("ingest: a tag the named survey version does not have is refused unknown_tag and kept", "[ingest]") {
    Fixture f;
    hq::Ingest ingest(*f.storage, f.clock);
    core::UuidV7Generator ids;
    const std::int64_t now = f.clock.now().utcMs;
    auto good = recordAt(ids, now - 60'000);
    good.tags = {"wait_time", "price"};
    auto bad = recordAt(ids, now - 50'000);
    bad.tags = {"wait_time", "notarealtag"};
    // A survey version HQ does not know (published versions come later): tags are not checked.
    auto newer = recordAt(ids, now - 40'000);
    newer.surveyVersion = 2;
    newer.tags = {"notarealtag"};
    const auto ack = ingest.handle(f.device, f.body({good, bad, newer}));
    REQUIRE(ack);
    CHECK(ack->accepted == std::vector<std::string>{good.id, newer.id});
    CHECK(ack->rejected == std::vector<wire::Rejected>{{bad.id, "unknown_tag"}});
    CHECK(f.storage->counts()->responses == 2);
    CHECK(f.storage->counts()->rejections == 1);
}

TEST_CASE("ingest: tags are checked against a published version too; an old version stays accepted", "[ingest]") {
    Fixture f;
    // Version 2 of the built-in survey: one tag dropped (price), one added (queue_too_long).
    const std::string v2 = nlohmann::json{
        {"id", "segue-default"}, {"version", 2}, {"languages", {"zh-CN", "en"}},
        {"items", {"satisfactory", "efficient", "genuine", "understanding", "effective"}}, {"reasons_max_stars", 3},
        {"tags", {{{"id", "wait_time"}, {"labels", {{"zh-CN", "等待时间"}, {"en", "Wait time"}}}},
                  {{"id", "queue_too_long"}, {"labels", {{"zh-CN", "排队太久"}, {"en", "Queue too long"}}}}}}}.dump();
    REQUIRE(hq::publishSurvey(*f.storage, v2, {hq::ScopeKind::Chain, ""}, f.clock.now().utcMs) == 2);
    hq::Ingest ingest(*f.storage, f.clock);
    core::UuidV7Generator ids;
    const std::int64_t now = f.clock.now().utcMs;
    auto newTag = recordAt(ids, now - 60'000);
    newTag.surveyVersion = 2;
    newTag.tags = {"queue_too_long"};
    auto dropped = recordAt(ids, now - 50'000);
    dropped.surveyVersion = 2;
    dropped.tags = {"price"};
    auto old = recordAt(ids, now - 40'000);   // version 1 still has price
    old.tags = {"price"};
    const auto ack = ingest.handle(f.device, f.body({newTag, dropped, old}));
    REQUIRE(ack);
    CHECK(ack->accepted == std::vector<std::string>{newTag.id, old.id});
    CHECK(ack->rejected == std::vector<wire::Rejected>{{dropped.id, "unknown_tag"}});
}

TEST_CASE("ingest: created_at more than 7 days ahead of HQ (after the reported offset) is future_timestamp",
          "[ingest]") {
    Fixture f;
    hq::Ingest ingest(*f.storage, f.clock);
    core::UuidV7Generator ids;
    const std::int64_t now = f.clock.now().utcMs;
    const std::int64_t week = hq::Ingest::kMaxAheadMs;
    REQUIRE(week == 7 * kDayMs);

    SECTION("a terminal on time (offset 250 ms): the edge itself is accepted, 1 ms beyond is not") {
        const auto edge = recordAt(ids, now + week + 250);
        const auto beyond = recordAt(ids, now + week + 251);
        const auto ack = ingest.handle(f.device, f.body({edge, beyond}, 250));
        REQUIRE(ack);
        CHECK(ack->accepted == std::vector<std::string>{edge.id});
        CHECK(ack->rejected == std::vector<wire::Rejected>{{beyond.id, "future_timestamp"}});
        CHECK(f.storage->counts()->rejections == 1);
    }
    SECTION("a terminal 3 days behind: its stamps are read 3 days later") {
        const std::int64_t offset = -3 * kDayMs;
        const std::int64_t itsNow = now + offset;
        const auto justNow = recordAt(ids, itsNow);                       // HQ time: now
        const auto edge = recordAt(ids, itsNow + week);                   // HQ time: now + 7 days
        const auto beyond = recordAt(ids, itsNow + week + 1);            // raw: only 4 days ahead
        const auto ack = ingest.handle(f.device, f.body({justNow, edge, beyond}, offset));
        REQUIRE(ack);
        CHECK(ack->accepted == std::vector<std::string>{justNow.id, edge.id});
        CHECK(ack->rejected == std::vector<wire::Rejected>{{beyond.id, "future_timestamp"}});
    }
    SECTION("a terminal 3 days ahead: a stamp 9 days ahead of HQ is 6 days ahead on HQ's clock") {
        const std::int64_t offset = 3 * kDayMs;
        const auto nine = recordAt(ids, now + 9 * kDayMs);
        const auto eleven = recordAt(ids, now + 11 * kDayMs);
        const auto ack = ingest.handle(f.device, f.body({nine, eleven}, offset));
        REQUIRE(ack);
        CHECK(ack->accepted == std::vector<std::string>{nine.id});
        CHECK(ack->rejected == std::vector<wire::Rejected>{{eleven.id, "future_timestamp"}});
    }
    SECTION("an offset beyond a century is no clock: treated as not reported, never overflowing") {
        const auto edge = recordAt(ids, now + week);
        const auto beyond = recordAt(ids, now + week + 1000);
        for (const std::int64_t absurd : {std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max(),
                                          hq::Ingest::kMaxReportedOffsetMs + 1, -hq::Ingest::kMaxReportedOffsetMs - 1}) {
            INFO("offset " << absurd);
            const auto ack = ingest.handle(f.device, f.body({edge, beyond}, absurd));
            REQUIRE(ack);
            CHECK(ack->rejected == std::vector<wire::Rejected>{{beyond.id, "future_timestamp"}});
            // Stored as HQ's own estimate from sent_at (the fixture's is 90 s ahead), not the absurd figure.
            CHECK(f.storage->listDevices()->front().clockOffsetMs == std::optional<std::int64_t>(90'000));
        }
    }
    SECTION("no reported offset: sent_at is not taken as one") {
        // The fixture's sent_at is 90 s ahead of HQ; a record 7 days + 1 s ahead is refused
        // all the same, and one at the edge accepted.
        const auto edge = recordAt(ids, now + week);
        const auto beyond = recordAt(ids, now + week + 1000);
        const auto ack = ingest.handle(f.device, f.body({edge, beyond}, std::nullopt));
        REQUIRE(ack);
        CHECK(ack->accepted == std::vector<std::string>{edge.id});
        CHECK(ack->rejected == std::vector<wire::Rejected>{{beyond.id, "future_timestamp"}});
    }
}

TEST_CASE("ingest: an accepted record is stored exactly as sent", "[ingest]") {
    Fixture f;
    hq::Ingest ingest(*f.storage, f.clock);
    core::UuidV7Generator ids;
    auto r = recordAt(ids, f.clock.now().utcMs + 6 * kDayMs, 1);
    r.tags = {"not_solved", "attitude", "wait_time"};
    r.segue = {1, std::nullopt, 2, std::nullopt, 3};
    r.language = "en";
    r.complete = false;
    r.durationMs = 123'456;
    const auto ack = ingest.handle(f.device, f.body({r}));
    REQUIRE(ack);
    REQUIRE(ack->accepted == std::vector<std::string>{r.id});
    const auto rows = stored(*f.storage);
    REQUIRE(rows.size() == 1);
    CHECK(rows[0] == r);
    CHECK(hq::canonicalJson(rows[0]) == hq::canonicalJson(r));
}
