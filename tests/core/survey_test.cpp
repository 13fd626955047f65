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
