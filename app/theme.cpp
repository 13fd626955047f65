#include "app/theme.hpp"

#include <algorithm>
#include <cmath>

namespace segue::app {
namespace {

constexpr ImU32 rgb(std::uint32_t hex) {
    return IM_COL32((hex >> 16) & 0xFF, (hex >> 8) & 0xFF, hex & 0xFF, 0xFF);
}

double channel(unsigned v) {
    const double c = v / 255.0;
    return c <= 0.03928 ? c / 12.92 : std::pow((c + 0.055) / 1.055, 2.4);
}

double luminance(ImU32 c) {
    return 0.2126 * channel((c >> IM_COL32_R_SHIFT) & 0xFF) + 0.7152 * channel((c >> IM_COL32_G_SHIFT) & 0xFF) +
           0.0722 * channel((c >> IM_COL32_B_SHIFT) & 0xFF);
}

} // namespace

Theme makeTheme(std::string_view name) {
    Theme t;
    t.scale = {rgb(0xE5484D), rgb(0xF5A524), rgb(0x8A94A6), rgb(0x7BC67B), rgb(0x2EA44F)};
    t.gold = rgb(0xFFC83D);
    t.faceInk = rgb(0x14213A);
    t.onPrimary = rgb(0xFFFFFF);
    // #2F6FED carries white text at 4.4:1; one step darker passes 4.5:1.
    t.primary = rgb(0x2563E0);
    t.primaryPressed = rgb(0x1D4FB8);
    if (name == "light") {
        t.dark = false;
        t.background = rgb(0xF6F7F9);
        t.surface = rgb(0xE6EAF0);
        t.surfacePressed = rgb(0xD2D8E2);
        t.text = rgb(0x1B1F24);
        t.textMuted = rgb(0x4A5566);
        t.starIdle = rgb(0xB08A1E);
        t.success = rgb(0x1F8A3E);
        t.warning = rgb(0xF5A524);
        t.onWarning = rgb(0x1B1F24);
        t.warningInk = rgb(0x8A4B00);
        t.divider = rgb(0xCBD2DC);
    } else {
        t.background = rgb(0x0F1B2D);
        t.surface = rgb(0x1C2B45);
        t.surfacePressed = rgb(0x2A3D5E);
        t.text = rgb(0xFFFFFF);
        t.textMuted = rgb(0xAEB9CC);
        t.starIdle = rgb(0xFFC83D);
        t.success = rgb(0x2EA44F);
        t.warning = rgb(0xF5A524);
        t.onWarning = rgb(0x1B1F24);
        t.warningInk = rgb(0xF5A524);
        t.divider = rgb(0x2C3D5A);
    }
    return t;
}

double contrastRatio(ImU32 a, ImU32 b) {
    const double la = luminance(a), lb = luminance(b);
    return (std::max(la, lb) + 0.05) / (std::min(la, lb) + 0.05);
}

Metrics metricsFor(float width, float height) {
    Metrics m;
    m.width = width;
    m.height = height;
    m.shortSide = std::max(1.f, std::min(width, height));
    m.portrait = height > width;
    const float s = m.shortSide;
    m.margin = std::round(std::max(12.f, 0.03f * s));
    m.gap = std::round(std::max(8.f, 0.02f * s));
    m.target = std::round(std::max(64.f, 0.12f * s));
    m.radius = std::round(std::max(10.f, 0.022f * s));
    m.fonts.caption = std::round(std::max(15.f, 0.026f * s));
    m.fonts.body = std::round(std::max(18.f, 0.035f * s));
    m.fonts.title = std::round(std::max(28.f, 0.062f * s));
    m.fonts.huge = std::round(std::max(40.f, 0.09f * s));
    return m;
}

} // namespace segue::app
