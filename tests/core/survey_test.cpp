#include <catch2/catch.hpp>

#include "assets/assets.hpp"
#include "core/survey.hpp"

using namespace segue::core;

TEST_CASE("the embedded default survey asks the five SEGUE items in order") {
    const auto text = segue::assets::find("survey/default.json");
    REQUIRE(text);
    const auto s = parseSurvey(*text);
    REQUIRE(s.has_value());
    CHECK(s->id == "segue-default");
    CHECK(s->items == std::vector<int>{0, 1, 2, 3, 4});
    CHECK(s->languages.front() == "zh-CN");
    CHECK(s->reasonsMaxStars == 3);
    CHECK(s->tags.size() == 6);
}

TEST_CASE("a bad survey definition is refused with the field named") {
    auto err = [](const char* json) {
        const auto s = parseSurvey(json);
        REQUIRE_FALSE(s.has_value());
        return s.error();
    };
    CHECK_THAT(err("[]"), Catch::Contains("not a JSON object"));
    CHECK_THAT(err("{\"version\":1}"), Catch::Contains("\"id\""));
    CHECK_THAT(err(R"({"id":"x","version":1,"languages":["en"],"items":["speed"]})"),
               Catch::Contains("unknown SEGUE item"));
    CHECK_THAT(err(R"({"id":"x","version":1,"languages":["en"],"items":["genuine","genuine"]})"),
               Catch::Contains("twice"));
    CHECK_THAT(err(R"({"id":"x","version":1,"languages":["en"],"items":["genuine"],"tags":["a","b","c","d","e","f","g"]})"),
               Catch::Contains("at most 6"));
    CHECK_THAT(err(R"({"id":"x","version":0,"languages":["en"],"items":["genuine"]})"),
               Catch::Contains("version"));
}

TEST_CASE("a survey definition carries tag labels in every language and its settings") {
    const auto s = parseSurvey(R"({"id":"x","version":2,"languages":["zh-CN","en"],"items":["effective","genuine"],
        "tags":["wait_time",{"id":"queue","labels":{"zh-CN":"排队太久","en":"Queue too long"}}],
        "settings":{"thank_you_s":2,"inactivity_timeout_s":45,"misuse_window_s":0,"target_csat":0.85}})");
    REQUIRE(s.has_value());
    CHECK(s->items == std::vector<int>{4, 2});
    CHECK(s->tags == std::vector<std::string>{"wait_time", "queue"});
    CHECK(s->tagLabels.at("queue").at("zh-CN") == "排队太久");
    CHECK(s->settings.thankYouS == 2);
    CHECK(s->settings.inactivityTimeoutS == 45);
    CHECK(s->settings.misuseWindowS == 0);
    CHECK(*s->settings.targetCsat == Approx(0.85));
    // The bare id has no label of its own: not publishable from HQ.
    CHECK(tagWithoutLabel(*s, "en") == std::optional<std::string>("wait_time"));
    REQUIRE(publishableError(*s));
    CHECK_THAT(*publishableError(*s), Catch::Contains("wait_time") && Catch::Contains("zh-CN"));

    // Today's file is version 1 with the default settings.
    const auto builtIn = parseSurvey(*segue::assets::find("survey/default.json"));
    REQUIRE(builtIn.has_value());
    CHECK(builtIn->settings == SurveySettings{});
    CHECK(builtIn->tagLabels.empty());
}

TEST_CASE("bad tags and settings are refused with the field named") {
    auto err = [](const std::string& extra) {
        const auto s = parseSurvey(R"({"id":"x","version":1,"languages":["en"],"items":["genuine"],)" + extra + "}");
        REQUIRE_FALSE(s.has_value());
        return s.error();
    };
    CHECK_THAT(err(R"("tags":["a","a"])"), Catch::Contains("twice"));
    CHECK_THAT(err(R"("tags":["a b"])"), Catch::Contains("tag ids"));
    CHECK_THAT(err(R"("tags":[{"labels":{}}])"), Catch::Contains("\"id\""));
    CHECK_THAT(err(R"("tags":[{"id":"a","labels":{"en":""}}])"), Catch::Contains("label en of tag a"));
    CHECK_THAT(err(R"("settings":{"thank_you_s":0})"), Catch::Contains("thank_you_s"));
    CHECK_THAT(err(R"("settings":{"target_csat":1.5})"), Catch::Contains("target_csat"));
    CHECK_THAT(err(R"("settings":{"thanks":3})"), Catch::Contains("unknown setting thanks"));
}

TEST_CASE("checkSurvey names the refused field as a JSON path, with parseSurvey's sentence") {
    const std::string head = R"({"id":"x","version":1,"languages":["zh-CN","en"],"items":["genuine","effective"],)";
    auto field = [&](const std::string& rest) {
        const auto checked = checkSurvey(head + rest);
        REQUIRE_FALSE(checked.has_value());
        const auto parsed = parseSurvey(head + rest);
        REQUIRE_FALSE(parsed.has_value());
        CHECK(checked.error().message == parsed.error());   // one check, one sentence
        return checked.error().field;
    };
    CHECK(field(R"("tags":["a",{"id":"b","labels":{"en":""}}]})") == "tags[1].labels.en");
    CHECK(field(R"("tags":["a","a"]})") == "tags[1]");
    CHECK(field(R"("tags":[{"id":"a b"}]})") == "tags[0].id");
    CHECK(field(R"("settings":{"thank_you_s":0}})") == "settings.thank_you_s");
    CHECK(field(R"("settings":{"callback_number_pattern":"("}})") == "settings.callback_number_pattern");
    CHECK(field(R"("reasons_max_stars":9})") == "reasons_max_stars");
    CHECK(field(R"("callback_consent":{"en":7}})") == "callback_consent.en");
    CHECK(checkSurvey(R"({"id":"x","version":1,"languages":["en"],"items":["genuine","speed"]})").error().field == "items[1]");
    CHECK(checkSurvey("[]").error().field.empty());

    const auto unlabelled = checkSurvey(head + R"("tags":[{"id":"a","labels":{"zh-CN":"甲","en":"A"}},{"id":"b","labels":{"zh-CN":"乙"}}]})");
    REQUIRE(unlabelled.has_value());
    const auto problem = publishableProblem(*unlabelled);
    REQUIRE(problem);
    CHECK(problem->field == "tags[1].labels.en");
    CHECK(problem->message == *publishableError(*unlabelled));
}
