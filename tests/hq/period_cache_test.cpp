// The chain-wide reads through the in-memory day sums (hq/period_cache.*), on real storage: a
// chain at small scale (500 stores in 10 regions, 30 days and the 30 before) whose /stores rows,
// /regions rows and overview equal a recount made here from the values written (the overview's
// from the stored day rows, tags included); late (offline) responses, another writer's change and
// a migrated database read right; unchanged dates are not read again, and a changed date only
// the rows of the stores that changed; the warm-up at serve start leaves nothing to read.
#include <algorithm>
#include <array>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <catch2/catch.hpp>

#include "core/uuid.hpp"
#include "hq/dashboard.hpp"
#include "hq/day_sums.hpp"
#include "hq/people.hpp"
#include "hq/sql_people.hpp"
#include "hq/token.hpp"
#include "tests/hq/hq_test_support.hpp"

using namespace segue;
using hq::Scope;
using nlohmann::json;

namespace {

constexpr std::int64_t kT0 = 1'795'000'000'000;   // 2026-11-18 10:13 store-local (+8 h)
constexpr std::int64_t kDay = 86'400'000;
constexpr int kStores = 500;
constexpr int kDays = 60;   // day(-59) .. day(0): the period is the last 30, the previous the 30 before

std::string day(int offset) { return core::localDate(kT0 + offset * kDay, 480); }
std::string storeId(int i) { return "c" + std::to_string(1000 + i); }
std::optional<std::string> regionOf(int i) {
    if (i % 23 == 0) return std::nullopt;
    return "r" + std::to_string(i % 10);
}
/// Stores with no row at all, and stores with rows only in the current period.
bool silent(int i) { return i % 97 == 5; }
bool newcomer(int i) { return i % 50 == 7; }

/// The day sums written for store `i` on day number `d` (0 = day(-59)), dayValueColumns() order.
std::array<std::int64_t, hq::kDayValueCount> valuesOf(int i, int d) {
    std::array<std::int64_t, hq::kDayValueCount> v{};
    const auto& cols = hq::dayValueColumns();
    const std::int64_t counted = 3 + (i * 7 + d * 3) % 17;
    for (std::size_t k = 0; k < cols.size(); ++k) {
        const std::string& c = cols[k];
        if (c == "counted") v[k] = counted;
        else if (c == "star_sum") v[k] = counted * 3 + (i + d) % static_cast<int>(counted);
        else if (c == "satisfied") v[k] = counted * ((i + d) % 5) / 4;
        else if (c == "partial") v[k] = (i + d) % 3;
        else if (c == "misuse") v[k] = (i * d) % 2;
        else if (c.ends_with("_sum")) v[k] = counted * (1 + (i + static_cast<int>(k)) % 5);
        else if (c.ends_with("_n")) v[k] = counted - (i + static_cast<int>(k)) % 2;
        else if (c == (((i + d) % 24) < 10 ? "h0" : "h") + std::to_string((i + d) % 24)) v[k] = counted;
    }
    return v;
}

bool hasRow(int i, int d) { return !silent(i) && !(newcomer(i) && d < 30); }

/// Writes the chain: regions, stores, and their day sums by plain INSERTs (as a bulk load would).
void writeChain(const std::string& url, hq::Storage& s) {
    auto& p = s.people();
    for (int r = 0; r < 10; ++r) REQUIRE(p.addRegion("r" + std::to_string(r), "Region " + std::to_string(r), kT0));
    for (int i = 0; i < kStores; ++i)
        REQUIRE(p.setStore(storeId(i), "Store " + std::to_string(i), regionOf(i).value_or(""), kT0));
    std::string sql;
    int rows = 0;
    for (int i = 0; i < kStores; ++i)
        for (int d = 0; d < kDays; ++d) {
            if (!hasRow(i, d)) continue;
            sql += std::string(rows ? ", " : "") + "('" + storeId(i) + "', '" + day(d - 59) + "'";
            for (const auto v : valuesOf(i, d)) sql += ", " + std::to_string(v);
            sql += ")";
            if (++rows == 1000) {
                test::execSql(url, "INSERT INTO day_tallies (store_id, local_date, " + hq::dayColumnList() + ") VALUES " + sql);
                sql.clear();
                rows = 0;
            }
        }
    if (rows) test::execSql(url, "INSERT INTO day_tallies (store_id, local_date, " + hq::dayColumnList() + ") VALUES " + sql);
    // Reason tags beside some stores' days, as ingest keeps them.
    std::string tags;
    for (int i = 0; i < kStores; ++i)
        for (int d = 0; d < kDays; ++d) {
            if (!hasRow(i, d)) continue;
            if (i % 7 == 0 && d % 3 == 0)
                tags += std::string(tags.empty() ? "" : ", ") + "('" + storeId(i) + "', '" + day(d - 59) + "', 'price', " +
                        std::to_string(1 + i % 3) + ")";
            if (i % 11 == 0 && d % 2 == 0)
                tags += std::string(tags.empty() ? "" : ", ") + "('" + storeId(i) + "', '" + day(d - 59) + "', 'attitude', 2)";
        }
    test::execSql(url, "INSERT INTO day_tag_counts (store_id, local_date, tag, n) VALUES " + tags);
}

/// The recount: each store's Tally over [from, to] from the values written.
std::map<std::string, core::Tally> recount(const std::string& from, const std::string& to) {
    std::map<std::string, core::Tally> out;
    for (int i = 0; i < kStores; ++i)
        for (int d = 0; d < kDays; ++d)
            if (hasRow(i, d) && day(d - 59) >= from && day(d - 59) <= to) out[storeId(i)].merge(hq::tallyFromDayValues(valuesOf(i, d)));
    return out;
}

/// The same from the day rows as stored (dailyTalliesAll, tags dropped).
std::map<std::string, core::Tally> recountStored(hq::Storage& s, const std::string& from, const std::string& to) {
    std::map<std::string, core::Tally> out;
    auto all = s.dailyTalliesAll(from, to).value();
    for (auto& [store, days] : all)
        for (auto& [date, t] : days) {
            t.tags.clear();
            out[store].merge(t);
        }
    return out;
}

json statsJson(const std::map<std::string, core::Tally>& m, const std::string& store, const hq::Period& p) {
    const auto it = m.find(store);
    return core::toJson(core::summarize(it == m.end() ? core::Tally{} : it->second, p.from + "/" + p.to));
}

/// Every /stores row (paged 100 at a time, by csat) and every /regions row equal the recount.
void checkViews(hq::Storage& s, const std::map<std::string, core::Tally>& now, const std::map<std::string, core::Tally>& before,
                const hq::Period& period) {
    const hq::Period prev = hq::previousPeriod(period);
    const hq::DashboardConfig config;
    std::set<std::string> seen;
    for (int offset = 0; offset < kStores + 100; offset += 100) {
        hq::StoreQuery q;
        q.period = period;
        q.sort = "csat";
        q.descending = true;
        q.limit = 100;
        q.offset = offset;
        const json page = hq::storeTableJson(s, Scope::chain(), q, kT0, config).value();
        CHECK(page["total"] == kStores);
        for (const auto& row : page["stores"]) {
            const std::string id = row["id"];
            INFO(id);
            CHECK(seen.insert(id).second);
            CHECK(row["current"] == statsJson(now, id, period));
            CHECK(row["previous"] == statsJson(before, id, prev));
        }
    }
    CHECK(seen.size() == static_cast<std::size_t>(kStores));

    struct Sums {
        core::Tally now, before;
        std::int64_t stores = 0, below = 0;
    };
    std::map<std::string, Sums> want;
    for (int i = 0; i < kStores; ++i) {
        Sums& r = want[regionOf(i).value_or("")];
        ++r.stores;
        if (const auto it = now.find(storeId(i)); it != now.end()) {
            r.now.merge(it->second);
            const auto st = core::summarize(it->second, "");
            r.below += st.responses > 0 && !core::meetsTarget(st, config.targetCsat);
        }
        if (const auto it = before.find(storeId(i)); it != before.end()) r.before.merge(it->second);
    }
    const json regions = hq::regionsJson(s, Scope::chain(), period, config).value()["regions"];
    REQUIRE(regions.size() == 11);
    for (const auto& row : regions) {
        const std::string id = row["id"].is_null() ? "" : row["id"].get<std::string>();
        INFO("region " << id);
        const Sums& w = want.at(id);
        CHECK(row["stores"] == w.stores);
        CHECK(row["stores_below_target"] == w.below);
        CHECK(row["current"] == core::toJson(core::summarize(w.now, period.from + "/" + period.to)));
        CHECK(row["previous"] == core::toJson(core::summarize(w.before, prev.from + "/" + prev.to)));
    }
}

/// `n` responses of `stars` in `store` created on day(`offset`) at about 10:13, as a terminal
/// that was offline sends them late.
hq::IngestRequest ingestLate(hq::Storage& s, const std::string& store, int n, int stars, int offset) {
    const std::string device = "late-" + store + "-" + std::to_string(offset + 100);
    REQUIRE(s.addDevice({device, store, "Kiosk", hq::hashToken(device), kT0}));
    core::UuidV7Generator ids(std::hash<std::string>()(device));
    hq::IngestRequest req;
    req.deviceId = device;
    const std::int64_t at = kT0 + offset * kDay;
    req.batchId = ids.next(kT0);
    req.receivedAtMs = kT0;
    req.appVersion = "0.1.0";
    for (int i = 0; i < n; ++i) req.records.push_back(test::makeResponse(ids.next(at + i), store, device, at + i, stars));
    test::ingestOk(s, req);
    return req;
}

std::int64_t datesRead(hq::Storage& s) { return dynamic_cast<hq::SqlPeople&>(s.people()).periodCache().datesRead(); }
std::int64_t rowsRead(hq::Storage& s) { return dynamic_cast<hq::SqlPeople&>(s.people()).periodCache().rowsRead(); }

/// The overview's figures of the stores `ids` (ascending) recomputed from the stored day rows, tags
/// included (dailyTalliesAll, no in-memory copy): what GET /api/v1/overview must say.
json naiveOverview(hq::Storage& s, const std::vector<std::string>& ids, const hq::Period& period) {
    const hq::Period prev = hq::previousPeriod(period);
    const hq::DashboardConfig config;
    const std::string label = period.from + "/" + period.to;
    auto all = s.dailyTalliesAll(prev.from, period.to).value();
    core::Tally now, before;
    std::map<std::string, core::Tally> byDate;
    json rows = json::array();
    std::int64_t with = 0, below = 0;
    for (const auto& id : ids) {
        core::Tally n, b;
        for (const auto& [date, t] : all[id]) {
            if (date >= period.from) {
                n.merge(t);
                byDate[date].merge(t);
            } else {
                b.merge(t);
            }
        }
        now.merge(n);
        before.merge(b);
        const auto sn = core::summarize(n, label);
        const bool isBelow = sn.responses > 0 && !core::meetsTarget(sn, config.targetCsat);
        with += sn.responses > 0;
        below += isBelow;
        if (rows.size() < hq::kOverviewStores)
            rows.push_back({{"store", id},
                            {"current", core::toJson(sn)},
                            {"previous", core::toJson(core::summarize(b, prev.from + "/" + prev.to))},
                            {"below_target", isBelow}});
    }
    json days = json::array();
    for (std::string date = period.from; date <= period.to; date = core::addDays(date, 1))
        days.push_back(core::toJson(core::summarize(byDate[date], date)));
    return {{"total", core::toJson(core::summarize(now, label))},
            {"previous_total", core::toJson(core::summarize(before, prev.from + "/" + prev.to))},
            {"days", std::move(days)},
            {"stores_total", static_cast<std::int64_t>(ids.size())},
            {"stores_with_responses", with},
            {"stores_below_target", below},
            {"stores", std::move(rows)}};
}

/// GET /api/v1/overview's figures for `scope` equal naiveOverview's of the stores `ids`.
void checkOverview(hq::Storage& s, const Scope& scope, const std::vector<std::string>& ids, const hq::Period& period) {
    const json got = hq::overviewJson(s, period, period.to, {}, scope).value();
    const json want = naiveOverview(s, ids, period);
    for (const auto& key : {"total", "previous_total", "days", "stores_total", "stores_with_responses", "stores_below_target"}) {
        INFO(key);
        CHECK(got[key] == want[key]);
    }
    REQUIRE(got["stores"].size() == want["stores"].size());
    for (std::size_t i = 0; i < want["stores"].size(); ++i)
        for (const auto& key : {"store", "current", "previous", "below_target"}) {
            INFO("row " << i << " " << key);
            CHECK(got["stores"][i][key] == want["stores"][i][key]);
        }
}

std::vector<std::string> allStores() {
    std::vector<std::string> ids;
    for (int i = 0; i < kStores; ++i) ids.push_back(storeId(i));
    std::sort(ids.begin(), ids.end());
    return ids;
}

std::vector<std::string> storesOfRegion(const std::string& region) {
    std::vector<std::string> ids;
    for (int i = 0; i < kStores; ++i)
        if (regionOf(i) == region) ids.push_back(storeId(i));
    std::sort(ids.begin(), ids.end());
    return ids;
}

/// The overview of the chain, of a region and of one store equal the recount.
void checkOverviews(hq::Storage& s, const hq::Period& period) {
    checkOverview(s, Scope::chain(), allStores(), period);
    checkOverview(s, Scope::region("r3"), storesOfRegion("r3"), period);
    checkOverview(s, Scope::store(storeId(14)), {storeId(14)}, period);
}

} // namespace

TEST_CASE("period cache: 500 stores x 30 days: /stores and /regions equal a recount, late data included", "[storage]") {
    test::TempDir dir;
    for (const auto& url : test::storageUrls(dir)) {
        INFO(url);
        auto s = test::openStorage(url);
        writeChain(url, *s);
        const hq::Period period{day(-29), day(0)};
        const hq::Period prev = hq::previousPeriod(period);
        REQUIRE(prev.from == day(-59));
        auto now = recount(period.from, period.to);
        auto before = recount(prev.from, prev.to);
        CHECK(recountStored(*s, period.from, period.to) == now);

        const std::int64_t read0 = datesRead(*s);
        checkViews(*s, now, before, period);
        CHECK(datesRead(*s) - read0 == kDays);   // each date read once, then reused by every page
        checkViews(*s, now, before, period);
        checkOverviews(*s, period);
        CHECK(datesRead(*s) - read0 == kDays);
        const hq::Period week{day(-6), day(0)};   // a shorter period, from the same dates
        checkOverviews(*s, week);
        CHECK(datesRead(*s) - read0 == kDays);

        // Late responses for a day in the previous period and for today: only those two dates are
        // read again, and the figures are the new recount.
        ingestLate(*s, storeId(3), 4, 1, -45);
        ingestLate(*s, storeId(3), 2, 5, 0);
        ingestLate(*s, storeId(5), 3, 2, -10);   // a silent store's first responses
        const std::int64_t read1 = datesRead(*s), rows1 = rowsRead(*s);
        now = recountStored(*s, period.from, period.to);
        before = recountStored(*s, prev.from, prev.to);
        CHECK(now.at(storeId(3)).counted == recount(period.from, period.to).at(storeId(3)).counted + 2);
        CHECK(now.at(storeId(5)).counted == 3);
        checkViews(*s, now, before, period);
        CHECK(datesRead(*s) - read1 == 3);
        CHECK(rowsRead(*s) - rows1 == 3);   // of each changed date, only the changed store's row
        checkOverviews(*s, period);
        CHECK(rowsRead(*s) - rows1 == 3);

        // A new batch for yesterday: that date is read again; the same batch resent (duplicates)
        // changes no sum and no count: nothing is read again.
        const auto sent = ingestLate(*s, storeId(8), 1, 4, -1);
        const std::int64_t read2 = datesRead(*s), rows2 = rowsRead(*s);
        now = recountStored(*s, period.from, period.to);
        checkViews(*s, now, before, period);
        CHECK(datesRead(*s) - read2 == 1);
        CHECK(rowsRead(*s) - rows2 == 1);
        const auto outcomes = test::ingestOk(*s, sent);
        CHECK(std::count(outcomes.begin(), outcomes.end(), hq::Outcome::Duplicate) == 1);
        checkViews(*s, now, before, period);
        CHECK(datesRead(*s) - read2 == 1);

        // Another writer (a second HQ node, a hand repair) changing a row directly is seen too.
        const std::int64_t rows3 = rowsRead(*s);
        test::execSql(url, "UPDATE day_tallies SET counted = counted + 10, satisfied = satisfied + 10 WHERE store_id = '" +
                               storeId(9) + "' AND local_date = '" + day(-3) + "'");
        now = recountStored(*s, period.from, period.to);
        checkViews(*s, now, before, period);
        CHECK(rowsRead(*s) - rows3 == 1);
        checkOverviews(*s, period);

        // Many stores of one date changed at once (a bulk repair): the whole date is read again.
        test::execSql(url, "UPDATE day_tallies SET partial = partial + 1 WHERE local_date = '" + day(-2) + "'");
        const std::int64_t rows4 = rowsRead(*s);
        checkViews(*s, recountStored(*s, period.from, period.to), before, period);
        CHECK(rowsRead(*s) - rows4 > 100);
        checkOverviews(*s, period);

        // A period longer than the cache keeps (40 days and the 40 before) is summed in SQL: same figures.
        const hq::Period longer{day(-39), day(0)};
        hq::StoreQuery q;
        q.period = longer;
        q.limit = 500;
        const json page = hq::storeTableJson(*s, Scope::chain(), q, kT0, {}).value();
        const auto longNow = recountStored(*s, longer.from, longer.to);
        REQUIRE(page["stores"].size() == 500);
        for (const auto& row : page["stores"]) CHECK(row["current"] == statsJson(longNow, row["id"], longer));
        // and so is the overview of such a period.
        checkOverviews(*s, longer);
    }
}

TEST_CASE("period cache: the warm-up at serve start reads the last 30 days and the 30 before once", "[storage]") {
    test::TempDir dir;
    for (const auto& url : test::storageUrls(dir)) {
        INFO(url);
        auto s = test::openStorage(url);
        writeChain(url, *s);
        const hq::Period period{day(-29), day(0)};
        const std::int64_t read0 = datesRead(*s);
        CHECK(hq::warmChainReads(*s, day(0)).value() == static_cast<std::size_t>(kStores));
        CHECK(datesRead(*s) - read0 == kDays);
        checkViews(*s, recount(period.from, period.to), recount(day(-59), day(-30)), period);
        checkOverviews(*s, period);
        checkOverviews(*s, {day(-6), day(0)});
        CHECK(datesRead(*s) - read0 == kDays);
    }
}

TEST_CASE("period cache: a database from schema 14 migrates (each store-date's change count) with its figures", "[storage]") {
    test::TempDir dir;
    for (const auto& url : test::storageUrls(dir)) {
        INFO(url);
        const hq::Period period{day(-29), day(0)};
        const hq::Period prev = hq::previousPeriod(period);
        {
            auto s = test::openStorage(url);
            writeChain(url, *s);
        }
        // What a schema 14 HQ left behind: no day_changes, day_totals' trigger of migration 12.
        const bool pg = !url.starts_with("sqlite:");
        if (pg) {
            std::ifstream in(std::string(SEGUE_SOURCE_DIR) + "/hq/migrations/postgresql/0012_day_totals.sql");
            std::stringstream m12;
            m12 << in.rdbuf();
            REQUIRE(m12.str().size() > 100);
            test::execSql(url, m12.str());
        } else {
            test::execSql(url, "DROP TRIGGER day_changes_on_insert");
            test::execSql(url, "DROP TRIGGER day_changes_on_update");
        }
        test::execSql(url, "DROP TABLE day_changes");
        test::execSql(url, "UPDATE schema_version SET version = 14");
        auto s = test::openStorage(url);
        CHECK(s->schemaVersion() == hq::kSchemaVersion);
        checkViews(*s, recount(period.from, period.to), recount(prev.from, prev.to), period);
        checkOverviews(*s, period);
        const std::int64_t rows0 = rowsRead(*s);
        ingestLate(*s, storeId(4), 2, 3, -2);
        checkViews(*s, recountStored(*s, period.from, period.to), recountStored(*s, prev.from, prev.to), period);
        CHECK(rowsRead(*s) - rows0 == 1);
        checkOverviews(*s, period);
    }
}

TEST_CASE("period cache: a database from before schema 12 migrates with its figures, and again safely", "[storage]") {
    test::TempDir dir;
    for (const auto& url : test::storageUrls(dir)) {
        INFO(url);
        const hq::Period period{day(-29), day(0)};
        const hq::Period prev = hq::previousPeriod(period);
        {
            auto s = test::openStorage(url);
            writeChain(url, *s);
        }
        // What a schema 10 HQ left behind: no day_totals, no triggers.
        const bool pg = !url.starts_with("sqlite:");
        if (pg) test::execSql(url, "DROP TRIGGER day_totals_count ON day_tallies");
        else {
            test::execSql(url, "DROP TRIGGER day_totals_on_insert");
            test::execSql(url, "DROP TRIGGER day_totals_on_update");
        }
        test::execSql(url, "DROP TABLE day_totals");
        test::execSql(url, "UPDATE schema_version SET version = 10");
        {
            auto s = test::openStorage(url);
            CHECK(s->schemaVersion() == hq::kSchemaVersion);
            checkViews(*s, recount(period.from, period.to), recount(prev.from, prev.to), period);
            ingestLate(*s, storeId(4), 2, 3, -2);
        }
        // Run again over its own tables (an HQ turned back by hand): the counts only grow.
        test::execSql(url, "UPDATE schema_version SET version = 10");
        auto s = test::openStorage(url);
        CHECK(s->schemaVersion() == hq::kSchemaVersion);
        checkViews(*s, recountStored(*s, period.from, period.to), recountStored(*s, prev.from, prev.to), period);
        ingestLate(*s, storeId(4), 1, 5, -1);
        checkViews(*s, recountStored(*s, period.from, period.to), recountStored(*s, prev.from, prev.to), period);
    }
}
