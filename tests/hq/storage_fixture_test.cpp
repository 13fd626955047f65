// HQ databases written by the release before storage was written once (schema 4, segue-hq at
// eb6726a; tests/hq/fixtures/make_fixtures.sh made them through its real API): they open with
// this build, keep every row and figure, and take new batches. SQLite always; PostgreSQL when
// SEGUE_TEST_PG_URL is set (tests/hq/run_with_pg.sh).
#include <fstream>
#include <map>
#include <sstream>

#include <catch2/catch.hpp>

#include "core/scoring.hpp"
#include "hq/storage.hpp"
#include "hq/token.hpp"
#include "sync/wire.hpp"
#include "tests/hq/hq_test_support.hpp"

using namespace segue;
using hq::Outcome;

namespace {

std::string readFile(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    REQUIRE(in);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

/// The CSV export as the API streams it (wire::csvHeader + csvRow over exportPage).
std::string csvExport(hq::Storage& s, std::vector<core::Response>* all) {
    std::string csv = wire::csvHeader(true);
    std::string after;
    for (int pages = 0; pages < 1000; ++pages) {
        auto page = s.exportPage({}, after, 128);
        REQUIRE(page);
        for (const auto& row : *page) {
            csv += wire::csvRow(row.response, row.receivedAtMs);
            all->push_back(row.response);
        }
        if (page->size() < 128) return csv;
        after = page->back().response.id;
    }
    FAIL("the export did not end");
    return csv;
}

/// The export as the schema 4 release wrote it: without the column added since,
/// callback_requested (next to last, before received_at; never quoted), which must say false for
/// every row those releases stored.
std::string withoutCallbackColumn(const std::string& csv) {
    std::string out;
    std::size_t lines = 0;
    for (std::size_t from = 0; from < csv.size();) {
        const std::size_t end = csv.find("\r\n", from);
        REQUIRE(end != std::string::npos);
        const std::string line = csv.substr(from, end - from);
        const std::size_t last = line.rfind(',');
        const std::size_t before = line.rfind(',', last - 1);
        REQUIRE(before != std::string::npos);
        CHECK(line.substr(before + 1, last - before - 1) == (lines++ == 0 ? "callback_requested" : "false"));
        out += line.substr(0, before) + line.substr(last) + "\r\n";
        from = end + 2;
    }
    return out;
}

struct Fixture {
    hq::Storage::Counts counts;
    std::size_t devices = 0, alerts = 0;
    std::int64_t demoRejected = 0;   ///< the demo kiosk's refused records and conflicts
    std::string csvSha256;           ///< of GET /api/v1/responses.csv from segue-hq at eb6726a
};

} // namespace

TEST_CASE("storage: a database written by the schema 4 release opens, keeps every row and figure, takes new batches",
          "[storage]") {
    test::TempDir dir;
    const std::filesystem::path fixtures = SEGUE_HQ_FIXTURES;
    for (const auto& url : test::storageUrls(dir)) {
        INFO(url);
        const bool sqlite = url.starts_with("sqlite:");
        Fixture want;
        if (sqlite) {
            std::filesystem::copy_file(fixtures / "hq-v4.sqlite", url.substr(7));
            want = {{300, 1, 2}, 2, 1, 3, "b9c67bd421e4812b3e38f30b9b41a89843e39bbaf69e0c733234bf499ca93adb"};
        } else {
            test::pgExec(url, readFile(fixtures / "hq-v4.pg.sql"));
            want = {{300, 1, 2}, 2, 1, 3, "e612b6859819787b88925eb77da68bfda3c35aaa513cfc08c683cf9153801a39"};
        }
        auto s = test::openStorage(url);
        CHECK(s->schemaVersion() == hq::kSchemaVersion);

        // Every row: the three kept tables, the devices, the alerts, and the export byte for byte.
        const auto counts = s->counts();
        REQUIRE(counts);
        CHECK(counts->responses == want.counts.responses);
        CHECK(counts->conflicts == want.counts.conflicts);
        CHECK(counts->rejections == want.counts.rejections);
        const auto devices = s->listDevices();
        REQUIRE(devices);
        REQUIRE(devices->size() == want.devices);
        std::int64_t rejected = 0;
        for (const auto& d : *devices) rejected += d.rejected;
        CHECK(rejected == want.demoRejected);
        const auto alerts = s->recentAlerts(100);
        REQUIRE(alerts);
        CHECK(alerts->size() == want.alerts);
        std::vector<core::Response> stored;
        CHECK(hq::sha256Hex(withoutCallbackColumn(csvExport(*s, &stored))) == want.csvSha256);

        // Every figure: the day sums the old release kept equal core::Tally::add over its rows.
        std::map<std::string, std::map<std::string, core::Tally>> expected;
        for (const auto& r : stored) expected[r.storeId][r.localDate].add(r);
        const auto sums = s->dailyTalliesAll("2000-01-01", "2999-12-31");
        REQUIRE(sums);
        REQUIRE(sums->size() == expected.size());
        for (const auto& [store, days] : expected) {
            INFO(store);
            const auto& got = sums->at(store);
            REQUIRE(got.size() == days.size());
            std::size_t i = 0;
            for (const auto& [date, tally] : days) {
                CHECK(got[i].first == date);
                CHECK(got[i].second == tally);
                ++i;
            }
        }

        // New batches: the enrolled but silent kiosk sends one; a resend is all duplicates.
        hq::IngestRequest req;
        req.deviceId = "kiosk-silent";
        req.batchId = "0190f1e2-3a4b-7c5d-8e6f-0123456789ff";
        req.receivedAtMs = 1'795'100'000'000;
        req.appVersion = "0.2.0";
        req.records = test::ResponseFactory("store-2", "kiosk-silent", 7).make(25);
        CHECK(test::ingestOk(*s, req) == std::vector<Outcome>(25, Outcome::Accepted));
        CHECK(test::ingestOk(*s, req) == std::vector<Outcome>(25, Outcome::Duplicate));
        CHECK(s->counts()->responses == want.counts.responses + 25);
        // A stored record sent again with other content is a conflict, as before.
        hq::IngestRequest old = req;
        old.deviceId = stored.front().deviceId;
        old.records = {stored.front()};
        old.records.front().durationMs += 1;
        CHECK(test::ingestOk(*s, old) == std::vector<Outcome>{Outcome::Conflict});
    }
}
