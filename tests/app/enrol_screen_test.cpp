// The enrolment screen through the real controller, screens and a real SQLite file: typed on
// the keypad (taps and keys), the enrolment runs off the UI thread, success moves on to the
// customers with the enrolled ids, a refusal keeps the code; a real enrolWithCode against a
// closed loopback port is "unreachable".
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>

#include "app/cli_enrol.hpp"
#include "app/keys.hpp"
#include "tests/app/headless.hpp"

using namespace segue;
using namespace segue::app;
using namespace segue::app::test;
namespace cs = segue::core;
using platform::KeyKind;
using platform::KeyPress;

namespace {

KioskConfig unenrolled(const std::filesystem::path& dir, std::string language = "zh-CN") {
    KioskConfig cfg;
    cfg.dataDir = dir;
    cfg.language = std::move(language);
    cfg.sync.enabled = true;
    cfg.sync.serverUrl = "https://127.0.0.1:1";   // nothing listens there
    return cfg;
}

/// Ticks (as the loop does) until the enrolment's thread has answered; bounded in real time.
void waitForEnrolment(Kiosk& k) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (k.controller().enrolling()) {
        REQUIRE(std::chrono::steady_clock::now() < deadline);
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        k.wait(KioskController::kOpenPollMs);
    }
}

void tapCode(Kiosk& k, const std::string& digits) {
    for (const char c : digits) {
        INFO("digit " << c);
        REQUIRE(k.tap(std::string("digit") + c).kind == cs::Intent::Kind::PinDigit);
    }
}

} // namespace

TEST_CASE("enrol screen: tapped code, enrolled off the UI thread, then the customers' screens with the new ids",
          "[app][enrol]") {
    TempDir dir;
    std::atomic<int> calls = 0;
    std::string codeSeen;
    std::optional<Identity> announced;
    ControllerHooks hooks;
    hooks.enrol = [&](const std::string& code) -> std::expected<Identity, EnrolFailure> {
        ++calls;
        codeSeen = code;
        std::this_thread::sleep_for(std::chrono::milliseconds(30));   // HQ takes a moment
        return Identity{"dev-enrolled", "store-enrolled", "tok", "https://127.0.0.1:1", "2026-12-06T06:00:00Z"};
    };
    hooks.onEnrolled = [&](const Identity& id) { announced = id; };
    Kiosk k(unenrolled(dir.path()), 1280, 800, std::move(hooks));
    k.waitForOpen();
    REQUIRE(k.current() == cs::Screen::Enrol);

    tapCode(k, "12345678901");
    k.frame();
    // Eleven digits: OK is not there to press yet.
    CHECK(k.tap("ok").kind == cs::Intent::Kind::None);
    tapCode(k, "2");
    CHECK(k.controller().viewModel(k.clock().now()).enrol.digits == "123456789012");
    REQUIRE(k.tap("ok").kind == cs::Intent::Kind::Submit);
    CHECK(k.controller().session().enrolling);
    CHECK(k.controller().viewModel(k.clock().now()).enrol.enrolling);
    k.frame();   // the screen draws while HQ is asked
    waitForEnrolment(k);

    CHECK(calls == 1);
    CHECK(codeSeen == "123456789012");
    REQUIRE(announced.has_value());
    CHECK(announced->deviceId == "dev-enrolled");
    CHECK(k.current() == cs::Screen::Attract);
    CHECK(k.controller().config().storeId == "store-enrolled");
    CHECK(k.controller().config().sync.token == "tok");

    // The first customer's response carries the enrolled ids.
    k.choose("star5");
    k.key({KeyKind::Enter});
    k.wait(k.controller().flow().feedbackMs + 50);
    const auto rows = k.rows();
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].storeId == "store-enrolled");
    CHECK(rows[0].deviceId == "dev-enrolled");
}

TEST_CASE("enrol screen: a refused code stays on screen to be corrected with Backspace and keys", "[app][enrol]") {
    TempDir dir;
    std::vector<std::string> codes;
    ControllerHooks hooks;
    hooks.enrol = [&](const std::string& code) -> std::expected<Identity, EnrolFailure> {
        codes.push_back(code);
        return std::unexpected(EnrolFailure{EnrolFailure::Kind::Refused, "HQ refused the enrolment code"});
    };
    Kiosk k(unenrolled(dir.path(), "en"), 800, 480, std::move(hooks));
    k.waitForOpen();
    for (const char c : std::string("111122223333")) k.key({KeyKind::Digit, c - '0'});
    k.key({KeyKind::Enter});
    waitForEnrolment(k);
    FrameVM vm = k.controller().viewModel(k.clock().now());
    CHECK(vm.screen == cs::Screen::Enrol);
    CHECK(vm.enrol.problem == cs::EnrolProblem::Refused);
    CHECK(vm.enrol.digits == "111122223333");
    k.frame();
    k.key({KeyKind::Backspace});
    k.key({KeyKind::Digit, 4});
    k.key({KeyKind::Enter});
    waitForEnrolment(k);
    CHECK(codes == std::vector<std::string>{"111122223333", "111122223334"});
    CHECK(k.current() == cs::Screen::Enrol);
    // Escape and F10 lead nowhere: customers and staff wait for the enrolment.
    k.key({KeyKind::Escape});
    k.key({KeyKind::F10});
    CHECK(k.current() == cs::Screen::Enrol);
}

TEST_CASE("enrol screen: the real enrolment against a closed loopback port says HQ is unreachable", "[app][enrol]") {
    TempDir dir;
    const KioskConfig cfg = unenrolled(dir.path());
    ControllerHooks hooks;
    hooks.enrol = [cfg](const std::string& code) { return enrolWithCode(cfg, code); };
    Kiosk k(cfg, 1080, 1920, std::move(hooks));
    k.waitForOpen();
    tapCode(k, "123456789012");
    REQUIRE(k.tap("ok").kind == cs::Intent::Kind::Submit);
    waitForEnrolment(k);
    const FrameVM vm = k.controller().viewModel(k.clock().now());
    CHECK(vm.screen == cs::Screen::Enrol);
    CHECK(vm.enrol.problem == cs::EnrolProblem::Unreachable);
    CHECK(vm.enrol.digits == "123456789012");
    CHECK_FALSE(std::filesystem::exists(identityPath(dir.path())));
}

TEST_CASE("enrol screen: a terminal with a token, or without sync, never shows it", "[app][enrol]") {
    TempDir dir;
    KioskConfig cfg = unenrolled(dir.path());
    cfg.sync.token = "from-the-toml";
    Kiosk withToken(cfg, 1280, 800, {});
    CHECK(withToken.current() == cs::Screen::Attract);
    TempDir other;
    Kiosk noSync(other.path());
    CHECK(noSync.current() == cs::Screen::Attract);
}
