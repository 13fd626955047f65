// The day's figures and the trend: the store's tallies through core::summarize.
#include <catch2/catch.hpp>

#include <map>

#include <nlohmann/json.hpp>

#include "core/time.hpp"
#include "store/database.hpp"
#include "store/outbox.hpp"
#include "store/responses.hpp"
#include "store/stats.hpp"
#include "tests/store/support.hpp"

using namespace segue;
using namespace segue::store;
using segue::store::test::TempDir;

TEST_CASE("dayStats is summarize() of the day's responses with the outbox's pending count", "[store][stats]") {
    TempDir dir;
    auto db = Database::open(dir / "kiosk.sqlite");
    REQUIRE(db.has_value());
    const auto rs = test::randomResponses(606, 1200, 4);
    REQUIRE(saveResponses(*db, rs).has_value());
    // Some already reached HQ: pending counts only the rest (of every day, not just this one).
    std::vector<std::string> synced;
    for (std::size_t i = 0; i < 300; ++i) synced.push_back(rs[i].id);
    REQUIRE(markSynced(*db, synced, 1'795'000'000'000).has_value());

    const std::string day = rs[600].localDate;
    core::Tally t;
    for (const auto& r : rs)
        if (r.localDate == day) t.add(r);
    auto stats = dayStats(*db, day);
    REQUIRE(stats.has_value());
    CHECK(core::toJson(*stats) == core::toJson(core::summarize(t, day, 900)));
    CHECK(stats->pendingSync == 900);
    CHECK(stats->responses == t.counted);
    REQUIRE(stats->meanStars.has_value());
}

TEST_CASE("a day without responses has zero counts and no means", "[store][stats]") {
    TempDir dir;
    auto db = Database::open(dir / "kiosk.sqlite");
    REQUIRE(db.has_value());
    auto stats = dayStats(*db, "2026-03-01");
    REQUIRE(stats.has_value());
    CHECK(stats->date == "2026-03-01");
    CHECK(stats->responses == 0);
    CHECK_FALSE(stats->meanStars.has_value());
    CHECK_FALSE(stats->csat.has_value());
    CHECK(stats->pendingSync == 0);
    CHECK(dayStats(*db, "2026-3-1").error().kind == ErrorKind::Invalid);
}

TEST_CASE("trend has one entry per day, oldest first, missing days at zero", "[store][stats]") {
    TempDir dir;
    auto db = Database::open(dir / "kiosk.sqlite");
    REQUIRE(db.has_value());
    auto rs = test::randomResponses(707, 900, 3);
    REQUIRE(saveResponses(*db, rs).has_value());
    std::map<std::string, core::Tally> byDay;
    for (const auto& r : rs) byDay[r.localDate].add(r);
    const std::string last = core::addDays(byDay.rbegin()->first, 2);   // two empty days at the end

    auto week = trend(*db, last, 7);
    REQUIRE(week.has_value());
    REQUIRE(week->size() == 7);
    for (int i = 0; i < 7; ++i) {
        const auto& d = (*week)[static_cast<std::size_t>(i)];
        CHECK(d.date == core::addDays(last, i - 6));
        const auto it = byDay.find(d.date);
        const core::Tally t = it == byDay.end() ? core::Tally{} : it->second;
        CHECK(core::toJson(d) == core::toJson(core::summarize(t, d.date, 0)));
    }
    CHECK((*week)[6].responses == 0);
    CHECK((*week)[5].responses == 0);

    auto month = trend(*db, last, 30);
    REQUIRE(month.has_value());
    CHECK(month->size() == 30);
    CHECK(month->front().date == core::addDays(last, -29));
    std::int64_t total = 0;
    for (const auto& d : *month) total += d.responses + d.misuse;
    CHECK(total == static_cast<std::int64_t>(rs.size()));

    CHECK(trend(*db, last, 0).error().kind == ErrorKind::Invalid);
    CHECK(trend(*db, "someday", 7).error().kind == ErrorKind::Invalid);
}
