// SQL tallies equal core::Tally::add over the same responses, and read only the index.
#include <catch2/catch.hpp>

#include <map>
#include <set>

#include <sqlite3.h>

#include "core/time.hpp"
#include "store/database.hpp"
#include "store/responses.hpp"
#include "tests/store/support.hpp"

using namespace segue;
using namespace segue::store;
using segue::store::test::TempDir;

namespace {

core::Tally expectedTally(const std::vector<core::Response>& rs, const std::string& from, const std::string& to) {
    core::Tally t;
    for (const auto& r : rs)
        if (r.localDate >= from && r.localDate <= to) t.add(r);
    return t;
}

int traceStatement(unsigned type, void* ctx, void* /*stmt*/, void* sql) {
    if (type == SQLITE_TRACE_STMT) {
        const char* text = static_cast<const char*>(sql);
        // Triggers and nested statements are reported with a leading "--".
        if (text != nullptr && !std::string_view(text).starts_with("--"))
            static_cast<std::vector<std::string>*>(ctx)->emplace_back(text);
    }
    return 0;
}

} // namespace

TEST_CASE("tally over any date range equals the in-memory Tally of the same responses", "[store][tally]") {
    TempDir dir;
    auto db = Database::open(dir / "kiosk.sqlite");
    REQUIRE(db.has_value());
    const auto rs = test::randomResponses(20261122, 4000, 12);
    REQUIRE(saveResponses(*db, rs).has_value());

    std::set<std::string> dates;
    for (const auto& r : rs) dates.insert(r.localDate);
    REQUIRE(dates.size() >= 10);
    const std::vector<std::string> days(dates.begin(), dates.end());

    // The random set must exercise every branch of the semantics.
    core::Tally whole = expectedTally(rs, days.front(), days.back());
    REQUIRE(whole.misuse > 0);
    REQUIRE(whole.partial > 0);
    REQUIRE(whole.tags.size() == test::sampleTags().size());
    REQUIRE(whole.segueCount[0] < whole.counted);   // some items unanswered

    std::mt19937 rng(17);
    for (int i = 0; i < 25; ++i) {
        std::size_t a = rng() % days.size();
        std::size_t b = rng() % days.size();
        if (a > b) std::swap(a, b);
        CAPTURE(days[a], days[b]);
        auto t = tally(*db, days[a], days[b]);
        REQUIRE(t.has_value());
        CHECK(*t == expectedTally(rs, days[a], days[b]));
    }
    auto all = tally(*db, "2000-01-01", "2099-12-31");
    REQUIRE(all.has_value());
    CHECK(*all == whole);

    auto none = tally(*db, "2001-01-01", "2001-12-31");
    REQUIRE(none.has_value());
    CHECK(*none == core::Tally{});
    auto reversed = tally(*db, days.back(), days.front());
    REQUIRE(reversed.has_value());
    CHECK(*reversed == core::Tally{});
}

TEST_CASE("dailyTallies gives one exact Tally per date that has responses", "[store][tally]") {
    TempDir dir;
    auto db = Database::open(dir / "kiosk.sqlite");
    REQUIRE(db.has_value());
    const auto rs = test::randomResponses(8080, 2500, 9);
    REQUIRE(saveResponses(*db, rs).has_value());

    std::map<std::string, core::Tally> expected;
    for (const auto& r : rs) expected[r.localDate].add(r);
    const std::string from = expected.begin()->first;
    const std::string to = expected.rbegin()->first;

    auto daily = dailyTallies(*db, core::addDays(from, -3), core::addDays(to, 3));
    REQUIRE(daily.has_value());
    REQUIRE(daily->size() == expected.size());
    auto it = expected.begin();
    for (const auto& [date, t] : *daily) {
        CHECK(date == it->first);
        CHECK(t == it->second);
        ++it;
    }
    // A day that holds only misuse still appears, with nothing counted.
    core::Response lone = test::randomResponses(1, 1, 1, 1'700'000'000'000)[0];
    lone.misuse = true;
    REQUIRE(saveResponse(*db, lone).has_value());
    auto single = dailyTallies(*db, lone.localDate, lone.localDate);
    REQUIRE(single.has_value());
    REQUIRE(single->size() == 1);
    CHECK(single->front().second.counted == 0);
    CHECK(single->front().second.misuse == 1);
}

TEST_CASE("a day's tally reads the per-day sums by key, never the responses", "[store][tally]") {
    TempDir dir;
    auto db = Database::open(dir / "kiosk.sqlite");
    REQUIRE(db.has_value());
    const auto rs = test::randomResponses(99, 3000, 5);
    REQUIRE(saveResponses(*db, rs).has_value());
    REQUIRE(db->exec("ANALYZE").has_value());   // the plan must hold with statistics too

    std::vector<std::string> statements;
    REQUIRE(sqlite3_trace_v2(db->handle(), SQLITE_TRACE_STMT, traceStatement, &statements) == SQLITE_OK);
    const std::string day = rs[1500].localDate;
    auto t = tally(*db, day, day);
    sqlite3_trace_v2(db->handle(), 0, nullptr, nullptr);
    REQUIRE(t.has_value());
    CHECK(*t == expectedTally(rs, day, day));

    // A handful of statements, none of which touches a row per response.
    CHECK(statements.size() <= 6);
    int summaries = 0;
    for (const auto& sql : statements) {
        CHECK_THAT(sql, !Catch::Contains("FROM responses") && !Catch::Contains("response_tags"));
        if (sql.find("day_hour_tallies") == std::string::npos && sql.find("day_tag_counts") == std::string::npos)
            continue;
        ++summaries;
        // EXPLAIN QUERY PLAN of our own statement text, to see how it reads the table.
        sqlite3_stmt* st = nullptr;
        const std::string explain = "EXPLAIN QUERY PLAN " + sql;
        REQUIRE(sqlite3_prepare_v2(db->handle(), explain.c_str(), -1, &st, nullptr) == SQLITE_OK);
        std::string details;
        while (sqlite3_step(st) == SQLITE_ROW)
            details += std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, 3))) + " | ";
        sqlite3_finalize(st);
        INFO(sql << "\nplan: " << details);
        CHECK_THAT(details, Catch::Contains("SEARCH") && Catch::Contains("PRIMARY KEY"));
    }
    CHECK(summaries == 2);
}
