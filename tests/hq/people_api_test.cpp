// The people routes' work without a server (hq/people_api.hpp) over real storage: the login's
// answers and cookie, who a request's credentials name, and the admin changes' replies and
// refusals. The router only moves these replies onto HTTP.
#include <catch2/catch.hpp>

#include "core/time.hpp"
#include "hq/admin.hpp"
#include "hq/people_api.hpp"
#include "tests/hq/hq_test_support.hpp"

using namespace segue;
using nlohmann::json;

namespace {

constexpr std::int64_t kT0 = 1'795'000'000'000;

struct World {
    test::TempDir dir;
    std::unique_ptr<hq::Storage> storage;
    std::unique_ptr<hq::Auth> auth;
    std::unique_ptr<hq::PeopleApi> api;

    World() {
        storage = test::openStorage(test::storageUrls(dir).front());
        auth = std::make_unique<hq::Auth>(*storage);
        api = std::make_unique<hq::PeopleApi>(*storage, *auth);
        REQUIRE(storage->addDevice({"k1", "s1", "Till", "hash-k1", kT0}));
        REQUIRE(hq::addUser(*storage, {"boss@example.com", "admin", {}, {}, "correct horse battery"}, {"cli", ""}, kT0));
    }
    /// Logs in and returns (cookie header value, csrf).
    std::pair<std::string, std::string> login(const std::string& email, const std::string& password = "correct horse battery") {
        auto r = api->login(json{{"email", email}, {"password", password}}.dump(), "127.0.0.1", kT0);
        REQUIRE(r);
        const std::string setCookie = r->headers.at(0).second;
        return {setCookie.substr(0, setCookie.find(';')), r->body["csrf"].get<std::string>()};
    }
    hq::Principal admin() {
        auto p = api->caller(false, std::nullopt, login("boss@example.com").first, kT0);
        REQUIRE(p);
        return *p;
    }
};

int statusOf(const hq::ApiResult& r) { return r ? r->status : r.error().status; }

} // namespace

TEST_CASE("people api: login answers with the user, a CSRF token and a strict session cookie", "[people-api]") {
    World w;
    auto r = w.api->login(R"({"email":"Boss@Example.com","password":"correct horse battery"})", "127.0.0.1", kT0);
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->body["email"] == "boss@example.com");
    CHECK(r->body["role"] == "admin");
    CHECK(r->body["region"].is_null());
    CHECK(r->body["store"].is_null());
    CHECK(r->body["csrf"].get<std::string>().size() == 43);
    CHECK_FALSE(r->body.contains("kind"));
    REQUIRE(r->headers.size() == 1);
    CHECK(r->headers[0].first == "Set-Cookie");
    const std::string cookie = r->headers[0].second;
    CHECK(cookie.starts_with("segue_session="));
    for (const char* flag : {"HttpOnly", "Secure", "SameSite=Strict", "Path=/"}) CHECK(cookie.find(flag) != std::string::npos);

    const auto wrong = w.api->login(R"({"email":"boss@example.com","password":"nope nope nope"})", "127.0.0.1", kT0);
    const auto unknown = w.api->login(R"({"email":"who@example.com","password":"nope nope nope"})", "127.0.0.1", kT0);
    REQUIRE_FALSE(wrong);
    REQUIRE_FALSE(unknown);
    CHECK(wrong.error().status == 401);
    CHECK(wrong.error().code == "unauthorized");
    CHECK(hq::errorBody(wrong.error()) == hq::errorBody(unknown.error()));
    for (const char* bad : {"", "[]", R"({"email":"a@b.c"})", R"({"email":1,"password":"x"})"})
        CHECK(statusOf(w.api->login(bad, "127.0.0.1", kT0)) == 400);

    for (int i = 0; i < 4; ++i) CHECK(statusOf(w.api->login(R"({"email":"boss@example.com","password":"guess guess"})", "10.0.0.1", kT0)) == 401);
    const auto sixth = w.api->login(R"({"email":"boss@example.com","password":"correct horse battery"})", "10.0.0.1", kT0);
    REQUIRE_FALSE(sixth);
    CHECK(sixth.error().status == 429);
    CHECK(sixth.error().code == "rate_limited");
    CHECK(sixth.error().retryAfterS.value_or(0) > 0);
}

TEST_CASE("people api: a bearer token or the session cookie names the caller; an ended session is 401", "[people-api]") {
    World w;
    const std::string token = hq::issueScopedToken(*w.storage, hq::Scope::store("s1"), {"cli", ""}, kT0).value().token;
    auto byToken = w.api->caller(true, token, std::nullopt, kT0);
    REQUIRE(byToken);
    CHECK(hq::principalJson(*byToken) == json{{"kind", "token"}, {"email", nullptr}, {"role", "read"}, {"region", nullptr}, {"store", "s1"}});
    CHECK(statusOf(w.api->me(*byToken)) == 200);
    CHECK(w.api->caller(true, std::nullopt, std::nullopt, kT0).error().status == 401);   // "Basic …"
    CHECK(w.api->caller(true, std::string("nope"), std::nullopt, kT0).error().status == 401);
    CHECK(w.api->caller(false, std::nullopt, std::nullopt, kT0).error().status == 401);
    CHECK(w.api->caller(false, std::nullopt, std::string("other=1"), kT0).error().status == 401);
    // A token wins over a cookie: scripts that send one get exactly what the token may read.
    const auto [bossCookie, bossCsrf] = w.login("boss@example.com");
    CHECK(w.api->caller(true, token, bossCookie, kT0)->kind == hq::Principal::Kind::Token);

    REQUIRE(hq::addUser(*w.storage, {"sam@example.com", "store", {}, std::string("s1"), "correct horse battery"}, {"cli", ""}, kT0));
    const auto [cookie, csrf] = w.login("sam@example.com");
    auto sam = w.api->caller(false, std::nullopt, "theme=dark; " + cookie, kT0 + 1000);
    REQUIRE(sam);
    CHECK(w.api->me(*sam)->body == json{{"kind", "session"}, {"email", "sam@example.com"}, {"role", "store"}, {"region", nullptr}, {"store", "s1"}});
    CHECK(hq::Auth::authorize(*sam, false, true, csrf));

    REQUIRE(hq::disableUser(*w.storage, "sam@example.com", {"cli", ""}, kT0 + 2000).value());
    const auto after = w.api->caller(false, std::nullopt, cookie, kT0 + 3000);
    REQUIRE_FALSE(after);
    CHECK(after.error().status == 401);

    const auto [cookie2, csrf2] = w.login("boss@example.com");
    auto boss = w.api->caller(false, std::nullopt, cookie2, kT0);
    REQUIRE(boss);
    const auto out = w.api->logout(*boss, "127.0.0.1", kT0);
    REQUIRE(out);
    CHECK(out->status == 204);
    CHECK(out->headers.at(0).second.find("Max-Age=0") != std::string::npos);
    CHECK(w.api->caller(false, std::nullopt, cookie2, kT0).error().status == 401);
}

TEST_CASE("people api: admin changes reply with the new state and refuse bad input with 400 or 404", "[people-api]") {
    World w;
    const hq::Principal boss = w.admin();
    CHECK(statusOf(w.api->addRegion(boss, R"({"id":"east","name":"East"})", "10.9.9.9", kT0)) == 201);
    CHECK(statusOf(w.api->addRegion(boss, R"({"id":"east","name":"Again"})", "10.9.9.9", kT0)) == 400);
    CHECK(statusOf(w.api->addRegion(boss, R"({"id":"x y","name":"Bad"})", "10.9.9.9", kT0)) == 400);
    CHECK(w.api->renameRegion(boss, "east", R"({"name":"华东"})", "10.9.9.9", kT0)->body["name"] == "华东");
    CHECK(statusOf(w.api->renameRegion(boss, "west", R"({"name":"W"})", "10.9.9.9", kT0)) == 404);

    auto moved = w.api->setStore(boss, "s1", R"({"name":"Pudong","region":"east"})", "10.9.9.9", kT0);
    REQUIRE(moved);
    CHECK(moved->body == json{{"id", "s1"}, {"name", "Pudong"}, {"region", "east"}});
    CHECK(w.api->setStore(boss, "s1", R"({"region":null})", "10.9.9.9", kT0)->body["region"].is_null());
    CHECK(w.api->setStore(boss, "s1", R"({"region":"east"})", "10.9.9.9", kT0)->body["name"] == "Pudong");
    CHECK(statusOf(w.api->setStore(boss, "s9", R"({"name":"X"})", "10.9.9.9", kT0)) == 404);
    CHECK(statusOf(w.api->setStore(boss, "s1", R"({"region":"west"})", "10.9.9.9", kT0)) == 400);
    CHECK(statusOf(w.api->setStore(boss, "s1", R"({"region":3})", "10.9.9.9", kT0)) == 400);

    auto added = w.api->addUser(boss, R"({"email":"Rita@example.com","role":"region","region":"east","password":"long enough 1"})",
                                "10.9.9.9", kT0);
    REQUIRE(added);
    CHECK(added->status == 201);
    CHECK(added->body["email"] == "rita@example.com");
    const std::int64_t rita = added->body["id"].get<std::int64_t>();
    CHECK(added->body["region"] == "east");
    CHECK_FALSE(added->body.contains("password"));
    CHECK(statusOf(w.api->addUser(boss, R"({"email":"v@example.com","role":"viewer","password":"short"})", "", kT0)) == 400);
    CHECK(statusOf(w.api->addUser(boss, R"({"email":"v@example.com","role":"region","password":"long enough 1"})", "", kT0)) == 400);
    CHECK(w.api->listUsers()->body["users"].size() == 2);

    auto changed = w.api->changeUser(boss, rita, R"({"role":"store","store":"s1"})", "10.9.9.9", kT0);
    REQUIRE(changed);
    CHECK(changed->body["role"] == "store");
    CHECK(changed->body["region"].is_null());
    CHECK(changed->body["store"] == "s1");
    CHECK(statusOf(w.api->changeUser(boss, rita, R"({"password":"new long password"})", "", kT0)) == 200);
    CHECK(w.api->changeUser(boss, rita, R"({"disabled":true})", "", kT0)->body["disabled"] == true);
    CHECK(statusOf(w.api->changeUser(boss, rita, R"({"disabled":false})", "", kT0)) == 400);
    CHECK(statusOf(w.api->changeUser(boss, rita, R"({})", "", kT0)) == 400);
    CHECK(statusOf(w.api->changeUser(boss, rita, R"({"store":"s1"})", "", kT0)) == 400);
    CHECK(statusOf(w.api->changeUser(boss, 999999, R"({"disabled":true})", "", kT0)) == 404);

    auto token = w.api->addToken(boss, R"({"role":"read","region":"east"})", "10.9.9.9", kT0);
    REQUIRE(token);
    CHECK(token->status == 201);
    CHECK(w.api->caller(true, token->body["token"].get<std::string>(), std::nullopt, kT0)->scope ==
          hq::Scope::region("east"));
    CHECK(statusOf(w.api->addToken(boss, R"({"role":"read","region":"east","store":"s1"})", "", kT0)) == 400);
    CHECK(statusOf(w.api->addToken(boss, R"({"role":"admin"})", "", kT0)) == 400);

    auto log = w.api->audit(std::nullopt, std::nullopt);
    REQUIRE(log);
    const json& entries = log->body["entries"];
    CHECK(entries[0]["action"] == "token_add");
    CHECK(entries[0]["actor"] == "boss@example.com");
    CHECK(entries[0]["address"] == "10.9.9.9");
    CHECK(entries[0]["details"]["scope"] == "region");
    CHECK(statusOf(w.api->audit(std::string("2026-02-30"), std::nullopt)) == 400);
    CHECK(w.api->audit(std::string("2000-01-01"), std::string("2000-01-02"))->body["entries"].empty());
}

TEST_CASE("people api: tokens are listed with their scope and revoked, and a disabled user is let in again", "[people-api]") {
    World w;
    const hq::Principal boss = w.admin();
    auto callerStatus = [](const auto& r) { return r ? 200 : r.error().status; };
    auto chain = w.api->addToken(boss, R"({"role":"read"})", "10.9.9.9", kT0);
    REQUIRE(w.storage->people().addRegion("east", "East", kT0));
    auto east = w.api->addToken(boss, R"({"role":"read","region":"east"})", "10.9.9.9", kT0);
    auto till = w.api->addToken(boss, R"({"role":"read","store":"s1"})", "10.9.9.9", kT0);
    REQUIRE((chain && east && till));

    auto list = w.api->listTokens();
    REQUIRE(list);
    const json& tokens = list->body["tokens"];
    REQUIRE(tokens.size() == 3);
    CHECK(tokens[0]["id"] == chain->body["id"]);
    CHECK(tokens[0]["region"].is_null());
    CHECK(tokens[0]["store"].is_null());
    CHECK(tokens[1]["region"] == "east");
    CHECK(tokens[1]["store"].is_null());
    CHECK(tokens[2]["store"] == "s1");
    CHECK(tokens[2]["region"].is_null());
    for (const auto& t : tokens) {
        CHECK(t["role"] == "read");
        CHECK(t["revoked"] == false);
        CHECK(t["last_used_at"].is_null());
        CHECK(t["created_at"] == core::formatUtc(kT0));
        CHECK_FALSE(t.contains("token"));
        CHECK(t.size() == 7);
    }

    const std::int64_t eastId = east->body["id"];
    const std::string eastToken = east->body["token"];
    CHECK(w.api->caller(true, eastToken, std::nullopt, kT0).has_value());
    auto revoked = w.api->revokeToken(boss, eastId, "10.9.9.9", kT0);
    REQUIRE(revoked);
    CHECK(revoked->body == json{{"id", eastId}, {"revoked", true}});
    CHECK(callerStatus(w.api->caller(true, eastToken, std::nullopt, kT0)) == 401);
    CHECK(w.api->listTokens()->body["tokens"][1]["revoked"] == true);
    CHECK(statusOf(w.api->revokeToken(boss, 999999, "", kT0)) == 404);
    CHECK(w.api->caller(true, chain->body["token"].get<std::string>(), std::nullopt, kT0).has_value());   // the others still work

    auto added = w.api->addUser(boss, R"({"email":"rita@example.com","role":"viewer","password":"long enough 1"})", "", kT0);
    REQUIRE(added);
    const std::int64_t rita = added->body["id"];
    const auto ritaSession = w.login("rita@example.com", "long enough 1").first;
    CHECK(w.api->changeUser(boss, rita, R"({"disabled":true})", "", kT0)->body["disabled"] == true);
    CHECK(callerStatus(w.api->caller(false, std::nullopt, ritaSession, kT0)) == 401);
    CHECK(statusOf(w.api->login(R"({"email":"rita@example.com","password":"long enough 1"})", "127.0.0.1", kT0)) == 401);
    CHECK(statusOf(w.api->changeUser(boss, rita, R"({"enabled":false})", "", kT0)) == 400);
    CHECK(statusOf(w.api->changeUser(boss, rita, R"({"enabled":true,"disabled":true})", "", kT0)) == 400);
    CHECK(statusOf(w.api->changeUser(boss, 999999, R"({"enabled":true})", "", kT0)) == 404);
    auto enabled = w.api->changeUser(boss, rita, R"({"enabled":true})", "10.9.9.9", kT0);
    REQUIRE(enabled);
    CHECK(enabled->body["disabled"] == false);
    CHECK(callerStatus(w.api->caller(false, std::nullopt, ritaSession, kT0)) == 401);   // the old session stays ended
    CHECK(statusOf(w.api->login(R"({"email":"rita@example.com","password":"long enough 1"})", "127.0.0.1", kT0)) == 200);

    const json entries = w.api->audit(std::nullopt, std::nullopt)->body["entries"];
    std::vector<std::string> actions;
    for (const auto& e : entries) actions.push_back(e["action"]);
    CHECK(std::find(actions.begin(), actions.end(), "user_enable") != actions.end());
    const auto revokeEntry = std::find_if(entries.begin(), entries.end(), [](const json& e) { return e["action"] == "token_revoke"; });
    REQUIRE(revokeEntry != entries.end());
    CHECK((*revokeEntry)["subject"] == std::to_string(eastId));
    CHECK((*revokeEntry)["actor"] == "boss@example.com");
    CHECK((*revokeEntry)["address"] == "10.9.9.9");
}
