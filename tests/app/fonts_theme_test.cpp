// The font atlas covers every character the strings use (no '?' boxes) and stays small;
// the theme's text colours keep a 4.5:1 contrast.
#include <catch2/catch.hpp>

#include "app/theme.hpp"
#include "platform/fonts.hpp"
#include "tests/app/headless.hpp"

using namespace segue;
using namespace segue::app;

TEST_CASE("every character of every string has a glyph in the atlas", "[app][fonts]") {
    test::Screen screen(800, 480);
    const platform::Fonts& f = screen.fonts();
    for (const auto text : test::embeddedStrings().allTexts()) {
        INFO(text);
        for (const ImFont* font : {f.caption, f.body, f.title}) CHECK(platform::missingGlyphs(*font, text).empty());
    }
    // Figures, separators and the ellipsis the staff screen draws.
    for (const ImFont* font : {f.caption, f.body, f.title, f.huge})
        CHECK(platform::missingGlyphs(*font, "0123456789.%\u2014\u2026\u00b7\u2192:-").empty());
    // Only what is used: a character no string contains is not there.
    CHECK_FALSE(platform::missingGlyphs(*f.body, "\u9f98").empty());
}

TEST_CASE("the atlas is built from the used glyphs only", "[app][fonts]") {
    test::Screen screen(1080, 1920);   // the largest sizes
    unsigned char* pixels = nullptr;
    int w = 0, h = 0;
    ImGui::GetIO().Fonts->GetTexDataAsRGBA32(&pixels, &w, &h);
    INFO(w << "x" << h);
    CHECK(static_cast<long>(w) * h <= 4096L * 2048L);
    const auto ranges = platform::glyphRangesFor(test::embeddedStrings().allTexts());
    REQUIRE(ranges.size() % 2 == 1);
    REQUIRE(ranges.back() == 0);
    long glyphs = 0;
    for (std::size_t i = 0; i + 1 < ranges.size(); i += 2) glyphs += ranges[i + 1] - ranges[i] + 1;
    CHECK(glyphs < 1000);
}

TEST_CASE("a missing font file is a clear error", "[app][fonts]") {
    ImFontAtlas atlas;
    platform::FontRequest req;
    req.file = "/nonexistent/font.ttc";
    const auto fonts = platform::buildFonts(atlas, req);
    REQUIRE_FALSE(fonts.has_value());
    CHECK_THAT(fonts.error(), Catch::Contains("/nonexistent/font.ttc"));
}

TEST_CASE("text colours keep at least 4.5:1 contrast in both themes", "[app][theme]") {
    for (const char* name : {"dark", "light"}) {
        INFO(name);
        const Theme t = makeTheme(name);
        CHECK(contrastRatio(t.text, t.background) >= 4.5);
        CHECK(contrastRatio(t.textMuted, t.background) >= 4.5);
        CHECK(contrastRatio(t.text, t.surface) >= 4.5);
        CHECK(contrastRatio(t.textMuted, t.surface) >= 4.5);
        CHECK(contrastRatio(t.onPrimary, t.primary) >= 4.5);
        CHECK(contrastRatio(t.onPrimary, t.primaryPressed) >= 4.5);
        CHECK(contrastRatio(t.onWarning, t.warning) >= 4.5);
        CHECK(contrastRatio(t.warningInk, t.surface) >= 4.5);   // warning-coloured text on cards
        CHECK(contrastRatio(t.warningInk, t.background) >= 4.5);
        for (const ImU32 tint : t.scale) CHECK(contrastRatio(t.faceInk, tint) >= 3.0);   // faces: graphics, 3:1
    }
    CHECK(contrastRatio(IM_COL32(0, 0, 0, 255), IM_COL32(255, 255, 255, 255)) == Approx(21.0));
}

TEST_CASE("sizes follow the shorter side of the window", "[app][theme]") {
    const Metrics small = metricsFor(800, 480), large = metricsFor(1920, 1080), portrait = metricsFor(1080, 1920);
    CHECK(small.target >= 64.f);
    CHECK(large.target > small.target);
    CHECK(portrait.portrait);
    CHECK_FALSE(large.portrait);
    CHECK(portrait.fonts.title == large.fonts.title);
}
