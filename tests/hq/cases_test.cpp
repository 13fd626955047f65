// Callback cases on real storage (SQLite; PostgreSQL too through run_with_pg.sh, tag [storage]):
// a sealed number opens exactly one case at ingest, bad contacts are refused, the API keeps to
// the caller's scope (404 outside it; a read token lists but cannot open a number), every opening
// is audited, the 24-hour figure, the retention pass on a fake clock, and the key files.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>

#include <sodium.h>

#include <nlohmann/json.hpp>

#include "hq/admin.hpp"
#include "hq/alerts.hpp"
#include "hq/auth.hpp"
#include "hq/cases.hpp"
#include "hq/cases_api.hpp"
#include "hq/contact_key.hpp"
#include "hq/ingest.hpp"
#include "hq/people_api.hpp"
#include "sync/batch_reader.hpp"
#include "sync/wire.hpp"
#include "tests/hq/hq_test_support.hpp"

using namespace segue;
using nlohmann::json;

namespace {

constexpr std::int64_t kT0 = 1'795'000'000'000;
constexpr std::int64_t kHourMs = 3'600'000;
constexpr std::int64_t kDayMs = 24 * kHourMs;
const std::string kPassword = "correct horse battery";

/// The number sealed as a terminal seals it: crypto_box_seal with HQ's public key, base64.
std::string seal(const std::string& digits, const hq::ContactKey& key) {
    std::string sealed(digits.size() + crypto_box_SEALBYTES, '\0');
    REQUIRE(crypto_box_seal(reinterpret_cast<unsigned char*>(sealed.data()),
                            reinterpret_cast<const unsigned char*>(digits.data()), digits.size(),
                            key.publicKey.data()) == 0);
    return hq::toBase64(sealed);
}

/// How many storage engines test::storageUrls() names: SQLite, and PostgreSQL when configured.
int engines() { return std::getenv("SEGUE_TEST_PG_URL") ? 2 : 1; }

int statusOf(const hq::ApiResult& r) { return r ? r->status : r.error().status; }

struct World {
    test::TempDir dir;
    std::string url;
    std::unique_ptr<hq::Storage> storage;
    core::FakeClock clock{kT0, 0};
    hq::ContactKey key;
    hq::CaseConfig config;
    std::unique_ptr<hq::Auth> auth;
    std::unique_ptr<hq::PeopleApi> people;
    std::unique_ptr<hq::CasesApi> api;
    std::unique_ptr<hq::Ingest> ingest;
    core::UuidV7Generator ids{7};

    explicit World(int urlIndex = 0) {
        const auto urls = test::storageUrls(dir);
        url = urls.at(static_cast<std::size_t>(urlIndex));
        storage = test::openStorage(url);
        auto k = hq::writeContactKeys(dir.path());
        REQUIRE(k);
        key = *k;
        auth = std::make_unique<hq::Auth>(*storage);
        people = std::make_unique<hq::PeopleApi>(*storage, *auth);
        api = std::make_unique<hq::CasesApi>(*storage, config, key);
        ingest = std::make_unique<hq::Ingest>(*storage, clock, config.slaMs());
        REQUIRE(storage->addDevice({"k1", "s1", "Till 1", "hash-k1", kT0}));
        REQUIRE(storage->addDevice({"k2", "s2", "Till 2", "hash-k2", kT0}));
        const hq::Actor cli{"cli", ""};
        REQUIRE(hq::addUser(*storage, {"boss@example.com", "admin", {}, {}, kPassword}, cli, kT0));
        REQUIRE(hq::addUser(*storage, {"sam@example.com", "store", {}, std::string("s1"), kPassword}, cli, kT0));
        REQUIRE(hq::addUser(*storage, {"olga@example.com", "store", {}, std::string("s2"), kPassword}, cli, kT0));
    }

    hq::Principal session(const std::string& email) {
        auto r = people->login(json{{"email", email}, {"password", kPassword}}.dump(), "127.0.0.1", kT0);
        REQUIRE(r);
        const std::string setCookie = r->headers.at(0).second;
        auto p = people->caller(false, std::nullopt, setCookie.substr(0, setCookie.find(';')), kT0);
        REQUIRE(p);
        return *p;
    }
    hq::Principal token(const hq::Scope& scope) {
        const auto issued = hq::issueScopedToken(*storage, scope, {"cli", ""}, kT0);
        REQUIRE(issued);
        auto p = people->caller(true, issued->token, std::nullopt, kT0);
        REQUIRE(p);
        return *p;
    }

    /// A 1-star response of `device` made `createdAtMs`.
    core::Response lowRating(const std::string& store, const std::string& device, std::int64_t createdAtMs) {
        auto r = test::makeResponse(ids.next(createdAtMs), store, device, createdAtMs, 1);
        r.callbackRequested = true;
        return r;
    }

    /// Sends one batch of `device` with the given contacts; the ack.
    wire::BatchAck send(const std::string& store, const std::string& device, const std::vector<core::Response>& rs,
                        const std::map<std::string, std::string>& contacts) {
        wire::Batch b;
        b.batchId = ids.next(clock.now().utcMs);
        b.deviceId = device;
        b.sentAtMs = clock.now().utcMs;
        b.appVersion = "test";
        b.responses = rs;
        b.sealedContacts = contacts;
        auto ack = ingest->handle({device, store, false}, wire::encodeBatch(b));
        REQUIRE(ack);
        return *ack;
    }

    /// One case of `store` for a callback from `device`, made now; its id.
    std::int64_t openCase(const std::string& store, const std::string& device, const std::string& digits) {
        const auto r = lowRating(store, device, clock.now().utcMs);
        const auto ack = send(store, device, {r}, {{r.id, seal(digits, key)}});
        REQUIRE(ack.accepted == std::vector<std::string>{r.id});
        hq::CaseFilter f;
        f.store = store;
        auto cases = storage->cases().listCases(f);
        REQUIRE(cases);
        for (const auto& c : *cases)
            if (c.responseId == r.id) return c.id;
        FAIL("no case for " << r.id);
        return 0;
    }

    hq::CaseNow now() const { return {clock.now().utcMs, core::localDate(clock.now().utcMs, 0), 0}; }
    hq::ParamFn params(std::map<std::string, std::string> values) const {
        return [values](const char* n) -> std::optional<std::string> {
            const auto it = values.find(n);
            return it == values.end() ? std::nullopt : std::optional<std::string>(it->second);
        };
    }
};

} // namespace

TEST_CASE("cases: a sealed callback opens exactly one case with the ingest, across resends", "[storage][cases]") {
    for (int u = 0; u < engines(); ++u) {
        World w(u);
        INFO(w.url);
        const auto r = w.lowRating("s1", "k1", kT0 - kHourMs);
        const std::map<std::string, std::string> contact{{r.id, seal("13800138000", w.key)}};
        const auto plain = test::makeResponse(w.ids.next(kT0), "s1", "k1", kT0, 5);
        const auto ack = w.send("s1", "k1", {r, plain}, contact);
        CHECK(ack.accepted.size() == 2);
        CHECK(ack.openCallbacks == 1);
        // The same record again (a lost ack): a duplicate, no second case.
        const auto again = w.send("s1", "k1", {r}, contact);
        CHECK(again.duplicates == std::vector<std::string>{r.id});
        CHECK(again.openCallbacks == 1);

        hq::CaseFilter all;
        auto cases = w.storage->cases().listCases(all);
        REQUIRE(cases);
        REQUIRE(cases->size() == 1);
        const hq::Case& c = cases->front();
        CHECK(c.responseId == r.id);
        CHECK(c.storeId == "s1");
        CHECK(c.deviceId == "k1");
        CHECK(c.stars == 1);
        CHECK(c.tags == std::vector<std::string>{"wait_time"});
        CHECK(c.dueAtMs == r.createdAtMs + 24 * kHourMs);
        CHECK(c.status == "open");
        CHECK(c.hasContact);
        // The stored response says it asked; the other store has no open case.
        auto page = w.storage->exportPage({}, "", 10);
        REQUIRE(page);
        REQUIRE(page->size() == 2);
        for (const auto& row : *page) CHECK(row.response.callbackRequested == (row.response.id == r.id));
        CHECK(w.storage->cases().openCases("s2").value() == 0);
        // The database holds the sealed bytes, never the digits.
        const auto sealed = w.storage->cases().sealedContact(c.id);
        REQUIRE(sealed);
        REQUIRE(*sealed);
        CHECK((*sealed)->find("13800138000") == std::string::npos);
        CHECK(hq::openContact(w.key, *hq::fromBase64(**sealed)) == "13800138000");
    }
}

TEST_CASE("cases: a missing, malformed or unasked-for contact is refused as bad_callback_contact", "[cases]") {
    World w;
    auto asks = w.lowRating("s1", "k1", kT0);
    auto noContact = w.lowRating("s1", "k1", kT0 + 1);
    auto notBase64 = w.lowRating("s1", "k1", kT0 + 2);
    auto tooShort = w.lowRating("s1", "k1", kT0 + 3);
    auto unasked = test::makeResponse(w.ids.next(kT0 + 4), "s1", "k1", kT0 + 4, 1);
    const auto ack = w.send("s1", "k1", {asks, noContact, notBase64, tooShort, unasked},
                            {{asks.id, seal("13800138000", w.key)},
                             {notBase64.id, "not base64 at all!"},
                             {tooShort.id, seal("12345", w.key)},
                             {unasked.id, seal("13800138000", w.key)}});
    CHECK(ack.accepted == std::vector<std::string>{asks.id});
    REQUIRE(ack.rejected.size() == 4);
    for (const auto& r : ack.rejected) CHECK(r.reason == hq::kReasonBadCallbackContact);
    CHECK(w.storage->counts()->rejections == 4);
    CHECK(w.storage->cases().openCases("s1").value() == 1);

    // A contact that is not a string goes the slow path and is refused the same way.
    auto odd = w.lowRating("s1", "k1", kT0 + 5);
    json body = json::parse(wire::encodeBatch({1, w.ids.next(kT0), "k1", kT0, 0, "t", std::nullopt, {odd}, {}}));
    body["responses"][0]["callback_contact"] = 12345;
    const auto refused = w.ingest->handle({"k1", "s1", false}, body.dump());
    REQUIRE(refused);
    REQUIRE(refused->rejected.size() == 1);
    CHECK(refused->rejected[0].reason == hq::kReasonBadCallbackContact);
}

TEST_CASE("cases api: scope, read tokens, the number and the audit log", "[storage][cases]") {
    for (int u = 0; u < engines(); ++u) {
        World w(u);
        INFO(w.url);
        const auto id = std::to_string(w.openCase("s1", "k1", "13912345678"));
        const hq::Principal sam = w.session("sam@example.com");
        const hq::Principal olga = w.session("olga@example.com");

        // Another store's user: the case and its number do not exist for them.
        CHECK(statusOf(w.api->get(olga, id, w.now())) == 404);
        CHECK(statusOf(w.api->contact(olga, id, "10.0.0.2", w.now())) == 404);
        CHECK(statusOf(w.api->move(olga, id, R"({"status":"contacted"})", "10.0.0.2", w.now())) == 404);
        CHECK(w.api->list(olga, w.params({}), w.now())->body["cases"].empty());
        CHECK(statusOf(w.api->get(sam, "99999", w.now())) == 404);
        CHECK(statusOf(w.api->get(sam, "x", w.now())) == 404);

        // A read token of the store lists and reads the case, never its number.
        const hq::Principal reader = w.token(hq::Scope::store("s1"));
        const auto listed = w.api->list(reader, w.params({{"status", "all"}}), w.now());
        REQUIRE(listed);
        REQUIRE(listed->body["cases"].size() == 1);
        CHECK(listed->body.dump().find("13912345678") == std::string::npos);
        CHECK(listed->body["cases"][0]["contact_kept"] == true);
        CHECK(statusOf(w.api->get(reader, id, w.now())) == 200);
        const auto denied = w.api->contact(reader, id, "10.0.0.3", w.now());
        REQUIRE_FALSE(denied);
        CHECK(denied.error().status == 403);
        CHECK(statusOf(w.api->move(reader, id, R"({"status":"contacted"})", "10.0.0.3", w.now())) == 403);
        const hq::Principal otherReader = w.token(hq::Scope::store("s2"));
        CHECK(statusOf(w.api->contact(otherReader, id, "10.0.0.3", w.now())) == 404);

        // The store's manager opens it: the number typed, and an audit row naming them.
        w.clock.advance(60'000);
        const auto phone = w.api->contact(sam, id, "10.0.0.4", w.now());
        REQUIRE(phone);
        CHECK(phone->body == json{{"phone", "13912345678"}});
        const auto audit = w.storage->people().auditLog(0, w.clock.now().utcMs + 1, 100);
        REQUIRE(audit);
        int views = 0;
        for (const auto& e : *audit)
            if (e.action == "case_contact_view") {
                ++views;
                CHECK(e.actor == "sam@example.com");
                CHECK(e.subject == id);
                CHECK(e.address == "10.0.0.4");
                CHECK(e.details.find("13912345678") == std::string::npos);
            }
        CHECK(views == 1);
        (void)w.api->contact(sam, id, "10.0.0.4", w.now());
        views = 0;
        const auto again = w.storage->people().auditLog(0, w.clock.now().utcMs + 1, 100);
        REQUIRE(again);
        for (const auto& e : *again) views += e.action == "case_contact_view";
        CHECK(views == 2);   // every opening, not just the first
    }
}

TEST_CASE("cases api: moves follow open→contacted→resolved and name their fields when refused", "[cases]") {
    World w;
    const auto id = std::to_string(w.openCase("s1", "k1", "13912345678"));
    const hq::Principal sam = w.session("sam@example.com");
    auto refusal = [&](const std::string& body) {
        const auto r = w.api->move(sam, id, body, "", w.now());
        REQUIRE_FALSE(r);
        return r.error();
    };
    CHECK(refusal("nope").status == 400);
    CHECK_THAT(refusal(R"({"status":"lost"})").message, Catch::Contains("status"));
    CHECK_THAT(refusal(R"({"status":"contacted","note":7})").message, Catch::Contains("note"));
    CHECK_THAT(refusal(R"({"status":"contacted","root_cause":"price"})").message, Catch::Contains("root_cause"));
    CHECK(refusal(R"({"status":"resolved","root_cause":"price"})").status == 409);   // open cannot be resolved
    auto moved = w.api->move(sam, id, R"({"status":"contacted","note":"called, will visit"})", "", w.now());
    REQUIRE(moved);
    CHECK(moved->body["status"] == "contacted");
    CHECK(moved->body["history"].size() == 1);
    CHECK(moved->body["history"][0]["by"] == "sam@example.com");
    CHECK(moved->body["history"][0]["note"] == "called, will visit");
    CHECK(refusal(R"({"status":"resolved"})").status == 400);
    CHECK_THAT(refusal(R"({"status":"resolved","root_cause":"bad luck"})").message, Catch::Contains("root_cause"));
    auto resolved = w.api->move(sam, id, R"({"status":"resolved","note":"refunded","root_cause":"wait_time"})", "", w.now());
    REQUIRE(resolved);
    CHECK(resolved->body["status"] == "resolved");
    CHECK(resolved->body["root_cause"] == "wait_time");
    CHECK(resolved->body["history"].size() == 2);
    CHECK(refusal(R"({"status":"unreachable"})").status == 409);   // closed stays closed
}

TEST_CASE("cases: two managers moving the same open case: the second is refused as case_changed", "[storage][cases]") {
    for (int u = 0; u < engines(); ++u) {
        World w(u);
        INFO(w.url);
        const std::int64_t id = w.openCase("s1", "k1", "13912345678");
        // Both read the case while it was open; the first move wins, the second finds it changed.
        hq::CaseEvent first{};
        first.atMs = w.clock.now().utcMs;
        first.actor = "ann@example.com";
        first.fromStatus = "open";
        first.toStatus = "contacted";
        hq::CaseEvent second = first;
        second.actor = "boss@example.com";
        second.toStatus = "unreachable";
        CHECK(w.storage->cases().moveCase(id, first).value());
        CHECK_FALSE(w.storage->cases().moveCase(id, second).value());
        // The API answers a refused move with 409 case_changed; nothing of the second move is kept.
        auto c = w.api->get(w.session("boss@example.com"), std::to_string(id), w.now());
        REQUIRE(c);
        CHECK(c->body["status"] == "contacted");
        REQUIRE(c->body["history"].size() == 1);
        CHECK(c->body["history"][0]["by"] == "ann@example.com");
    }
}

TEST_CASE("cases api: the summary counts a case moved before its due time as within the SLA", "[storage][cases]") {
    for (int u = 0; u < engines(); ++u) {
        World w(u);
        INFO(w.url);
        const hq::Principal sam = w.session("sam@example.com");
        const auto early = std::to_string(w.openCase("s1", "k1", "13900000001"));
        const auto late = std::to_string(w.openCase("s1", "k1", "13900000002"));
        const auto waiting = std::to_string(w.openCase("s1", "k1", "13900000003"));
        (void)w.openCase("s2", "k2", "13900000004");   // another store: not in sam's figures

        w.clock.advance(2 * kHourMs);
        REQUIRE(w.api->move(sam, early, R"({"status":"contacted"})", "", w.now()));
        w.clock.advance(23 * kHourMs);   // 25 h after they were opened: past due
        REQUIRE(w.api->move(sam, late, R"({"status":"unreachable","note":"no answer twice"})", "", w.now()));

        const auto s = w.api->summary(sam, w.params({{"period", "7d"}}), w.now());
        REQUIRE(s);
        CHECK(s->body["requests"] == 3);
        CHECK(s->body["contacted_within_sla"] == 1);
        CHECK(s->body["share_within_sla"].get<double>() == Approx(1.0 / 3));
        CHECK(s->body["median_hours_to_contact"].get<double>() == Approx((2.0 + 25.0) / 2));
        CHECK(s->body["open"] == 1);
        CHECK(s->body["overdue"] == 1);
        for (const char* key : {"requests", "contacted_within_sla", "share_within_sla", "median_hours_to_contact", "open", "overdue"})
            CHECK(s->body.contains(key));
        const auto chain = w.api->summary(w.session("boss@example.com"), w.params({}), w.now());
        CHECK(chain->body["requests"] == 4);
        const auto overdue = w.api->list(sam, w.params({{"status", "overdue"}}), w.now());
        REQUIRE(overdue->body["cases"].size() == 1);
        CHECK(overdue->body["cases"][0]["id"] == std::stoll(waiting));
        CHECK(w.api->list(sam, w.params({{"status", "closed"}}), w.now())->body["cases"].size() == 1);
        CHECK(statusOf(w.api->list(sam, w.params({{"status", "late"}}), w.now())) == 400);

        // One overdue alert per case, however often the rule runs.
        CHECK(hq::raiseOverdueAlerts(*w.storage, w.clock.now().utcMs).value() == 2);   // s1's waiting + s2's
        CHECK(hq::raiseOverdueAlerts(*w.storage, w.clock.now().utcMs + kHourMs).value() == 0);
        int overdueAlerts = 0;
        const auto alerts = w.storage->recentAlerts(50);
        REQUIRE(alerts);
        for (const auto& a : *alerts) overdueAlerts += a.rule == hq::kRuleCaseOverdue;
        CHECK(overdueAlerts == 2);
    }
}

TEST_CASE("cases: retention erases a closed case's number after the set days and keeps the case", "[storage][cases]") {
    for (int u = 0; u < engines(); ++u) {
        World w(u);
        INFO(w.url);
        const hq::Principal sam = w.session("sam@example.com");
        const auto closed = std::to_string(w.openCase("s1", "k1", "13900000001"));
        const auto stillOpen = std::to_string(w.openCase("s1", "k1", "13900000002"));
        REQUIRE(w.api->move(sam, closed, R"({"status":"unreachable"})", "", w.now()));
        const std::int64_t closedAt = w.clock.now().utcMs;
        hq::CaseRetention retention(*w.storage, w.clock, w.config);

        w.clock.advance(30 * kDayMs - 1);   // not yet 30 days
        CHECK(retention.runOnce().value() == 0);
        CHECK(statusOf(w.api->contact(sam, closed, "", w.now())) == 200);
        w.clock.advance(1);
        CHECK(w.clock.now().utcMs == closedAt + 30 * kDayMs);
        CHECK(retention.runOnce().value() == 1);
        CHECK(retention.runOnce().value() == 0);

        const auto gone = w.api->contact(sam, closed, "", w.now());
        REQUIRE_FALSE(gone);
        CHECK(gone.error().status == 410);
        CHECK(gone.error().code == "contact_erased");
        const auto kept = w.api->get(sam, closed, w.now());
        REQUIRE(kept);
        CHECK(kept->body["status"] == "unreachable");
        CHECK(kept->body["contact_kept"] == false);
        CHECK(kept->body["contact_erased_at"] == core::formatUtc(w.clock.now().utcMs));
        CHECK(w.storage->cases().sealedContact(std::stoll(closed)).value() == std::nullopt);
        // An open case keeps its number however old.
        CHECK(w.api->contact(sam, stillOpen, "", w.now())->body["phone"] == "13900000002");
        CHECK(w.api->summary(sam, w.params({{"period", "30d"}}), hq::CaseNow{kT0, core::localDate(kT0, 0), 0})
                  ->body["requests"] == 2);
    }
}

TEST_CASE("cases api: reasons as counts with the previous period, and root causes of resolved cases", "[cases]") {
    World w;
    const hq::Principal sam = w.session("sam@example.com");
    // Yesterday two wait_time, today one wait_time and one price (store s1); s2 apart.
    auto at = [&](std::int64_t ms, std::vector<std::string> tags, const std::string& store = "s1") {
        auto r = test::makeResponse(w.ids.next(ms), store, store == "s1" ? "k1" : "k2", ms, 2);
        r.tags = std::move(tags);
        return r;
    };
    w.send("s1", "k1", {at(kT0 - kDayMs, {"wait_time"}), at(kT0 - kDayMs + 1, {"wait_time"}), at(kT0, {"wait_time"}),
                        at(kT0 + 1, {"price", "attitude"})},
           {});
    w.send("s2", "k2", {at(kT0, {"price"}, "s2")}, {});
    const std::string today = core::localDate(kT0, 0);
    const auto id = std::to_string(w.openCase("s1", "k1", "13900000001"));
    REQUIRE(w.api->move(sam, id, R"({"status":"contacted"})", "", w.now()));
    REQUIRE(w.api->move(sam, id, R"({"status":"resolved","root_cause":"staff_attitude"})", "", w.now()));

    const auto r = w.api->reasons(sam, w.params({{"from", today}, {"to", today}}), w.now());
    REQUIRE(r);
    const json& reasons = r->body["reasons"];
    REQUIRE(reasons.size() >= 3);
    CHECK(reasons[0]["tag"] == "wait_time");
    CHECK(reasons[0]["count"] == 2);   // today's one and the case's response
    CHECK(reasons[0]["previous"] == 2);
    double last = 0;
    for (const auto& row : reasons) {
        CHECK(row["cumulative_share"].get<double>() >= last);
        last = row["cumulative_share"].get<double>();
    }
    CHECK(last == Approx(1.0));
    CHECK(r->body["root_causes"] == json::array({{{"root_cause", "staff_attitude"}, {"count", 1}}}));
    CHECK(statusOf(w.api->reasons(sam, w.params({{"store", "s2"}}), w.now())) == 404);
    const auto chain = w.api->reasons(w.session("boss@example.com"), w.params({{"from", today}, {"to", today}}), w.now());
    int price = 0;
    for (const auto& row : chain->body["reasons"])
        if (row["tag"] == "price") price = row["count"].get<int>();
    CHECK(price == 2);
}

TEST_CASE("contact keys: keys init writes 0600/0644 files once; serve refuses a readable or malformed key", "[cases]") {
    test::TempDir dir;
    auto run = [&](std::vector<std::string> args) {
        args.insert(args.begin(), SEGUE_HQ_BINARY);
        const pid_t pid = test::spawn(args, dir / "out.txt", dir / "err.txt");
        return test::waitExit(pid);
    };
    const auto keys = dir / "keys";
    std::filesystem::create_directories(keys);
    REQUIRE(run({"keys", "init", "--dir", keys.string()}) == 0);
    struct stat st {};
    REQUIRE(::stat((keys / "contact.key").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    REQUIRE(::stat((keys / "contact.pub").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0644);
    const std::string before = test::readFile(keys / "contact.key");
    CHECK(run({"keys", "init", "--dir", keys.string()}) == 2);
    CHECK_THAT(test::readFile(dir / "err.txt"), Catch::Contains("exists"));
    CHECK(test::readFile(keys / "contact.key") == before);

    const auto key = hq::loadContactKey(keys / "contact.key");
    REQUIRE(key);
    CHECK(key->publicBase64() + "\n" == test::readFile(keys / "contact.pub"));
    // What a terminal seals with the published key, HQ opens.
    CHECK(hq::openContact(*key, *hq::fromBase64(seal("13800138000", *key))) == "13800138000");

    std::filesystem::permissions(keys / "contact.key", std::filesystem::perms::group_read, std::filesystem::perm_options::add);
    CHECK_FALSE(hq::loadContactKey(keys / "contact.key"));
    CHECK(run({"serve", "--listen", "127.0.0.1:0", "--db", "sqlite:" + (dir / "hq.sqlite").string(),
               "--insecure-http-for-tests", "--contact-key", (keys / "contact.key").string()}) == 2);
    CHECK_THAT(test::readFile(dir / "err.txt"), Catch::Contains("group or others"));
    {
        std::ofstream bad(dir / "bad.key");
        bad << "not a key\n";
    }
    std::filesystem::permissions(dir / "bad.key", std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
                                 std::filesystem::perm_options::replace);
    const auto malformed = hq::loadContactKey(dir / "bad.key");
    REQUIRE_FALSE(malformed);
    CHECK_THAT(malformed.error(), Catch::Contains("32 bytes"));
}

TEST_CASE("wire: callback_contact travels beside its record and open_callbacks in the ack; both optional", "[cases][wire]") {
    core::UuidV7Generator ids(3);
    auto r = test::makeResponse(ids.next(kT0), "s1", "k1", kT0, 1);
    r.callbackRequested = true;
    const auto plain = test::makeResponse(ids.next(kT0 + 1), "s1", "k1", kT0 + 1, 5);
    wire::Batch b{1, ids.next(kT0), "k1", kT0, 0, "t", std::nullopt, {r, plain}, {{r.id, "c2VhbGVk"}}};
    const std::string body = wire::encodeBatch(b);
    // Byte order of keys, as nlohmann dumps: the contact first in its record, none in the other.
    CHECK(body.find(R"({"callback_contact":"c2VhbGVk","callback_requested":true,)") != std::string::npos);
    CHECK(json::parse(body).dump() == body);
    const auto fast = wire::decodeBatch(body);
    REQUIRE(fast);
    CHECK(fast->batch == b);
    CHECK(fast->invalid.empty());
    const auto tree = wire::detail::decodeBatchWithTree(body);
    REQUIRE(tree);
    CHECK(tree->batch == b);
    // An older terminal's record: no callback keys at all.
    const auto old = wire::decodeBatch(R"({"protocol":1,"batch_id":")" + b.batchId +
                                       R"(","device_id":"k1","sent_at":"2026-11-18T11:06:40Z","pending":0,"app_version":"t","responses":[)" +
                                       [&] {
                                           json j = core::toJson(plain);
                                           j.erase("callback_requested");
                                           return j.dump();
                                       }() + "]}");
    REQUIRE(old);
    REQUIRE(old->batch.responses.size() == 1);
    CHECK_FALSE(old->batch.responses[0].callbackRequested);
    CHECK(old->batch.sealedContacts.empty());

    wire::BatchAck ack;
    ack.accepted = {r.id};
    ack.serverTimeMs = kT0;
    CHECK(wire::encodeAck(ack).find("open_callbacks") == std::string::npos);
    CHECK(wire::decodeAck(wire::encodeAck(ack))->openCallbacks == std::nullopt);
    ack.openCallbacks = 3;
    const std::string text = wire::encodeAck(ack);
    CHECK(json::parse(text).dump() == text);
    CHECK(wire::decodeAck(text)->openCallbacks == 3);
    CHECK_FALSE(wire::decodeAck(R"({"accepted":[],"duplicates":[],"open_callbacks":-1,"rejected":[],"server_time":"2026-11-18T07:46:40Z"})"));
}
