// Saving and reading responses: every field survives, bad input is refused whole.
#include <catch2/catch.hpp>
#include <sqlite3.h>

#include <set>

#include "core/time.hpp"
#include "store/database.hpp"
#include "store/outbox.hpp"
#include "store/responses.hpp"
#include "tests/store/support.hpp"

using namespace segue;
using namespace segue::store;
using segue::store::test::TempDir;

namespace {

core::Response fullResponse() {
    core::Response r;
    const std::int64_t at = 1'795'012'345'678;
    r.id = core::UuidV7Generator(11).next(at);
    r.storeId = "store-042";
    r.deviceId = "kiosk-7";
    r.surveyId = "segue-default";
    r.surveyVersion = 3;
    r.language = "en";
    r.createdAtMs = at;
    r.utcOffsetMin = 480;
    r.localDate = core::localDate(at, 480);
    r.localHour = core::localHour(at, 480);
    r.stars = 2;
    r.segue = {1, std::nullopt, 4, std::nullopt, 5};
    r.tags = {"waited_too_long", "attitude", "environment"};   // not sorted: order is kept
    r.complete = false;
    r.misuse = true;
    r.synthetic = true;
    r.durationMs = 12'345;
    return r;
}


/// The statements alive on a connection.
std::set<sqlite3_stmt*> liveStatements(const Database& db) {
    std::set<sqlite3_stmt*> out;
    for (sqlite3_stmt* s = sqlite3_next_stmt(db.handle(), nullptr); s != nullptr; s = sqlite3_next_stmt(db.handle(), s))
        out.insert(s);
    return out;
}

sqlite3_stmt* liveStatementStartingWith(const Database& db, std::string_view prefix) {
    for (sqlite3_stmt* s = sqlite3_next_stmt(db.handle(), nullptr); s != nullptr; s = sqlite3_next_stmt(db.handle(), s))
        if (std::string_view(sqlite3_sql(s)).starts_with(prefix)) return s;
    return nullptr;
}

} // namespace

TEST_CASE("a response round-trips every field, unanswered items and tag order included", "[store][responses]") {
    TempDir dir;
    auto db = Database::open(dir / "kiosk.sqlite");
    REQUIRE(db.has_value());

    core::Response r = fullResponse();
    REQUIRE(saveResponse(*db, r).has_value());
    auto found = findResponse(*db, r.id);
    REQUIRE(found.has_value());
    REQUIRE(found->has_value());
    CHECK(**found == r);
    CHECK((*found)->segue[1] == std::nullopt);
    CHECK((*found)->tags == std::vector<std::string>{"waited_too_long", "attitude", "environment"});

    // And the opposite flags, all items answered, no tags, a negative offset.
    core::Response other = fullResponse();
    other.id = core::UuidV7Generator(12).next(other.createdAtMs + 1);
    other.utcOffsetMin = -300;
    other.localDate = core::localDate(other.createdAtMs, -300);
    other.localHour = core::localHour(other.createdAtMs, -300);
    other.language = "zh-CN";
    other.stars = 5;
    other.segue = {5, 4, 3, 2, 1};
    other.tags.clear();
    other.complete = true;
    other.misuse = false;
    other.synthetic = false;
    REQUIRE(saveResponse(*db, other).has_value());
    CHECK(findResponse(*db, other.id)->value() == other);

    // Survives closing the connection.
    db = Database::open(dir / "kiosk.sqlite");
    REQUIRE(db.has_value());
    CHECK(findResponse(*db, r.id)->value() == r);
    CHECK(findResponse(*db, other.id)->value() == other);
}

TEST_CASE("saving adds a pending outbox row in the same transaction", "[store][responses]") {
    TempDir dir;
    auto db = Database::open(dir / "kiosk.sqlite");
    REQUIRE(db.has_value());
    const auto r = fullResponse();
    REQUIRE(saveResponse(*db, r).has_value());
    CHECK(test::rowsFor(*db, r.id) == 1 + 3 + 1);
    auto pending = pendingBatch(*db, 10);
    REQUIRE(pending.has_value());
    REQUIRE(pending->size() == 1);
    CHECK(pending->front() == r);
}

TEST_CASE("a customer's commit compiles nothing after the first: its inserts are kept on the connection",
          "[store][responses]") {
    TempDir dir;
    auto db = Database::open(dir / "kiosk.sqlite");
    REQUIRE(db.has_value());
    REQUIRE(liveStatements(*db).empty());
    auto rs = test::randomResponses(5, 51, 2);
    REQUIRE(saveResponse(*db, rs[0]).has_value());
    const auto kept = liveStatements(*db);
    CHECK(kept.size() == 4);   // the response, its tags, its outbox row, a sealed contact
    for (std::size_t i = 1; i < rs.size(); ++i) REQUIRE(saveResponse(*db, rs[i]).has_value());
    CHECK(liveStatements(*db) == kept);   // the same statements, none prepared again
    sqlite3_stmt* insert = liveStatementStartingWith(*db, "INSERT INTO responses");
    REQUIRE(insert != nullptr);
    CHECK(sqlite3_stmt_status(insert, SQLITE_STMTSTATUS_RUN, 0) >= 50);
    CHECK(test::queryInt(*db, "SELECT COUNT(*) FROM responses") == 51);
    CHECK(test::queryInt(*db, "SELECT COUNT(*) FROM outbox WHERE state = 'pending'") == 51);
    for (const auto& r : rs) CHECK(findResponse(*db, r.id)->value() == r);
}

TEST_CASE("a kept insert follows a schema change and reports a table gone from under it", "[store][responses]") {
    TempDir dir;
    auto db = Database::open(dir / "kiosk.sqlite");
    REQUIRE(db.has_value());
    auto rs = test::randomResponses(6, 3, 2);
    REQUIRE(saveResponse(*db, rs[0]).has_value());
    // SQLite prepares a kept statement again after the schema changed under it.
    REQUIRE(db->exec("CREATE INDEX responses_by_stars_test ON responses (stars)").has_value());
    REQUIRE(saveResponse(*db, rs[1]).has_value());
    CHECK(findResponse(*db, rs[1].id)->value() == rs[1]);
    REQUIRE(db->exec("DROP TABLE outbox").has_value());
    auto gone = saveResponse(*db, rs[2]);
    REQUIRE_FALSE(gone.has_value());
    CHECK_THAT(gone.error().message, Catch::Contains(rs[2].id) && Catch::Contains("outbox"));
    CHECK(test::queryInt(*db, "SELECT COUNT(*) FROM responses") == 2);   // rolled back whole
}

TEST_CASE("an unknown id is found as nothing", "[store][responses]") {
    TempDir dir;
    auto db = Database::open(dir / "kiosk.sqlite");
    REQUIRE(db.has_value());
    auto found = findResponse(*db, "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b");
    REQUIRE(found.has_value());
    CHECK_FALSE(found->has_value());
}

TEST_CASE("saving an id twice is an Invalid error and keeps the first record", "[store][responses]") {
    TempDir dir;
    auto db = Database::open(dir / "kiosk.sqlite");
    REQUIRE(db.has_value());
    const auto r = fullResponse();
    REQUIRE(saveResponse(*db, r).has_value());
    core::Response changed = r;
    changed.stars = 5;
    changed.tags = {"price"};
    auto again = saveResponse(*db, changed);
    REQUIRE_FALSE(again.has_value());
    CHECK(again.error().kind == ErrorKind::Invalid);
    CHECK_THAT(again.error().message, Catch::Contains(r.id));
    CHECK_THAT(again.error().message, Catch::Contains("UNIQUE"));
    CHECK(findResponse(*db, r.id)->value() == r);
    CHECK(test::rowsFor(*db, r.id) == 1 + 3 + 1);
}

TEST_CASE("an invalid response is refused with the reason and nothing is written", "[store][responses]") {
    TempDir dir;
    auto db = Database::open(dir / "kiosk.sqlite");
    REQUIRE(db.has_value());

    auto expectRefused = [&](core::Response bad, const std::string& reasonPart) {
        auto saved = saveResponse(*db, bad);
        REQUIRE_FALSE(saved.has_value());
        CHECK(saved.error().kind == ErrorKind::Invalid);
        CHECK_THAT(saved.error().message, Catch::Contains(reasonPart));
        CHECK(test::queryInt(*db, "SELECT COUNT(*) FROM responses") == 0);
        CHECK(test::queryInt(*db, "SELECT COUNT(*) FROM response_tags") == 0);
        CHECK(test::queryInt(*db, "SELECT COUNT(*) FROM outbox") == 0);
    };
    core::Response r = fullResponse();
    r.stars = 6;
    expectRefused(r, "stars");
    r = fullResponse();
    r.segue[2] = 0;
    expectRefused(r, "genuine");
    r = fullResponse();
    r.id = "not-a-uuid";
    expectRefused(r, "UUID");
    r = fullResponse();
    r.tags = {"attitude", "attitude"};
    expectRefused(r, "twice");
    r = fullResponse();
    r.localDate = "2026-13-01";
    expectRefused(r, "local_date");
    r = fullResponse();
    r.storeId = "x'); DROP TABLE responses; --";
    expectRefused(r, "store_id");
}

TEST_CASE("saveResponses is all or nothing", "[store][responses]") {
    TempDir dir;
    auto db = Database::open(dir / "kiosk.sqlite");
    REQUIRE(db.has_value());
    auto rs = test::randomResponses(3, 50, 3);

    SECTION("one invalid record refuses the batch before writing") {
        rs[37].stars = 0;
        auto saved = saveResponses(*db, rs);
        REQUIRE_FALSE(saved.has_value());
        CHECK(saved.error().kind == ErrorKind::Invalid);
        CHECK_THAT(saved.error().message, Catch::Contains(rs[37].id));
        CHECK(test::queryInt(*db, "SELECT COUNT(*) FROM responses") == 0);
    }
    SECTION("a duplicate in the middle rolls back the records before it") {
        REQUIRE(saveResponse(*db, rs[25]).has_value());
        auto saved = saveResponses(*db, rs);
        REQUIRE_FALSE(saved.has_value());
        CHECK(saved.error().kind == ErrorKind::Invalid);
        CHECK(test::queryInt(*db, "SELECT COUNT(*) FROM responses") == 1);
        CHECK(test::queryInt(*db, "SELECT COUNT(*) FROM outbox") == 1);
    }
    SECTION("a good batch is saved whole") {
        REQUIRE(saveResponses(*db, rs).has_value());
        CHECK(test::queryInt(*db, "SELECT COUNT(*) FROM responses") == 50);
        CHECK(test::queryInt(*db, "SELECT COUNT(*) FROM outbox WHERE state = 'pending'") == 50);
        for (const auto& r : rs) CHECK(findResponse(*db, r.id)->value() == r);
    }
    SECTION("an empty batch is a no-op") {
        REQUIRE(saveResponses(*db, {}).has_value());
        CHECK(test::queryInt(*db, "SELECT COUNT(*) FROM responses") == 0);
    }
}

TEST_CASE("forEachResponse streams in time order, then id order, within the date range", "[store][responses]") {
    TempDir dir;
    auto db = Database::open(dir / "kiosk.sqlite");
    REQUIRE(db.has_value());
    auto rs = test::randomResponses(4, 300, 6);
    // Two records in the same millisecond: the id decides.
    rs[10].createdAtMs = rs[11].createdAtMs;
    rs[10].localDate = rs[11].localDate;
    rs[10].localHour = rs[11].localHour;
    // Save in shuffled order: reading must not depend on insertion order.
    auto shuffled = rs;
    std::shuffle(shuffled.begin(), shuffled.end(), std::mt19937_64(5));
    for (const auto& r : shuffled) REQUIRE(saveResponse(*db, r).has_value());

    auto sorted = rs;
    std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
        return std::tie(a.createdAtMs, a.id) < std::tie(b.createdAtMs, b.id);
    });
    auto collect = [&](const DateRange& range) {
        std::vector<core::Response> out;
        auto ok = forEachResponse(*db, range, [&](const core::Response& r) {
            out.push_back(r);
            return true;
        });
        REQUIRE(ok.has_value());
        return out;
    };
    auto inRange = [&](const std::optional<std::string>& from, const std::optional<std::string>& to) {
        std::vector<core::Response> out;
        for (const auto& r : sorted)
            if ((!from || r.localDate >= *from) && (!to || r.localDate <= *to)) out.push_back(r);
        return out;
    };

    CHECK(collect({}) == sorted);
    const std::string mid = sorted[150].localDate;
    const std::string later = core::addDays(mid, 2);
    CHECK(collect({mid, std::nullopt}) == inRange(mid, std::nullopt));
    CHECK(collect({std::nullopt, mid}) == inRange(std::nullopt, mid));
    const auto both = collect({mid, later});
    CHECK(both == inRange(mid, later));
    CHECK_FALSE(both.empty());
    CHECK(collect({"2000-01-01", "2000-01-31"}).empty());

    int seen = 0;
    REQUIRE(forEachResponse(*db, {}, [&](const core::Response&) { return ++seen < 7; }).has_value());
    CHECK(seen == 7);
}

TEST_CASE("forEachResponse by date takes a local date's records whatever their UTC offset", "[store][responses]") {
    TempDir dir;
    auto db = Database::open(dir / "kiosk.sqlite");
    REQUIRE(db.has_value());
    // 2026-03-11 as seen from UTC+14 and UTC-14: its first and last instants are more than a
    // UTC day away from the date itself, and the records a millisecond outside it are kept out.
    const std::int64_t day = *core::daysFromIsoDate("2026-03-11") * 86'400'000;
    constexpr std::int64_t kHour = 3'600'000;
    const std::vector<std::pair<std::int64_t, int>> at = {
        {day - 14 * kHour - 1, 14 * 60},        // 2026-03-10 23:59:59.999 local
        {day - 14 * kHour, 14 * 60},            // 2026-03-11 00:00 local
        {day + 12 * kHour, 0},                  // 2026-03-11 12:00
        {day + 38 * kHour - 1, -14 * 60},       // 2026-03-11 23:59:59.999 local
        {day + 38 * kHour, -14 * 60},           // 2026-03-12 00:00 local
    };
    auto rs = test::randomResponses(8, static_cast<int>(at.size()), 1);
    for (std::size_t i = 0; i < at.size(); ++i) {
        rs[i].createdAtMs = at[i].first;
        rs[i].utcOffsetMin = at[i].second;
        rs[i].localDate = core::localDate(at[i].first, at[i].second);
        rs[i].localHour = core::localHour(at[i].first, at[i].second);
        REQUIRE(saveResponse(*db, rs[i]).has_value());
    }
    REQUIRE(rs[0].localDate == "2026-03-10");
    REQUIRE(rs[4].localDate == "2026-03-12");
    auto ids = [&](const DateRange& range) {
        std::vector<std::string> out;
        REQUIRE(forEachResponse(*db, range, [&](const core::Response& r) {
                    out.push_back(r.id);
                    return true;
                }).has_value());
        return out;
    };
    using V = std::vector<std::string>;
    CHECK(ids({"2026-03-11", "2026-03-11"}) == V{rs[1].id, rs[2].id, rs[3].id});
    CHECK(ids({"2026-03-11", std::nullopt}) == V{rs[1].id, rs[2].id, rs[3].id, rs[4].id});
    CHECK(ids({std::nullopt, "2026-03-11"}) == V{rs[0].id, rs[1].id, rs[2].id, rs[3].id});
    CHECK(ids({"2026-03-12", "2026-03-12"}) == V{rs[4].id});
    CHECK(ids({"2026-03-10", "2026-03-10"}) == V{rs[0].id});
    CHECK(ids({"2026-03-13", std::nullopt}).empty());
    CHECK(ids({std::nullopt, "2026-03-09"}).empty());
}

TEST_CASE("bad dates are refused with a clear message", "[store][responses]") {
    TempDir dir;
    auto db = Database::open(dir / "kiosk.sqlite");
    REQUIRE(db.has_value());
    auto each = forEachResponse(*db, {"2026-02-30", std::nullopt}, [](const core::Response&) { return true; });
    REQUIRE_FALSE(each.has_value());
    CHECK(each.error().kind == ErrorKind::Invalid);
    CHECK_THAT(each.error().message, Catch::Contains("2026-02-30"));
    CHECK(tally(*db, "yesterday", "2026-01-01").error().kind == ErrorKind::Invalid);
    CHECK(dailyTallies(*db, "2026-01-01", "2026-1-2").error().kind == ErrorKind::Invalid);
}
