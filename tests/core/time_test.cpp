#include <catch2/catch.hpp>

#include "core/time.hpp"

using namespace segue::core;

TEST_CASE("formatUtc and parseUtc round-trip, including before 1970 and leap days") {
    for (std::int64_t ms : {0LL, 1'795'000'000'123LL, 951'782'400'000LL /* 2000-02-29 */, -86'400'001LL}) {
        const auto text = formatUtc(ms);
        INFO(text);
        REQUIRE(parseUtc(text) == ms);
    }
    CHECK(formatUtc(951'782'400'000) == "2000-02-29T00:00:00.000Z");
}

TEST_CASE("parseUtc accepts offsets and fractions, refuses malformed stamps") {
    CHECK(parseUtc("2026-11-22T14:30:00+08:00") == parseUtc("2026-11-22T06:30:00Z"));
    CHECK(parseUtc("2026-11-22T06:30:00.5Z") == *parseUtc("2026-11-22T06:30:00Z") + 500);
    CHECK(parseUtc("2026-11-22T06:30:00.123456789Z") == *parseUtc("2026-11-22T06:30:00Z") + 123);
    for (const char* bad : {"", "2026-11-22", "2026-11-22T06:30:00", "2026-13-01T00:00:00Z",
                            "2026-02-30T00:00:00Z", "2026-11-22T24:00:00Z", "2026-11-22T06:30:00.Z",
                            "2026-11-22T06:30:00Zjunk", "2026-11-22T06:30:00+8:00", "abcd-ef-ghTij:kl:mnZ"})
        CHECK_FALSE(parseUtc(bad).has_value());
}

TEST_CASE("local date and hour follow the store offset across midnight") {
    const auto utc = *parseUtc("2026-11-22T17:30:00Z");
    CHECK(localDate(utc, 0) == "2026-11-22");
    CHECK(localHour(utc, 0) == 17);
    CHECK(localDate(utc, 480) == "2026-11-23");  // Asia/Shanghai
    CHECK(localHour(utc, 480) == 1);
    CHECK(localDate(utc, -600) == "2026-11-22");
    CHECK(localHour(utc, -600) == 7);
}

TEST_CASE("ISO dates validate and add days across months and years") {
    CHECK(isIsoDate("2024-02-29"));
    CHECK_FALSE(isIsoDate("2025-02-29"));
    CHECK_FALSE(isIsoDate("2025-2-01"));
    CHECK_FALSE(isIsoDate("2025-02-01x"));
    CHECK(addDays("2026-12-31", 1) == "2027-01-01");
    CHECK(addDays("2024-03-01", -1) == "2024-02-29");
    CHECK(addDays("2026-11-22", -29) == "2026-10-24");
    CHECK(isoDateFromDays(*daysFromIsoDate("1999-12-31")) == "1999-12-31");
}

TEST_CASE("FakeClock moves monotonic and wall time together unless the wall jumps") {
    FakeClock c(1'000'000, 60);
    c.advance(500);
    CHECK(c.now().monoMs == 500);
    CHECK(c.now().utcMs == 1'000'500);
    c.jumpWall(-3'600'000);
    CHECK(c.now().monoMs == 500);
    CHECK(c.now().utcMs == 1'000'500 - 3'600'000);
    CHECK(c.now().utcOffsetMin == 60);
}
