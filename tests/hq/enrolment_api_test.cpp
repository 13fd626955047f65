// The dashboard's enrolment routes (hq/enrolment_api.hpp) and the store figures by survey
// version, on both engines (the [storage] cases run on PostgreSQL too through run_with_pg.sh):
// who may issue a code for which store, a fresh code for a device not enrolled yet, revoking
// one, what is audited, and the split of a period by the survey version responses answered.
#include <algorithm>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "core/uuid.hpp"
#include "hq/auth.hpp"
#include "hq/dashboard.hpp"
#include "hq/enrolment.hpp"
#include "hq/enrolment_api.hpp"
#include "hq/token.hpp"
#include "tests/hq/hq_test_support.hpp"

using namespace segue;
using nlohmann::json;

namespace {

constexpr std::int64_t kNow = 1'795'000'000'000;
constexpr std::int64_t kHour = 3'600'000;

hq::Principal person(const std::string& role, hq::Scope scope = hq::Scope::chain()) {
    hq::Principal p;
    p.kind = hq::Principal::Kind::Session;
    p.role = role;
    p.scope = std::move(scope);
    p.user = role + "@example.com";
    return p;
}

int statusOf(const hq::ApiResult& r) { return r ? r->status : r.error().status; }
std::string codeOf(const hq::ApiResult& r) { return r ? "" : r.error().code; }

std::string enrolBody(const std::string& code) { return json{{"code", code}, {"app_version", "0.1.0"}}.dump(); }

/// east (e1, e2), north (n1); every store has a device enrolled with a token.
std::unique_ptr<hq::Storage> chain(const std::string& url) {
    auto s = test::openStorage(url);
    for (const std::string store : {"e1", "e2", "n1"})
        REQUIRE(s->addDevice({"t-" + store, store, "Till", hq::hashToken("t-" + store), kNow}));
    auto& p = s->people();
    REQUIRE(p.addRegion("east", "East", kNow));
    REQUIRE(p.addRegion("north", "North", kNow));
    REQUIRE(p.setStore("e1", std::nullopt, std::string("east"), kNow));
    REQUIRE(p.setStore("e2", std::nullopt, std::string("east"), kNow));
    REQUIRE(p.setStore("n1", std::nullopt, std::string("north"), kNow));
    return s;
}

std::vector<std::string> auditActions(hq::Storage& s) {
    auto log = s.people().auditLog(0, kNow + 100 * kHour, 100);
    REQUIRE(log);
    std::vector<std::string> out;
    for (const auto& e : *log) out.push_back(e.action + " " + e.subject + " " + e.actor);
    return out;
}

} // namespace

TEST_CASE("enrolment api: an admin or a region manager (for their stores) issues a code that enrols once", "[storage][fleet]") {
    test::TempDir dir;
    for (const auto& url : test::storageUrls(dir)) {
        INFO(url);
        auto s = chain(url);
        const auto admin = person("admin");
        const auto rita = person("region", hq::Scope::region("east"));

        auto added = hq::addDeviceWithCode(*s, rita, R"({"store_id":"e2","name":"Counter 2","code_ttl_h":2})", "10.0.0.7", kNow);
        REQUIRE(added);
        CHECK(added->status == 201);
        const json& j = added->body;
        CHECK(j["store_id"] == "e2");
        CHECK(j["device_id"].get<std::string>().starts_with("kiosk-"));
        CHECK(j["expires_at"] == core::formatUtc(kNow + 2 * kHour));
        const std::string code = j["enrolment_code"];
        CHECK(hq::codeDigits(code).has_value());
        CHECK(code.size() == 14);
        // The same keys as `device add --enrolment-code --json`.
        CHECK(j.size() == 4);

        auto used = hq::enrolByCode(*s, enrolBody(code), kNow + 1000);
        REQUIRE(used);
        CHECK((*used)["device_id"] == j["device_id"]);
        CHECK((*used)["store_id"] == "e2");
        CHECK_FALSE(hq::enrolByCode(*s, enrolBody(code), kNow + 2000));

        // An admin may name a store HQ does not know yet, and a device id.
        auto fresh = hq::addDeviceWithCode(*s, admin, R"({"store_id":"w9","name":"Front","device_id":"kiosk-w9"})", "10.0.0.8", kNow);
        REQUIRE(fresh);
        CHECK(fresh->body["device_id"] == "kiosk-w9");
        CHECK(fresh->body["expires_at"] == core::formatUtc(kNow + hq::kDefaultCodeTtlH * kHour));
        CHECK(statusOf(hq::addDeviceWithCode(*s, admin, R"({"store_id":"w9","name":"Again","device_id":"kiosk-w9"})", "", kNow)) == 400);

        // A region manager: a store of another region, or one HQ does not know, is not found.
        CHECK(statusOf(hq::addDeviceWithCode(*s, rita, R"({"store_id":"n1","name":"X"})", "", kNow)) == 404);
        CHECK(statusOf(hq::addDeviceWithCode(*s, rita, R"({"store_id":"zz","name":"X"})", "", kNow)) == 404);
        // Other roles and read tokens may not.
        for (const auto& who : {person("viewer"), person("store", hq::Scope::store("e1"))}) {
            auto r = hq::addDeviceWithCode(*s, who, R"({"store_id":"e1","name":"X"})", "", kNow);
            CHECK(statusOf(r) == 403);
            CHECK(codeOf(r) == "forbidden");
        }
        hq::Principal token;
        token.role = "read";
        CHECK(statusOf(hq::addDeviceWithCode(*s, token, R"({"store_id":"e1","name":"X"})", "", kNow)) == 403);
        // Bad input is a 400 with a sentence, and adds nothing.
        for (const char* bad : {R"({"store_id":"e1"})", R"({"store_id":"e1","name":"X","code_ttl_h":0})",
                                R"({"store_id":"e1","name":"X","code_ttl_h":721})", R"({"store_id":"e1","name":"X","code_ttl_h":"2"})",
                                R"({"store_id":"a b","name":"X"})", R"({"store_id":1,"name":"X"})", "[]", "not json"}) {
            INFO(bad);
            CHECK(statusOf(hq::addDeviceWithCode(*s, admin, bad, "", kNow)) == 400);
        }
        auto devices = s->listDevices();
        REQUIRE(devices);
        CHECK(devices->size() == 5);   // three with tokens, two with codes

        const auto log = auditActions(*s);
        CHECK(std::count(log.begin(), log.end(), "device_add " + j["device_id"].get<std::string>() + " region@example.com") == 1);
        CHECK(std::count(log.begin(), log.end(), "device_add kiosk-w9 admin@example.com") == 1);
        CHECK(log.size() == 2);
    }
}

TEST_CASE("enrolment api: a fresh code for a device not enrolled yet ends its old one; revoking ends it", "[storage][fleet]") {
    test::TempDir dir;
    for (const auto& url : test::storageUrls(dir)) {
        INFO(url);
        auto s = chain(url);
        const auto admin = person("admin");
        const auto rita = person("region", hq::Scope::region("east"));
        auto first = hq::addDeviceWithCode(*s, admin, R"({"store_id":"e1","name":"Counter","device_id":"k-e1"})", "", kNow);
        REQUIRE(first);
        const std::string oldCode = first->body["enrolment_code"];

        auto again = hq::reissueEnrolmentCode(*s, rita, "k-e1", R"({"code_ttl_h":1})", "10.0.0.7", kNow + 1000);
        REQUIRE(again);
        CHECK(again->status == 201);
        CHECK(again->body["device_id"] == "k-e1");
        CHECK(again->body["store_id"] == "e1");
        CHECK(again->body["expires_at"] == core::formatUtc(kNow + 1000 + kHour));
        const std::string newCode = again->body["enrolment_code"];
        CHECK(newCode != oldCode);
        CHECK_FALSE(hq::enrolByCode(*s, enrolBody(oldCode), kNow + 2000));   // the old one ended

        // Revoking ends the fresh one too; a second revoke ends nothing.
        auto revoked = hq::revokeEnrolmentCode(*s, rita, "k-e1", "10.0.0.7", kNow + 3000);
        REQUIRE(revoked);
        CHECK(revoked->body == json{{"device_id", "k-e1"}, {"revoked", 1}});
        CHECK_FALSE(hq::enrolByCode(*s, enrolBody(newCode), kNow + 4000));
        CHECK(hq::revokeEnrolmentCode(*s, admin, "k-e1", "", kNow + 5000)->body["revoked"] == 0);

        // An empty body takes the default lifetime; this code enrols, and then the device has enrolled.
        auto third = hq::reissueEnrolmentCode(*s, admin, "k-e1", "", "", kNow + 6000);
        REQUIRE(third);
        CHECK(hq::enrolByCode(*s, enrolBody(third->body["enrolment_code"]), kNow + 7000));
        auto late = hq::reissueEnrolmentCode(*s, admin, "k-e1", "{}", "", kNow + 8000);
        CHECK(statusOf(late) == 409);
        CHECK(codeOf(late) == "not_pending");
        // A device enrolled with a token has no code to replace; a revoked one gets none.
        CHECK(codeOf(hq::reissueEnrolmentCode(*s, admin, "t-e1", "{}", "", kNow)) == "not_pending");
        auto other = hq::addDeviceWithCode(*s, admin, R"({"store_id":"n1","name":"Counter","device_id":"k-n1"})", "", kNow);
        REQUIRE(other);
        REQUIRE(s->revokeDevice("k-n1"));
        CHECK(codeOf(hq::reissueEnrolmentCode(*s, admin, "k-n1", "{}", "", kNow)) == "not_pending");

        // Outside the scope, or unknown: not found; other roles: forbidden.
        CHECK(statusOf(hq::reissueEnrolmentCode(*s, rita, "k-n1", "{}", "", kNow)) == 404);
        CHECK(statusOf(hq::revokeEnrolmentCode(*s, rita, "k-n1", "", kNow)) == 404);
        CHECK(statusOf(hq::reissueEnrolmentCode(*s, admin, "no-such", "{}", "", kNow)) == 404);
        CHECK(statusOf(hq::reissueEnrolmentCode(*s, person("viewer"), "k-e1", "{}", "", kNow)) == 403);
        CHECK(statusOf(hq::revokeEnrolmentCode(*s, person("store", hq::Scope::store("e1")), "k-e1", "", kNow)) == 403);
        CHECK(statusOf(hq::reissueEnrolmentCode(*s, admin, "k-e1", R"({"code_ttl_h":-1})", "", kNow)) == 400);

        const auto log = auditActions(*s);
        for (const std::string entry : {"enrolment_code_add k-e1 region@example.com", "enrolment_code_revoke k-e1 region@example.com",
                                        "enrolment_code_revoke k-e1 admin@example.com", "enrolment_code_add k-e1 admin@example.com"})
            CHECK(std::count(log.begin(), log.end(), entry) == 1);
    }
}

TEST_CASE("store figures split by the survey version each response answered", "[storage][fleet]") {
    test::TempDir dir;
    for (const auto& url : test::storageUrls(dir)) {
        INFO(url);
        auto s = test::openStorage(url);
        REQUIRE(s->addDevice({"k1", "s1", "Till", hq::hashToken("k1"), kNow}));
        REQUIRE(s->addDevice({"k2", "s2", "Till", hq::hashToken("k2"), kNow}));
        core::UuidV7Generator ids(7);
        hq::IngestRequest req;
        req.deviceId = "k1";
        req.batchId = ids.next(kNow);
        req.receivedAtMs = kNow;
        req.appVersion = "0.1.0";
        auto add = [&](const std::string& store, int version, int stars, std::vector<std::string> tags, bool misuse = false,
                       std::int64_t at = kNow) {
            auto r = test::makeResponse(ids.next(at), store, store == "s1" ? "k1" : "k2", at, stars);
            r.surveyVersion = version;
            r.tags = std::move(tags);
            r.misuse = misuse;
            req.records.push_back(r);
        };
        add("s1", 1, 5, {});
        add("s1", 1, 2, {"wait_time"});
        add("s1", 1, 1, {"wait_time", "attitude"});
        add("s1", 1, 5, {}, true);                    // misuse: counted apart
        add("s1", 2, 4, {});
        add("s1", 2, 3, {"queue_too_long"});
        add("s1", 2, 3, {"queue_too_long"});
        add("s1", 2, 5, {}, false, kNow - 10 * 24 * kHour);   // outside the period
        add("s2", 3, 1, {"price"});                   // another store
        req.deviceId = "k1";
        // One batch per device, as terminals send them.
        hq::IngestRequest other = req;
        other.deviceId = "k2";
        other.batchId = ids.next(kNow);
        other.records.clear();
        std::erase_if(req.records, [&](const core::Response& r) {
            if (r.storeId != "s2") return false;
            other.records.push_back(r);
            return true;
        });
        test::ingestOk(*s, req);
        test::ingestOk(*s, other);

        const std::string day = core::localDate(kNow, 480);
        const hq::Period period{core::localDate(kNow - 3 * 24 * kHour, 480), day};
        auto split = hq::surveyVersionsJson(*s, "s1", period);
        REQUIRE(split);
        INFO(split->dump());
        REQUIRE(split->size() == 2);
        const json& v1 = (*split)[0];
        const json& v2 = (*split)[1];
        CHECK(v1["survey_id"] == "segue-default");
        CHECK(v1["version"] == 1);
        CHECK(v1["responses"] == 3);
        CHECK(v1["misuse"] == 1);
        CHECK(v1["mean_stars"].get<double>() == Approx(8.0 / 3));
        CHECK(v1["csat"].get<double>() == Approx(1.0 / 3));
        CHECK(v1["tags"] == json{{"attitude", 1}, {"wait_time", 2}});
        CHECK(v1["segue"]["satisfactory"].get<double>() == Approx(5.0));
        CHECK(v1["segue"]["efficient"].is_null());
        CHECK(v2["version"] == 2);
        CHECK(v2["responses"] == 3);
        CHECK(v2["mean_stars"].get<double>() == Approx(10.0 / 3));
        CHECK(v2["csat"].get<double>() == Approx(1.0 / 3));
        CHECK(v2["tags"] == json{{"queue_too_long", 2}});
        CHECK_FALSE(v2.contains("by_hour"));
        CHECK_FALSE(v2.contains("date"));

        // The split adds up to the store's total from the day sums.
        auto summary = hq::storeSummaryJson(*s, "s1", period, kNow, hq::DashboardConfig{});
        REQUIRE(summary);
        CHECK((*summary)["total"]["responses"] == 6);
        CHECK((*summary)["total"]["misuse"] == 1);

        auto none = hq::surveyVersionsJson(*s, "s9", period);
        REQUIRE(none);
        CHECK(none->empty());
    }
}

TEST_CASE("enrolment codes are stored keyed by a per-database secret; codes stored unkeyed before still enrol",
          "[storage][fleet]") {
    test::TempDir dir;
    std::vector<std::string> keys;
    for (const auto& url : test::storageUrls(dir)) {
        INFO(url);
        auto s = test::openStorage(url);
        // A code issued before schema 16 is stored as the plain SHA-256 of its digits.
        const std::string oldDigits = "120034005600";
        REQUIRE(s->addDeviceWithCode({"k-old", "s1", "Old", hq::hashToken("unknown"), kNow},
                                     {hq::hashCode(oldDigits), kNow, kNow + kHour}));
        auto fresh = hq::enrolDeviceWithCode(*s, "s1", "New", std::string("k-new"), 72, kNow);
        REQUIRE(fresh);
        const std::string digits = *hq::codeDigits(fresh->code);

        auto key = hq::enrolmentCodeKey(*s, kNow);
        REQUIRE(key);
        CHECK(key->size() == 64);
        CHECK(*hq::enrolmentCodeKey(*test::openStorage(url), kNow + 1) == *key);   // kept, not made again
        keys.push_back(*key);
        CHECK(hq::hashCode(*key, digits) != hq::hashCode(digits));
        CHECK(hq::hashCode(*key, digits).size() == 64);
        // Not stored unkeyed: the plain hash of the new code finds nothing (and uses nothing up).
        auto plain = s->redeemEnrolmentCode(hq::hashCode(digits), hq::hashCode(digits), hq::hashToken("t1"), kNow + 1000);
        REQUIRE(plain);
        CHECK_FALSE(plain->has_value());

        auto old = hq::enrolByCode(*s, enrolBody(hq::formatCode(oldDigits)), kNow + 1000);
        REQUIRE(old);
        CHECK((*old)["device_id"] == "k-old");
        CHECK_FALSE(hq::enrolByCode(*s, enrolBody(hq::formatCode(oldDigits)), kNow + 2000));
        auto used = hq::enrolByCode(*s, enrolBody(fresh->code), kNow + 1000);
        REQUIRE(used);
        CHECK((*used)["device_id"] == "k-new");
    }
    // Another database has another key.
    auto other = test::openStorage("sqlite:" + (dir / "other.sqlite").string());
    CHECK(*hq::enrolmentCodeKey(*other, kNow) != keys.front());
}
