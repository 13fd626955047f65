// When the store refuses writes the terminal shows "temporarily unavailable", keeps the
// response in memory, and writes it as soon as the store accepts writes again.
#include <catch2/catch.hpp>

#include <fstream>

#include "core/uuid.hpp"
#include "store/responses.hpp"
#include "tests/app/headless.hpp"

using namespace segue;
using namespace segue::app;
using namespace segue::app::test;
namespace cs = segue::core;

namespace {

/// Saves filler rows until the capped database reports Full.
void fillUntilFull(store::Database& db, const cs::Now& now) {
    cs::UuidV7Generator ids(7);
    for (int i = 0; i < 100000; ++i) {
        cs::Response r;
        r.id = ids.next(now.utcMs - 86'400'000);
        r.storeId = "store-demo";
        r.deviceId = "kiosk-demo";
        r.surveyId = "segue-default";
        r.language = "en";
        r.createdAtMs = now.utcMs - 86'400'000;
        r.utcOffsetMin = now.utcOffsetMin;
        r.localDate = cs::localDate(r.createdAtMs, r.utcOffsetMin);
        r.localHour = cs::localHour(r.createdAtMs, r.utcOffsetMin);
        r.stars = 3;
        r.complete = true;
        r.synthetic = true;
        auto saved = store::saveResponse(db, r);
        if (!saved) {
            REQUIRE(saved.error().kind == store::ErrorKind::Full);
            return;
        }
    }
    FAIL("the capped database never filled up");
}

std::size_t realRows(Kiosk& k) {
    std::size_t n = 0;
    for (const auto& r : k.rows()) n += r.synthetic ? 0 : 1;
    return n;
}

} // namespace

TEST_CASE("a full disk shows Unavailable, holds the response, and saves it when space returns", "[app][store][full]") {
    TempDir dir;
    Kiosk k(dir.path());
    store::Database& db = *k.controller().database();
    // Cap the file at its current size, then use up what is left of it.
    REQUIRE(db.exec("PRAGMA max_page_count = 40").has_value());
    fillUntilFull(db, k.clock().now());

    k.choose("star5");
    k.tap("submit");
    // Not durable, so no thank-you screen: the calm unavailable screen instead.
    REQUIRE(k.current() == cs::Screen::Unavailable);
    CHECK(k.controller().unsavedCount() == 1);
    CHECK(realRows(k) == 0);
    k.frame();
    CHECK(k.screen().log().targets.empty());      // nothing to tap: customers cannot start a response
    CHECK(k.screen().log().overflows.empty());
    k.wait(5000);
    CHECK(k.current() == cs::Screen::Unavailable);
    CHECK(k.controller().unsavedCount() == 1);

    REQUIRE(db.exec("PRAGMA max_page_count = 1000000").has_value());   // space returns
    k.wait(2100);
    CHECK(k.current() == cs::Screen::Attract);
    CHECK(k.controller().unsavedCount() == 0);
    REQUIRE(realRows(k) == 1);
    const auto rows = k.rows();
    CHECK(rows.back().stars == 5);
    CHECK(rows.back().complete);
}

TEST_CASE("a connection that may not write is replaced and the held response written", "[app][store][readonly]") {
    TempDir dir;
    Kiosk k(dir.path());
    REQUIRE(k.controller().database()->exec("PRAGMA query_only = 1").has_value());
    k.choose("star1");
    k.tap("submit");
    k.tap("done");
    REQUIRE(k.current() == cs::Screen::Unavailable);
    CHECK_FALSE(k.controller().lastStoreError().empty());
    // The retry opens a fresh connection (query_only belongs to the old one).
    k.wait(2100);
    CHECK(k.current() == cs::Screen::Attract);
    const auto rows = k.rows();
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].stars == 1);
}

TEST_CASE("a data directory that cannot be created shows Unavailable until it can", "[app][store][open]") {
    TempDir dir;
    const auto blocker = dir.path() / "blocker";
    { std::ofstream(blocker) << "not a directory"; }
    Kiosk k(blocker / "data");
    CHECK_FALSE(k.controller().storeOpen());
    REQUIRE(k.current() == cs::Screen::Unavailable);
    k.frame();
    CHECK(k.screen().log().overflows.empty());
    k.key({platform::KeyKind::Digit, 5});
    CHECK(k.current() == cs::Screen::Unavailable);
    k.wait(4100);
    CHECK(k.current() == cs::Screen::Unavailable);

    std::filesystem::remove(blocker);
    k.wait(2100);
    CHECK(k.controller().storeOpen());
    CHECK(k.current() == cs::Screen::Attract);
    k.choose("star4");
    k.tap("submit");
    CHECK(k.current() == cs::Screen::ThankYou);
    CHECK(k.rows().size() == 1);
}

TEST_CASE("a corrupt database is moved aside at start and the staff screen says so", "[app][store][corrupt]") {
    TempDir dir;
    {
        std::ofstream f(dir.path() / "kiosk.sqlite", std::ios::binary);
        f << std::string("SQLite format 3") + '\0' + std::string(4096, '\x5a');
    }
    Kiosk k(dir.path());
    REQUIRE(k.controller().storeOpen());
    CHECK(k.current() == cs::Screen::Attract);
    CHECK(hasMovedAside(dir.path()));

    storePin(*k.controller().database(), "1357");
    enterPinByKeys(k, "1357");
    REQUIRE(k.current() == cs::Screen::Staff);
    const StaffVM vm = k.controller().viewModel(k.clock().now()).staff;
    REQUIRE(vm.recovery.has_value());
    CHECK(vm.recovery->movedTo.find("kiosk.sqlite.corrupt-") != std::string::npos);
    CHECK_FALSE(vm.recovery->when.empty());
    k.frame();
    CHECK(k.screen().log().overflows.empty());
}
