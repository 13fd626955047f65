// The dashboard's survey routes through the real route table (hq::Router: access, CSRF, labels)
// over real storage, on both engines (the [storage] cases run on PostgreSQL too through
// run_with_pg.sh): publish, the validation error naming its field, who may call them, rollback
// changing what a terminal is sent, and the audit log.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "core/time.hpp"
#include "hq/admin.hpp"
#include "hq/enrolment.hpp"
#include "hq/router.hpp"
#include "hq/surveys.hpp"
#include "tests/hq/hq_test_support.hpp"

using namespace segue;
using nlohmann::json;

namespace {

constexpr const char* kPassword = "correct horse battery";

/// The built-in definition made into a version 2: one more tag with both labels, three items,
/// shorter thank-you screen. Bare built-in tags get the labels a publish needs.
json editedDefinition() {
    json d = json::parse(hq::builtInSurveyText());
    json tags = json::array();
    for (const auto& t : d["tags"])
        tags.push_back({{"id", t}, {"labels", {{"zh-CN", "原因 " + t.get<std::string>()}, {"en", "Reason " + t.get<std::string>()}}}});
    tags.erase(tags.begin() + 5);   // at most six: price goes, the queue comes
    tags.push_back({{"id", "queue_too_long"}, {"labels", {{"zh-CN", "排队太久"}, {"en", "Queue too long"}}}});
    d["tags"] = tags;
    d["items"] = {"satisfactory", "efficient", "effective"};
    d["settings"] = {{"thank_you_s", 2}};
    return d;
}

struct World {
    test::TempDir dir;
    std::unique_ptr<hq::Storage> storage;
    core::FakeClock clock;
    std::unique_ptr<hq::Router> router;
    std::string deviceToken;

    explicit World(const std::string& url) {
        storage = test::openStorage(url);
        router = std::make_unique<hq::Router>(*storage, clock, hq::RouterOptions{});
        auto device = hq::enrolDevice(*storage, "store-1", "Till", std::string("kiosk-1"), clock.now().utcMs);
        REQUIRE(device);
        deviceToken = device->token;
        REQUIRE(hq::enrolDevice(*storage, "store-2", "Till", std::string("kiosk-2"), clock.now().utcMs));
        REQUIRE(storage->people().addRegion("east", "East", clock.now().utcMs));
        for (const auto& [email, role] : {std::pair{"boss@example.com", "admin"}, std::pair{"vic@example.com", "viewer"}})
            REQUIRE(hq::addUser(*storage, {email, role, {}, {}, kPassword}, {"cli", ""}, clock.now().utcMs));
    }

    hq::HttpResponse call(const std::string& method, const std::string& path, const std::string& body = "",
                          std::vector<std::pair<std::string, std::string>> headers = {}) {
        hq::HttpRequest req;
        req.method = method;
        req.target = req.path = path;
        req.body = body;
        req.headers = std::move(headers);
        req.remoteAddress = "10.1.2.3";
        return router->handle(req);
    }

    /// Logs in: the Cookie header value and the CSRF token.
    std::pair<std::string, std::string> login(const std::string& email) {
        const auto res = call("POST", "/api/v1/session", json{{"email", email}, {"password", kPassword}}.dump());
        REQUIRE(res.status == 200);
        const std::string cookie = res.header("Set-Cookie");
        return {cookie.substr(0, cookie.find(';')), json::parse(res.body)["csrf"].get<std::string>()};
    }

    /// A session's request: the cookie, and the CSRF header unless `csrf` is empty.
    hq::HttpResponse as(const std::pair<std::string, std::string>& session, const std::string& method,
                        const std::string& path, const std::string& body = "", bool withCsrf = true) {
        std::vector<std::pair<std::string, std::string>> headers = {{"Cookie", session.first}};
        if (withCsrf) headers.emplace_back("X-CSRF-Token", session.second);
        return call(method, path, body, std::move(headers));
    }

    hq::HttpResponse terminalConfig(const std::string& etag = "") {
        std::vector<std::pair<std::string, std::string>> headers = {{"Authorization", "Bearer " + deviceToken}};
        if (!etag.empty()) headers.emplace_back("If-None-Match", etag);
        return call("GET", "/api/v1/terminal/config", "", std::move(headers));
    }
};

json bodyOf(const hq::HttpResponse& res) { return json::parse(res.body); }

json publishBody(const json& definition, const json& scope) { return {{"definition", definition}, {"scope", scope}}; }

/// The scope row of `kind`/`id` in GET /api/v1/surveys.
json scopeRow(const json& list, const std::string& kind, const std::string& id) {
    for (const auto& s : list["scopes"])
        if (s["kind"] == kind && (kind == "chain" || s["id"] == id)) return s;
    FAIL("no scope " << kind << " " << id);
    return {};
}

json versionRow(const json& list, const std::string& surveyId, int version) {
    for (const auto& s : list["surveys"])
        if (s["survey_id"] == surveyId)
            for (const auto& v : s["versions"])
                if (v["version"] == version) return v;
    FAIL("no version " << surveyId << " v" << version);
    return {};
}

} // namespace

TEST_CASE("survey api: an admin publishes to one store, the terminal gets it, a rollback changes its ETag, both audited",
          "[storage][surveys]") {
    test::TempDir dir;
    for (const auto& url : test::storageUrls(dir)) {
        INFO(url);
        World w(url);
        const auto boss = w.login("boss@example.com");

        auto list = w.as(boss, "GET", "/api/v1/surveys");
        REQUIRE(list.status == 200);
        CHECK(list.routeLabel == "/api/v1/surveys");
        json l = bodyOf(list);
        CHECK(versionRow(l, "segue-default", 1)["built_in"] == true);
        CHECK(versionRow(l, "segue-default", 1)["stores"] == 2);
        CHECK(scopeRow(l, "store", "store-1")["assigned_by"] == "built-in");
        CHECK(scopeRow(l, "region", "east")["version"] == 1);
        CHECK(l["terminal_words"]["en"]["attract.question"] == "How was our service today?");
        CHECK(l["terminal_words"]["zh-CN"].contains("item.genuine.option.5"));
        CHECK(l["terminal_words"]["en"]["tag.price"] == "Price or fees");
        CHECK_FALSE(l["terminal_words"]["en"].contains("pin.title"));   // staff words are not the survey's

        const auto v1 = w.terminalConfig();
        REQUIRE(v1.status == 200);
        const std::string etag1 = v1.header("ETag");
        CHECK(bodyOf(v1)["survey_version"] == 1);

        const auto published = w.as(boss, "POST", "/api/v1/surveys",
                                    publishBody(editedDefinition(), {{"kind", "store"}, {"id", "store-1"}}).dump());
        INFO(published.body);
        REQUIRE(published.status == 201);
        CHECK(published.routeLabel == "POST /api/v1/surveys");
        CHECK(bodyOf(published) == json{{"survey_id", "segue-default"}, {"version", 2}, {"scope", {{"kind", "store"}, {"id", "store-1"}}}});

        // The store's terminal is sent version 2 (a new ETag); the other store keeps version 1.
        const auto v2 = w.terminalConfig(etag1);
        REQUIRE(v2.status == 200);
        const std::string etag2 = v2.header("ETag");
        CHECK(etag2 != etag1);
        CHECK(bodyOf(v2)["survey_version"] == 2);
        CHECK(bodyOf(v2)["survey"]["tags"][5]["labels"]["en"] == "Queue too long");
        CHECK(w.terminalConfig(etag2).status == 304);
        CHECK(hq::currentSurvey(*w.storage, "store-2")->version == 1);

        l = bodyOf(w.as(boss, "GET", "/api/v1/surveys"));
        CHECK(versionRow(l, "segue-default", 2)["assigned_to"].size() == 1);
        CHECK(versionRow(l, "segue-default", 2)["assigned_to"][0]["id"] == "store-1");
        CHECK(versionRow(l, "segue-default", 2)["stores"] == 1);
        CHECK(versionRow(l, "segue-default", 1)["stores"] == 1);
        CHECK(scopeRow(l, "store", "store-1")["version"] == 2);
        CHECK(scopeRow(l, "store", "store-1")["assigned_by"] == "store");
        CHECK(scopeRow(l, "chain", "")["assigned_by"] == "built-in");

        const auto shown = w.as(boss, "GET", "/api/v1/surveys/segue-default/versions/2");
        REQUIRE(shown.status == 200);
        CHECK(shown.routeLabel == "/api/v1/surveys/{id}/versions/{version}");
        CHECK(bodyOf(shown)["definition"]["version"] == 2);
        CHECK(bodyOf(shown)["definition"]["items"].size() == 3);
        CHECK(bodyOf(w.as(boss, "GET", "/api/v1/surveys/segue-default/versions/1"))["built_in"] == true);
        CHECK(w.as(boss, "GET", "/api/v1/surveys/segue-default/versions/7").status == 404);
        CHECK(w.as(boss, "GET", "/api/v1/surveys/segue-default/versions/x").status == 404);

        // Rollback: the older version assigned to the store.
        w.clock.advance(60'000);
        const auto rolled = w.as(boss, "POST", "/api/v1/surveys/segue-default/versions/1/assign",
                                 json{{"scope", {{"kind", "store"}, {"id", "store-1"}}}}.dump());
        INFO(rolled.body);
        REQUIRE(rolled.status == 200);
        CHECK(rolled.routeLabel == "POST /api/v1/surveys/{id}/versions/{version}/assign");
        CHECK(bodyOf(rolled)["previous"] == json{{"survey_id", "segue-default"}, {"version", 2}});
        const auto back = w.terminalConfig(etag2);
        REQUIRE(back.status == 200);
        CHECK(back.header("ETag") != etag2);
        CHECK(bodyOf(back)["survey_version"] == 1);
        CHECK(bodyOf(back)["assigned_by"] == "store");

        auto audit = w.storage->people().auditLog(0, w.clock.now().utcMs + 1, 100);
        REQUIRE(audit);
        std::vector<hq::AuditEntry> surveyLines;
        for (const auto& e : *audit)
            if (e.action.starts_with("survey_")) surveyLines.push_back(e);
        REQUIRE(surveyLines.size() == 2);   // newest first
        CHECK(surveyLines[0].action == "survey_assign");
        CHECK(surveyLines[0].actor == "boss@example.com");
        CHECK(surveyLines[0].address == "10.1.2.3");
        CHECK(surveyLines[0].subject == "segue-default v1");
        CHECK(json::parse(surveyLines[0].details) ==
              json{{"survey_id", "segue-default"}, {"version", 1}, {"scope", "store:store-1"}, {"previous", "segue-default v2"}});
        CHECK(surveyLines[1].action == "survey_publish");
        CHECK(surveyLines[1].subject == "segue-default v2");
        CHECK(json::parse(surveyLines[1].details)["scope"] == "store:store-1");
    }
}

TEST_CASE("survey api: refusals name their field, and viewers, tokens and requests without CSRF get 403", "[storage][surveys]") {
    test::TempDir dir;
    for (const auto& url : test::storageUrls(dir)) {
        INFO(url);
        World w(url);
        const auto boss = w.login("boss@example.com");
        const json store1 = {{"kind", "store"}, {"id", "store-1"}};
        auto refusal = [&](const json& body) {
            const auto res = w.as(boss, "POST", "/api/v1/surveys", body.dump());
            INFO(res.body);
            CHECK(res.status == 400);
            return bodyOf(res);
        };

        json unlabelled = editedDefinition();
        unlabelled["tags"][5]["labels"].erase("en");
        json e = refusal(publishBody(unlabelled, store1));
        CHECK(e["error"] == "invalid_survey");
        CHECK(e["field"] == "definition.tags[5].labels.en");
        CHECK_THAT(e["message"].get<std::string>(), Catch::Contains("queue_too_long") && Catch::Contains("en"));

        json slow = editedDefinition();
        slow["settings"]["thank_you_s"] = 0;
        e = refusal(publishBody(slow, store1));
        CHECK(e["field"] == "definition.settings.thank_you_s");
        CHECK_THAT(e["message"].get<std::string>(), Catch::Contains("1..60"));
        json item = editedDefinition();
        item["items"][1] = "speed";
        CHECK(refusal(publishBody(item, store1))["field"] == "definition.items[1]");
        CHECK(refusal(publishBody("{\"id\":", store1))["field"] == "definition");   // JSON text that does not parse
        CHECK(refusal({{"scope", store1}})["field"] == "definition");
        e = refusal(publishBody(editedDefinition(), {{"kind", "store"}, {"id", "store-9"}}));
        CHECK(e["error"] == "invalid_scope");
        CHECK(e["field"] == "scope.id");
        CHECK_THAT(e["message"].get<std::string>(), Catch::Contains("store-9"));
        CHECK(refusal(publishBody(editedDefinition(), {{"kind", "region"}, {"id", "west"}}))["field"] == "scope.id");
        CHECK(refusal(publishBody(editedDefinition(), {{"kind", "planet"}}))["field"] == "scope.kind");
        CHECK(refusal(publishBody(editedDefinition(), nullptr))["field"] == "scope");
        CHECK(w.as(boss, "POST", "/api/v1/surveys", "not json").status == 400);

        // Who may call: a viewer's session, a read token and a missing or wrong CSRF header are 403.
        const auto vic = w.login("vic@example.com");
        const std::string body = publishBody(editedDefinition(), store1).dump();
        CHECK(w.as(vic, "GET", "/api/v1/surveys").status == 403);
        const auto viewerPublish = w.as(vic, "POST", "/api/v1/surveys", body);
        CHECK(viewerPublish.status == 403);
        CHECK(bodyOf(viewerPublish)["error"] == "forbidden");
        const std::string token = hq::issueScopedToken(*w.storage, hq::Scope::chain(), {"cli", ""}, 0).value().token;
        CHECK(w.call("GET", "/api/v1/surveys", "", {{"Authorization", "Bearer " + token}}).status == 403);
        CHECK(w.call("POST", "/api/v1/surveys", body, {{"Authorization", "Bearer " + token}}).status == 403);
        const auto noCsrf = w.as(boss, "POST", "/api/v1/surveys", body, false);
        CHECK(noCsrf.status == 403);
        CHECK(bodyOf(noCsrf)["error"] == "csrf");
        const auto wrongCsrf = w.as({boss.first, "not-the-token"}, "POST", "/api/v1/surveys/segue-default/versions/1/assign",
                                    json{{"scope", store1}}.dump());
        CHECK(wrongCsrf.status == 403);
        CHECK(bodyOf(wrongCsrf)["error"] == "csrf");
        CHECK(w.call("GET", "/api/v1/surveys").status == 401);
        CHECK(w.as(boss, "POST", "/api/v1/surveys/segue-default/versions/4/assign", json{{"scope", store1}}.dump()).status == 404);
        CHECK(w.as(boss, "POST", "/api/v1/surveys/segue-default/versions/1/assign", json{{"scope", {{"kind", "region"}, {"id", "west"}}}}.dump())
                  .status == 400);

        // Nothing refused took a version or changed an assignment, and nothing refused was audited.
        CHECK(w.storage->listSurveyVersions()->empty());
        CHECK(w.storage->surveyAssignments()->empty());
        const auto lines = w.storage->people().auditLog(0, w.clock.now().utcMs + 1, 100);
        REQUIRE(lines);
        for (const auto& line : *lines) CHECK_FALSE(line.action.starts_with("survey_"));

        // The same definition the CLI would take is taken here, chain-wide and by region.
        CHECK(w.as(boss, "POST", "/api/v1/surveys", publishBody(editedDefinition(), {{"kind", "region"}, {"id", "east"}}).dump()).status == 201);
        CHECK(w.as(boss, "POST", "/api/v1/surveys", publishBody(editedDefinition().dump(), {{"kind", "chain"}}).dump()).status == 201);
        const json l = bodyOf(w.as(boss, "GET", "/api/v1/surveys"));
        CHECK(scopeRow(l, "chain", "")["version"] == 3);
        CHECK(scopeRow(l, "region", "east")["version"] == 2);
    }
}
