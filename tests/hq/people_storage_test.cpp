// HQ's people storage (users, sessions, regions, store names and regions, scoped tokens, the audit
// log, the scope filters of the reads): every case runs on SQLite, and on PostgreSQL when
// SEGUE_TEST_PG_URL is set (tests/hq/run_with_pg.sh), as the other [storage] cases do.
#include <functional>

#include <catch2/catch.hpp>

#include "core/uuid.hpp"
#include "hq/people.hpp"
#include "hq/storage.hpp"
#include "hq/token.hpp"
#include "tests/hq/hq_test_support.hpp"

using namespace segue;
using hq::Scope;
using hq::StorageError;

namespace {

constexpr std::int64_t kT0 = 1'795'000'000'000;   // 2026-11-18, store-local +8 h

/// Enrols a device in `store` and stores `n` responses with `stars` there, `days` days after kT0.
void seedStore(hq::Storage& s, const std::string& store, int n, int stars, int days = 0) {
    const std::string device = "kiosk-" + store + "-" + std::to_string(days);
    REQUIRE(s.addDevice({device, store, "Kiosk", hq::hashToken(device), kT0}));
    core::UuidV7Generator ids(static_cast<std::uint64_t>(std::hash<std::string>()(device)));
    std::vector<core::Response> records;
    const std::int64_t at = kT0 + std::int64_t{days} * 86'400'000;
    for (int i = 0; i < n; ++i) records.push_back(test::makeResponse(ids.next(at + i), store, device, at + i, stars));
    hq::IngestRequest req;
    req.deviceId = device;
    req.batchId = ids.next(at);
    req.receivedAtMs = at;
    req.appVersion = "0.1.0";
    req.records = std::move(records);
    test::ingestOk(s, req);
}

hq::NewUser user(const std::string& email, const std::string& role, std::optional<std::string> region = {},
                 std::optional<std::string> store = {}) {
    return {email, role, std::move(region), std::move(store), "$argon2id$hash-of-" + email, kT0};
}

/// A StoreFilter with every field given (-Wmissing-field-initializers).
hq::StoreFilter only(Scope scope = Scope::chain(), std::optional<std::string> region = std::nullopt,
                     std::optional<std::string> query = std::nullopt) {
    return {std::move(scope), std::move(region), std::move(query)};
}

std::vector<std::string> ids(const std::vector<hq::StoreInfo>& stores) {
    std::vector<std::string> out;
    for (const auto& s : stores) out.push_back(s.id);
    return out;
}

} // namespace

TEST_CASE("people storage: users are added once, need their scope, and are listed by email", "[storage]") {
    test::TempDir dir;
    for (const auto& url : test::storageUrls(dir)) {
        INFO(url);
        auto s = test::openStorage(url);
        auto& p = s->people();
        REQUIRE(p.addRegion("north", "North", kT0));
        REQUIRE(p.setStore("s1", "Store one", "north", kT0));

        REQUIRE(p.addUser(user("zoe@example.com", "admin")));
        REQUIRE(p.addUser(user("rita@example.com", "region", "north")));
        REQUIRE(p.addUser(user("sam@example.com", "store", std::nullopt, "s1")));
        REQUIRE(p.addUser(user("vic@example.com", "viewer")));

        const auto again = p.addUser(user("zoe@example.com", "viewer"));
        REQUIRE_FALSE(again);
        CHECK(again.error().kind == StorageError::Kind::Invalid);
        for (const auto& bad : {user("a@x.y", "region"), user("b@x.y", "store"), user("c@x.y", "region", "south"),
                                user("d@x.y", "store", std::nullopt, "s9"), user("e@x.y", "owner"),
                                user("f@x.y", "admin", "north")}) {
            INFO(bad.email);
            const auto r = p.addUser(bad);
            REQUIRE_FALSE(r);
            CHECK(r.error().kind == StorageError::Kind::Invalid);
        }

        const auto users = p.listUsers().value();
        REQUIRE(users.size() == 4);
        CHECK(users[0].email == "rita@example.com");
        CHECK(users[0].region == std::optional<std::string>("north"));
        CHECK(users[1].email == "sam@example.com");
        CHECK(users[1].store == std::optional<std::string>("s1"));
        CHECK(users[3].email == "zoe@example.com");
        for (const auto& u : users) CHECK(u.passwordHash.empty());   // a listing never carries hashes

        const auto zoe = p.userByEmail("zoe@example.com").value();
        REQUIRE(zoe);
        CHECK(zoe->role == "admin");
        CHECK(zoe->passwordHash == "$argon2id$hash-of-zoe@example.com");
        CHECK_FALSE(zoe->disabled);
        CHECK_FALSE(p.userByEmail("nobody@example.com").value());

        REQUIRE(p.setRole("vic@example.com", "store", std::nullopt, std::string("s1")).value());
        CHECK(p.userByEmail("vic@example.com").value()->store == std::optional<std::string>("s1"));
        CHECK_FALSE(p.setRole("nobody@example.com", "viewer", std::nullopt, std::nullopt).value());
    }
}

TEST_CASE("people storage: sessions are found with their user and end on disable and password change", "[storage]") {
    test::TempDir dir;
    for (const auto& url : test::storageUrls(dir)) {
        INFO(url);
        auto s = test::openStorage(url);
        auto& p = s->people();
        const auto ann = p.addUser(user("ann@example.com", "viewer")).value();
        const auto bob = p.addUser(user("bob@example.com", "admin")).value();
        REQUIRE(p.addSession("ann-1", ann, "csrf-1", kT0));
        REQUIRE(p.addSession("ann-2", ann, "csrf-2", kT0));
        REQUIRE(p.addSession("bob-1", bob, "csrf-3", kT0));

        auto found = p.sessionByTokenHash("ann-1").value();
        REQUIRE(found);
        CHECK(found->user.email == "ann@example.com");
        CHECK(found->user.role == "viewer");
        CHECK(found->csrfHash == "csrf-1");
        CHECK(found->createdAtMs == kT0);
        CHECK(found->lastSeenMs == kT0);
        REQUIRE(p.touchSession("ann-1", kT0 + 5000));
        CHECK(p.sessionByTokenHash("ann-1").value()->lastSeenMs == kT0 + 5000);
        REQUIRE(p.touchSession("ann-1", kT0 + 10));   // never back in time
        CHECK(p.sessionByTokenHash("ann-1").value()->lastSeenMs == kT0 + 5000);

        REQUIRE(p.endSession("ann-1"));
        CHECK_FALSE(p.sessionByTokenHash("ann-1").value());
        CHECK(p.sessionByTokenHash("ann-2").value());

        REQUIRE(p.disableUser("ann@example.com").value());
        CHECK_FALSE(p.sessionByTokenHash("ann-2").value());
        CHECK(p.userByEmail("ann@example.com").value()->disabled);
        CHECK(p.sessionByTokenHash("bob-1").value());

        REQUIRE(p.setPassword("bob@example.com", "$argon2id$new").value());
        CHECK_FALSE(p.sessionByTokenHash("bob-1").value());
        CHECK(p.userByEmail("bob@example.com").value()->passwordHash == "$argon2id$new");
        CHECK_FALSE(p.disableUser("nobody@example.com").value());
        CHECK_FALSE(p.setPassword("nobody@example.com", "x").value());
    }
}

TEST_CASE("people storage: regions, store names and moves, and the scope filters of the store list", "[storage]") {
    test::TempDir dir;
    for (const auto& url : test::storageUrls(dir)) {
        INFO(url);
        auto s = test::openStorage(url);
        auto& p = s->people();
        seedStore(*s, "sh-pudong", 3, 5);
        seedStore(*s, "sh-jingan", 2, 2);
        seedStore(*s, "bj-chaoyang", 4, 4);
        seedStore(*s, "gz-tianhe", 1, 1);
        REQUIRE(p.addRegion("east", "华东 East", kT0));
        REQUIRE(p.addRegion("north", "North", kT0));
        const auto dup = p.addRegion("east", "again", kT0);
        REQUIRE_FALSE(dup);
        CHECK(dup.error().kind == StorageError::Kind::Invalid);
        CHECK(p.regionExists("east").value());
        CHECK_FALSE(p.regionExists("west").value());

        REQUIRE(p.setStore("sh-pudong", "浦东 Pudong", "east", kT0));
        REQUIRE(p.setStore("sh-jingan", std::nullopt, "east", kT0));
        REQUIRE(p.setStore("bj-chaoyang", "Chaoyang", "north", kT0));
        REQUIRE(p.setStore("sh-jingan", "静安 100%_Jing'an", std::nullopt, kT0));   // the name alone keeps the region
        const auto unknown = p.setStore("gz-tianhe", std::nullopt, "west", kT0);
        REQUIRE_FALSE(unknown);
        CHECK(unknown.error().kind == StorageError::Kind::Invalid);

        auto all = p.storesIn(only()).value();
        CHECK(ids(all) == std::vector<std::string>{"bj-chaoyang", "gz-tianhe", "sh-jingan", "sh-pudong"});
        CHECK(all[3].name == std::optional<std::string>("浦东 Pudong"));
        CHECK(all[3].region == std::optional<std::string>("east"));
        CHECK_FALSE(all[1].region);
        CHECK(all[2].name == std::optional<std::string>("静安 100%_Jing'an"));
        CHECK(all[2].region == std::optional<std::string>("east"));

        CHECK(ids(p.storesIn(only(Scope::region("east"))).value()) == std::vector<std::string>{"sh-jingan", "sh-pudong"});
        CHECK(ids(p.storesIn(only(Scope::store("bj-chaoyang"))).value()) == std::vector<std::string>{"bj-chaoyang"});
        CHECK(ids(p.storesIn(only(Scope::chain(), std::string(""))).value()) == std::vector<std::string>{"gz-tianhe"});
        CHECK(ids(p.storesIn(only(Scope::chain(), std::string("north"))).value()) == std::vector<std::string>{"bj-chaoyang"});
        CHECK(p.storesIn(only(Scope::region("east"), std::string("north"))).value().empty());   // a filter never widens
        CHECK(ids(p.storesIn(only(Scope::chain(), std::nullopt, std::string("PUDONG"))).value()) ==
              std::vector<std::string>{"sh-pudong"});
        CHECK(ids(p.storesIn(only(Scope::chain(), std::nullopt, std::string("浦东"))).value()) ==
              std::vector<std::string>{"sh-pudong"});
        CHECK(ids(p.storesIn(only(Scope::chain(), std::nullopt, std::string("100%_"))).value()) ==
              std::vector<std::string>{"sh-jingan"});
        CHECK(p.storesIn(only(Scope::chain(), std::nullopt, std::string("%"))).value().size() == 1);   // a literal %
        CHECK(ids(p.storesIn(only(Scope::region("east"), std::nullopt, std::string("sh-"))).value()) ==
              std::vector<std::string>{"sh-jingan", "sh-pudong"});

        CHECK(p.storeInScope("sh-pudong", Scope::region("east")).value());
        CHECK_FALSE(p.storeInScope("bj-chaoyang", Scope::region("east")).value());
        CHECK(p.storeInScope("bj-chaoyang", Scope::chain()).value());
        CHECK_FALSE(p.storeInScope("nowhere", Scope::chain()).value());
        CHECK_FALSE(p.storeInScope("sh-jingan", Scope::store("sh-pudong")).value());

        const auto regions = p.listRegions().value();
        REQUIRE(regions.size() == 2);
        CHECK(regions[0].id == "east");
        CHECK(regions[0].name == "华东 East");
        CHECK(regions[0].stores == 2);
        CHECK(regions[1].stores == 1);
        REQUIRE(p.renameRegion("north", "华北 North").value());
        CHECK(p.listRegions().value()[1].name == "华北 North");
        CHECK_FALSE(p.renameRegion("west", "x").value());

        REQUIRE(p.setStore("sh-jingan", std::nullopt, std::string(""), kT0));   // out of its region
        CHECK(ids(p.storesIn(only(Scope::region("east"))).value()) == std::vector<std::string>{"sh-pudong"});
        CHECK(p.storesIn(only(Scope::store("sh-jingan"))).value()[0].name == std::optional<std::string>("静安 100%_Jing'an"));
        REQUIRE(p.setStore("new-store", "New", "north", kT0));   // a store named before its first terminal
        CHECK(s->storeExists("new-store").value());
    }
}

TEST_CASE("people storage: period sums per store follow the scope and equal the day sums", "[storage]") {
    test::TempDir dir;
    for (const auto& url : test::storageUrls(dir)) {
        INFO(url);
        auto s = test::openStorage(url);
        auto& p = s->people();
        seedStore(*s, "a1", 3, 5, 0);
        seedStore(*s, "a1", 2, 1, 1);
        seedStore(*s, "a2", 4, 4, 0);
        seedStore(*s, "b1", 5, 2, 0);
        REQUIRE(p.addRegion("a", "A", kT0));
        REQUIRE(p.setStore("a1", std::nullopt, "a", kT0));
        REQUIRE(p.setStore("a2", std::nullopt, "a", kT0));

        const auto all = p.periodTallies(only(), "2000-01-01", "2100-01-01").value();
        REQUIRE(all.size() == 3);
        CHECK(all.at("a1").counted == 5);
        CHECK(all.at("a1").starSum == 3 * 5 + 2 * 1);
        CHECK(all.at("a1").satisfied == 3);
        CHECK(all.at("b1").counted == 5);
        // The same figures as the per-day sums the daily API reads, tags aside.
        const auto everyDay = s->dailyTalliesAll("2000-01-01", "2100-01-01").value();
        for (const auto& [store, days] : everyDay) {
            core::Tally sum;
            for (const auto& [date, t] : days) sum.merge(t);
            sum.tags.clear();
            CHECK(all.at(store) == sum);
        }
        const auto inA = p.periodTallies(only(Scope::region("a")), "2000-01-01", "2100-01-01").value();
        CHECK(inA.size() == 2);
        CHECK_FALSE(inA.contains("b1"));
        const auto one = p.periodTallies(only(Scope::store("a2")), "2000-01-01", "2100-01-01").value();
        REQUIRE(one.size() == 1);
        CHECK(one.at("a2").counted == 4);
        const auto firstDay = s->dailyTallies("a1", "2000-01-01", "2100-01-01").value().front().first;
        CHECK(p.periodTallies(only(), firstDay, firstDay).value().at("a1").counted == 3);
        CHECK(p.periodTallies(only(Scope::chain(), std::string("")), "2000-01-01", "2100-01-01").value().size() == 1);
    }
}

TEST_CASE("people storage: read tokens may be limited to a region or a store", "[storage]") {
    test::TempDir dir;
    for (const auto& url : test::storageUrls(dir)) {
        INFO(url);
        auto s = test::openStorage(url);
        auto& p = s->people();
        REQUIRE(p.addRegion("east", "East", kT0));
        REQUIRE(p.setStore("s1", std::nullopt, "east", kT0));
        REQUIRE(p.addScopedToken("h-chain", "read", Scope::chain(), kT0));
        REQUIRE(p.addScopedToken("h-east", "read", Scope::region("east"), kT0));
        REQUIRE(p.addScopedToken("h-s1", "read", Scope::store("s1"), kT0));
        REQUIRE(s->addToken("h-old", "read", kT0));   // as `token add` wrote them before scopes

        CHECK(p.readToken("h-chain").value()->scope == Scope::chain());
        CHECK(p.readToken("h-east").value()->scope == Scope::region("east"));
        CHECK(p.readToken("h-s1").value()->scope == Scope::store("s1"));
        CHECK(p.readToken("h-old").value()->scope == Scope::chain());
        CHECK(p.readToken("h-old").value()->role == "read");
        CHECK_FALSE(p.readToken("h-none").value());
        CHECK(s->tokenRole("h-east").value() == std::optional<std::string>("read"));

        for (const auto& scope : {Scope::region("west"), Scope::store("s9")}) {
            const auto r = p.addScopedToken("h-bad-" + scope.id, "read", scope, kT0);
            REQUIRE_FALSE(r);
            CHECK(r.error().kind == StorageError::Kind::Invalid);
        }
        CHECK_FALSE(p.addScopedToken("h-admin", "admin", Scope::chain(), kT0));
        // A scoped token is a token like any other: listed, and revoked by its id.
        const auto id = p.addScopedToken("h-s1-b", "read", Scope::store("s1"), kT0).value();
        CHECK(s->listTokens().value().back().id == id);
        REQUIRE(s->revokeToken(id).value());
        CHECK_FALSE(p.readToken("h-s1-b").value());
    }
}

TEST_CASE("people storage: the audit log keeps entries, lists them newest first and counts recent ones", "[storage]") {
    test::TempDir dir;
    for (const auto& url : test::storageUrls(dir)) {
        INFO(url);
        auto s = test::openStorage(url);
        auto& p = s->people();
        REQUIRE(p.audit({0, kT0, "cli", "region_add", "east", "", R"({"name":"East"})"}));
        for (int i = 0; i < 3; ++i)
            REQUIRE(p.audit({0, kT0 + 1000 * (i + 1), "ann@example.com", "login_failed", "ann@example.com",
                             i == 2 ? "10.0.0.2" : "10.0.0.1", "{}"}));
        REQUIRE(p.audit({0, kT0 + 5000, "bob@example.com", "login_failed", "bob@example.com", "10.0.0.1", "{}"}));

        const auto log = p.auditLog(0, kT0 + 1'000'000, 100).value();
        REQUIRE(log.size() == 5);
        CHECK(log[0].subject == "bob@example.com");
        CHECK(log[4].action == "region_add");
        CHECK(log[4].details == R"({"name":"East"})");
        CHECK(log[4].address.empty());
        CHECK(p.auditLog(kT0 + 1000, kT0 + 3000, 100).value().size() == 3);
        CHECK(p.auditLog(0, kT0 + 1'000'000, 2).value().size() == 2);

        CHECK(p.countRecent("login_failed", "ann@example.com", false, kT0).value() == 3);
        CHECK(p.countRecent("login_failed", "ann@example.com", false, kT0 + 2500).value() == 1);
        CHECK(p.countRecent("login_failed", "10.0.0.1", true, kT0).value() == 3);
        CHECK(p.countRecent("login_failed", "10.0.0.2", true, kT0).value() == 1);
        CHECK(p.countRecent("login", "ann@example.com", false, kT0).value() == 0);
    }
}
