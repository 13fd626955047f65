// Colours and sizes of the kiosk screens. Sizes scale with the shorter side of the window, so
// one layout serves 800×480 up to 1920×1080 and portrait 1080×1920.
#pragma once
#include <array>
#include <cstdint>
#include <string_view>

#include <imgui.h>

#include "platform/fonts.hpp"

namespace segue::app {

struct Theme {
    bool dark = true;
    ImU32 background = 0;
    ImU32 surface = 0;         ///< cards, secondary buttons
    ImU32 surfacePressed = 0;
    ImU32 text = 0;
    ImU32 textMuted = 0;
    ImU32 primary = 0;         ///< main buttons, selected chips
    ImU32 primaryPressed = 0;
    ImU32 onPrimary = 0;       ///< text on primary
    ImU32 gold = 0;            ///< stars
    ImU32 starIdle = 0;        ///< star outline before a tap
    ImU32 success = 0;         ///< the thank-you check mark, targets met
    ImU32 warning = 0;         ///< notice backgrounds, below-target bars
    ImU32 onWarning = 0;
    ImU32 warningInk = 0;      ///< warning-coloured text on the background or a card
    ImU32 divider = 0;
    ImU32 faceInk = 0;         ///< the face drawn on an option tint
    std::array<ImU32, 5> scale{};   ///< option tints, worst → best
};

/// "dark" (deep navy) or "light"; anything else is dark.
Theme makeTheme(std::string_view name);

/// WCAG contrast ratio of two opaque colours (1..21).
double contrastRatio(ImU32 a, ImU32 b);

struct Metrics {
    float width = 0;
    float height = 0;
    float shortSide = 0;
    bool portrait = false;
    float margin = 0;       ///< space around the canvas
    float gap = 0;          ///< space between controls
    float target = 0;       ///< minimum touch target (≥ 64 px; 96 px at 800 px short side)
    float radius = 0;       ///< button corner rounding
    platform::FontSizes fonts;
};

Metrics metricsFor(float width, float height);

} // namespace segue::app
