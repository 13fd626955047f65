// PostgreSQL's month partitions of responses (issue 18): months created ahead (once, by several
// nodes at once), a far-off clock's record in the default partition and still deduplicated,
// retention on a FakeClock dropping the oldest month while its day sums still answer, and SQLite
// left as it was. The PostgreSQL cases run under tests/hq/run_with_pg.sh ("[.pg]").
#include <future>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <libpq-fe.h>

#include "core/time.hpp"
#include "core/uuid.hpp"
#include "hq/metrics.hpp"
#include "hq/partitions.hpp"
#include "hq/sql_storage.hpp"
#include "hq/storage.hpp"
#include "hq/token.hpp"
#include "tests/hq/hq_test_support.hpp"

using namespace segue;
using hq::Outcome;

namespace {

constexpr std::int64_t kDayMs = 86'400'000;

/// UTC midnight of an ISO date, in Unix ms.
std::int64_t msOf(const std::string& isoDate) { return *core::daysFromIsoDate(isoDate) * kDayMs; }

/// A new database on the test cluster (run_with_pg.sh sets SEGUE_TEST_PG_URL).
std::string pgDatabase(const test::TempDir& dir) {
    const auto urls = test::storageUrls(dir);
    REQUIRE(urls.size() == 2);   // run by tests/hq/run_with_pg.sh, which starts the cluster
    return urls.back();
}

void enrol(hq::Storage& s, const std::string& device, const std::string& store) {
    REQUIRE(s.addDevice({device, store, "Kiosk " + device, hq::hashToken(hq::generateToken()), 1'795'000'000'000}));
}

hq::IngestRequest request(std::vector<core::Response> records, std::int64_t receivedAtMs) {
    hq::IngestRequest req;
    req.deviceId = "kiosk-1";
    req.batchId = "0190f1e2-3a4b-7c5d-8e6f-0123456789ab";
    req.receivedAtMs = receivedAtMs;
    req.records = std::move(records);
    return req;
}

/// The partition that holds response `id`.
std::string partitionOf(const std::string& url, const std::string& id) {
    return test::pgExec(url, "SELECT tableoid::regclass::text FROM responses WHERE id = '" + id + "'");
}

/// The month partitions of responses, comma-separated in order.
std::string monthPartitions(const std::string& url) {
    return test::pgExec(url, "SELECT string_agg(c.relname, ',' ORDER BY c.relname) FROM pg_inherits i "
                             "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'responses'::regclass "
                             "AND c.relname <> 'responses_default'");
}

/// The rows of the last statement of `statements` (run on one connection), one a line.
std::string lastResult(const std::string& url, const std::string& statements) {
    PGconn* c = PQconnectdb(url.c_str());
    REQUIRE(PQstatus(c) == CONNECTION_OK);
    PGresult* r = PQexec(c, statements.c_str());
    const bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;
    std::string out = ok ? "" : PQresultErrorMessage(r);
    for (int i = 0; ok && i < PQntuples(r); ++i) out += std::string(PQgetvalue(r, i, 0)) + "\n";
    PQclear(r);
    PQfinish(c);
    INFO(out);
    REQUIRE(ok);
    return out;
}

/// The month partitions of responses a plan touches.
std::set<std::string> monthsIn(const std::string& plan) {
    std::set<std::string> out;
    static const std::regex kMonth("responses_p[0-9]{6}");
    for (auto it = std::sregex_iterator(plan.begin(), plan.end(), kMonth); it != std::sregex_iterator(); ++it)
        out.insert(it->str());
    return out;
}

/// `sql` with its `?` placeholders numbered $1, $2, … (it has no quoted text).
std::string numbered(std::string_view sql) {
    std::string out;
    int n = 0;
    for (const char ch : sql) out += ch == '?' ? "$" + std::to_string(++n) : std::string(1, ch);
    return out;
}

} // namespace

TEST_CASE("partitions: the low_ratings count prunes the months before its window (26 months kept), generic and "
          "custom plans, and counts as the unbounded query does",
          "[.pg]") {
    test::TempDir dir;
    const std::string url = pgDatabase(dir);
    auto s = test::openStorage(url);
    enrol(*s, "kiosk-1", "store-1");
    const std::int64_t now = msOf("2031-05-17") + 12 * 3'600'000;
    REQUIRE(s->maintainPartitions(now, std::nullopt));
    test::pgExec(url, "SELECT segue_ensure_response_months(" + std::to_string(now) + ", 25, 3)");
    REQUIRE(monthsIn(monthPartitions(url)).size() >= 29);

    // Every month of the 26: ratings of 1-5 stars (a tenth misuse); the last hour has its own.
    core::UuidV7Generator ids(11);
    std::vector<core::Response> rs;
    for (std::int64_t at = now - 790 * kDayMs; at < now - 2 * 3'600'000; at += 7 * 3'600'000 + 123'457) {
        auto r = test::makeResponse(ids.next(at), "store-1", "kiosk-1", at, static_cast<int>(rs.size() % 5) + 1);
        r.misuse = rs.size() % 10 == 3;
        rs.push_back(std::move(r));
    }
    for (int i = 0; i < 30; ++i) {
        const std::int64_t at = now - 3'600'000 + i * 100'000;
        rs.push_back(test::makeResponse(ids.next(at), "store-1", "kiosk-1", at, i % 3 + 1));
    }
    for (std::size_t at = 0; at < rs.size(); at += 500)
        test::ingestOk(*s, request({rs.begin() + static_cast<std::ptrdiff_t>(at),
                                    rs.begin() + static_cast<std::ptrdiff_t>(std::min(rs.size(), at + 500))},
                                   now));
    REQUIRE(s->counts()->responses == static_cast<std::int64_t>(rs.size()));

    const std::string unbounded = "SELECT COUNT(*) FROM responses WHERE store_id = $1 AND created_at >= $2 AND "
                                  "created_at <= $3 AND NOT misuse AND stars <= $4";
    for (const std::int64_t windowMs : {std::int64_t{3'600'000}, 40 * kDayMs, 400 * kDayMs, 900 * kDayMs}) {
        const std::int64_t from = now - windowMs;
        INFO("window " << windowMs / 60'000 << " min");
        std::int64_t expected = 0;
        for (const auto& r : rs) expected += r.createdAtMs >= from && r.createdAtMs <= now && !r.misuse && r.stars <= 2;
        CHECK(expected > 0);
        CHECK(s->countRatings("store-1", from, now, 2).value() == expected);
        const std::string args = "('store-1', " + std::to_string(from) + ", " + std::to_string(now) + ", 2";
        CHECK(lastResult(url, "PREPARE q AS " + unbounded + "; EXECUTE q" + args + ")") == std::to_string(expected) + "\n");

        // The plan of the very statement countRatings runs, with the cached generic plan (pruned when
        // the executor starts) and with a custom one (pruned by the planner).
        const std::string months = [&] {
            std::string m;
            for (const auto& p : monthsIn(monthPartitions(url)))
                if (p >= "responses_p" + core::formatUtc(from).substr(0, 4) + core::formatUtc(from).substr(5, 2)) m += p + " ";
            return m;
        }();
        for (const std::string mode : {"force_generic_plan", "force_custom_plan"}) {
            INFO(mode);
            const std::string plan = lastResult(
                url, "SET plan_cache_mode = " + mode + "; PREPARE q AS " + numbered(hq::countRatingsSql(true)) +
                         "; EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) EXECUTE q" + args + ", '" +
                         core::uuidV7Floor(from) + "')");
            INFO(plan);
            std::string touched;
            for (const auto& p : monthsIn(plan)) touched += p + " ";
            CHECK(touched == months);   // the window's months and those ahead, no earlier one
            if (mode == "force_generic_plan") CHECK(plan.find("Subplans Removed") != std::string::npos);
            // Without the bound on the id every month is read: what the bound saves.
            const std::string all = lastResult(url, "SET plan_cache_mode = " + mode + "; PREPARE q AS " + unbounded +
                                                        "; EXPLAIN (COSTS OFF) EXECUTE q" + args + ")");
            CHECK(monthsIn(all).size() >= 29);
        }
    }
}

TEST_CASE("partitions: a new PostgreSQL database is partitioned by month; four nodes at once create the months "
          "ahead once",
          "[.pg]") {
    test::TempDir dir;
    const std::string url = pgDatabase(dir);
    auto s = test::openStorage(url);
    CHECK(test::pgExec(url, "SELECT relkind FROM pg_class WHERE oid = 'responses'::regclass") == "p");
    CHECK(test::pgExec(url, "SELECT count(*) FROM pg_class WHERE relname = 'responses_default'") == "1");
    // The primary key is the partition key: legal, and kept by every partition.
    CHECK(test::pgExec(url, "SELECT pg_get_partkeydef('responses'::regclass)") == "RANGE (id)");

    // A clock years past what the migration made: nothing of those months exists yet.
    const std::int64_t now = msOf("2031-05-17");
    std::vector<std::unique_ptr<hq::Storage>> nodes;
    for (int i = 0; i < 4; ++i) nodes.push_back(test::openStorage(url));
    std::vector<std::future<hq::Result<hq::Storage::PartitionPass>>> passes;
    for (auto& node : nodes)
        passes.push_back(std::async(std::launch::async, [&node, now] { return node->maintainPartitions(now, std::nullopt); }));
    int created = 0;
    for (auto& p : passes) {
        const auto pass = p.get();
        REQUIRE(pass);
        CHECK(pass->partitioned);
        CHECK(pass->dropped.empty());
        created += pass->created;
    }
    // One month back, the current one and kPartitionMonthsAhead (3) ahead.
    CHECK(created == 5);
    const std::string all = monthPartitions(url);
    CHECK(all.find("responses_p203104,responses_p203105,responses_p203106,responses_p203107,responses_p203108") !=
          std::string::npos);
    CHECK(all.find("responses_p203103") == std::string::npos);
    CHECK(all.find("responses_p203109") == std::string::npos);
    // Each month has the primary key and the (store_id, created_at) index of the parent.
    CHECK(test::pgExec(url, "SELECT count(*) FROM pg_indexes WHERE tablename = 'responses_p203106'") == "2");
    const auto again = s->maintainPartitions(now, std::nullopt);
    REQUIRE(again);
    CHECK(again->created == 0);
    CHECK(monthPartitions(url) == all);
}

TEST_CASE("partitions: a record of a far-off clock lands in the default partition, is deduplicated there, and "
          "moves into its month when that month is created",
          "[.pg]") {
    test::TempDir dir;
    const std::string url = pgDatabase(dir);
    auto s = test::openStorage(url);
    enrol(*s, "kiosk-1", "store-1");
    const std::int64_t now = msOf("2031-05-17");
    REQUIRE(s->maintainPartitions(now, std::nullopt));

    core::UuidV7Generator ids(7);
    const std::int64_t farMs = msOf("2040-01-20") + 3'600'000;
    const auto inMonth = test::makeResponse(ids.next(now + 60'000), "store-1", "kiosk-1", now + 60'000, 5);
    const auto farOff = test::makeResponse(ids.next(farMs), "store-1", "kiosk-1", farMs, 2);
    // The wire takes any UUID; a v4 id's first 48 bits are random (here: the year 4167).
    const auto notV7 = test::makeResponse("3f1c2a9e-5b7d-4e21-9a3c-7d5e1b2c4f60", "store-1", "kiosk-1", now + 120'000, 4);
    CHECK(test::ingestOk(*s, request({inMonth, farOff, notV7}, now + 200'000)) ==
          std::vector{Outcome::Accepted, Outcome::Accepted, Outcome::Accepted});
    CHECK(partitionOf(url, inMonth.id) == "responses_p203105");
    CHECK(partitionOf(url, farOff.id) == "responses_default");
    CHECK(partitionOf(url, notV7.id) == "responses_default");
    CHECK(s->defaultPartitionRows().value() == std::optional<std::int64_t>(2));

    // Sent again two months of wall-clock time later: still one row each.
    const std::int64_t later = now + 62 * kDayMs;
    CHECK(test::ingestOk(*s, request({farOff, inMonth, notV7}, later)) ==
          std::vector{Outcome::Duplicate, Outcome::Duplicate, Outcome::Duplicate});
    auto changed = farOff;
    changed.stars = 1;
    CHECK(test::ingestOk(*s, request({changed}, later)) == std::vector{Outcome::Conflict});
    CHECK(s->counts()->responses == 3);

    // The pass on a clock of January 2040 creates that month: the stray row moves into it.
    const auto pass = s->maintainPartitions(msOf("2040-01-05"), std::nullopt);
    REQUIRE(pass);
    CHECK(pass->created == 5);
    CHECK(pass->defaultRows == 1);
    CHECK(partitionOf(url, farOff.id) == "responses_p204001");
    CHECK(test::ingestOk(*s, request({farOff}, later + kDayMs)) == std::vector{Outcome::Duplicate});
    CHECK(s->counts()->responses == 3);
    // Reads across partitions: the export in id order, the ratings count, the day sums.
    auto page = s->exportPage({}, "", 10);
    REQUIRE(page);
    REQUIRE(page->size() == 3);
    CHECK(page->at(0).response == inMonth);
    CHECK(page->at(1).response == farOff);
    CHECK(page->at(2).response == notV7);
    CHECK(s->countRatings("store-1", farMs - 1000, farMs + 1000, 2).value() == 1);
    const auto days = s->dailyTallies("store-1", "2040-01-01", "2040-01-31");
    REQUIRE(days);
    REQUIRE(days->size() == 1);
    CHECK(days->front().second.counted == 1);
}

TEST_CASE("partitions: retention on a fake clock drops the oldest month, keeps the rest, and the day sums of the "
          "dropped month still answer",
          "[.pg]") {
    test::TempDir dir;
    const std::string url = pgDatabase(dir);
    auto s = test::openStorage(url);
    enrol(*s, "kiosk-1", "store-1");
    core::FakeClock clock(msOf("2031-01-10"), 0);
    hq::Metrics metrics;
    const auto own = test::openStorage(url);
    hq::PartitionWorker worker(*own, clock, hq::RetentionConfig{2}, metrics);
    const auto first = worker.runPass();
    REQUIRE(first);
    CHECK(first->created == 5);   // 2030-12 .. 2031-04
    // The months the migration made around the machine's own clock are years older: gone already.
    for (const auto& name : first->dropped) CHECK(name < "responses_p203011");
    const std::string before = monthPartitions(url);
    CHECK(before.starts_with("responses_p203012,responses_p203101,"));

    core::UuidV7Generator ids(11);
    std::vector<core::Response> december, january;
    for (int i = 0; i < 3; ++i) {
        const std::int64_t t = msOf("2030-12-20") + i * 3'600'000;
        december.push_back(test::makeResponse(ids.next(t), "store-1", "kiosk-1", t, 5));
    }
    for (int i = 0; i < 2; ++i) {
        const std::int64_t t = msOf("2031-01-08") + i * 3'600'000;
        january.push_back(test::makeResponse(ids.next(t), "store-1", "kiosk-1", t, 3));
    }
    auto all = december;
    all.insert(all.end(), january.begin(), january.end());
    test::ingestOk(*s, request(all, clock.now().utcMs));
    CHECK(partitionOf(url, december[0].id) == "responses_p203012");

    // The same UTC day: a tick only counts the default partition.
    clock.advance(3'600'000);
    worker.tick();
    CHECK(monthPartitions(url) == before);
    CHECK(s->counts()->responses == 5);

    // March 2031 with 2 months kept: January and February stay, December goes.
    clock.advance(msOf("2031-03-05") - clock.now().utcMs);
    const auto pass = worker.runPass();
    REQUIRE(pass);
    CHECK(pass->dropped == std::vector<std::string>{"responses_p203012"});
    CHECK(pass->created == 2);   // 2031-05, 2031-06
    const std::string after = monthPartitions(url);
    CHECK(after.find("responses_p203012") == std::string::npos);
    CHECK(after.find("responses_p203101,responses_p203102") != std::string::npos);
    CHECK(s->counts()->responses == 2);
    auto page = s->exportPage({}, "", 10);
    REQUIRE(page);
    REQUIRE(page->size() == 2);
    CHECK(page->at(0).response == january[0]);

    // The dashboard's history survives: December's day sums are intact.
    const auto days = s->dailyTallies("store-1", "2030-12-01", "2030-12-31");
    REQUIRE(days);
    REQUIRE(days->size() == 1);
    CHECK(days->front().first == "2030-12-20");
    CHECK(days->front().second.counted == 3);
    CHECK(days->front().second.satisfied == 3);
    const std::string text = metrics.render();
    CHECK(text.find("segue_hq_response_partitions_dropped_total " + std::to_string(first->dropped.size() + 1)) !=
          std::string::npos);
    CHECK(text.find("segue_hq_response_partitions_created_total 7") != std::string::npos);
    CHECK(text.find("segue_hq_responses_default_partition_rows 0") != std::string::npos);

    // Without [retention] nothing is dropped, however old.
    hq::PartitionWorker keepAll(*own, clock, hq::RetentionConfig{}, metrics);
    clock.advance(400 * kDayMs);
    const auto none = keepAll.runPass();
    REQUIRE(none);
    CHECK(none->dropped.empty());
    CHECK(s->counts()->responses == 2);
}

TEST_CASE("partitions: SQLite keeps one responses table; the partition calls change nothing there", "[storage]") {
    test::TempDir dir;
    auto s = test::openStorage("sqlite:" + (dir / "hq.sqlite").string());
    const auto pass = s->maintainPartitions(msOf("2031-05-17"), 1);
    REQUIRE(pass);
    CHECK_FALSE(pass->partitioned);
    CHECK(pass->created == 0);
    CHECK(pass->dropped.empty());
    CHECK(s->defaultPartitionRows().value() == std::nullopt);
    const auto step = s->migrateResponsesStep(msOf("2031-05-17"), 100);
    REQUIRE_FALSE(step);
    CHECK(step.error().kind == hq::StorageError::Kind::Config);
    CHECK(s->tryOperationLock(hq::Storage::OperationLock::Migrate).value() != nullptr);
}
