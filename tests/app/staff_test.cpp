// The staff path: long-press or F10, the PIN pad against an Argon2id hash in the store, the
// lockout, and the staff screen's figures from the same store.
#include <catch2/catch.hpp>

#include "store/responses.hpp"
#include "tests/app/headless.hpp"

using namespace segue;
using namespace segue::app;
using namespace segue::app::test;
namespace cs = segue::core;

namespace {

void setPin(Kiosk& k, const std::string& pin) { storePin(*k.controller().database(), pin); }

void typePin(Kiosk& k, const std::string& pin) {
    for (char c : pin) k.tap(std::string("digit") + c);
    k.tap("ok");
}

/// Holds the top-left corner for `ms`, drawing frames at 10 Hz like the loop does.
void holdCorner(Kiosk& k, std::int64_t ms) {
    const ImVec2 at = staffCorner(k.screen().metrics()).center();
    k.frame();
    k.frame(at, true);
    for (std::int64_t t = 0; t < ms; t += 100) {
        k.clock().advance(100);
        k.controller().tick(k.clock().now());
        k.frame(at, true);
    }
    k.frame(at, false);
}

} // namespace

TEST_CASE("a 3 s press on the corner opens the PIN pad; a shorter one does not", "[app][staff]") {
    TempDir dir;
    Kiosk k(dir.path());
    holdCorner(k, 2500);
    CHECK(k.current() == cs::Screen::Attract);
    holdCorner(k, 3000);
    CHECK(k.current() == cs::Screen::PinPad);
}

TEST_CASE("the right PIN opens the staff screen with today's figures", "[app][staff][pin]") {
    TempDir dir;
    Kiosk k(dir.path());
    setPin(k, "2468");
    // Two customers first: a 5 and a 2 with a tag.
    k.choose("star5");
    k.tap("submit");
    k.wait(3100);
    k.wait(6000);
    k.choose("star2");
    k.tap("submit");
    k.tap("tag1");
    k.tap("done");
    k.wait(3100);

    holdCorner(k, 3100);
    REQUIRE(k.current() == cs::Screen::PinPad);
    typePin(k, "2468");
    REQUIRE(k.current() == cs::Screen::Staff);
    k.frame();
    const StaffVM vm = k.controller().viewModel(k.clock().now()).staff;
    REQUIRE(vm.stats.has_value());
    CHECK(vm.stats->responses == 2);
    CHECK(vm.stats->meanStars == Approx(3.5));
    CHECK(vm.stats->csat == Approx(0.5));
    CHECK(vm.stats->tags.at("attitude") == 1);
    CHECK(vm.stats->pendingSync == 2);
    CHECK(vm.trend.size() == 30);
    CHECK(vm.trend.back().responses == 2);
    CHECK(vm.date == core::localDate(k.clock().now().utcMs, k.clock().now().utcOffsetMin));

    k.tap("day-prev");
    CHECK(k.controller().session().staffDayOffset == -1);
    const StaffVM yesterday = k.controller().viewModel(k.clock().now()).staff;
    CHECK(yesterday.date == core::addDays(vm.date, -1));
    REQUIRE(yesterday.stats.has_value());
    CHECK(yesterday.stats->responses == 0);
    k.tap("day-today");
    CHECK(k.controller().session().staffDayOffset == 0);
    k.tap("exit");
    CHECK(k.current() == cs::Screen::Attract);
}

TEST_CASE("five wrong PINs lock the pad for 60 s", "[app][staff][pin]") {
    TempDir dir;
    Kiosk k(dir.path());
    setPin(k, "2468");
    k.controller().dispatch(core::Intent::key(core::Intent::Kind::OpenStaff), k.clock().now());
    REQUIRE(k.current() == cs::Screen::PinPad);
    for (int i = 0; i < 4; ++i) {
        typePin(k, "1111");
        CHECK(k.controller().viewModel(k.clock().now()).pin.failures == i + 1);
    }
    typePin(k, "1111");
    PinPadVM pin = k.controller().viewModel(k.clock().now()).pin;
    CHECK(pin.lockedSeconds == 60);
    // Locked: even the right PIN is not taken.
    typePin(k, "2468");
    CHECK(k.current() == cs::Screen::PinPad);
    CHECK(k.controller().viewModel(k.clock().now()).pin.entered == 0);
    k.wait(30'000);
    CHECK(k.controller().viewModel(k.clock().now()).pin.lockedSeconds == 30);
    k.wait(30'100);
    CHECK(k.controller().viewModel(k.clock().now()).pin.lockedSeconds == 0);
    // The loop sleeps again once the lock is over: no wake-up time in the past.
    const auto wake = k.controller().nextWakeMono();
    CHECK((!wake || *wake > k.clock().now().monoMs));
    typePin(k, "2468");
    CHECK(k.current() == cs::Screen::Staff);
}

TEST_CASE("without a stored PIN the pad explains and never opens", "[app][staff][pin]") {
    TempDir dir;
    Kiosk k(dir.path());
    k.controller().dispatch(core::Intent::key(core::Intent::Kind::OpenStaff), k.clock().now());
    REQUIRE(k.current() == cs::Screen::PinPad);
    k.frame();
    CHECK_FALSE(k.screen().hasTarget("digit1"));
    CHECK_FALSE(k.controller().viewModel(k.clock().now()).pin.configured);
    for (int d : {1, 2, 3, 4}) k.controller().dispatch(core::Intent::key(core::Intent::Kind::PinDigit, d), k.clock().now());
    k.controller().dispatch(core::Intent::key(core::Intent::Kind::Submit), k.clock().now());
    CHECK(k.current() == cs::Screen::PinPad);
    CHECK(k.controller().session().pinEntry.empty());
    k.tap("cancel");
    CHECK(k.current() == cs::Screen::Attract);
}

TEST_CASE("opening the PIN pad mid-survey keeps the customer's answers as a partial", "[app][staff]") {
    TempDir dir;
    Kiosk k(dir.path());
    k.choose("star3");
    k.choose("option2");
    k.controller().dispatch(core::Intent::key(core::Intent::Kind::OpenStaff), k.clock().now());
    REQUIRE(k.current() == cs::Screen::PinPad);
    const auto rows = k.rows();
    REQUIRE(rows.size() == 1);
    CHECK_FALSE(rows[0].complete);
    CHECK(rows[0].segue[0] == 2);
}

TEST_CASE("Sync now reaches the sync worker hook; the panel shows what the provider reports", "[app][staff][sync]") {
    TempDir dir;
    int syncNow = 0, saved = 0;
    KioskConfig cfg;
    cfg.dataDir = dir.path();
    ControllerHooks hooks;
    hooks.syncPanel = [] {
        SyncPanelVM s;
        s.enabled = true;
        s.pending = 7;
        s.lastError = "connection refused";
        return s;
    };
    hooks.onSyncNow = [&] { ++syncNow; };
    hooks.onResponseSaved = [&] { ++saved; };
    auto c = KioskController::create(cfg, hooks);
    REQUIRE(c.has_value());
    core::FakeClock clock;
    c->start(clock.now());
    c->dispatch(core::Intent::key(core::Intent::Kind::Digit, 5), clock.now());
    clock.advance(200);
    c->tick(clock.now());
    c->dispatch(core::Intent::key(core::Intent::Kind::Submit), clock.now());
    CHECK(saved == 1);
    storePin(*c->database(), "97531");
    c->dispatch(core::Intent::key(core::Intent::Kind::OpenStaff), clock.now());
    for (char d : std::string("97531")) c->dispatch(core::Intent::key(core::Intent::Kind::PinDigit, d - '0'), clock.now());
    c->dispatch(core::Intent::key(core::Intent::Kind::Submit), clock.now());
    REQUIRE(c->session().screen == cs::Screen::Staff);

    test::Screen screen(1280, 800);
    const FrameVM vm = c->viewModel(clock.now());
    CHECK(vm.staff.sync.pending == 7);
    screen.draw(vm, clock.now());
    const ImVec2 at = screen.target("sync-now").center();
    screen.draw(vm, clock.now(), at, true);
    const core::Intent got = screen.draw(vm, clock.now(), at, false);
    REQUIRE(got.kind == core::Intent::Kind::SyncNow);
    c->dispatch(got, clock.now());
    CHECK(syncNow == 1);
}
