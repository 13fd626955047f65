// The per-day sums kept by triggers (migration 0005) stay equal to the responses they sum,
// through deletes of responses, of single tags and of whole days; stored rows never change.
#include <catch2/catch.hpp>

#include <sqlite3.h>

#include "store/database.hpp"
#include "store/responses.hpp"
#include "tests/store/support.hpp"

using namespace segue;
using namespace segue::store;
using segue::store::test::TempDir;

namespace {

int rawExec(Database& db, const std::string& sql) {
    char* msg = nullptr;
    const int rc = sqlite3_exec(db.handle(), sql.c_str(), nullptr, nullptr, &msg);
    sqlite3_free(msg);
    return rc;
}

/// Every date's tally read back equals core::Tally::add over what is left in the table.
void requireSumsMatchRows(Database& db) {
    std::vector<core::Response> left;
    REQUIRE(forEachResponse(db, {}, [&](const core::Response& r) {
                left.push_back(r);
                return true;
            }).has_value());
    std::map<std::string, core::Tally> expected;
    for (const auto& r : left) expected[r.localDate].add(r);
    auto got = dailyTallies(db, "2000-01-01", "2099-12-31");
    REQUIRE(got.has_value());
    std::map<std::string, core::Tally> actual(got->begin(), got->end());
    CHECK(actual == expected);
}

} // namespace

TEST_CASE("the per-day sums follow deleted responses and deleted tags", "[store][tally]") {
    TempDir dir;
    auto db = Database::open(dir / "kiosk.sqlite");
    REQUIRE(db.has_value());
    const auto rs = test::randomResponses(5, 1500, 6);
    REQUIRE(saveResponses(*db, rs).has_value());
    requireSumsMatchRows(*db);

    SECTION("responses with tags") {
        REQUIRE(rawExec(*db, "DELETE FROM responses WHERE id IN (SELECT response_id FROM response_tags LIMIT 200)") ==
                SQLITE_OK);
        requireSumsMatchRows(*db);
    }
    SECTION("misuse responses") {
        REQUIRE(test::queryInt(*db, "SELECT COUNT(*) FROM responses WHERE misuse = 1") > 0);
        REQUIRE(rawExec(*db, "DELETE FROM responses WHERE misuse = 1") == SQLITE_OK);
        requireSumsMatchRows(*db);
    }
    SECTION("single tags, then every response of a day") {
        REQUIRE(rawExec(*db, "DELETE FROM response_tags WHERE position = 0") == SQLITE_OK);
        requireSumsMatchRows(*db);
        const std::string day = rs.front().localDate;
        REQUIRE(rawExec(*db, "DELETE FROM responses WHERE local_date = '" + day + "'") == SQLITE_OK);
        requireSumsMatchRows(*db);
        // No empty rows are left behind for the day that went.
        CHECK(test::queryInt(*db, "SELECT COUNT(*) FROM day_hour_tallies WHERE local_date = ?1", {day}) == 0);
        CHECK(test::queryInt(*db, "SELECT COUNT(*) FROM day_tag_counts WHERE local_date = ?1", {day}) == 0);
    }
    // New responses after the deletes are summed as before.
    const auto more = test::randomResponses(6, 300, 6);
    REQUIRE(saveResponses(*db, more).has_value());
    requireSumsMatchRows(*db);
}

TEST_CASE("a stored response or tag is never changed in place", "[store][tally]") {
    TempDir dir;
    auto db = Database::open(dir / "kiosk.sqlite");
    REQUIRE(db.has_value());
    auto rs = test::randomResponses(8, 200, 2);
    REQUIRE(saveResponses(*db, rs).has_value());
    CHECK((rawExec(*db, "UPDATE responses SET stars = 1") & 0xff) == SQLITE_CONSTRAINT);
    CHECK((rawExec(*db, "UPDATE responses SET misuse = 1 - misuse") & 0xff) == SQLITE_CONSTRAINT);
    CHECK((rawExec(*db, "UPDATE response_tags SET tag = 'price'") & 0xff) == SQLITE_CONSTRAINT);
    CHECK(std::string(sqlite3_errmsg(db->handle())).find("never changed") != std::string::npos);
    requireSumsMatchRows(*db);
}
