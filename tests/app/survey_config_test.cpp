// A survey definition from HQ is applied between customers: a response in progress keeps the
// version it started with, the next one runs the new definition (its items, its tags with their
// labels, its timings); the applied definition survives a restart; a refused one changes nothing.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "store/config_store.hpp"
#include "tests/app/headless.hpp"

using namespace segue;
using namespace segue::app;
using namespace segue::app::test;
namespace cs = segue::core;

namespace {

/// Version 2 of the built-in survey: two items, a new tag labelled in both languages, a 2 s
/// thank-you.
std::string version2() {
    nlohmann::json tags = {"wait_time", "attitude"};
    tags.push_back({{"id", "queue_too_long"}, {"labels", {{"zh-CN", "排队太久"}, {"en", "Queue too long"}}}});
    return nlohmann::json{{"id", "segue-default"},
                          {"version", 2},
                          {"languages", {"zh-CN", "en"}},
                          {"items", {"satisfactory", "effective"}},
                          {"reasons_max_stars", 3},
                          {"tags", tags},
                          {"settings", {{"thank_you_s", 2}}}}
        .dump();
}

void offer(Kiosk& k, const std::string& text) {
    auto survey = acceptSurvey(text);
    REQUIRE(survey);
    k.controller().offerSurvey(std::move(*survey), text, k.clock().now());
}

} // namespace

TEST_CASE("a definition arriving mid-response applies to the next customer", "[app][survey_config]") {
    TempDir dir;
    {
        Kiosk k(dir.path(), 1280, 800, "en");
        k.choose("star2");
        k.choose("option4");
        offer(k, version2());           // the customer is on the second of five items
        CHECK(k.controller().surveyWaiting());
        CHECK(k.controller().flow().survey.version == 1);
        k.choose("option5");
        k.choose("option3");
        k.choose("option2");
        k.choose("option1");
        REQUIRE(k.current() == cs::Screen::Reasons);
        k.frame();
        CHECK(k.screen().hasTarget("tag5"));   // still the six built-in tags
        k.tap("tag0");
        k.tap("done");
        REQUIRE(k.current() == cs::Screen::ThankYou);
        CHECK_FALSE(k.controller().surveyWaiting());
        CHECK(k.controller().flow().survey.version == 2);
        auto rows = k.rows();
        REQUIRE(rows.size() == 1);
        CHECK(rows[0].surveyVersion == 1);
        CHECK(rows[0].tags == std::vector<std::string>{"wait_time"});

        // The thank-you of version 2 lasts 2 s.
        k.wait(2100);
        REQUIRE(k.current() == cs::Screen::Attract);
        k.wait(6000);   // past the misuse window
        k.choose("star1");
        k.choose("option2");
        k.choose("option3");            // the second and last item of version 2
        REQUIRE(k.current() == cs::Screen::Reasons);
        const auto vm = k.controller().viewModel(k.clock().now());
        REQUIRE(vm.reasons.tagIds.size() == 3);
        CHECK(vm.reasons.tagLabels[2] == "Queue too long");
        CHECK(vm.reasons.tagLabels[0].empty());   // a built-in tag keeps its translation
        k.frame();
        k.tap("tag2");
        k.tap("done");
        rows = k.rows();
        REQUIRE(rows.size() == 2);
        CHECK(rows[1].surveyVersion == 2);
        CHECK(rows[1].tags == std::vector<std::string>{"queue_too_long"});
        CHECK(rows[1].segue[0] == 2);
        CHECK(rows[1].segue[4] == 3);
        CHECK_FALSE(rows[1].segue[1]);

        const auto state = store::loadSurveyConfig(*k.controller().database());
        REQUIRE(state);
        CHECK(state->applied == version2());
        CHECK(state->appliedAtMs);
        CHECK_FALSE(state->pending);
    }
    // Restarted (offline: nothing fetches): version 2 runs from the start.
    Kiosk again(dir.path(), 1280, 800, "en");
    CHECK(again.controller().flow().survey.version == 2);
    CHECK(again.controller().flow().thankYouMs == 2000);
}

TEST_CASE("a definition the terminal cannot show is refused and changes nothing", "[app][survey_config]") {
    auto unlabelled = nlohmann::json::parse(version2());
    unlabelled["tags"][2]["labels"].erase("zh-CN");
    auto r = acceptSurvey(unlabelled.dump());
    REQUIRE_FALSE(r);
    CHECK(r.error() == "tag queue_too_long has no label in zh-CN");

    auto french = nlohmann::json::parse(version2());
    french["languages"] = {"zh-CN", "fr"};
    r = acceptSurvey(french.dump());
    REQUIRE_FALSE(r);
    CHECK(r.error() == "language fr is not available on this terminal");

    r = acceptSurvey("{\"id\": 3}");
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error(), Catch::Contains("\"id\""));

    // A built-in tag given as a bare id is worded by the translations: accepted.
    CHECK(acceptSurvey(R"({"id":"s","version":3,"languages":["en","zh-CN"],"items":["genuine"],"tags":["price"]})"));

    // A stored definition that no longer passes is not run: the built-in one is.
    TempDir dir;
    {
        Kiosk k(dir.path());
        store::SurveyConfigState state;
        state.applied = unlabelled.dump();
        REQUIRE(store::saveSurveyConfig(*k.controller().database(), state));
    }
    Kiosk k(dir.path());
    CHECK(k.controller().flow().survey.version == 1);
}
