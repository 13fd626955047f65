#include <catch2/catch.hpp>

#include <set>

#include "core/uuid.hpp"

using namespace segue::core;

TEST_CASE("UUIDv7 has the right version, variant and timestamp") {
    UuidV7Generator gen(42);
    const std::int64_t ms = 1'795'000'000'123;
    const auto id = gen.next(ms);
    REQUIRE(isUuid(id));
    CHECK(id[14] == '7');
    CHECK((id[19] == '8' || id[19] == '9' || id[19] == 'a' || id[19] == 'b'));
    CHECK(uuidV7Millis(id) == ms);
}

TEST_CASE("UUIDv7 ids strictly increase within a millisecond and when the clock steps back") {
    UuidV7Generator gen(7);
    std::string prev = gen.next(1'795'000'000'000);
    std::set<std::string> seen{prev};
    for (int i = 0; i < 10'000; ++i) {
        // Mostly the same millisecond, sometimes a step back of a second.
        const std::int64_t ms = 1'795'000'000'000 + (i % 100 == 99 ? -1000 : i / 1000);
        const auto id = gen.next(ms);
        REQUIRE(id > prev);
        REQUIRE(seen.insert(id).second);
        prev = id;
    }
}

TEST_CASE("isUuid refuses malformed text") {
    CHECK(isUuid("0190f1e2-3a4b-7c5d-8e6f-0123456789ab"));
    CHECK_FALSE(isUuid("0190F1E2-3A4B-7C5D-8E6F-0123456789AB"));  // canonical form is lowercase
    CHECK_FALSE(isUuid("0190f1e2-3a4b-7c5d-8e6f-0123456789a"));
    CHECK_FALSE(isUuid("0190f1e2x3a4b-7c5d-8e6f-0123456789ab"));
    CHECK_FALSE(isUuid("0190f1e2-3a4b-7c5d-8e6f-0123456789ag"));
    CHECK(uuidV7Millis("0190f1e2-3a4b-4c5d-8e6f-0123456789ab") == -1);  // v4
}

TEST_CASE("uuidV7Floor is at or below every UUIDv7 of its millisecond and later, above every earlier one") {
    CHECK(uuidV7Floor(0x0190f1e23a4b) == "0190f1e2-3a4b-0000-0000-000000000000");
    CHECK(uuidV7Floor(0) == "00000000-0000-0000-0000-000000000000");
    UuidV7Generator gen(3);
    const std::int64_t ms = 1'795'000'000'000;
    const std::string floor = uuidV7Floor(ms);
    REQUIRE(isUuid(floor));
    for (int i = 0; i < 1000; ++i) {
        CHECK(gen.next(ms + i / 10) >= floor);
    }
    UuidV7Generator earlier(4);
    CHECK(earlier.next(ms - 1) < floor);
    CHECK(uuidV7Millis(gen.next(ms)) >= ms);
}
