// The terminal opens its store on a thread of its own (ControllerHooks::openInBackground): the
// attract screen does not wait for the check of a large file, and nothing a customer or staff
// does gets ahead of the open.
#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <thread>

#include <sqlite3.h>

#include "core/uuid.hpp"
#include "store/responses.hpp"
#include "tests/app/headless.hpp"

using namespace segue;
using namespace segue::app;
using namespace segue::app::test;
namespace cs = segue::core;

namespace {

ControllerHooks inBackground(int* opened = nullptr) {
    ControllerHooks hooks;
    hooks.openInBackground = true;
    if (opened) hooks.onStoreOpened = [opened] { ++*opened; };
    return hooks;
}

/// A store holding `count` earlier responses (and the staff PIN 1357), so that opening it has a
/// file to check.
void makeStore(const std::filesystem::path& dataDir, int count) {
    auto db = store::Database::open(dataDir / "kiosk.sqlite");
    REQUIRE(db.has_value());
    cs::UuidV7Generator ids(3);
    std::vector<cs::Response> rs;
    const std::int64_t start = 1'790'000'000'000;
    for (int i = 0; i < count; ++i) {
        cs::Response r;
        r.createdAtMs = start + i * 60'000LL;
        r.id = ids.next(r.createdAtMs);
        r.storeId = "store-demo";
        r.deviceId = "kiosk-demo";
        r.surveyId = "segue-default";
        r.language = "zh-CN";
        r.utcOffsetMin = 480;
        r.localDate = cs::localDate(r.createdAtMs, r.utcOffsetMin);
        r.localHour = cs::localHour(r.createdAtMs, r.utcOffsetMin);
        r.stars = 1 + i % 5;
        r.complete = true;
        rs.push_back(std::move(r));
    }
    REQUIRE(store::saveResponses(*db, rs).has_value());
    storePin(*db, "1357");
}

} // namespace

TEST_CASE("opening in the background: the attract screen is there at once, the store is taken on a tick",
          "[app][store][background]") {
    TempDir dir;
    makeStore(dir.path(), 20'000);
    int opened = 0;
    Kiosk k(dir.path(), 1280, 800, "zh-CN", inBackground(&opened));
    // start() returned without the store: it is only taken on the loop's thread, by a tick.
    CHECK(k.controller().storeOpening());
    CHECK_FALSE(k.controller().storeOpen());
    CHECK(k.current() == cs::Screen::Attract);
    k.frame();
    CHECK(k.screen().log().overflows.empty());
    // The loop wakes to look for it (and sleeps long once it is taken).
    const auto wake = k.controller().nextWakeMono();
    REQUIRE(wake.has_value());
    CHECK(*wake <= k.clock().now().monoMs + KioskController::kOpenPollMs);

    k.waitForOpen();
    CHECK(k.controller().storeOpen());
    CHECK(opened == 1);
    CHECK(k.current() == cs::Screen::Attract);
    CHECK(k.rows().size() == 20'000);
}

TEST_CASE("a response finished while the store is still opening is committed before the thank-you",
          "[app][store][background]") {
    TempDir dir;
    makeStore(dir.path(), 20'000);
    // Another connection holds the file's lock for a while, so the open is surely still running
    // when the customer finishes (SQLite's locks also hold between connections of one process).
    const auto file = dir.path() / "kiosk.sqlite";
    sqlite3* holder = nullptr;
    REQUIRE(sqlite3_open(file.c_str(), &holder) == SQLITE_OK);
    REQUIRE(sqlite3_exec(holder, "PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE", nullptr, nullptr, nullptr) ==
            SQLITE_OK);
    std::jthread release([holder] {
        std::this_thread::sleep_for(std::chrono::milliseconds(1500));
        sqlite3_exec(holder, "COMMIT", nullptr, nullptr, nullptr);
        sqlite3_close(holder);
    });
    Kiosk k(dir.path(), 1280, 800, "zh-CN", inBackground());
    REQUIRE(k.controller().storeOpening());
    k.choose("star4");
    k.tap("submit");
    CHECK(k.current() == cs::Screen::ThankYou);
    CHECK_FALSE(k.controller().storeOpening());
    CHECK(k.controller().unsavedCount() == 0);
    const auto rows = k.rows();
    REQUIRE(rows.size() == 20'001);
    CHECK(rows.back().stars == 4);
}

TEST_CASE("the staff PIN entered while the store is still opening is checked against the stored one",
          "[app][store][background]") {
    TempDir dir;
    makeStore(dir.path(), 20'000);
    Kiosk k(dir.path(), 1280, 800, "zh-CN", inBackground());
    REQUIRE(k.controller().storeOpening());
    // Without the stored hash the pad would only explain that no PIN is set, and close.
    enterPinByKeys(k, "1357");
    CHECK(k.current() == cs::Screen::Staff);
    CHECK(k.controller().storeOpen());
    CHECK_FALSE(k.controller().storeOpening());
}

TEST_CASE("a corrupt file found by the background open is moved aside, and the staff screen says so",
          "[app][store][background][corrupt]") {
    TempDir dir;
    {
        std::ofstream f(dir.path() / "kiosk.sqlite", std::ios::binary);
        f << std::string("SQLite format 3") + '\0' + std::string(4096, '\x5a');
    }
    int opened = 0;
    Kiosk k(dir.path(), 1280, 800, "zh-CN", inBackground(&opened));
    k.waitForOpen();
    REQUIRE(k.controller().storeOpen());
    CHECK(opened == 1);
    CHECK(k.current() == cs::Screen::Attract);
    CHECK(hasMovedAside(dir.path()));

    storePin(*k.controller().database(), "2468");
    enterPinByKeys(k, "2468");
    REQUIRE(k.current() == cs::Screen::Staff);
    const StaffVM vm = k.controller().viewModel(k.clock().now()).staff;
    REQUIRE(vm.recovery.has_value());
    CHECK(vm.recovery->movedTo.find("kiosk.sqlite.corrupt-") != std::string::npos);
}

TEST_CASE("a background open that fails shows Unavailable and is retried until the store opens",
          "[app][store][background]") {
    TempDir dir;
    const auto blocker = dir.path() / "blocker";
    { std::ofstream(blocker) << "not a directory"; }
    int opened = 0;
    Kiosk k(blocker / "data", 1280, 800, "zh-CN", inBackground(&opened));
    k.waitForOpen();
    CHECK_FALSE(k.controller().storeOpen());
    CHECK(k.current() == cs::Screen::Unavailable);
    CHECK_THAT(k.controller().lastStoreError(), Catch::Contains("blocker"));
    CHECK(opened == 0);

    std::filesystem::remove(blocker);
    k.wait(KioskController::kRetryMs + 100);
    CHECK(k.controller().storeOpen());
    CHECK(opened == 1);
    CHECK(k.current() == cs::Screen::Attract);
    k.choose("star5");
    k.tap("submit");
    CHECK(k.current() == cs::Screen::ThankYou);
    CHECK(k.rows().size() == 1);
}
