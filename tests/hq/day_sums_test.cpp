// HQ's per-day sums (schema 3): kept by ingest for stored records only, backfilled by the
// migration from a version 2 database, and equal to a from-scratch core::Tally::add over the raw
// rows. Every case runs against SQLite, and against PostgreSQL when SEGUE_TEST_PG_URL is set.
#include <algorithm>
#include <map>
#include <thread>

#include <catch2/catch.hpp>

#include "core/scoring.hpp"
#include "hq/dashboard.hpp"
#include "hq/day_sums.hpp"
#include "hq/storage.hpp"
#include "hq/token.hpp"
#include "tests/hq/hq_test_support.hpp"

using namespace segue;
using hq::Outcome;

namespace {

using ByStore = std::map<std::string, hq::DayTallies>;

constexpr const char* kFirstDate = "0001-01-01";
constexpr const char* kLastDate = "9999-12-31";

void enrol(hq::Storage& s, const std::string& device, const std::string& store) {
    REQUIRE(s.addDevice({device, store, "Kiosk " + device, hq::hashToken(hq::generateToken()), 1'795'000'000'000}));
}

hq::IngestRequest request(const std::string& device, std::vector<core::Response> records) {
    static core::UuidV7Generator batchIds(77);
    hq::IngestRequest req;
    req.deviceId = device;
    req.batchId = batchIds.next(1'795'100'000'000);
    req.receivedAtMs = 1'795'100'000'000;
    req.appVersion = "0.1.0";
    req.records = std::move(records);
    return req;
}

/// Folds Tally::add over records into per-store, per-date tallies, dates ascending.
ByStore tallyOf(const std::vector<core::Response>& records) {
    std::map<std::string, std::map<std::string, core::Tally>> sums;
    for (const auto& r : records) sums[r.storeId][r.localDate].add(r);
    ByStore out;
    for (const auto& [store, days] : sums) out[store] = hq::DayTallies(days.begin(), days.end());
    return out;
}

/// Every response stored, as the export reads it from the raw responses table.
std::vector<core::Response> rawRows(hq::Storage& s) {
    std::vector<core::Response> out;
    std::string after;
    for (;;) {
        auto page = s.exportPage({}, after, 500);
        REQUIRE(page);
        for (const auto& r : *page) out.push_back(r.response);
        if (page->size() < 500) return out;
        after = page->back().response.id;
    }
}

ByStore sums(hq::Storage& s, const std::string& from = kFirstDate, const std::string& to = kLastDate) {
    auto all = s.dailyTalliesAll(from, to);
    if (!all) FAIL("dailyTalliesAll failed: " << all.error().message);
    return *all;
}

/// Compares day by day, so that a failure names the store and date.
void checkEqual(const ByStore& got, const ByStore& want) {
    CHECK(got.size() == want.size());
    for (const auto& [store, days] : want) {
        INFO("store " << store);
        const auto it = got.find(store);
        REQUIRE(it != got.end());
        REQUIRE(it->second.size() == days.size());
        for (std::size_t i = 0; i < days.size(); ++i) {
            INFO("date " << days[i].first);
            CHECK(it->second[i].first == days[i].first);
            const core::Tally& g = it->second[i].second;
            const core::Tally& w = days[i].second;
            CHECK(g.counted == w.counted);
            CHECK(g.starSum == w.starSum);
            CHECK(g.satisfied == w.satisfied);
            CHECK(g.partial == w.partial);
            CHECK(g.misuse == w.misuse);
            CHECK(g.segueSum == w.segueSum);
            CHECK(g.segueCount == w.segueCount);
            CHECK(g.byHour == w.byHour);
            CHECK(g.tags == w.tags);
        }
    }
}

/// A copy of `r` with different content under the same id: a conflict when sent again. Misuse is
/// flipped, so counting a conflict would show in every sum.
core::Response altered(core::Response r) {
    r.misuse = !r.misuse;
    r.stars = r.stars == 5 ? 1 : 5;
    r.complete = !r.complete;
    r.tags = {"price", "price"};
    return r;
}

/// Several stores, devices, dates and hours; duplicates, conflicts (in records and in
/// IngestRequest::conflicts) and refused records. Returns the records that were Accepted.
std::vector<core::Response> mixedTraffic(hq::Storage& s, std::vector<hq::IngestRequest>& sent) {
    enrol(s, "kiosk-1", "store-1");
    enrol(s, "kiosk-2", "store-1");
    enrol(s, "kiosk-3", "store-2");
    enrol(s, "kiosk-4", "store-3");
    test::ResponseFactory f1("store-1", "kiosk-1", 1), f2("store-1", "kiosk-2", 2), f3("store-2", "kiosk-3", 3),
        f4("store-3", "kiosk-4", 4);
    std::vector<core::Response> accepted;
    auto send = [&](hq::IngestRequest req) {
        const auto out = test::ingestOk(s, req);
        REQUIRE(out.size() == req.records.size());
        for (std::size_t i = 0; i < out.size(); ++i)
            if (out[i] == Outcome::Accepted) accepted.push_back(req.records[i]);
        sent.push_back(std::move(req));
        return out;
    };
    const auto a = f1.make(300), b = f2.make(200), c = f3.make(250), d = f4.make(100);
    for (const auto* batch : {&a, &b, &c, &d})
        send(request(batch->front().deviceId, *batch));

    // A resend with new records behind it: the old ones are duplicates, only the new ones count.
    auto again = a;
    const auto more = f1.make(50);
    again.insert(again.end(), more.begin(), more.end());
    auto out = send(request("kiosk-1", again));
    CHECK(std::count(out.begin(), out.end(), Outcome::Duplicate) == 300);
    CHECK(std::count(out.begin(), out.end(), Outcome::Accepted) == 50);

    // Changed copies of stored records: conflicts, kept apart, never summed.
    std::vector<core::Response> changed;
    for (std::size_t i = 0; i < b.size(); i += 7) changed.push_back(altered(b[i]));
    const auto fresh = f2.make(20);
    changed.insert(changed.end(), fresh.begin(), fresh.end());
    auto req = request("kiosk-2", changed);
    req.conflicts = {altered(b[1]), altered(fresh[0])};
    req.refused.push_back({"not-a-uuid", "invalid id", R"({"id":"not-a-uuid"})"});
    out = send(req);
    CHECK(std::count(out.begin(), out.end(), Outcome::Conflict) == static_cast<long>(changed.size() - fresh.size()));
    CHECK(std::count(out.begin(), out.end(), Outcome::Accepted) == 20);

    // A batch mixing stores' records (the storage does not police that; ingest does).
    auto mixed = f3.make(40);
    const auto other = f4.make(40);
    mixed.insert(mixed.end(), other.begin(), other.end());
    send(request("kiosk-3", mixed));
    return accepted;
}

} // namespace

TEST_CASE("day sums: after mixed batches they equal Tally::add over the raw rows and over what was accepted",
          "[storage]") {
    test::TempDir dir;
    for (const auto& url : test::storageUrls(dir)) {
        INFO(url);
        auto s = test::openStorage(url);
        std::vector<hq::IngestRequest> sent;
        const auto accepted = mixedTraffic(*s, sent);
        const auto raw = rawRows(*s);
        REQUIRE(raw.size() == accepted.size());
        const ByStore want = tallyOf(raw);
        checkEqual(sums(*s), want);
        checkEqual(tallyOf(accepted), want);

        // Every part of the Tally is exercised: stores, dates, hours, misuse, partial, items, tags.
        REQUIRE(want.size() == 3);
        core::Tally all;
        std::size_t dates = 0;
        for (const auto& [store, days] : want) {
            dates += days.size();
            for (const auto& [date, t] : days) all.merge(t);
        }
        CHECK(dates > 30);
        CHECK(all.misuse > 0);
        CHECK(all.partial > 0);
        CHECK(all.tags.size() == 6);
        CHECK(all.segueCount[2] < all.counted);
        CHECK(std::count_if(all.byHour.begin(), all.byHour.end(), [](auto n) { return n > 0; }) == 24);

        // One store over a range: the same days dailyTallies and dailyTalliesAll give.
        const auto& store1 = want.at("store-1");
        const std::string from = store1[3].first, to = store1[store1.size() - 4].first;
        const auto one = s->dailyTallies("store-1", from, to);
        REQUIRE(one);
        const hq::DayTallies slice(store1.begin() + 3, store1.end() - 3);
        checkEqual({{"store-1", *one}}, {{"store-1", slice}});
        checkEqual({{"store-1", sums(*s, from, to).at("store-1")}}, {{"store-1", slice}});
        CHECK(s->dailyTallies("store-404", kFirstDate, kLastDate)->empty());
        CHECK(sums(*s, "2001-01-01", "2001-12-31").empty());
    }
}

TEST_CASE("day sums: re-sending every batch changes no sum", "[storage]") {
    test::TempDir dir;
    for (const auto& url : test::storageUrls(dir)) {
        INFO(url);
        auto s = test::openStorage(url);
        std::vector<hq::IngestRequest> sent;
        mixedTraffic(*s, sent);
        const ByStore before = sums(*s);
        for (const auto& req : sent) {
            const auto out = test::ingestOk(*s, req);
            CHECK(std::count(out.begin(), out.end(), Outcome::Accepted) == 0);
        }
        checkEqual(sums(*s), before);
        checkEqual(before, tallyOf(rawRows(*s)));
    }
}

TEST_CASE("day sums: concurrent overlapping batches of several stores add each stored record once", "[storage]") {
    test::TempDir dir;
    for (const auto& url : test::storageUrls(dir)) {
        INFO(url);
        auto s = test::openStorage(url);
        enrol(*s, "kiosk-1", "store-1");
        enrol(*s, "kiosk-2", "store-2");
        // Two stores over the same days, so batches of both meet on the same (store, date) rows.
        const auto one = test::ResponseFactory("store-1", "kiosk-1", 21).make(400);
        const auto two = test::ResponseFactory("store-2", "kiosk-2", 22).make(400);
        constexpr int kThreads = 6;
        std::vector<std::string> errors(kThreads);
        {
            std::vector<std::jthread> threads;
            for (int t = 0; t < kThreads; ++t)
                threads.emplace_back([&, t] {
                    const auto& pool = t % 2 ? two : one;
                    const auto first = pool.begin() + (t / 2) * 60;
                    std::vector<core::Response> slice(first, first + 250);
                    auto out = s->ingest(request(slice.front().deviceId, slice));
                    if (!out) errors[static_cast<std::size_t>(t)] = out.error().message;
                });
        }
        for (const auto& e : errors) CHECK(e.empty());
        const auto raw = rawRows(*s);
        CHECK(raw.size() == 2 * (2 * 60 + 250));
        checkEqual(sums(*s), tallyOf(raw));
    }
}

TEST_CASE("day sums: one batch over more than 500 days and 2000 tag counts is summed in full", "[storage]") {
    test::TempDir dir;
    for (const auto& url : test::storageUrls(dir)) {
        INFO(url);
        auto s = test::openStorage(url);
        enrol(*s, "kiosk-1", "store-1");
        // Larger than one multi-row upsert of either table (PostgreSQL: 500 days, 2000 tag rows).
        const auto records = test::ResponseFactory("store-1", "kiosk-1", 31).make(5000);
        test::ingestOk(*s, request("kiosk-1", records));
        const ByStore want = tallyOf(records);
        std::size_t tagRows = 0;
        for (const auto& [date, t] : want.at("store-1")) tagRows += t.tags.size();
        REQUIRE(want.at("store-1").size() > 500);
        REQUIRE(tagRows > 2000);
        checkEqual(sums(*s), want);
    }
}

TEST_CASE("day sums: a version 2 database with responses migrates to version 3 with the same figures", "[storage]") {
    test::TempDir dir;
    for (const auto& url : test::storageUrls(dir)) {
        INFO(url);
        std::vector<hq::IngestRequest> sent;
        ByStore want;
        {
            auto s = test::openStorage(url);
            mixedTraffic(*s, sent);
            want = tallyOf(rawRows(*s));
        }
        // Back to the version 2 schema: version 3 only added the sums tables (and their indexes),
        // so without them and with version 2 recorded this is what a version 2 HQ left behind.
        test::execSql(url, "DROP TABLE day_tag_counts");
        test::execSql(url, "DROP TABLE day_tallies");
        test::execSql(url, "UPDATE schema_version SET version = 2");

        auto s = test::openStorage(url);   // migrates to 3 (and on) and backfills from the responses
        CHECK(s->schemaVersion() == hq::kSchemaVersion);
        checkEqual(sums(*s), want);
        for (const auto& [store, days] : want) {
            const auto got = s->dailyTallies(store, kFirstDate, kLastDate);
            REQUIRE(got);
            checkEqual({{store, *got}}, {{store, days}});
        }

        // Ingest goes on adding to the backfilled rows: resends add nothing, new records add.
        for (const auto& req : sent) test::ingestOk(*s, req);
        checkEqual(sums(*s), want);
        const auto later = test::ResponseFactory("store-2", "kiosk-3", 3).make(320);   // overlaps, then new
        test::ingestOk(*s, request("kiosk-3", later));
        checkEqual(sums(*s), tallyOf(rawRows(*s)));
    }
}

TEST_CASE("day sums: the chain overview's figures are the stores' from-scratch sums", "[storage]") {
    test::TempDir dir;
    for (const auto& url : test::storageUrls(dir)) {
        INFO(url);
        auto s = test::openStorage(url);
        std::vector<hq::IngestRequest> sent;
        mixedTraffic(*s, sent);
        enrol(*s, "kiosk-9", "store-9");   // a store without responses is listed with zeros
        const ByStore raw = tallyOf(rawRows(*s));
        const auto& days1 = raw.at("store-1");
        const hq::Period period{days1[days1.size() / 2].first, days1.back().first};
        const hq::Period prev = hq::previousPeriod(period);
        const hq::DashboardConfig config;
        const auto overview = hq::overviewJson(*s, period, period.to, config);
        REQUIRE(overview);

        auto within = [](const hq::DayTallies& days, const hq::Period& p) {
            core::Tally t;
            for (const auto& [date, day] : days)
                if (date >= p.from && date <= p.to) t.merge(day);
            return t;
        };
        core::Tally chainNow, chainBefore;
        const auto& rows = (*overview)["stores"];
        REQUIRE(rows.size() == 4);
        for (const auto& row : rows) {
            const std::string store = row["store"];
            INFO(store);
            const auto it = raw.find(store);
            const hq::DayTallies days = it == raw.end() ? hq::DayTallies() : it->second;
            const core::Tally now = within(days, period), before = within(days, prev);
            chainNow.merge(now);
            chainBefore.merge(before);
            CHECK(row["current"] == core::toJson(core::summarize(now, period.from + "/" + period.to)));
            CHECK(row["previous"] == core::toJson(core::summarize(before, prev.from + "/" + prev.to)));
        }
        CHECK(chainNow.counted > 0);
        CHECK(chainBefore.counted > 0);
        CHECK((*overview)["total"] == core::toJson(core::summarize(chainNow, period.from + "/" + period.to)));
        CHECK((*overview)["previous_total"] == core::toJson(core::summarize(chainBefore, prev.from + "/" + prev.to)));
        std::int64_t daily = 0;
        for (const auto& d : (*overview)["days"]) daily += d["responses"].get<std::int64_t>();
        CHECK(daily == chainNow.counted);
    }
}

TEST_CASE("day sums: the batch's sums count Accepted records only, by Tally::add", "[storage]") {
    const auto records = test::ResponseFactory("store-1", "kiosk-1", 5).make(60);
    std::vector<Outcome> outcomes;
    for (std::size_t i = 0; i < records.size(); ++i)
        outcomes.push_back(i % 3 == 0 ? Outcome::Accepted : i % 3 == 1 ? Outcome::Duplicate : Outcome::Conflict);
    std::map<hq::DayKey, core::Tally> want;
    for (std::size_t i = 0; i < records.size(); i += 3) want[{records[i].storeId, records[i].localDate}].add(records[i]);
    CHECK(hq::sumAccepted(records, outcomes) == want);

    // The column order round-trips, and every column has its own name.
    core::Tally t;
    for (const auto& r : records) t.add(r);
    core::Tally back = hq::tallyFromDayValues(hq::dayValues(t));
    back.tags = t.tags;
    CHECK(back == t);
    auto names = hq::dayValueColumns();
    std::sort(names.begin(), names.end());
    CHECK(std::adjacent_find(names.begin(), names.end()) == names.end());
}
