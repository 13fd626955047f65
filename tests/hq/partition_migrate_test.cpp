// `segue-hq migrate` on a database made before schema 14 (responses one table): rows made in bulk
// into that schema, the real binary SIGKILLed halfway through the copy, serve refusing to start on
// the half-moved database, migrate resumed to the end: every row once, the same day sums, and
// migrate refused while a serve runs. SEGUE_MIGRATE_ROWS rows (default 200 000); run under
// tests/hq/run_with_pg.sh ("[.pgmigrate]").
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "core/time.hpp"
#include "hq/sql_storage.hpp"
#include "hq/storage.hpp"
#include "hq/token.hpp"
#include "tests/hq/hq_test_support.hpp"

using namespace segue;

namespace {

constexpr std::int64_t kDayMs = 86'400'000;

/// Waits for `pid` at most `limit`; kills it past that (the test then fails on the code).
int waitBounded(pid_t pid, std::chrono::seconds limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    for (;;) {
        int status = 0;
        const pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (std::chrono::steady_clock::now() > until) {
            kill(pid, SIGKILL);
            test::waitExit(pid);
            FAIL("segue-hq did not end within " << limit.count() << " s");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

/// The largest "N of M rows copied" migrate has printed so far.
std::int64_t copiedSoFar(const std::string& err) {
    static const std::regex line(R"((\d+) of (\d+) rows copied)");
    std::int64_t best = 0;
    for (auto it = std::sregex_iterator(err.begin(), err.end(), line); it != std::sregex_iterator(); ++it)
        best = std::max<std::int64_t>(best, std::stoll((*it)[1].str()));
    return best;
}

/// What must not change: every row (count and a digest of ids and content) and the day sums.
struct Fingerprint {
    std::string rows, tallies, tags;
    bool operator==(const Fingerprint&) const = default;
};
Fingerprint fingerprint(const std::string& url) {
    return {test::pgExec(url, "SELECT count(*) || ' ' || md5(string_agg(id::text || store_id || local_date || stars || "
                              "tags::text || complete || misuse || created_at, ',' ORDER BY id)) FROM responses"),
            test::pgExec(url, "SELECT count(*) || ' ' || md5(string_agg(t::text, ',' ORDER BY store_id, local_date)) "
                              "FROM day_tallies t"),
            test::pgExec(url, "SELECT count(*) || ' ' || md5(string_agg(t::text, ',' ORDER BY store_id, local_date, tag)) "
                              "FROM day_tag_counts t")};
}

} // namespace

TEST_CASE("migrate: a database of unpartitioned responses, killed halfway and resumed, ends partitioned with every "
          "row once and the same day sums",
          "[.pgmigrate]") {
    const char* base = std::getenv("SEGUE_TEST_PG_URL");
    REQUIRE(base);   // run by tests/hq/run_with_pg.sh, which starts the cluster
    const char* rowsEnv = std::getenv("SEGUE_MIGRATE_ROWS");
    const std::int64_t rows = rowsEnv ? std::atoll(rowsEnv) : 200'000;
    REQUIRE(rows >= 10'000);
    test::TempDir dir;
    const std::string url = test::storageUrls(dir).back();

    // The schema segue-hq made before partitioning (every migration below 14), with the rows put
    // in before the day sums' migration (3) so that it backfills them, as an upgrade did.
    const auto t0 = std::chrono::steady_clock::now();
    int lastVersion = 0;
    const std::int64_t startMs = *core::daysFromIsoDate("2026-08-01") * kDayMs;
    const std::int64_t stepMs = 120 * kDayMs / rows;   // four months of responses
    for (const auto& m : hq::sqlMigrations("postgresql")) {
        if (m.version >= 14) break;
        if (m.version == 3) {
            test::execSql(url, "INSERT INTO stores SELECT 's' || g, 0 FROM generate_series(0, 49) g");
            test::execSql(
                url,
                "INSERT INTO responses SELECT "
                "(lpad(to_hex(t.ms), 12, '0') || '7' || lpad(to_hex(t.i % 4096), 3, '0') || '8' || lpad(to_hex(t.i), 15, '0'))::uuid, "
                "'s' || (t.i % 50), 'd' || (t.i % 150), 'segue-default', 1, 'zh-CN', t.ms, "
                "to_char(to_timestamp(t.ms / 1000.0) AT TIME ZONE 'UTC' + interval '8 hours', 'YYYY-MM-DD'), "
                "extract(hour FROM to_timestamp(t.ms / 1000.0) AT TIME ZONE 'UTC' + interval '8 hours'), 480, "
                "1 + t.i % 5, CASE WHEN t.i % 3 = 0 THEN NULL ELSE 1 + t.i % 5 END, 1 + (t.i / 5) % 5, NULL, "
                "1 + t.i % 4, 5, CASE WHEN t.i % 7 = 0 THEN '[\"wait_time\"]'::jsonb ELSE '[]'::jsonb END, "
                "t.i % 11 <> 0, t.i % 97 = 0, false, 6400, t.ms + 5000, '0190f1e2-3a4b-7c5d-8e6f-0123456789ab' "
                "FROM (SELECT i, " + std::to_string(startMs) + " + i::bigint * " + std::to_string(stepMs) +
                    " AS ms FROM generate_series(0, " + std::to_string(rows - 1) + ") AS i) t");
        }
        test::execSql(url, std::string(m.sql));
        lastVersion = m.version;
    }
    test::execSql(url, "CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (" +
                           std::to_string(lastVersion) + "); ANALYZE");
    const double madeS = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    CHECK(test::pgExec(url, "SELECT relkind FROM pg_class WHERE oid = 'responses'::regclass") == "r");
    const Fingerprint before = fingerprint(url);
    REQUIRE(before.rows.starts_with(std::to_string(rows) + " "));
    REQUIRE(test::pgExec(url, "SELECT sum(counted + misuse) FROM day_tallies") == std::to_string(rows));
    std::map<std::string, hq::DayTallies> sumsBefore;
    {
        // Opening it migrates the schema to 14: with rows, responses stays one table.
        auto s = test::openStorage(url);
        CHECK(test::pgExec(url, "SELECT relkind FROM pg_class WHERE oid = 'responses'::regclass") == "r");
        sumsBefore = *s->dailyTalliesAll("2026-07-01", "2026-12-31");
        CHECK(s->counts()->responses == rows);
        // Served as it is until migrated: no partitions to keep, none to count.
        const auto pass = s->maintainPartitions(*core::daysFromIsoDate("2026-12-06") * kDayMs, 1);
        REQUIRE(pass);
        CHECK_FALSE(pass->partitioned);
        CHECK(pass->dropped.empty());
        CHECK(s->defaultPartitionRows().value() == std::nullopt);
    }

    // Killed halfway through the copy.
    const auto migrateArgs = std::vector<std::string>{SEGUE_HQ_BINARY, "migrate", "--db", url, "--batch-rows", "5000"};
    const auto err1 = dir / "migrate1.err";
    const auto t1 = std::chrono::steady_clock::now();
    const pid_t first = test::spawn(migrateArgs, dir / "migrate1.out", err1);
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(180);
    while (copiedSoFar(test::readFile(err1)) < rows / 2 && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    kill(first, SIGKILL);
    CHECK(test::waitExit(first) == 128 + SIGKILL);
    const double firstS = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
    const std::int64_t killedAt = std::stoll(test::pgExec(url, "SELECT copied FROM responses_migration"));
    INFO("killed after " << killedAt << " rows");
    CHECK(killedAt >= rows / 2);
    CHECK(killedAt < rows);
    CHECK(test::pgExec(url, "SELECT count(*) FROM responses") == std::to_string(killedAt));
    CHECK(test::pgExec(url, "SELECT count(*) FROM responses_unpartitioned") == std::to_string(rows));

    // A serve on the half-moved database refuses to start (it would read half the rows).
    {
        const pid_t serve = test::spawn({SEGUE_HQ_BINARY, "serve", "--listen", "127.0.0.1:0", "--db", url,
                                         "--insecure-http-for-tests"},
                                        dir / "serve1.out", dir / "serve1.err");
        CHECK(waitBounded(serve, std::chrono::seconds(60)) == 1);
        CHECK(test::readFile(dir / "serve1.err").find("segue-hq migrate did not finish") != std::string::npos);
    }

    // Resumed: it goes on from the last committed batch to the end.
    const auto err2 = dir / "migrate2.err";
    const auto t2 = std::chrono::steady_clock::now();
    const pid_t second = test::spawn(migrateArgs, dir / "migrate2.out", err2);
    REQUIRE(waitBounded(second, std::chrono::seconds(300)) == 0);
    const double migrateS = firstS + std::chrono::duration<double>(std::chrono::steady_clock::now() - t2).count();
    const std::string log2 = test::readFile(err2);
    CHECK(log2.find("segue-hq migrate: done") != std::string::npos);
    CHECK(copiedSoFar(log2) > killedAt);
    WARN(rows << " rows made in " << madeS << " s; migrate (both runs, with the kill) " << migrateS << " s: "
              << static_cast<std::int64_t>(static_cast<double>(rows) / migrateS) << " rows/s; last run: "
              << log2.substr(log2.rfind("done")));

    CHECK(test::pgExec(url, "SELECT relkind FROM pg_class WHERE oid = 'responses'::regclass") == "p");
    CHECK(test::pgExec(url, "SELECT to_regclass('responses_unpartitioned') IS NULL") == "t");
    CHECK(test::pgExec(url, "SELECT count(*) FROM responses_migration") == "0");
    CHECK(fingerprint(url) == before);
    CHECK(test::pgExec(url, "SELECT count(*) FROM responses_default") == "0");
    CHECK(test::pgExec(url, "SELECT count(*) FROM responses_p202608") != "0");
    CHECK(test::pgExec(url, "SELECT count(*) FROM responses_p202611") != "0");
    {
        auto s = test::openStorage(url);
        CHECK(*s->dailyTalliesAll("2026-07-01", "2026-12-31") == sumsBefore);
        CHECK(s->counts()->responses == rows);
        auto page = s->exportPage({}, "", 3);
        REQUIRE(page);
        CHECK(page->size() == 3);
        // Run again on the partitioned database: nothing to do.
    }
    const auto again = test::spawn(migrateArgs, dir / "migrate3.out", dir / "migrate3.err");
    CHECK(waitBounded(again, std::chrono::seconds(60)) == 0);
    CHECK(test::readFile(dir / "migrate3.err").find("done: responses are partitioned by month (0 rows moved;") !=
          std::string::npos);

    // While a serve runs on the database, migrate refuses to start.
    const auto portFile = dir / "port";
    const pid_t serve = test::spawn({SEGUE_HQ_BINARY, "serve", "--listen", "127.0.0.1:0", "--db", url,
                                     "--insecure-http-for-tests", "--port-file", portFile.string()},
                                    dir / "serve2.out", dir / "serve2.err");
    const auto serveUntil = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!std::filesystem::exists(portFile) && std::chrono::steady_clock::now() < serveUntil)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    REQUIRE(std::filesystem::exists(portFile));
    const pid_t refused = test::spawn(migrateArgs, dir / "migrate4.out", dir / "migrate4.err");
    CHECK(waitBounded(refused, std::chrono::seconds(60)) == 1);
    CHECK(test::readFile(dir / "migrate4.err").find("a segue-hq serve (or another migrate) is using this database") !=
          std::string::npos);
    kill(serve, SIGTERM);
    CHECK(waitBounded(serve, std::chrono::seconds(60)) == 0);
}
