// Line breaking for mixed Chinese and English text.
#include <catch2/catch.hpp>

#include "app/ui.hpp"
#include "tests/app/headless.hpp"

using namespace segue::app;

TEST_CASE("English breaks at spaces, Chinese between characters but not before punctuation", "[app][text]") {
    test::Screen screen(1280, 800);
    const ImFont& font = *screen.fonts().body;
    const float size = 28.f;
    const float oneWord = textWidth(font, size, "efficient");
    auto lines = wrapText(font, size, "How efficient were we today", oneWord * 1.6f);
    REQUIRE(lines.size() > 1);
    for (const auto& l : lines) {
        CHECK(l.width <= oneWord * 1.6f + 0.5f);
        CHECK(l.text.front() != ' ');
        CHECK(l.text.back() != ' ');
    }
    const float fourChars = textWidth(font, size, "您对本次");
    lines = wrapText(font, size, "您对本次服务满意吗?", fourChars + 1.f);
    REQUIRE(lines.size() >= 2);
    for (const auto& l : lines) CHECK(l.text.rfind("?", 0) != 0);   // never a line starting with '?'
    std::string joined;
    for (const auto& l : lines) joined += l.text;
    CHECK(joined == "您对本次服务满意吗?");
    lines = wrapText(font, size, "one\ntwo", 10000.f);
    REQUIRE(lines.size() == 2);
    CHECK(lines[1].text == "two");
}
