// A definition from HQ brings tag labels no translation has (排队太久): the atlas the terminal
// builds must draw every character of the survey it runs, or the reasons screen shows '?' boxes.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "app/font_texts.hpp"
#include "app/survey_accept.hpp"
#include "platform/fonts.hpp"
#include "tests/app/headless.hpp"

using namespace segue;
using namespace segue::app;

namespace {

core::Survey v2() {
    const auto text = nlohmann::json{
        {"id", "segue-default"},
        {"version", 2},
        {"languages", {"zh-CN", "en"}},
        {"items", {"satisfactory", "effective"}},
        {"reasons_max_stars", 3},
        {"tags",
         {{{"id", "wait_time"}, {"labels", {{"zh-CN", "等待时间"}, {"en", "Wait time"}}}},
          {{"id", "queue_too_long"}, {"labels", {{"zh-CN", "排队太久"}, {"en", "Queue too long"}}}},
          {{"id", "cold_staff"}, {"labels", {{"zh-CN", "店员态度冷淡"}, {"en", "Staff were cold"}}}}}},
        {"settings", {{"thank_you_s", 2}}}}.dump();
    auto s = acceptSurvey(text);
    REQUIRE(s);
    return *s;
}

/// The atlas a terminal builds for `texts`, at 1280x800's sizes.
struct Atlas {
    ImFontAtlas atlas;
    platform::Fonts fonts;
    explicit Atlas(std::vector<std::string_view> texts) {
        platform::FontRequest req;
        req.sizes = metricsFor(1280.f, 800.f).fonts;
        req.texts = std::move(texts);
        auto built = platform::buildFonts(atlas, req);
        REQUIRE(built);
        fonts = *built;
    }
    std::vector<unsigned> missing(std::string_view text) const {
        std::vector<unsigned> out;
        for (const ImFont* f : {fonts.caption, fonts.body, fonts.title}) {
            const auto m = platform::missingGlyphs(*f, text);
            out.insert(out.end(), m.begin(), m.end());
        }
        return out;
    }
};

} // namespace

TEST_CASE("the atlas draws every character of the applied survey's labels", "[app][fonts]") {
    const core::Survey survey = v2();
    KioskConfig cfg;
    const Strings& strings = test::embeddedStrings();

    // The strings alone (what the atlas held before it knew the survey) cannot draw them.
    std::vector<std::string_view> stringsOnly = strings.allTexts();
    stringsOnly.push_back(cfg.storeId);
    stringsOnly.push_back(cfg.deviceId);
    const Atlas before(stringsOnly);
    CHECK_FALSE(before.missing("排队太久").empty());
    CHECK_FALSE(before.missing("店员态度冷淡").empty());

    const Atlas after(fontTexts(strings, cfg, survey));
    for (const auto& [tag, labels] : survey.tagLabels)
        for (const auto& [language, label] : labels) {
            INFO(tag << " " << language << " " << label);
            CHECK(after.missing(label).empty());
        }
    // The translations are all still there.
    for (const auto text : strings.allTexts()) {
        INFO(text);
        CHECK(after.missing(text).empty());
    }
}

TEST_CASE("a survey with other labels asks for another atlas; the same labels do not", "[app][fonts]") {
    const core::Survey survey = v2();
    core::Survey relabelled = survey;
    relabelled.version = 3;
    CHECK(surveyLabelText(relabelled) == surveyLabelText(survey));
    relabelled.tagLabels["queue_too_long"]["zh-CN"] = "排队时间太长";
    CHECK(surveyLabelText(relabelled) != surveyLabelText(survey));
    CHECK(surveyLabelText(survey).find("排队太久") != std::string::npos);
}
