// The kiosk checkpoints its WAL between customers: never inside a customer's commit, never
// while a customer is in the flow, and once the attract screen has been left alone a moment.
#include <catch2/catch.hpp>

#include <filesystem>

#include "tests/app/headless.hpp"

using namespace segue;
using namespace segue::app;
using namespace segue::app::test;
namespace cs = segue::core;

namespace {

/// Bytes in the database file itself: it grows only when a checkpoint copies pages into it.
std::uintmax_t databaseFileBytes(const Kiosk& k) {
    std::error_code ec;
    const auto n = std::filesystem::file_size(k.config().databasePath(), ec);
    return ec ? 0 : n;
}

} // namespace

TEST_CASE("the WAL is checkpointed on the idle attract screen, not during a customer's survey", "[app][checkpoint]") {
    TempDir dir;
    Kiosk k(dir.path());
    const auto atStart = databaseFileBytes(k);   // the fresh schema is still in the WAL

    k.choose("star4");
    REQUIRE(k.current() == cs::Screen::Item);
    k.wait(10'000);   // a customer thinking it over: no checkpoint under their finger
    REQUIRE(k.current() == cs::Screen::Item);
    CHECK(databaseFileBytes(k) == atStart);
    k.tap("submit");
    REQUIRE(k.current() == cs::Screen::ThankYou);
    REQUIRE(k.rows().size() == 1);
    CHECK(databaseFileBytes(k) == atStart);   // the commit itself did not checkpoint

    k.wait(static_cast<std::int64_t>(k.config().thankYouS) * 1000 + 100);
    REQUIRE(k.current() == cs::Screen::Attract);
    CHECK(databaseFileBytes(k) == atStart);   // back on the attract screen, but only just
    const auto at = k.controller().nextWakeMono();
    REQUIRE(at.has_value());                  // the loop wakes for the checkpoint
    k.wait(KioskController::kCheckpointIdleMs);
    CHECK(databaseFileBytes(k) > atStart);    // checkpointed: the pages are in the file now
    CHECK(k.rows().size() == 1);

    // Done until the next customer: nothing more to wake for.
    const auto next = k.controller().nextWakeMono();
    CHECK_FALSE(next.has_value());
}
