// What terminals say of their configuration in their batches (applied survey, config_error):
// stored per device through the real ingest on both engines ([storage] runs on PostgreSQL too
// through run_with_pg.sh), shown by /api/v1/fleet's JSON with whether it is the store's
// assigned version; a batch without the keys (an older terminal) changes nothing.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "hq/dashboard.hpp"
#include "hq/ingest.hpp"
#include "hq/surveys.hpp"
#include "hq/token.hpp"
#include "sync/batch_reader.hpp"
#include "sync/wire.hpp"
#include "tests/hq/hq_test_support.hpp"

using namespace segue;
using hq::ScopeKind;

namespace {

constexpr std::int64_t kNow = 1'795'000'000'000;

std::string v2Text() {
    nlohmann::json tags = nlohmann::json::array();
    for (const std::string t : {"wait_time", "attitude", "queue_too_long"})
        tags.push_back({{"id", t}, {"labels", {{"zh-CN", "原因 " + t}, {"en", "Reason " + t}}}});
    return nlohmann::json{{"id", "segue-default"},
                          {"version", 1},
                          {"languages", {"zh-CN", "en"}},
                          {"items", {"satisfactory", "effective"}},
                          {"reasons_max_stars", 3},
                          {"tags", tags},
                          {"settings", {{"thank_you_s", 2}}}}
        .dump();
}

std::string body(const std::string& device, int seq, std::optional<int> version, std::optional<std::string> error) {
    wire::Batch b;
    b.batchId = "0190f1e2-3a4b-7c5d-8e6f-01234567890" + std::to_string(seq % 10);
    b.deviceId = device;
    b.sentAtMs = kNow;
    b.appVersion = "0.1.0";
    if (version) {
        b.appliedSurveyId = "segue-default";
        b.appliedSurveyVersion = *version;
    }
    b.configError = std::move(error);
    b.responses = test::ResponseFactory("store-1", device, static_cast<std::uint64_t>(seq)).make(1);
    return wire::encodeBatch(b);
}

const nlohmann::json& deviceIn(const nlohmann::json& fleet, const std::string& id) {
    for (const auto& d : fleet["devices"])
        if (d["id"] == id) return d;
    FAIL("no device " << id << " in " << fleet.dump());
    throw;
}

} // namespace

TEST_CASE("device surveys: a batch's applied survey and config_error reach the fleet view", "[storage][fleet]") {
    test::TempDir dir;
    for (const auto& url : test::storageUrls(dir)) {
        INFO(url);
        auto s = test::openStorage(url);
        core::FakeClock clock{kNow};
        for (const std::string d : {"kiosk-1", "kiosk-2", "kiosk-old"})
            REQUIRE(s->addDevice({d, "store-1", "Counter " + d, hq::hashToken("t-" + d), kNow}));
        auto v2 = hq::publishSurvey(*s, v2Text(), {ScopeKind::Chain, ""}, kNow);
        REQUIRE(v2);
        REQUIRE(*v2 == 2);
        hq::Ingest ingest(*s, clock);
        auto send = [&](const std::string& device, int seq, std::optional<int> version, std::optional<std::string> error) {
            const auto ack = ingest.handle({device, "store-1", false}, body(device, seq, version, std::move(error)));
            REQUIRE(ack);
            CHECK(ack->accepted.size() == 1);
        };
        send("kiosk-1", 1, 2, std::nullopt);                                     // runs v2: current
        send("kiosk-2", 2, 1, std::string("tag \"queue_too_long\" has no label in en"));   // refused v2
        send("kiosk-old", 3, std::nullopt, std::nullopt);                        // an older terminal

        auto fleet = hq::fleetJson(*s, kNow, {}, hq::Scope::chain());
        REQUIRE(fleet);
        const auto& k1 = deviceIn(*fleet, "kiosk-1");
        CHECK(k1["applied_survey"] == nlohmann::json{{"id", "segue-default"}, {"version", 2}});
        CHECK(k1["assigned_survey"] == nlohmann::json{{"id", "segue-default"}, {"version", 2}});
        CHECK(k1["survey_current"] == true);
        CHECK(k1["config_error"].is_null());
        const auto& k2 = deviceIn(*fleet, "kiosk-2");
        CHECK(k2["applied_survey"]["version"] == 1);
        CHECK(k2["survey_current"] == false);
        CHECK(k2["config_error"] == "tag \"queue_too_long\" has no label in en");
        CHECK(k2["config_reported_at"].is_string());
        const auto& old = deviceIn(*fleet, "kiosk-old");
        CHECK(old["applied_survey"].is_null());
        CHECK(old["survey_current"].is_null());
        CHECK(old["config_error"].is_null());
        CHECK((*fleet)["summary"]["survey_outdated"] == 1);
        CHECK((*fleet)["summary"]["config_errors"] == 1);

        // The next batch replaces the report: v2 applied after all, no error. One without the
        // keys leaves it as it was.
        send("kiosk-2", 4, 2, std::nullopt);
        send("kiosk-1", 5, std::nullopt, std::nullopt);
        fleet = hq::fleetJson(*s, kNow, {}, hq::Scope::chain());
        REQUIRE(fleet);
        CHECK(deviceIn(*fleet, "kiosk-2")["survey_current"] == true);
        CHECK(deviceIn(*fleet, "kiosk-2")["config_error"].is_null());
        CHECK(deviceIn(*fleet, "kiosk-1")["applied_survey"]["version"] == 2);
        CHECK((*fleet)["summary"]["survey_outdated"] == 0);
        CHECK((*fleet)["summary"]["config_errors"] == 0);

        // A store-level assignment of another version makes kiosk-1 out of date.
        REQUIRE(hq::assignSurvey(*s, "segue-default", 1, {ScopeKind::Store, "store-1"}, kNow + 1));
        fleet = hq::fleetJson(*s, kNow, {}, hq::Scope::chain());
        REQUIRE(fleet);
        CHECK(deviceIn(*fleet, "kiosk-1")["survey_current"] == false);
        CHECK(deviceIn(*fleet, "kiosk-1")["assigned_survey"]["version"] == 1);
    }
}

TEST_CASE("device surveys: a config_error longer than kept is cut at a character boundary", "[storage][fleet]") {
    test::TempDir dir;
    auto s = test::openStorage(test::storageUrls(dir).front());
    core::FakeClock clock{kNow};
    REQUIRE(s->addDevice({"kiosk-1", "store-1", "Counter", hq::hashToken("t"), kNow}));
    hq::Ingest ingest(*s, clock);
    std::string longError;
    while (longError.size() < 3 * hq::kMaxConfigErrorBytes) longError += "标签";
    REQUIRE(ingest.handle({"kiosk-1", "store-1", false}, body("kiosk-1", 1, 1, longError)));
    const auto devices = s->listDevices();
    REQUIRE(devices);
    REQUIRE(devices->front().survey);
    const std::string kept = devices->front().survey->configError.value_or("");
    CHECK(kept.size() <= hq::kMaxConfigErrorBytes);
    CHECK(kept.size() > hq::kMaxConfigErrorBytes - 6);
    CHECK(longError.starts_with(kept));
    CHECK(kept.size() % 3 == 0);   // whole characters only
}

TEST_CASE("wire: applied_survey_id, applied_survey_version and config_error are optional keys both decoders read",
          "[wire]") {
    wire::Batch b;
    b.batchId = "0190f1e2-3a4b-7c5d-8e6f-0123456789ab";
    b.deviceId = "kiosk-1";
    b.sentAtMs = kNow;
    b.appVersion = "0.1.0";
    b.responses = test::ResponseFactory("store-1", "kiosk-1").make(2);
    const std::string plain = wire::encodeBatch(b);
    CHECK(plain.find("applied_survey") == std::string::npos);   // an older HQ sees the same body
    CHECK(plain.find("config_error") == std::string::npos);

    b.appliedSurveyId = "segue-default";
    b.appliedSurveyVersion = 2;
    b.configError = "tag \"queue\" has no label in en";
    const std::string text = wire::encodeBatch(b);
    // Byte for byte what the JSON tree writes (keys in byte order).
    CHECK(text == nlohmann::json::parse(text).dump());
    const auto fast = wire::detail::readWellFormedBatch(text);
    REQUIRE(fast);
    CHECK(fast->batch == b);
    const auto tree = wire::detail::decodeBatchWithTree(text);
    REQUIRE(tree);
    CHECK(tree->batch == b);

    // null means "not said"; a wrong type refuses the body with the key named.
    auto j = nlohmann::json::parse(text);
    j["config_error"] = nullptr;
    j["applied_survey_version"] = nullptr;
    const auto nulls = wire::decodeBatch(j.dump());
    REQUIRE(nulls);
    CHECK_FALSE(nulls->batch.configError);
    CHECK_FALSE(nulls->batch.appliedSurveyVersion);
    CHECK(nulls->batch.appliedSurveyId == "segue-default");
    j["applied_survey_version"] = "two";
    const auto bad = wire::decodeBatch(j.dump());
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message.find("applied_survey_version") != std::string::npos);
}
