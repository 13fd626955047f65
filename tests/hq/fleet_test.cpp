// Enrolment codes, published survey versions and the terminal config, on both engines (the
// [storage] cases run on PostgreSQL too through run_with_pg.sh), and the CLI verbs through the
// real segue-hq binary.
#include <atomic>
#include <cstdio>
#include <fstream>
#include <thread>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "hq/enrolment.hpp"
#include "hq/people.hpp"
#include "hq/surveys.hpp"
#include "hq/terminal_config.hpp"
#include "hq/token.hpp"
#include "tests/hq/hq_test_support.hpp"

using namespace segue;
using hq::ScopeKind;

namespace {

constexpr std::int64_t kNow = 1'795'000'000'000;
constexpr std::int64_t kHour = 3'600'000;

std::string body(const std::string& code) { return nlohmann::json{{"code", code}, {"app_version", "0.1.0"}}.dump(); }

/// A v2-style definition: a new tag with labels in both languages, fewer items, settings.
std::string surveyText(const std::string& id = "segue-default", const std::string& newTag = "queue_too_long") {
    nlohmann::json tags = nlohmann::json::array();
    for (const std::string& t : std::vector<std::string>{"wait_time", "attitude", newTag})
        tags.push_back({{"id", t}, {"labels", {{"zh-CN", "原因 " + t}, {"en", "Reason " + t}}}});
    return nlohmann::json{{"id", id},
                          {"version", 1},
                          {"languages", {"zh-CN", "en"}},
                          {"items", {"satisfactory", "effective"}},
                          {"reasons_max_stars", 3},
                          {"tags", tags},
                          {"settings", {{"thank_you_s", 2}, {"inactivity_timeout_s", 30}, {"misuse_window_s", 5}, {"target_csat", 0.85}}}}
        .dump();
}

hq::CodeEnrolment addWithCode(hq::Storage& s, const std::string& store, const std::string& device, int ttlH = 72) {
    auto e = hq::enrolDeviceWithCode(s, store, "Counter " + device, device, ttlH, kNow);
    REQUIRE(e);
    return *e;
}

} // namespace

TEST_CASE("enrolment codes: once, twice, expired, wrong, revoked", "[storage][fleet]") {
    test::TempDir dir;
    for (const auto& url : test::storageUrls(dir)) {
        INFO(url);
        auto s = test::openStorage(url);
        const auto e = addWithCode(*s, "store-1", "kiosk-1");
        CHECK(e.code.size() == 14);
        CHECK(hq::codeDigits(e.code));
        CHECK(e.expiresAtMs == kNow + 72 * kHour);

        // Before the code is used the device cannot be reached by any token it was shown.
        const auto devices = s->listDevices();
        REQUIRE(devices);
        REQUIRE(devices->size() == 1);
        CHECK_FALSE(devices->front().lastSeenMs);

        auto once = hq::enrolByCode(*s, body(e.code), kNow + 1000);
        REQUIRE(once);
        CHECK((*once)["device_id"] == "kiosk-1");
        CHECK((*once)["store_id"] == "store-1");
        const std::string token = (*once)["token"];
        CHECK(token.size() == 43);
        CHECK((*once)["server_time"].is_string());
        const auto auth = s->deviceByTokenHash(hq::hashToken(token));
        REQUIRE(auth);
        REQUIRE(*auth);
        CHECK((*auth)->deviceId == "kiosk-1");
        CHECK((*auth)->storeId == "store-1");

        auto twice = hq::enrolByCode(*s, body(e.code), kNow + 2000);
        REQUIRE_FALSE(twice);
        CHECK(twice.error().status == 401);
        CHECK(twice.error().code == "enrolment_refused");
        // The token of the first use still works: the refused second use changed nothing.
        CHECK(*s->deviceByTokenHash(hq::hashToken(token)));

        const auto late = addWithCode(*s, "store-1", "kiosk-2", 1);
        auto expired = hq::enrolByCode(*s, body(late.code), kNow + kHour);
        REQUIRE_FALSE(expired);
        CHECK(expired.error().code == "enrolment_refused");
        // Still unused after the refusal, and a minute before expiry it would have worked.
        auto inTime = hq::enrolByCode(*s, body(late.code), kNow + kHour - 60'000);
        CHECK(inTime);

        const auto other = addWithCode(*s, "store-2", "kiosk-3");
        std::string wrong = *hq::codeDigits(other.code);
        wrong[11] = wrong[11] == '9' ? '0' : static_cast<char>(wrong[11] + 1);
        auto unknown = hq::enrolByCode(*s, body(hq::formatCode(wrong)), kNow);
        REQUIRE_FALSE(unknown);
        CHECK(unknown.error().code == "enrolment_refused");
        auto garbage = hq::enrolByCode(*s, body("12-34"), kNow);
        REQUIRE_FALSE(garbage);
        CHECK(garbage.error().status == 401);

        REQUIRE(*s->revokeDevice("kiosk-3"));
        auto revoked = hq::enrolByCode(*s, body(other.code), kNow);
        REQUIRE_FALSE(revoked);
        CHECK(revoked.error().code == "enrolment_refused");

        auto bad = hq::enrolByCode(*s, "{\"kode\":1}", kNow);
        REQUIRE_FALSE(bad);
        CHECK(bad.error().status == 400);

        // The code typed without dashes, with spaces, works the same.
        const auto spaced = addWithCode(*s, "store-2", "kiosk-4");
        std::string typed = *hq::codeDigits(spaced.code);
        typed.insert(6, " ");
        CHECK(hq::enrolByCode(*s, body(typed), kNow));

        // A device id already in use is refused and leaves no code behind.
        auto dup = hq::enrolDeviceWithCode(*s, "store-1", "again", std::string("kiosk-1"), 72, kNow);
        REQUIRE_FALSE(dup);
        CHECK(dup.error().kind == hq::StorageError::Kind::Invalid);
    }
}

TEST_CASE("an enrolment code used by many callers at once enrols exactly one", "[storage][fleet]") {
    test::TempDir dir;
    for (const auto& url : test::storageUrls(dir)) {
        INFO(url);
        auto s = test::openStorage(url);
        const auto e = addWithCode(*s, "store-1", "kiosk-1");
        constexpr int kCallers = 8;
        std::atomic<int> won{0}, refused{0}, failed{0};
        std::vector<std::thread> threads;
        for (int i = 0; i < kCallers; ++i)
            threads.emplace_back([&] {
                auto r = hq::enrolByCode(*s, body(e.code), kNow);
                if (r) ++won;
                else if (r.error().code == "enrolment_refused") ++refused;
                else ++failed;
            });
        for (auto& t : threads) t.join();
        CHECK(won == 1);
        CHECK(refused == kCallers - 1);
        CHECK(failed == 0);
    }
}

TEST_CASE("survey versions: published, immutable, assigned and resolved most specific first", "[storage][fleet]") {
    test::TempDir dir;
    for (const auto& url : test::storageUrls(dir)) {
        INFO(url);
        auto s = test::openStorage(url);
        hq::enrolDevice(*s, "store-1", "Kiosk", std::string("kiosk-1"), kNow);
        hq::enrolDevice(*s, "store-2", "Kiosk", std::string("kiosk-2"), kNow);

        // Nothing assigned: the built-in version 1.
        auto current = hq::currentSurvey(*s, "store-1");
        REQUIRE(current);
        CHECK(current->surveyId == "segue-default");
        CHECK(current->version == 1);
        CHECK(current->source == "built-in");

        // The built-in survey's next version is 2; the file's own "version" is replaced.
        auto v2 = hq::publishSurvey(*s, surveyText(), {ScopeKind::Chain, ""}, kNow);
        REQUIRE(v2);
        CHECK(*v2 == 2);
        auto v3 = hq::publishSurvey(*s, surveyText("segue-default", "too_loud"), {ScopeKind::Store, "store-2"}, kNow + 1);
        REQUIRE(v3);
        CHECK(*v3 == 3);
        auto other = hq::publishSurvey(*s, surveyText("bank-survey"), {ScopeKind::Region, "north"}, kNow + 2);
        REQUIRE(other);
        CHECK(*other == 1);

        const auto stored = s->surveyVersion("segue-default", 2);
        REQUIRE(stored);
        REQUIRE(*stored);
        const auto parsed = core::parseSurvey((*stored)->definition);
        REQUIRE(parsed);
        CHECK(parsed->version == 2);
        CHECK(parsed->tags.back() == "queue_too_long");
        CHECK(parsed->tagLabels.at("queue_too_long").at("en") == "Reason queue_too_long");
        CHECK(parsed->settings.thankYouS == 2);
        CHECK(parsed->items == std::vector<int>{0, 4});

        current = hq::currentSurvey(*s, "store-1");
        REQUIRE(current);
        CHECK(current->version == 2);
        CHECK(current->source == "chain");
        current = hq::currentSurvey(*s, "store-2");
        REQUIRE(current);
        CHECK(current->version == 3);
        CHECK(current->source == "store");

        // Regions: the resolution with the region given.
        const auto assignments = s->surveyAssignments();
        REQUIRE(assignments);
        CHECK(assignments->size() == 3);
        auto chosen = hq::resolveAssignment(*assignments, "store-1", std::string("north"));
        REQUIRE(chosen);
        CHECK(chosen->surveyId == "bank-survey");
        CHECK(chosen->scopeKind == ScopeKind::Region);
        chosen = hq::resolveAssignment(*assignments, "store-2", std::string("north"));
        REQUIRE(chosen);
        CHECK(chosen->version == 3);   // the store's own beats its region's
        chosen = hq::resolveAssignment(*assignments, "store-1", std::string("south"));
        REQUIRE(chosen);
        CHECK(chosen->scopeKind == ScopeKind::Chain);
        CHECK_FALSE(hq::resolveAssignment({}, "store-1", std::nullopt));

        // And through HQ's own regions: store-1 moved into "north" runs north's survey; store-2
        // keeps its own assignment.
        REQUIRE(s->people().addRegion("north", "North", kNow));
        REQUIRE(s->people().setStore("store-1", std::nullopt, std::string("north"), kNow));
        current = hq::currentSurvey(*s, "store-1");
        REQUIRE(current);
        CHECK(current->surveyId == "bank-survey");
        CHECK(current->source == "region");
        current = hq::currentSurvey(*s, "store-2");
        REQUIRE(current);
        CHECK(current->version == 3);
        REQUIRE(s->people().setStore("store-1", std::nullopt, std::string(""), kNow));

        // Rollback: assign an older version, the built-in one included.
        REQUIRE(hq::assignSurvey(*s, "segue-default", 1, {ScopeKind::Store, "store-2"}, kNow + 3));
        current = hq::currentSurvey(*s, "store-2");
        REQUIRE(current);
        CHECK(current->version == 1);
        CHECK(current->source == "store");
        auto missing = hq::assignSurvey(*s, "segue-default", 9, {ScopeKind::Chain, ""}, kNow);
        REQUIRE_FALSE(missing);
        CHECK(missing.error().kind == hq::StorageError::Kind::Invalid);

        // Refused: a tag without a label in a language, an unparseable file, an unknown store.
        auto unlabelled = nlohmann::json::parse(surveyText());
        unlabelled["tags"][2]["labels"].erase("zh-CN");
        auto r = hq::publishSurvey(*s, unlabelled.dump(), {ScopeKind::Chain, ""}, kNow);
        REQUIRE_FALSE(r);
        CHECK_THAT(r.error().message, Catch::Contains("queue_too_long") && Catch::Contains("zh-CN"));
        r = hq::publishSurvey(*s, "{\"id\":", {ScopeKind::Chain, ""}, kNow);
        REQUIRE_FALSE(r);
        CHECK(r.error().kind == hq::StorageError::Kind::Invalid);
        r = hq::publishSurvey(*s, surveyText(), {ScopeKind::Store, "store-9"}, kNow);
        REQUIRE_FALSE(r);
        CHECK_THAT(r.error().message, Catch::Contains("store-9"));
        // Nothing refused took a version number.
        const auto versions = s->listSurveyVersions();
        REQUIRE(versions);
        CHECK(versions->size() == 3);

        // Every version stays known to ingest, old ones too.
        hq::SurveyCatalog catalog(*s);
        auto v1 = catalog.find("segue-default", 1);
        REQUIRE(v1);
        REQUIRE(*v1);
        CHECK((*v1)->tags.size() == 6);
        auto two = catalog.find("segue-default", 2);
        REQUIRE(two);
        REQUIRE(*two);
        CHECK((*two)->tags.size() == 3);
        auto none = catalog.find("segue-default", 4);
        REQUIRE(none);
        CHECK_FALSE(*none);
    }
}

TEST_CASE("concurrent publishes of one survey get distinct versions", "[storage][fleet]") {
    test::TempDir dir;
    for (const auto& url : test::storageUrls(dir)) {
        INFO(url);
        auto s = test::openStorage(url);
        constexpr int kPublishers = 4;
        std::vector<int> got(kPublishers, 0);
        std::vector<std::thread> threads;
        for (int i = 0; i < kPublishers; ++i)
            threads.emplace_back([&, i] {
                auto v = hq::publishSurvey(*s, surveyText("shop"), {ScopeKind::Chain, ""}, kNow + i);
                got[static_cast<std::size_t>(i)] = v ? *v : -1;
            });
        for (auto& t : threads) t.join();
        std::sort(got.begin(), got.end());
        CHECK(got == std::vector<int>{1, 2, 3, 4});
    }
}

TEST_CASE("the terminal config carries an ETag and answers 304 until a new version is assigned", "[storage][fleet]") {
    test::TempDir dir;
    for (const auto& url : test::storageUrls(dir)) {
        INFO(url);
        auto s = test::openStorage(url);
        hq::enrolDevice(*s, "store-1", "Kiosk", std::string("kiosk-1"), kNow);
        const hq::DeviceAuth device{"kiosk-1", "store-1", false};

        auto first = hq::terminalConfig(*s, device, std::nullopt);
        REQUIRE(first);
        CHECK(first->status == 200);
        const auto j = nlohmann::json::parse(first->body);
        CHECK(j["survey_version"] == 1);
        CHECK(j["assigned_by"] == "built-in");
        CHECK(j["survey"]["id"] == "segue-default");
        REQUIRE(first->etag.size() == 34);
        CHECK(first->etag.front() == '"');

        auto same = hq::terminalConfig(*s, device, first->etag);
        REQUIRE(same);
        CHECK(same->status == 304);
        CHECK(same->body.empty());
        CHECK(same->etag == first->etag);
        CHECK(hq::terminalConfig(*s, device, "\"other\", W/" + first->etag)->status == 304);
        CHECK(hq::terminalConfig(*s, device, "*")->status == 304);
        CHECK(hq::terminalConfig(*s, device, std::string("\"other\""))->status == 200);

        REQUIRE(hq::publishSurvey(*s, surveyText(), {ScopeKind::Store, "store-1"}, kNow));
        auto changed = hq::terminalConfig(*s, device, first->etag);
        REQUIRE(changed);
        CHECK(changed->status == 200);
        CHECK(changed->etag != first->etag);
        const auto v2 = nlohmann::json::parse(changed->body);
        CHECK(v2["survey_version"] == 2);
        CHECK(v2["survey"]["version"] == 2);
        CHECK(v2["survey"]["settings"]["thank_you_s"] == 2);
    }
}

namespace {

struct CliRun {
    int exitCode = -1;
    std::string out;
};

/// Runs segue-hq with `args` (no shell metacharacters in them), stdout captured, stderr to a file.
CliRun runHq(const test::TempDir& dir, const std::string& args) {
    const std::string cmd = std::string(SEGUE_HQ_BINARY) + " " + args + " 2>" + (dir / "stderr").string();
    CliRun r;
    FILE* p = ::popen(cmd.c_str(), "r");
    REQUIRE(p);
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) r.out.append(buf, n);
    const int status = ::pclose(p);
    r.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

} // namespace

TEST_CASE("segue-hq device add --enrolment-code and survey publish/list/show", "[fleet]") {
    test::TempDir dir;
    const std::string db = "--db sqlite:" + (dir / "hq.sqlite").string();

    auto added = runHq(dir, "device add " + db + " --store store-1 --name Counter --enrolment-code --code-ttl-h 2 --json");
    REQUIRE(added.exitCode == 0);
    const auto j = nlohmann::json::parse(added.out);
    CHECK(j["store_id"] == "store-1");
    CHECK(j["device_id"].get<std::string>().starts_with("kiosk-"));
    const std::string code = j["enrolment_code"];
    CHECK(code.size() == 14);
    CHECK(code[4] == '-');
    CHECK(code[9] == '-');
    CHECK(j["expires_at"].is_string());
    CHECK_FALSE(j.contains("token"));

    CHECK(runHq(dir, "device add " + db + " --store s --name n --enrolment-code --code-ttl-h 0").exitCode == 2);
    CHECK(runHq(dir, "device add " + db + " --store s --name n --code-ttl-h 5").exitCode == 2);

    const auto file = dir / "v2.json";
    std::ofstream(file) << surveyText();
    auto published = runHq(dir, "survey publish " + db + " --file " + file.string() + " --store store-1");
    REQUIRE(published.exitCode == 0);
    CHECK(published.out == "2\n");
    CHECK(runHq(dir, "survey publish " + db + " --file " + file.string()).exitCode == 2);                  // no scope
    CHECK(runHq(dir, "survey publish " + db + " --file " + file.string() + " --chain --store store-1").exitCode == 2);
    auto unlabelled = nlohmann::json::parse(surveyText());
    unlabelled["tags"][0]["labels"].erase("en");
    std::ofstream(dir / "bad.json") << unlabelled.dump();
    CHECK(runHq(dir, "survey publish " + db + " --file " + (dir / "bad.json").string() + " --chain").exitCode == 2);

    auto listed = runHq(dir, "survey list " + db + " --json");
    REQUIRE(listed.exitCode == 0);
    const auto list = nlohmann::json::parse(listed.out);
    REQUIRE(list.size() == 2);
    CHECK(list[0]["version"] == 1);
    CHECK(list[0]["built_in"] == true);
    CHECK(list[1]["version"] == 2);
    CHECK(list[1]["assigned_to"] == nlohmann::json::array({"store:store-1"}));

    auto shown = runHq(dir, "survey show " + db + " --id segue-default --version 2");
    REQUIRE(shown.exitCode == 0);
    const auto def = nlohmann::json::parse(shown.out);
    CHECK(def["version"] == 2);
    CHECK(def["tags"][2]["id"] == "queue_too_long");
    CHECK(runHq(dir, "survey show " + db + " --id segue-default --version 7").exitCode == 1);

    CHECK(runHq(dir, "survey assign " + db + " --id segue-default --version 1 --store store-1").exitCode == 0);
    listed = runHq(dir, "survey list " + db + " --json");
    CHECK(nlohmann::json::parse(listed.out)[0]["assigned_to"] == nlohmann::json::array({"store:store-1"}));
}
