// The keypad path: digits, Enter, Escape, L and F10 through the same controller.
#include <catch2/catch.hpp>

#include "app/keys.hpp"
#include "tests/app/headless.hpp"

using namespace segue;
using namespace segue::app;
using namespace segue::app::test;
namespace cs = segue::core;
using platform::KeyKind;
using platform::KeyPress;

namespace {
KeyPress digit(int d) { return {KeyKind::Digit, d}; }
const KeyPress kEnter{KeyKind::Enter, 0};
const KeyPress kEscape{KeyKind::Escape, 0};
} // namespace

TEST_CASE("digits answer each screen in turn and Enter finishes", "[app][keys]") {
    TempDir dir;
    Kiosk k(dir.path());
    k.key(digit(4));
    k.wait(200);
    REQUIRE(k.current() == cs::Screen::Item);
    for (int d : {5, 4, 3, 2, 1}) {
        k.key(digit(d));
        k.wait(200);
    }
    REQUIRE(k.current() == cs::Screen::ThankYou);   // 4 stars: no reasons screen
    const auto rows = k.rows();
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].stars == 4);
    for (int i = 0; i < 5; ++i) CHECK(rows[0].segue[static_cast<std::size_t>(i)] == 5 - i);
    CHECK(rows[0].complete);
}

TEST_CASE("keys typed during the confirmation moment land on the next screen", "[app][keys][feedback]") {
    TempDir dir;
    Kiosk k(dir.path());
    k.key(digit(2));
    k.key(digit(3));   // a fast keypad: this is the first item's answer, not a new star rating
    k.key(digit(4));
    k.wait(200);
    k.wait(200);
    k.wait(200);
    REQUIRE(k.current() == cs::Screen::Item);
    CHECK(k.controller().session().item == 2);
    k.key(kEnter);     // Submit → reasons (2 stars)
    REQUIRE(k.current() == cs::Screen::Reasons);
    k.key(digit(1));   // toggles the first tag
    k.key(digit(6));   // and the sixth
    k.key(kEnter);
    REQUIRE(k.current() == cs::Screen::ThankYou);
    const auto rows = k.rows();
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].stars == 2);
    CHECK(rows[0].segue[0] == 3);
    CHECK(rows[0].segue[1] == 4);
    CHECK(rows[0].tags == std::vector<std::string>{"wait_time", "price"});
}

TEST_CASE("Escape goes back, L toggles the language", "[app][keys]") {
    TempDir dir;
    Kiosk k(dir.path());
    k.key({KeyKind::LetterL, 0});
    CHECK(k.controller().session().language == "en");
    k.key(digit(5));
    k.wait(200);
    k.key(digit(5));
    k.wait(200);
    REQUIRE(k.controller().session().item == 1);
    k.key(kEscape);
    CHECK(k.controller().session().item == 0);
    k.key(kEscape);
    CHECK(k.current() == cs::Screen::Attract);
    k.key(kEnter);     // continue with the stars already chosen
    CHECK(k.current() == cs::Screen::Item);
    k.key({KeyKind::LetterL, 0});
    CHECK(k.controller().session().language == "zh-CN");
}

TEST_CASE("each key means one intent per screen", "[app][keys]") {
    using Kind = core::Intent::Kind;
    CHECK(intentForKey(digit(3), cs::Screen::Attract) == core::Intent::key(Kind::Digit, 3));
    CHECK(intentForKey(digit(7), cs::Screen::PinPad) == core::Intent::key(Kind::PinDigit, 7));
    CHECK(intentForKey({KeyKind::Backspace, 0}, cs::Screen::PinPad).kind == Kind::PinDelete);
    CHECK(intentForKey({KeyKind::Backspace, 0}, cs::Screen::Item).kind == Kind::Back);
    CHECK(intentForKey(kEscape, cs::Screen::Staff).kind == Kind::ExitStaff);
    CHECK(intentForKey(kEscape, cs::Screen::Reasons).kind == Kind::Back);
    CHECK(intentForKey(kEnter, cs::Screen::Item).kind == Kind::Submit);
    CHECK(intentForKey({KeyKind::F10, 0}, cs::Screen::Attract).kind == Kind::OpenStaff);
    CHECK(intentForKey({KeyKind::LetterL, 0}, cs::Screen::Item).kind == Kind::ToggleLanguage);
    CHECK(intentForKey(digit(1), cs::Screen::Item).source == core::InputSource::Key);
}
