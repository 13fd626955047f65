// Strings: lookups, fallback, formatting and bad translation files.
#include <catch2/catch.hpp>

#include "app/strings.hpp"

using namespace segue::app;

TEST_CASE("a key falls back to the first language, then to itself", "[app][strings]") {
    auto s = Strings::fromJson({{"zh-CN", R"({"a":"甲","b":"乙"})"}, {"en", R"({"a":"A"})"}});
    REQUIRE(s.has_value());
    CHECK(s->get("en", "a") == "A");
    CHECK(s->get("en", "b") == "乙");
    CHECK(s->get("fr", "a") == "甲");
    CHECK(s->get("en", "missing.key") == "missing.key");
    CHECK(s->has("zh-CN", "b"));
    CHECK_FALSE(s->has("en", "b"));
}

TEST_CASE("a translation file that is not an object of strings is refused by name", "[app][strings]") {
    auto notJson = Strings::fromJson({{"en", "{"}});
    REQUIRE_FALSE(notJson.has_value());
    CHECK_THAT(notJson.error(), Catch::Contains("translations/en.json"));
    auto number = Strings::fromJson({{"en", R"({"a": 3})"}});
    REQUIRE_FALSE(number.has_value());
    CHECK_THAT(number.error(), Catch::Contains("\"a\""));
    CHECK_FALSE(Strings::loadEmbedded({"xx"}).has_value());
}

TEST_CASE("placeholders are filled, repeated ones too", "[app][strings]") {
    CHECK(formatText("{n} of {n} · {m}", {{"n", "2"}, {"m", "x"}}) == "2 of 2 · x");
    CHECK(formatText("no placeholders", {{"n", "2"}}) == "no placeholders");
    CHECK(formatText("{n}", {{"n", "{n}"}}) == "{n}");
}
