// HQ storage: every case runs against SQLite, and against PostgreSQL when SEGUE_TEST_PG_URL is set
// (tests/hq/run_with_pg.sh starts a throwaway PostgreSQL 15 cluster and sets it).
#include <algorithm>
#include <chrono>
#include <future>
#include <map>
#include <set>
#include <thread>

#include <catch2/catch.hpp>
#include <sqlite3.h>

#include "core/scoring.hpp"
#include "hq/storage.hpp"
#include "hq/token.hpp"
#include "tests/hq/hq_test_support.hpp"

using namespace segue;
using hq::Outcome;

namespace {

std::string enrol(hq::Storage& s, const std::string& device, const std::string& store) {
    const std::string token = hq::generateToken();
    const auto r = s.addDevice({device, store, "Kiosk " + device, hq::hashToken(token), 1'795'000'000'000});
    REQUIRE(r);
    return token;
}

hq::IngestRequest request(const std::string& device, std::vector<core::Response> records,
                          const std::string& batchId = "0190f1e2-3a4b-7c5d-8e6f-0123456789ab") {
    hq::IngestRequest req;
    req.deviceId = device;
    req.batchId = batchId;
    req.receivedAtMs = 1'795'100'000'000;
    req.pending = 5;
    req.appVersion = "0.1.0";
    req.clockOffsetMs = 1500;
    req.records = std::move(records);
    return req;
}

std::vector<core::Response> exportAll(hq::Storage& s, const hq::ExportFilter& f, int pageSize) {
    std::vector<core::Response> out;
    std::string after;
    for (;;) {
        auto page = s.exportPage(f, after, pageSize);
        REQUIRE(page);
        for (const auto& r : *page) out.push_back(r.response);
        if (static_cast<int>(page->size()) < pageSize) return out;
        after = page->back().response.id;
    }
}

/// A trigger that fails any insert into `table` whose `column` is `value` with "refused by the
/// test": it stands in for any statement error, on either back end.
void refuseInserts(const std::string& url, const std::string& table, const std::string& column,
                   const std::string& value) {
    const std::string when = "NEW." + column + " = '" + value + "'";
    if (url.starts_with("sqlite:")) {
        test::execSql(url, "CREATE TRIGGER refuse BEFORE INSERT ON " + table + " WHEN " + when +
                               " BEGIN SELECT RAISE(ABORT, 'refused by the test'); END");
        return;
    }
    test::execSql(url, "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF " + when +
                           " THEN RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$");
    test::execSql(url, "CREATE TRIGGER refuse BEFORE INSERT ON " + table + " FOR EACH ROW EXECUTE FUNCTION refuse()");
}

} // namespace

TEST_CASE("storage: a new database is migrated, reopened intact, and a newer schema is refused", "[storage]") {
    test::TempDir dir;
    for (const auto& url : test::storageUrls(dir)) {
        INFO(url);
        {
            auto s = test::openStorage(url);
            CHECK(s->schemaVersion() == hq::kSchemaVersion);
            enrol(*s, "kiosk-1", "store-1");
        }
        {
            auto s = test::openStorage(url);   // migrating again is a no-op that keeps the rows
            CHECK(s->schemaVersion() == hq::kSchemaVersion);
            const auto devices = s->listDevices();
            REQUIRE(devices);
            CHECK(devices->size() == 1);
        }
        test::execSql(url, "UPDATE schema_version SET version = 99");
        const auto refused = hq::openStorage(url);
        REQUIRE_FALSE(refused);
        CHECK(refused.error().kind == hq::StorageError::Kind::Schema);
        CHECK_THAT(refused.error().message, Catch::Contains("99"));
    }
}

TEST_CASE("storage: a version 3 database loses the two date indexes nothing reads, and keeps its rows", "[storage]") {
    test::TempDir dir;
    for (const auto& url : test::storageUrls(dir)) {
        INFO(url);
        const auto batch = test::ResponseFactory("store-1", "kiosk-1").make(40);
        {
            auto s = test::openStorage(url);
            enrol(*s, "kiosk-1", "store-1");
            test::ingestOk(*s, request("kiosk-1", batch));
        }
        // What a version 3 HQ left behind: the same tables with the two indexes.
        test::execSql(url, "CREATE INDEX responses_store_date ON responses(store_id, local_date)");
        test::execSql(url, "CREATE INDEX responses_date ON responses(local_date)");
        test::execSql(url, "UPDATE schema_version SET version = 3");

        auto s = test::openStorage(url);
        CHECK(s->schemaVersion() == hq::kSchemaVersion);
        // Gone: making them again succeeds (it would fail on an index that exists).
        CHECK_NOTHROW(test::execSql(url, "CREATE INDEX responses_store_date ON responses(store_id, local_date)"));
        CHECK_NOTHROW(test::execSql(url, "CREATE INDEX responses_date ON responses(local_date)"));
        const auto exported = exportAll(*s, hq::ExportFilter{}, 15);
        CHECK(exported == batch);
        CHECK(test::ingestOk(*s, request("kiosk-1", batch)) == std::vector<Outcome>(batch.size(), Outcome::Duplicate));
    }
}

TEST_CASE("storage: an unknown URL scheme is a configuration error", "[storage]") {
    for (const char* url : {"mysql://x", "sqlite:", "", "/tmp/hq.sqlite"}) {
        const auto s = hq::openStorage(url);
        REQUIRE_FALSE(s);
        CHECK(s.error().kind == hq::StorageError::Kind::Config);
    }
    const auto unreachable = hq::openStorage("sqlite:/nonexistent-dir/sub/hq.sqlite");
    REQUIRE_FALSE(unreachable);
    CHECK(unreachable.error().kind == hq::StorageError::Kind::Io);
}

TEST_CASE("storage: devices are enrolled, found by token hash, listed and revoked", "[storage]") {
    test::TempDir dir;
    for (const auto& url : test::storageUrls(dir)) {
        INFO(url);
        auto s = test::openStorage(url);
        const std::string t1 = enrol(*s, "kiosk-1", "store-1");
        const std::string t2 = enrol(*s, "kiosk-2", "store-2");
        CHECK(t1 != t2);

        const auto again = s->addDevice({"kiosk-1", "store-1", "again", hq::hashToken("other"), 1});
        REQUIRE_FALSE(again);
        CHECK(again.error().kind == hq::StorageError::Kind::Invalid);
        CHECK(s->storeExists("store-1").value());
        CHECK(s->storeExists("store-2").value());
        CHECK_FALSE(s->storeExists("store-3").value());

        const auto found = s->deviceByTokenHash(hq::hashToken(t2));
        REQUIRE(found);
        REQUIRE(*found);
        CHECK((*found)->deviceId == "kiosk-2");
        CHECK((*found)->storeId == "store-2");
        CHECK_FALSE((*found)->revoked);
        CHECK_FALSE(s->deviceByTokenHash(hq::hashToken("not a token")).value());
        // The clear token is not what is stored.
        CHECK_FALSE(s->deviceByTokenHash(t2).value());

        CHECK(s->revokeDevice("kiosk-2").value());
        CHECK_FALSE(s->revokeDevice("kiosk-9").value());
        CHECK((*s->deviceByTokenHash(hq::hashToken(t2)))->revoked);

        const auto list = s->listDevices();
        REQUIRE(list);
        REQUIRE(list->size() == 2);
        CHECK((*list)[0].id == "kiosk-1");
        CHECK_FALSE((*list)[0].revoked);
        CHECK((*list)[0].name == "Kiosk kiosk-1");
        CHECK_FALSE((*list)[0].lastSeenMs);
        CHECK((*list)[1].revoked);
    }
}

TEST_CASE("storage: on SQLite a token lookup answers while a batch waits for the file's write lock", "[storage]") {
    // Every request starts with a token lookup. It must not queue behind the writer: under a
    // fleet that wait was most of a request's latency.
    test::TempDir dir;
    const auto file = dir / "hq.sqlite";
    auto s = test::openStorage("sqlite:" + file.string());
    const std::string token = enrol(*s, "kiosk-1", "store-1");

    // Another process holds the write lock, so the batch below waits inside the writer.
    sqlite3* other = nullptr;
    REQUIRE(sqlite3_open(file.c_str(), &other) == SQLITE_OK);
    REQUIRE(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK);
    auto ingesting = std::async(std::launch::async, [&] {
        return s->ingest(request("kiosk-1", test::ResponseFactory("store-1", "kiosk-1").make(10)));
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));   // into the busy wait

    auto lookup = std::async(std::launch::async, [&] { return s->deviceByTokenHash(hq::hashToken(token)); });
    // A bound for a stuck lookup, not a speed target: it would wait until the lock is released.
    const bool answered = lookup.wait_for(std::chrono::seconds(5)) == std::future_status::ready;
    REQUIRE(sqlite3_exec(other, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(other);
    CHECK(answered);
    const auto found = lookup.get();
    REQUIRE(found);
    REQUIRE(*found);
    CHECK((*found)->deviceId == "kiosk-1");
    const auto stored = ingesting.get();
    REQUIRE(stored);
    CHECK(std::count(stored->begin(), stored->end(), Outcome::Accepted) == 10);
}

TEST_CASE("storage: read tokens have a role and only the read role is accepted", "[storage]") {
    test::TempDir dir;
    for (const auto& url : test::storageUrls(dir)) {
        INFO(url);
        auto s = test::openStorage(url);
        const std::string token = hq::generateToken();
        REQUIRE(s->addToken(hq::hashToken(token), "read", 1));
        CHECK(s->tokenRole(hq::hashToken(token)).value() == std::optional<std::string>("read"));
        CHECK_FALSE(s->tokenRole(hq::hashToken("guess")).value());
        const auto admin = s->addToken(hq::hashToken("x"), "admin", 1);
        REQUIRE_FALSE(admin);
        CHECK(admin.error().kind == hq::StorageError::Kind::Invalid);
    }
}

TEST_CASE("storage: a response is stored once, a resend is a duplicate and different content a kept conflict", "[storage]") {
    test::TempDir dir;
    for (const auto& url : test::storageUrls(dir)) {
        INFO(url);
        auto s = test::openStorage(url);
        enrol(*s, "kiosk-1", "store-1");
        test::ResponseFactory f("store-1", "kiosk-1");
        const auto batch = f.make(3);

        CHECK(test::ingestOk(*s, request("kiosk-1", batch)) == std::vector{Outcome::Accepted, Outcome::Accepted, Outcome::Accepted});
        CHECK(test::ingestOk(*s, request("kiosk-1", batch)) ==
              std::vector{Outcome::Duplicate, Outcome::Duplicate, Outcome::Duplicate});

        auto changed = batch;
        changed[1].stars = changed[1].stars == 5 ? 4 : 5;
        const auto fresh = f.next();
        changed.push_back(fresh);
        CHECK(test::ingestOk(*s, request("kiosk-1", changed)) ==
              std::vector{Outcome::Duplicate, Outcome::Conflict, Outcome::Duplicate, Outcome::Accepted});
        // The same conflicting record again is still a conflict, and kept only once.
        CHECK(test::ingestOk(*s, request("kiosk-1", {changed[1]})) == std::vector{Outcome::Conflict});
        // A conflict also arrives through IngestRequest::conflicts (an id repeated inside one body).
        auto repeated = request("kiosk-1", {});
        auto other = batch[0];
        other.durationMs += 1;
        repeated.conflicts.push_back(other);
        CHECK(test::ingestOk(*s, repeated).empty());

        const auto counts = s->counts();
        REQUIRE(counts);
        CHECK(counts->responses == 4);
        CHECK(counts->conflicts == 2);
        CHECK(counts->rejections == 0);

        // What is stored is the first version, byte for byte.
        const auto stored = exportAll(*s, {}, 100);
        REQUIRE(stored.size() == 4);
        CHECK(stored[1] == batch[1]);
        CHECK(stored[3] == fresh);
        CHECK(s->listDevices()->front().rejected == 2);
    }
}

TEST_CASE("storage: refused records are kept with their reason and the device status is updated", "[storage]") {
    test::TempDir dir;
    for (const auto& url : test::storageUrls(dir)) {
        INFO(url);
        auto s = test::openStorage(url);
        enrol(*s, "kiosk-1", "store-1");
        enrol(*s, "kiosk-2", "store-1");
        auto req = request("kiosk-1", test::ResponseFactory("store-1", "kiosk-1").make(2));
        req.refused.push_back({"0190f1e2-3a4b-7c5d-8e6f-000000000009", "stars must be 1..5", R"({"stars":9})"});
        req.refused.push_back({"", "record is not an object", "42"});
        CHECK(test::ingestOk(*s, req).size() == 2);
        // The same refused records again (a lost reply, resent) are not counted twice.
        CHECK(test::ingestOk(*s, req) == std::vector{Outcome::Duplicate, Outcome::Duplicate});

        auto later = request("kiosk-1", {});
        later.receivedAtMs += 60'000;
        later.pending = 0;
        later.appVersion = "0.2.0";
        later.clockOffsetMs.reset();   // keeps the last known offset
        CHECK(test::ingestOk(*s, later).empty());

        const auto counts = s->counts();
        REQUIRE(counts);
        CHECK(counts->rejections == 2);
        const auto devices = s->listDevices();
        REQUIRE(devices);
        const auto& d = (*devices)[0];
        CHECK(d.id == "kiosk-1");
        CHECK(d.lastSeenMs == std::optional<std::int64_t>(1'795'100'060'000));
        CHECK(d.lastPending == std::optional<std::int64_t>(0));
        CHECK(d.appVersion == std::optional<std::string>("0.2.0"));
        CHECK(d.clockOffsetMs == std::optional<std::int64_t>(1500));
        CHECK(d.rejected == 2);
        CHECK((*devices)[1].rejected == 0);
        CHECK_FALSE((*devices)[1].lastSeenMs);
    }
}

TEST_CASE("storage: a batch of 1000 records is stored in one go, and resent as 1000 duplicates", "[storage]") {
    test::TempDir dir;
    for (const auto& url : test::storageUrls(dir)) {
        INFO(url);
        auto s = test::openStorage(url);
        enrol(*s, "kiosk-1", "store-1");
        const auto batch = test::ResponseFactory("store-1", "kiosk-1", 9).make(1000);
        const auto first = test::ingestOk(*s, request("kiosk-1", batch));
        CHECK(std::count(first.begin(), first.end(), Outcome::Accepted) == 1000);
        const auto again = test::ingestOk(*s, request("kiosk-1", batch));
        CHECK(std::count(again.begin(), again.end(), Outcome::Duplicate) == 1000);
        CHECK(s->counts()->responses == 1000);
        CHECK(exportAll(*s, {}, 333) == batch);
    }
}

TEST_CASE("storage: daily tallies from SQL equal core::Tally::add over the same responses", "[storage]") {
    test::TempDir dir;
    for (const auto& url : test::storageUrls(dir)) {
        INFO(url);
        auto s = test::openStorage(url);
        enrol(*s, "kiosk-1", "store-1");
        enrol(*s, "kiosk-2", "store-1");
        enrol(*s, "kiosk-9", "store-9");
        const auto a = test::ResponseFactory("store-1", "kiosk-1", 1).make(400);
        const auto b = test::ResponseFactory("store-1", "kiosk-2", 2).make(300);
        const auto other = test::ResponseFactory("store-9", "kiosk-9", 3).make(200);
        test::ingestOk(*s, request("kiosk-1", a));
        test::ingestOk(*s, request("kiosk-2", b));
        test::ingestOk(*s, request("kiosk-9", other));

        std::map<std::string, core::Tally> expected;
        for (const auto* set : {&a, &b})
            for (const auto& r : *set) expected[r.localDate].add(r);
        REQUIRE(expected.size() > 10);
        const std::string from = std::next(expected.begin(), 2)->first;
        const std::string to = std::prev(expected.end(), 3)->first;

        const auto got = s->dailyTallies("store-1", from, to);
        REQUIRE(got);
        std::vector<std::pair<std::string, core::Tally>> want;
        for (const auto& [date, t] : expected)
            if (date >= from && date <= to) want.emplace_back(date, t);
        REQUIRE(got->size() == want.size());
        for (std::size_t i = 0; i < want.size(); ++i) {
            INFO(want[i].first);
            CHECK((*got)[i].first == want[i].first);
            CHECK((*got)[i].second == want[i].second);
        }
        // Misuse, partial, tags and unanswered items all occur, so every column was exercised.
        core::Tally all;
        for (const auto& [date, t] : want) all.merge(t);
        CHECK(all.misuse > 0);
        CHECK(all.partial > 0);
        CHECK(all.tags.size() == 6);
        CHECK(all.segueCount[0] < all.counted);

        CHECK(s->dailyTallies("store-1", "2020-01-01", "2020-12-31")->empty());
        CHECK(s->storePending("store-1").value() == 10);   // 5 + 5 from the two devices' last batches
        REQUIRE(s->revokeDevice("kiosk-2").value());
        CHECK(s->storePending("store-1").value() == 5);
        CHECK(s->storePending("store-404").value() == 0);
    }
}

TEST_CASE("storage: the export pages by id and applies date and store filters", "[storage]") {
    test::TempDir dir;
    for (const auto& url : test::storageUrls(dir)) {
        INFO(url);
        auto s = test::openStorage(url);
        enrol(*s, "kiosk-1", "store-1");
        enrol(*s, "kiosk-2", "store-2");
        auto a = test::ResponseFactory("store-1", "kiosk-1", 5).make(150);
        auto b = test::ResponseFactory("store-2", "kiosk-2", 6).make(150);
        test::ingestOk(*s, request("kiosk-1", a));
        test::ingestOk(*s, request("kiosk-2", b));

        std::vector<core::Response> all = a;
        all.insert(all.end(), b.begin(), b.end());
        std::sort(all.begin(), all.end(), [](const auto& x, const auto& y) { return x.id < y.id; });
        CHECK(exportAll(*s, {}, 7) == all);
        CHECK(exportAll(*s, {}, 1000) == all);

        const std::string from = a[20].localDate, to = a[100].localDate;
        std::vector<core::Response> want;
        for (const auto& r : all)
            if (r.storeId == "store-1" && r.localDate >= from && r.localDate <= to) want.push_back(r);
        REQUIRE(want.size() >= 80);
        CHECK(exportAll(*s, {from, to, std::string("store-1")}, 10) == want);
        CHECK(exportAll(*s, {std::nullopt, std::nullopt, std::string("store-3")}, 10).empty());

        const auto page = s->exportPage({}, all[0].id, 1);
        REQUIRE(page);
        REQUIRE(page->size() == 1);
        CHECK(page->front().response == all[1]);
        CHECK(page->front().receivedAtMs == 1'795'100'000'000);
    }
}

TEST_CASE("storage: concurrent batches with overlapping ids store every response exactly once", "[storage]") {
    test::TempDir dir;
    for (const auto& url : test::storageUrls(dir)) {
        INFO(url);
        auto s = test::openStorage(url);
        enrol(*s, "kiosk-1", "store-1");
        const auto records = test::ResponseFactory("store-1", "kiosk-1", 11).make(600);
        constexpr int kThreads = 6;
        std::vector<std::vector<Outcome>> results(kThreads);
        std::vector<std::string> errors(kThreads);
        {
            std::vector<std::jthread> threads;
            for (int t = 0; t < kThreads; ++t)
                threads.emplace_back([&, t] {
                    // Each thread sends an overlapping window: records [t*50, t*50 + 300).
                    std::vector<core::Response> slice(records.begin() + t * 50, records.begin() + t * 50 + 300);
                    auto out = s->ingest(request("kiosk-1", slice));
                    if (out) results[static_cast<std::size_t>(t)] = *out;
                    else errors[static_cast<std::size_t>(t)] = out.error().message;
                });
        }
        std::map<std::string, int> accepted;
        for (int t = 0; t < kThreads; ++t) {
            INFO("thread " << t);
            CHECK(errors[static_cast<std::size_t>(t)].empty());
            REQUIRE(results[static_cast<std::size_t>(t)].size() == 300);
            for (int i = 0; i < 300; ++i) {
                const auto o = results[static_cast<std::size_t>(t)][static_cast<std::size_t>(i)];
                CHECK(o != Outcome::Conflict);
                if (o == Outcome::Accepted) ++accepted[records[static_cast<std::size_t>(t * 50 + i)].id];
            }
        }
        const std::size_t covered = (kThreads - 1) * 50 + 300;
        CHECK(accepted.size() == covered);
        CHECK(std::all_of(accepted.begin(), accepted.end(), [](const auto& e) { return e.second == 1; }));
        CHECK(s->counts()->responses == static_cast<std::int64_t>(covered));
    }
}

TEST_CASE("storage: a batch whose day sums cannot be written is not stored at all", "[storage]") {
    // The sums are written after the records (on PostgreSQL in a second round of statements):
    // a failure there must take the records, the conflicts and the device status back with it.
    test::TempDir dir;
    for (const auto& url : test::storageUrls(dir)) {
        INFO(url);
        auto s = test::openStorage(url);
        enrol(*s, "kiosk-1", "store-1");
        enrol(*s, "kiosk-2", "store-2");
        refuseInserts(url, "day_tallies", "store_id", "store-2");
        const auto good = test::ResponseFactory("store-1", "kiosk-1", 1).make(30);
        auto bad = test::ResponseFactory("store-2", "kiosk-2", 2).make(30);
        for (int round = 0; round < 3; ++round) {   // the connection that failed is fine afterwards
            auto refused = s->ingest(request("kiosk-2", bad));
            REQUIRE_FALSE(refused);
            CHECK_THAT(refused.error().message, Catch::Contains("refused by the test"));
        }
        CHECK(s->counts()->responses == 0);
        const auto devices = s->listDevices();
        REQUIRE(devices);
        for (const auto& d : *devices) CHECK_FALSE(d.lastSeenMs.has_value());
        CHECK(test::ingestOk(*s, request("kiosk-1", good)) == std::vector<Outcome>(good.size(), Outcome::Accepted));
        CHECK(s->counts()->responses == static_cast<std::int64_t>(good.size()));
        CHECK(exportAll(*s, hq::ExportFilter{}, 100) == good);
    }
}

TEST_CASE("storage: among batches written together, a failing one fails alone and leaves no trace", "[storage]") {
    test::TempDir dir;
    for (const auto& url : test::storageUrls(dir)) {
        INFO(url);
        auto s = test::openStorage(url);
        constexpr int kThreads = 12, kBatches = 5, kPerBatch = 40;
        for (int t = 0; t < kThreads; ++t) enrol(*s, "kiosk-" + std::to_string(t), "store-" + std::to_string(t % 3));
        std::vector<std::vector<std::vector<core::Response>>> batches(kThreads);
        for (int t = 0; t < kThreads; ++t) {
            test::ResponseFactory f("store-" + std::to_string(t % 3), "kiosk-" + std::to_string(t),
                                    static_cast<std::uint64_t>(100 + t));
            for (int b = 0; b < kBatches; ++b) batches[static_cast<std::size_t>(t)].push_back(f.make(kPerBatch));
        }
        // Every odd thread's third batch holds a record the database refuses (a trigger stands in
        // for any statement error), so that batch fails as a whole.
        auto isBad = [](int t, int b) { return t % 2 == 1 && b == 2; };
        for (int t = 1; t < kThreads; t += 2) batches[static_cast<std::size_t>(t)][2][17].surveyId = "refuse-me";
        refuseInserts(url, "responses", "survey_id", "refuse-me");

        std::vector<std::vector<bool>> ok(kThreads, std::vector<bool>(kBatches, false));
        std::vector<std::vector<std::size_t>> accepted(kThreads, std::vector<std::size_t>(kBatches, 0));
        {
            std::vector<std::jthread> threads;
            for (int t = 0; t < kThreads; ++t)
                threads.emplace_back([&, t] {
                    for (int b = 0; b < kBatches; ++b) {
                        const auto& records = batches[static_cast<std::size_t>(t)][static_cast<std::size_t>(b)];
                        auto out = s->ingest(request("kiosk-" + std::to_string(t), records));
                        ok[static_cast<std::size_t>(t)][static_cast<std::size_t>(b)] = out.has_value();
                        if (out)
                            accepted[static_cast<std::size_t>(t)][static_cast<std::size_t>(b)] = static_cast<std::size_t>(
                                std::count(out->begin(), out->end(), Outcome::Accepted));
                    }
                });
        }
        std::int64_t good = 0;
        std::map<std::string, core::Tally> expected;
        for (int t = 0; t < kThreads; ++t)
            for (int b = 0; b < kBatches; ++b) {
                INFO("thread " << t << " batch " << b);
                const auto i = static_cast<std::size_t>(t), j = static_cast<std::size_t>(b);
                CHECK(ok[i][j] == !isBad(t, b));
                if (isBad(t, b)) continue;
                CHECK(accepted[i][j] == static_cast<std::size_t>(kPerBatch));
                good += kPerBatch;
                for (const auto& r : batches[i][j]) expected[r.storeId].add(r);
            }
        CHECK(s->counts()->responses == good);
        // The failed batches' records are neither stored nor summed.
        std::set<std::string> stored;
        for (const auto& r : exportAll(*s, hq::ExportFilter{}, 1000)) stored.insert(r.id);
        CHECK(stored.size() == static_cast<std::size_t>(good));
        for (int t = 1; t < kThreads; t += 2)
            for (const auto& r : batches[static_cast<std::size_t>(t)][2]) CHECK_FALSE(stored.contains(r.id));
        auto sums = s->dailyTalliesAll("2000-01-01", "2100-01-01");
        REQUIRE(sums);
        for (const auto& [store, want] : expected) {
            core::Tally got;
            for (const auto& [date, t] : (*sums)[store]) got.merge(t);
            INFO(store);
            CHECK(got.counted == want.counted);
            CHECK(got.misuse == want.misuse);
            CHECK(got.starSum == want.starSum);
        }
    }
}

TEST_CASE("storage: text with quotes, backslashes, commas, braces and CJK is stored exactly", "[storage]") {
    test::TempDir dir;
    for (const auto& url : test::storageUrls(dir)) {
        INFO(url);
        auto s = test::openStorage(url);
        enrol(*s, "kiosk-1", "store-1");
        auto records = test::ResponseFactory("store-1", "kiosk-1", 5).make(3);
        records[0].tags = {"say \"hi\"", "back\\slash", "a,b", "{braces}", "NULL", "等待时间长", ""};
        records[0].surveyId = "survey \"q\" \\ {x}";
        records[1].tags = {};
        records[1].language = "zh-CN";
        records[2].segue = {};   // every item unanswered
        const auto out = test::ingestOk(*s, request("kiosk-1", records));
        CHECK(out == std::vector<Outcome>(3, Outcome::Accepted));
        auto back = exportAll(*s, hq::ExportFilter{}, 10);
        REQUIRE(back.size() == 3);
        std::sort(records.begin(), records.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
        for (std::size_t i = 0; i < 3; ++i) CHECK(back[i] == records[i]);
        // The same records again are duplicates, not conflicts: what was stored compares equal.
        CHECK(test::ingestOk(*s, request("kiosk-1", records)) == std::vector<Outcome>(3, Outcome::Duplicate));
    }
}
