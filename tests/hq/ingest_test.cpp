// Ingest (batch body → stored rows + reply), the per-device rate limiter and the metrics text,
// over a real SQLite store and a FakeClock.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "hq/ingest.hpp"
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
