// The read views by scope over real storage: /stores sorted and paged on the server, /regions,
// the overview, the fleet, the alerts and the CSV filter of a region or store reader; and a
// chain at small scale (200 stores in 20 regions) paged end to end against a plain recount.
#include <algorithm>
#include <chrono>
#include <functional>
#include <set>

#include <catch2/catch.hpp>

#include "core/uuid.hpp"
#include "hq/dashboard.hpp"
#include "hq/day_sums.hpp"
#include "hq/people.hpp"
#include "hq/token.hpp"
#include "tests/hq/hq_test_support.hpp"

using namespace segue;
using hq::Scope;
using nlohmann::json;

namespace {

constexpr std::int64_t kT0 = 1'795'000'000'000;   // 2026-11-18 10:13 store-local (+8 h)
constexpr std::int64_t kDay = 86'400'000;

/// `n` responses of `stars` in `store` on day `day` after kT0, through one new device.
void seed(hq::Storage& s, const std::string& store, int n, int stars, int day) {
    const std::string device = "k-" + store + "-" + std::to_string(day) + "-" + std::to_string(stars);
    REQUIRE(s.addDevice({device, store, "Kiosk", hq::hashToken(device), kT0}));
    core::UuidV7Generator ids(std::hash<std::string>()(device));
    hq::IngestRequest req;
    req.deviceId = device;
    const std::int64_t at = kT0 + day * kDay;
    req.batchId = ids.next(at);
    req.receivedAtMs = at;
    req.appVersion = "0.1.0";
    for (int i = 0; i < n; ++i) req.records.push_back(test::makeResponse(ids.next(at + i), store, device, at + i, stars));
    test::ingestOk(s, req);
}

std::string day(int offset) { return core::localDate(kT0 + offset * kDay, 480); }

/// GET parameters as the router would hand them over.
std::function<std::optional<std::string>(const char*)> params(std::map<std::string, std::string> m) {
    return [m = std::move(m)](const char* name) -> std::optional<std::string> {
        const auto it = m.find(name);
        return it == m.end() ? std::nullopt : std::optional<std::string>(it->second);
    };
}

hq::StoreQuery query(std::map<std::string, std::string> m) {
    if (!m.contains("from")) m["from"] = day(0);
    if (!m.contains("to")) m["to"] = day(6);
    auto q = hq::parseStoreQuery(params(std::move(m)), day(6));
    INFO((q ? "" : q.error()));
    REQUIRE(q);
    return *q;
}

std::vector<std::string> column(const json& rows, const char* key) {
    std::vector<std::string> out;
    for (const auto& r : rows) out.push_back(r[key].is_null() ? "null" : r[key].get<std::string>());
    return out;
}

/// A small chain: east (e1 e2), north (n1), no region (x1), each with its own figures.
std::unique_ptr<hq::Storage> smallChain(const std::string& url) {
    auto s = test::openStorage(url);
    seed(*s, "e1", 4, 5, 0);   // csat 1.0, 4 responses
    seed(*s, "e1", 2, 5, -7);  // previous period: csat 1.0
    seed(*s, "e2", 3, 2, 1);   // csat 0
    seed(*s, "e2", 1, 5, -6);  // previous: csat 1.0 → change -1
    seed(*s, "n1", 5, 4, 2);   // csat 1.0, 5 responses
    seed(*s, "x1", 2, 3, 3);   // csat 0
    auto& p = s->people();
    REQUIRE(p.addRegion("east", "East", kT0));
    REQUIRE(p.addRegion("north", "North", kT0));
    REQUIRE(p.addRegion("south", "South", kT0));   // no stores
    REQUIRE(p.setStore("e1", std::string("Pudong"), std::string("east"), kT0));
    REQUIRE(p.setStore("e2", std::string("Jing'an"), std::string("east"), kT0));
    REQUIRE(p.setStore("n1", std::string("Chaoyang"), std::string("north"), kT0));
    return s;
}

} // namespace

TEST_CASE("views: /stores sorts, filters and pages on the server, within the reader's scope", "[storage]") {
    test::TempDir dir;
    for (const auto& url : test::storageUrls(dir)) {
        INFO(url);
        auto s = smallChain(url);
        const hq::DashboardConfig config;
        auto table = [&](const Scope& scope, std::map<std::string, std::string> m) {
            auto j = hq::storeTableJson(*s, scope, query(std::move(m)), kT0 + 7 * kDay, config);
            REQUIRE(j);
            return *j;
        };

        auto all = table(Scope::chain(), {});
        CHECK(all["total"] == 4);
        CHECK(column(all["stores"], "id") == std::vector<std::string>{"e1", "e2", "n1", "x1"});
        const json& e1 = all["stores"][0];
        CHECK(e1["store"] == "e1");
        CHECK(e1["name"] == "Pudong");
        CHECK(e1["region"] == "east");
        CHECK(e1["devices"] == 2);   // the old row's fields stay
        CHECK(e1["silent"].is_number());
        CHECK(e1["current"]["responses"] == 4);
        CHECK(e1["previous"]["responses"] == 2);
        CHECK(e1["change"]["responses"] == 2);
        CHECK(e1["below_target"] == false);
        CHECK(all["stores"][3]["region"].is_null());
        CHECK(all["limit"].is_null());

        CHECK(column(table(Scope::chain(), {{"sort", "responses"}, {"order", "desc"}})["stores"], "id") ==
              std::vector<std::string>{"n1", "e1", "e2", "x1"});
        // Equal keys fall back to the id; a store with nothing to compare sorts last either way.
        CHECK(column(table(Scope::chain(), {{"sort", "csat"}})["stores"], "id") ==
              std::vector<std::string>{"e2", "x1", "e1", "n1"});
        CHECK(column(table(Scope::chain(), {{"sort", "change"}, {"order", "desc"}})["stores"], "id") ==
              std::vector<std::string>{"e1", "e2", "n1", "x1"});
        CHECK(column(table(Scope::chain(), {{"sort", "store"}, {"order", "desc"}})["stores"], "id") ==
              std::vector<std::string>{"x1", "n1", "e2", "e1"});

        auto page = table(Scope::chain(), {{"limit", "2"}, {"offset", "1"}});
        CHECK(page["total"] == 4);
        CHECK(page["limit"] == 2);
        CHECK(column(page["stores"], "id") == std::vector<std::string>{"e2", "n1"});
        CHECK(table(Scope::chain(), {{"limit", "2"}, {"offset", "9"}})["stores"].empty());

        CHECK(column(table(Scope::chain(), {{"region", "east"}})["stores"], "id") == std::vector<std::string>{"e1", "e2"});
        CHECK(column(table(Scope::chain(), {{"region", "none"}})["stores"], "id") == std::vector<std::string>{"x1"});
        CHECK(column(table(Scope::chain(), {{"q", "chao"}})["stores"], "id") == std::vector<std::string>{"n1"});

        auto east = table(Scope::region("east"), {});
        CHECK(east["total"] == 2);
        CHECK(column(east["stores"], "id") == std::vector<std::string>{"e1", "e2"});
        CHECK(table(Scope::region("east"), {{"region", "north"}})["total"] == 0);   // a filter never widens
        auto one = table(Scope::store("n1"), {{"q", "n"}});
        CHECK(column(one["stores"], "id") == std::vector<std::string>{"n1"});

        for (const auto& bad : std::vector<std::map<std::string, std::string>>{
                 {{"limit", "0"}}, {{"limit", "501"}}, {{"limit", "x"}}, {{"offset", "-1"}}, {{"sort", "name"}},
                 {{"order", "up"}}, {{"from", "2026-13-01"}}}) {
            auto m = bad;
            if (!m.contains("from")) m["from"] = day(0);
            m["to"] = day(6);
            CHECK_FALSE(hq::parseStoreQuery(params(m), day(6)));
        }
        CHECK(hq::parseStoreQuery(params({{"limit", "500"}}), day(6))->limit == 500);
    }
}

TEST_CASE("views: /regions rolls the stores up per region, stores without one last, within the scope", "[storage]") {
    test::TempDir dir;
    for (const auto& url : test::storageUrls(dir)) {
        INFO(url);
        auto s = smallChain(url);
        const hq::DashboardConfig config;
        const hq::Period period{day(0), day(6)};
        auto regions = [&](const Scope& scope) {
            auto j = hq::regionsJson(*s, scope, period, config);
            REQUIRE(j);
            return (*j)["regions"];
        };
        const json all = regions(Scope::chain());
        CHECK(column(all, "id") == std::vector<std::string>{"east", "north", "south", "null"});
        CHECK(all[0]["name"] == "East");
        CHECK(all[0]["stores"] == 2);
        CHECK(all[0]["current"]["responses"] == 7);
        CHECK(all[0]["current"]["csat"].get<double>() == Approx(4.0 / 7.0));
        CHECK(all[0]["previous"]["responses"] == 3);
        CHECK(all[0]["stores_below_target"] == 1);   // e2
        CHECK(all[0]["below_target"] == true);
        CHECK(all[0]["current"]["segue"].is_object());
        CHECK(all[2]["stores"] == 0);
        CHECK(all[2]["current"]["responses"] == 0);
        CHECK(all[3]["name"].is_null());
        CHECK(all[3]["stores"] == 1);
        CHECK(all[3]["current"]["responses"] == 2);

        CHECK(column(regions(Scope::region("north")), "id") == std::vector<std::string>{"north"});
        const json mine = regions(Scope::store("e2"));
        CHECK(column(mine, "id") == std::vector<std::string>{"east"});
        CHECK(mine[0]["stores"] == 1);
        CHECK(mine[0]["current"]["responses"] == 3);
    }
}

TEST_CASE("views: the overview, stores, fleet, alerts and CSV filter show only the reader's stores", "[storage]") {
    test::TempDir dir;
    for (const auto& url : test::storageUrls(dir)) {
        INFO(url);
        auto s = smallChain(url);
        const hq::DashboardConfig config;
        const hq::Period period{day(0), day(6)};
        const std::int64_t now = kT0 + 7 * kDay;

        auto overview = [&](const Scope& scope) { return hq::overviewJson(*s, period, day(6), config, scope).value(); };
        CHECK(overview(Scope::chain())["total"]["responses"] == 14);
        const json east = overview(Scope::region("east"));
        CHECK(east["total"]["responses"] == 7);
        CHECK(column(east["stores"], "store") == std::vector<std::string>{"e1", "e2"});
        const json n1 = overview(Scope::store("n1"));
        CHECK(n1["total"]["responses"] == 5);
        CHECK(column(n1["stores"], "store") == std::vector<std::string>{"n1"});

        CHECK(column(hq::storesJson(*s, now, config, Scope::store("x1")).value()["stores"], "id") ==
              std::vector<std::string>{"x1"});
        CHECK(hq::storesJson(*s, now, config).value()["stores"].size() == 4);

        const json fleet = hq::fleetJson(*s, now, config, Scope::region("east")).value();
        CHECK(fleet["summary"]["devices"] == 4);
        std::set<std::string> fleetStores;
        for (const auto& d : fleet["devices"]) fleetStores.insert(d["store_id"].get<std::string>());
        CHECK(fleetStores == std::set<std::string>{"e1", "e2"});
        CHECK(hq::devicesInScope(*s, Scope::store("n1")).value().size() == 1);
        CHECK(hq::devicesInScope(*s, Scope::chain()).value().size() == 6);

        for (const char* store : {"e1", "n1", "x1"})
            REQUIRE(s->raiseAlert({"low_satisfaction", store, store, std::nullopt, day(6), now, "low", "{}"}));
        auto alerts = s->recentAlerts(10).value();
        CHECK(hq::alertsInScope(*s, alerts, Scope::region("east")).value().size() == 1);
        CHECK(hq::alertsInScope(*s, alerts, Scope::store("x1")).value().front().storeId == "x1");
        CHECK(hq::alertsInScope(*s, alerts, Scope::chain()).value().size() == 3);

        auto exported = [&](const Scope& scope, std::optional<std::string> store) {
            std::set<std::string> stores;
            hq::ExportFilter f;
            f.storeId = std::move(store);
            const auto scoped = hq::scopeExport(f, scope);
            if (!scoped) return stores;
            const auto page = s->exportPage(*scoped, "", 1000).value();
            for (const auto& r : page) stores.insert(r.response.storeId);
            return stores;
        };
        CHECK(exported(Scope::region("east"), std::nullopt) == std::set<std::string>{"e1", "e2"});
        CHECK(exported(Scope::region("east"), std::string("n1")).empty());
        CHECK(exported(Scope::store("n1"), std::nullopt) == std::set<std::string>{"n1"});
        CHECK(exported(Scope::store("n1"), std::string("e1")).empty());
        CHECK(exported(Scope::chain(), std::nullopt).size() == 4);
    }
}

TEST_CASE("views: a chain of 200 stores in 20 regions pages through /stores exactly once each", "[storage]") {
    test::TempDir dir;
    for (const auto& url : test::storageUrls(dir)) {
        INFO(url);
        auto s = test::openStorage(url);
        auto& p = s->people();
        for (int r = 0; r < 20; ++r) REQUIRE(p.addRegion("r" + std::to_string(r), "Region " + std::to_string(r), kT0));
        std::map<std::string, int> responses;
        for (int i = 0; i < 200; ++i) {
            const std::string store = "s" + std::to_string(1000 + i);
            const int n = 1 + (i * 7) % 13;
            seed(*s, store, n, 1 + i % 5, i % 7);
            responses[store] = n;
            REQUIRE(p.setStore(store, "Store " + std::to_string(i), "r" + std::to_string(i % 20), kT0));
        }
        const hq::DashboardConfig config;
        std::vector<std::pair<int, std::string>> seen;
        const auto start = std::chrono::steady_clock::now();
        for (int offset = 0; offset < 1000; offset += 50) {
            auto j = hq::storeTableJson(*s, Scope::chain(),
                                        query({{"sort", "responses"}, {"order", "desc"}, {"limit", "50"},
                                               {"offset", std::to_string(offset)}}),
                                        kT0 + 7 * kDay, config);
            REQUIRE(j);
            CHECK((*j)["total"] == 200);
            if ((*j)["stores"].empty()) break;
            for (const auto& row : (*j)["stores"])
                seen.emplace_back(row["current"]["responses"].get<int>(), row["id"].get<std::string>());
        }
        const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
        WARN("200 stores: 4 pages of /stores in " << ms << " ms in all (" << url.substr(0, 10) << ")");
        REQUIRE(seen.size() == 200);
        std::set<std::string> unique;
        for (const auto& [n, id] : seen) {
            unique.insert(id);
            CHECK(responses.at(id) == n);
        }
        CHECK(unique.size() == 200);
        CHECK(std::is_sorted(seen.begin(), seen.end(), [](const auto& a, const auto& b) {
            return a.first != b.first ? a.first > b.first : a.second < b.second;
        }));

        auto regions = hq::regionsJson(*s, Scope::chain(), {day(0), day(6)}, config).value()["regions"];
        REQUIRE(regions.size() == 20);
        std::int64_t total = 0;
        for (const auto& r : regions) {
            CHECK(r["stores"] == 10);
            total += r["current"]["responses"].get<std::int64_t>();
        }
        std::int64_t expected = 0;
        for (const auto& [store, n] : responses) expected += n;
        CHECK(total == expected);
    }
}

namespace {

/// The SELECT list of a day_tallies row for store number `i` on day number `d` (SQL expressions).
std::string daySumsOf(const std::string& i, const std::string& d) {
    const std::string counted = "(5 + (" + i + " * 7 + " + d + ") % 20)";
    std::string out;
    for (const auto& c : hq::dayValueColumns()) {
        std::string v = "0";
        if (c == "counted" || c == "h10" || c.ends_with("_n")) v = counted;
        else if (c == "star_sum") v = counted + " * 4 - " + i + " % 5";
        else if (c == "satisfied") v = counted + " - (" + i + " + " + d + ") % 6";
        else if (c.ends_with("_sum")) v = counted + " * 4";
        out += ", " + v;
    }
    return out;
}

} // namespace

// Not part of the suite (hidden tag): the full size, timed. Run it alone, e.g.
//   build/bin/segue_hq_tests '[chain-full]'   or through tests/hq/run_with_pg.sh for PostgreSQL.
TEST_CASE("views: 10 000 stores in 100 regions over 30 days: /stores first page and /regions, timed", "[.][chain-full]") {
    test::TempDir dir;
    for (const auto& url : test::storageUrls(dir)) {
        INFO(url);
        auto s = test::openStorage(url);
        const bool pg = !url.starts_with("sqlite:");
        const std::string cols = "store_id, local_date, " + hq::dayColumnList();
        if (pg) {
            test::execSql(url, "INSERT INTO regions SELECT 'r' || to_char(i, 'FM00'), 'Region ' || i, 0 FROM generate_series(0, 99) i");
            test::execSql(url, "INSERT INTO stores (id, created_at) SELECT 's' || to_char(i, 'FM00000'), 0 FROM generate_series(0, 9999) i");
            test::execSql(url, "INSERT INTO store_info (store_id, name, region_id) SELECT 's' || to_char(i, 'FM00000'), "
                               "'Store ' || i, 'r' || to_char(i % 100, 'FM00') FROM generate_series(0, 9999) i");
            test::execSql(url, "INSERT INTO day_tallies (" + cols + ") SELECT 's' || to_char(i, 'FM00000'), "
                               "(date '2026-10-01' + d)::text" + daySumsOf("i", "d") +
                               " FROM generate_series(0, 9999) i, generate_series(0, 59) d; ANALYZE");
        } else {
            const std::string n = "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 9999), "
                                  "m(d) AS (SELECT 0 UNION ALL SELECT d + 1 FROM m WHERE d < 59) ";
            test::execSql(url, "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 99) "
                               "INSERT INTO regions SELECT printf('r%02d', i), 'Region ' || i, 0 FROM n");
            test::execSql(url, n + "INSERT INTO stores (id, created_at) SELECT printf('s%05d', i), 0 FROM n");
            test::execSql(url, n + "INSERT INTO store_info (store_id, name, region_id) SELECT printf('s%05d', i), "
                                   "'Store ' || i, printf('r%02d', i % 100) FROM n");
            test::execSql(url, n + "INSERT INTO day_tallies (" + cols + ") SELECT printf('s%05d', i), "
                                   "date('2026-10-01', '+' || d || ' days')" + daySumsOf("i", "d") + " FROM n, m; ANALYZE");
        }
        const hq::DashboardConfig config;
        const hq::Period period{"2026-10-31", "2026-11-29"};
        auto median = [](std::vector<double> v) {
            std::sort(v.begin(), v.end());
            return v[v.size() / 2];
        };
        auto time = [&](const std::function<void()>& f) {
            std::vector<double> ms;
            for (int i = 0; i < 7; ++i) {
                const auto start = std::chrono::steady_clock::now();
                f();
                ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
            }
            return median(ms);
        };
        hq::StoreQuery first;
        first.period = period;
        first.sort = "csat";
        first.limit = 50;
        json page;
        const double storesMs = time([&] { page = hq::storeTableJson(*s, Scope::chain(), first, kT0, config).value(); });
        CHECK(page["total"] == 10000);
        CHECK(page["stores"].size() == 50);
        first.region = "r07";
        const double regionPageMs = time([&] { page = hq::storeTableJson(*s, Scope::chain(), first, kT0, config).value(); });
        CHECK(page["total"] == 100);
        json regions;
        const double regionsMs = time([&] { regions = hq::regionsJson(*s, Scope::chain(), period, config).value(); });
        CHECK(regions["regions"].size() == 100);
        const double scopedMs = time([&] { regions = hq::regionsJson(*s, Scope::region("r07"), period, config).value(); });
        WARN((pg ? "PostgreSQL" : "SQLite") << ": /stores first page " << storesMs << " ms, one region's first page "
                                            << regionPageMs << " ms, /regions " << regionsMs << " ms, /regions as a region user "
                                            << scopedMs << " ms (median of 7, 10 000 stores x 30 days + 30 before)");
    }
}
