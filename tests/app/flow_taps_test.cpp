// Taps through every customer screen, in the real screens with the real controller and a real
// SQLite file, and checks the rows the store holds afterwards.
#include <catch2/catch.hpp>

#include "store/database.hpp"
#include "tests/app/headless.hpp"

using namespace segue;
using namespace segue::app;
using namespace segue::app::test;
namespace cs = segue::core;

namespace {

int answer(const core::Response& r, int segue) { return r.segue[static_cast<std::size_t>(segue)].value_or(0); }

} // namespace

TEST_CASE("tapping stars, options, tags and Done stores one complete response", "[app][taps]") {
    TempDir dir;
    Kiosk k(dir.path());
    REQUIRE(k.current() == cs::Screen::Attract);

    k.choose("star2");
    REQUIRE(k.current() == cs::Screen::Item);
    CHECK(k.controller().viewModel(k.clock().now()).item.segueIndex == 0);
    k.choose("option4");   // satisfactory
    k.choose("option5");   // efficient
    REQUIRE(k.tap("skip").kind == core::Intent::Kind::Skip);   // genuine left unanswered
    k.choose("option3");   // understanding
    k.choose("option1");   // effective: the last item, and 2 stars ask for reasons
    REQUIRE(k.current() == cs::Screen::Reasons);
    k.tap("tag0");
    k.tap("tag2");
    k.tap("tag2");         // toggled off again
    k.tap("tag3");
    CHECK(k.rows().empty());   // nothing is saved before Done
    k.tap("done");
    REQUIRE(k.current() == cs::Screen::ThankYou);

    const auto rows = k.rows();
    REQUIRE(rows.size() == 1);
    const core::Response& r = rows[0];
    CHECK(r.stars == 2);
    CHECK(answer(r, 0) == 4);
    CHECK(answer(r, 1) == 5);
    CHECK_FALSE(r.segue[2].has_value());
    CHECK(answer(r, 3) == 3);
    CHECK(answer(r, 4) == 1);
    CHECK(r.tags == std::vector<std::string>{"wait_time", "unclear"});
    CHECK(r.complete);
    CHECK_FALSE(r.misuse);
    CHECK(r.language == "zh-CN");
    CHECK(r.storeId == k.config().storeId);
    CHECK(core::uuidV7Millis(r.id) == r.createdAtMs);

    k.wait(3000);
    CHECK(k.current() == cs::Screen::Attract);
}

TEST_CASE("Submit on the first item skips the rest; high ratings skip the reasons", "[app][taps]") {
    TempDir dir;
    Kiosk k(dir.path());
    k.choose("star5");
    k.choose("option5");
    REQUIRE(k.current() == cs::Screen::Item);
    k.tap("submit");
    REQUIRE(k.current() == cs::Screen::ThankYou);
    const auto rows = k.rows();
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].stars == 5);
    CHECK(answer(rows[0], 0) == 5);
    for (int i = 1; i < 5; ++i) CHECK_FALSE(rows[0].segue[static_cast<std::size_t>(i)].has_value());
    CHECK(rows[0].tags.empty());
    CHECK(rows[0].complete);
}

TEST_CASE("Back returns to the previous item and keeps its answer on screen", "[app][taps]") {
    TempDir dir;
    Kiosk k(dir.path());
    k.choose("star4");
    k.choose("option2");
    REQUIRE(k.controller().session().item == 1);
    k.tap("back");
    REQUIRE(k.controller().session().item == 0);
    CHECK(k.controller().viewModel(k.clock().now()).item.answer == 2);
    k.tap("back");
    REQUIRE(k.current() == cs::Screen::Attract);
    CHECK(k.controller().viewModel(k.clock().now()).attract.litStars == 4);
    CHECK(k.rows().empty());
}

TEST_CASE("a customer who walks away leaves a partial response", "[app][taps][timeout]") {
    TempDir dir;
    Kiosk k(dir.path());
    k.choose("star3");
    k.choose("option4");
    k.wait(29'000);
    CHECK(k.current() == cs::Screen::Item);
    CHECK(k.rows().empty());
    k.wait(1'500);
    REQUIRE(k.current() == cs::Screen::Attract);
    const auto rows = k.rows();
    REQUIRE(rows.size() == 1);
    CHECK_FALSE(rows[0].complete);
    CHECK(rows[0].stars == 3);
    CHECK(answer(rows[0], 0) == 4);
    CHECK_FALSE(rows[0].segue[1].has_value());
}

TEST_CASE("a response started within the misuse window is stored, flagged", "[app][taps][misuse]") {
    TempDir dir;
    Kiosk k(dir.path());
    k.choose("star5");
    k.tap("submit");
    REQUIRE(k.current() == cs::Screen::ThankYou);
    k.wait(1000);
    // The next tap lands on the thank-you screen's successor: a fresh attract screen.
    k.wait(2100);
    REQUIRE(k.current() == cs::Screen::Attract);
    k.choose("star1");          // 3.1 s after the last one finished: within 5 s
    k.tap("submit");
    k.tap("done");
    REQUIRE(k.current() == cs::Screen::ThankYou);
    k.wait(3100);
    k.wait(6000);
    k.choose("star4");          // well after: counted again
    k.tap("submit");
    const auto rows = k.rows();
    REQUIRE(rows.size() == 3);
    CHECK_FALSE(rows[0].misuse);
    CHECK(rows[1].misuse);
    CHECK(rows[1].stars == 1);
    CHECK_FALSE(rows[2].misuse);
}

TEST_CASE("the language switch changes the screen and is recorded with the response", "[app][taps][language]") {
    TempDir dir;
    Kiosk k(dir.path());
    REQUIRE(k.controller().session().language == "zh-CN");
    k.tap("lang-en");
    REQUIRE(k.controller().session().language == "en");
    k.choose("star4");
    k.choose("option5");
    k.tap("lang-zh-CN");    // switching mid-survey is allowed and recorded as the final language
    k.tap("lang-en");
    k.tap("submit");
    const auto rows = k.rows();
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].language == "en");
    k.wait(3100);
    CHECK(k.controller().session().language == "zh-CN");   // the next customer starts in the default
}

TEST_CASE("touches during the confirmation moment are ignored", "[app][taps][feedback]") {
    TempDir dir;
    Kiosk k(dir.path());
    k.tap("star5");
    REQUIRE(k.controller().session().feedback.has_value());
    // A second tap on another star inside the 150 ms does not change the rating.
    k.frame();
    const ImVec2 at = k.screen().target("star1").center();
    k.frame(at, true);
    k.frame(at, false);
    k.wait(200);
    REQUIRE(k.current() == cs::Screen::Item);
    k.tap("submit");
    const auto rows = k.rows();
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].stars == 5);
}
