// The staff PIN lockout kept in the database: it survives a restart, doubles with each further
// lock up to an hour, and neither ends nor lasts for ever when the wall clock jumps. And the
// data directory the terminal opens is owner-only. Real controller, real SQLite file, FakeClock.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <fstream>

#include "app/pin.hpp"
#include "store/pin_lock.hpp"
#include "tests/app/headless.hpp"

using namespace segue;
using namespace segue::app;
using namespace segue::app::test;
namespace cs = segue::core;

namespace {

/// The PIN pad's view-model, opening the pad first if it went back to attract (it does after
/// 120 s without input).
PinPadVM pad(Kiosk& k) {
    if (k.current() != cs::Screen::PinPad)
        k.controller().dispatch(cs::Intent::key(cs::Intent::Kind::OpenStaff), k.clock().now());
    REQUIRE(k.current() == cs::Screen::PinPad);
    return k.controller().viewModel(k.clock().now()).pin;
}

/// Five wrong PINs typed as a keyboard would (each opens the pad first, as enterPinByKeys does).
void failFiveTimes(Kiosk& k) {
    for (int i = 0; i < kPinFailuresPerLock; ++i) enterPinByKeys(k, "0000");
}

/// Lets `ms` pass in 1 s steps, ticking the controller as the loop would.
void pass(Kiosk& k, std::int64_t ms) {
    for (std::int64_t t = 0; t < ms; t += 1000) {
        k.clock().advance(std::min<std::int64_t>(1000, ms - t));
        k.controller().tick(k.clock().now());
    }
}

unsigned modeOf(const std::filesystem::path& p) {
    struct stat st {};
    REQUIRE(::stat(p.c_str(), &st) == 0);
    return static_cast<unsigned>(st.st_mode) & 07777u;
}

} // namespace

TEST_CASE("PIN lock: 60 s, 120 s, 240 s ... capped at 1 h; a correct PIN starts the series again",
          "[app][staff][pin]") {
    TempDir dir;
    Kiosk k(dir.path());
    storePin(*k.controller().database(), "24681357");
    const std::vector<int> want = {60, 120, 240, 480, 960, 1920, 3600, 3600};
    for (std::size_t n = 0; n < want.size(); ++n) {
        INFO("lock " << n + 1);
        failFiveTimes(k);
        REQUIRE(k.current() == cs::Screen::PinPad);
        CHECK(pad(k).lockedSeconds == want[n]);
        // Locked: the right PIN is not even checked.
        enterPinByKeys(k, "24681357");
        CHECK(k.current() == cs::Screen::PinPad);
        pass(k, static_cast<std::int64_t>(want[n]) * 1000 - 1000);
        CHECK(pad(k).lockedSeconds == 1);
        pass(k, 1000);
        CHECK(pad(k).lockedSeconds == 0);
    }
    enterPinByKeys(k, "24681357");
    REQUIRE(k.current() == cs::Screen::Staff);
    k.controller().dispatch(cs::Intent::key(cs::Intent::Kind::ExitStaff), k.clock().now());
    failFiveTimes(k);
    CHECK(pad(k).lockedSeconds == 60);
}

TEST_CASE("PIN lock: the failures and the lock survive a restart", "[app][staff][pin]") {
    TempDir dir;
    std::int64_t lockedAtUtc = 0;
    {
        Kiosk k(dir.path());
        storePin(*k.controller().database(), "135790");
        for (int i = 0; i < 3; ++i) enterPinByKeys(k, "000000");
        CHECK(pad(k).failures == 3);
    }
    {
        // A power cycle: a new controller and connection on the same file.
        Kiosk k(dir.path());
        k.controller().dispatch(cs::Intent::key(cs::Intent::Kind::OpenStaff), k.clock().now());
        CHECK(pad(k).failures == 3);
        enterPinByKeys(k, "000000");
        CHECK(pad(k).lockedSeconds == 0);
        enterPinByKeys(k, "000000");
        CHECK(pad(k).lockedSeconds == 60);
        lockedAtUtc = k.clock().now().utcMs;
    }
    {
        Kiosk k(dir.path());
        k.clock().jumpWall(lockedAtUtc + 20'000 - k.clock().now().utcMs);   // 20 s after the lock began
        k.controller().dispatch(cs::Intent::key(cs::Intent::Kind::OpenStaff), k.clock().now());
        CHECK(pad(k).lockedSeconds == 40);
        enterPinByKeys(k, "135790");
        CHECK(k.current() == cs::Screen::PinPad);
        pass(k, 40'000);
        // The second lock of the series, after a restart, still doubles.
        failFiveTimes(k);
        CHECK(pad(k).lockedSeconds == 120);
        pass(k, 120'000);
        enterPinByKeys(k, "135790");
        CHECK(k.current() == cs::Screen::Staff);
    }
    {
        Kiosk k(dir.path());
        auto stored = store::loadPinLock(*k.controller().database());
        REQUIRE(stored);
        CHECK(*stored == store::PinLock{});   // the correct PIN cleared it, on disk too
    }
}

TEST_CASE("PIN lock: a wall clock that jumps neither ends a lock nor makes it endless", "[app][staff][pin]") {
    TempDir dir;
    std::int64_t lockedAtUtc = 0;
    {
        Kiosk k(dir.path());
        storePin(*k.controller().database(), "8642");
        failFiveTimes(k);
        REQUIRE(pad(k).lockedSeconds == 60);
        // While running, the lock is timed on the monotonic clock: a wall jump changes nothing.
        k.clock().jumpWall(+86'400'000);
        k.controller().tick(k.clock().now());
        CHECK(pad(k).lockedSeconds == 60);
        k.clock().jumpWall(-2 * 86'400'000);
        pass(k, 30'000);
        CHECK(pad(k).lockedSeconds == 30);
        lockedAtUtc = k.clock().now().utcMs + 86'400'000 - 30'000;
    }
    {
        // Restarted with the wall clock a day behind the lock's start: the lock is served again
        // in full from now (not for a day and a minute), and then ends.
        Kiosk k(dir.path());
        k.clock().jumpWall(lockedAtUtc - 86'400'000 - k.clock().now().utcMs);
        k.controller().dispatch(cs::Intent::key(cs::Intent::Kind::OpenStaff), k.clock().now());
        CHECK(pad(k).lockedSeconds == 60);
        pass(k, 60'000);
        CHECK(pad(k).lockedSeconds == 0);
        enterPinByKeys(k, "8642");
        CHECK(k.current() == cs::Screen::Staff);
    }
}

TEST_CASE("PINs of 6, 7 and 8 digits open the staff screen through the pad", "[app][staff][pin]") {
    for (const std::string pin : {"135790", "1357902", "13579024"}) {
        INFO(pin);
        TempDir dir;
        Kiosk k(dir.path());
        storePin(*k.controller().database(), pin);
        k.controller().dispatch(cs::Intent::key(cs::Intent::Kind::OpenStaff), k.clock().now());
        k.frame();
        // One dot a digit, up to the 8 the pad takes.
        for (char c : pin) k.tap(std::string("digit") + c);
        CHECK(pad(k).entered == static_cast<int>(pin.size()));
        k.tap("digit9");
        CHECK(pad(k).entered == std::min<int>(static_cast<int>(pin.size()) + 1, kPinMaxDigits));
        k.tap("delete");
        if (pin.size() == 8) {
            // The ninth digit was never taken; the delete removed the eighth: type it again.
            k.tap(std::string("digit") + pin.back());
        }
        k.tap("ok");
        CHECK(k.current() == cs::Screen::Staff);
    }
}

TEST_CASE("the terminal makes its data directory 0700 and every file in it 0600", "[app][files]") {
    TempDir dir;
    SECTION("a new directory") {
        const auto data = dir / "new" / "data";
        Kiosk k(data);
        REQUIRE(k.controller().storeOpen());
        CHECK(modeOf(data) == 0700);
        for (const char* f : {"kiosk.sqlite", "kiosk.sqlite-wal", "kiosk.sqlite-shm"}) {
            INFO(f);
            CHECK(modeOf(data / f) == 0600);
        }
    }
    SECTION("an existing 0755 directory with 0644 files is tightened") {
        const auto data = dir / "wide";
        std::filesystem::create_directory(data);
        REQUIRE(::chmod(data.c_str(), 0755) == 0);
        std::ofstream(data / "kiosk.log") << "old line\n";
        REQUIRE(::chmod((data / "kiosk.log").c_str(), 0644) == 0);
        {
            Kiosk first(data);   // makes kiosk.sqlite
        }
        REQUIRE(::chmod((data / "kiosk.sqlite").c_str(), 0644) == 0);
        REQUIRE(::chmod(data.c_str(), 0755) == 0);
        Kiosk k(data);
        REQUIRE(k.controller().storeOpen());
        CHECK(modeOf(data) == 0700);
        CHECK(modeOf(data / "kiosk.log") == 0600);
        for (const auto& e : std::filesystem::directory_iterator(data)) {
            INFO(e.path());
            CHECK(modeOf(e.path()) == 0600);
        }
    }
}

TEST_CASE("PIN lock: a new PIN set while the terminal runs ends the lock the next time the pad opens",
          "[app][staff][pin]") {
    TempDir dir;
    Kiosk k(dir.path());
    storePin(*k.controller().database(), "97531864");
    failFiveTimes(k);
    REQUIRE(pad(k).lockedSeconds == 60);
    // What `segue-kiosk set-pin` does, on its own connection to the same file.
    {
        auto other = store::Database::open(dir.path() / "kiosk.sqlite");
        REQUIRE(other);
        auto hash = hashPin("11223344");
        REQUIRE(hash);
        auto cleared = storeStaffPin(*other, *hash);
        REQUIRE(cleared);
        CHECK(*cleared);
    }
    // The pad on screen stays as it was until it closes; opened again, it is unlocked.
    CHECK(pad(k).lockedSeconds == 60);
    k.controller().dispatch(cs::Intent::key(cs::Intent::Kind::Back), k.clock().now());
    REQUIRE(k.current() != cs::Screen::PinPad);
    CHECK(pad(k).lockedSeconds == 0);
    CHECK(pad(k).failures == 0);
    enterPinByKeys(k, "11223344");
    CHECK(k.current() == cs::Screen::Staff);
    // Nothing was locked the second time: storeStaffPin says so.
    auto again = hashPin("11223344");
    REQUIRE(again);
    auto cleared = storeStaffPin(*k.controller().database(), *again);
    REQUIRE(cleared);
    CHECK_FALSE(*cleared);
}
