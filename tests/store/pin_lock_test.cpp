// The staff PIN lockout as stored: absent, saved, kept across reopening, unreadable values.
#include <catch2/catch.hpp>

#include "store/meta.hpp"
#include "store/pin_lock.hpp"
#include "tests/store/support.hpp"

using namespace segue;
using namespace segue::store;
using segue::store::test::TempDir;

TEST_CASE("the PIN lockout is empty until saved, then kept across reopening", "[store][pin]") {
    TempDir dir;
    const auto file = dir / "kiosk.sqlite";
    const PinLock lock{3, 2, 1'795'000'000'000, 1'795'000'120'000};
    {
        auto db = Database::open(file);
        REQUIRE(db);
        auto empty = loadPinLock(*db);
        REQUIRE(empty);
        CHECK(*empty == PinLock{});
        REQUIRE(savePinLock(*db, lock));
    }
    auto db = Database::open(file);
    REQUIRE(db);
    auto loaded = loadPinLock(*db);
    REQUIRE(loaded);
    CHECK(*loaded == lock);
    // A value that is not ours (edited by hand) reads as no lockout rather than failing.
    REQUIRE(setMeta(*db, kMetaPinLock, "not json"));
    CHECK(*loadPinLock(*db) == PinLock{});
    REQUIRE(setMeta(*db, kMetaPinLock, R"({"failures":-4,"locks":"x","locked_until_utc_ms":5})"));
    CHECK(*loadPinLock(*db) == PinLock{0, 0, 0, 5});
}
