// Drawing kit shared by the screens: boxes, text that wraps and shrinks to fit, hit areas
// that report their size (tests check touch targets), and icons drawn with ImDrawList.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include <imgui.h>

#include "app/strings.hpp"
#include "app/theme.hpp"
#include "core/time.hpp"
#include "platform/fonts.hpp"

namespace segue::app {

struct Box {
    float x = 0, y = 0, w = 0, h = 0;
    ImVec2 min() const { return {x, y}; }
    ImVec2 max() const { return {x + w, y + h}; }
    ImVec2 center() const { return {x + w * 0.5f, y + h * 0.5f}; }
    float right() const { return x + w; }
    float bottom() const { return y + h; }
    Box inset(float d) const { return {x + d, y + d, w - 2 * d, h - 2 * d}; }
    Box inset(float dx, float dy) const { return {x + dx, y + dy, w - 2 * dx, h - 2 * dy}; }
    bool contains(ImVec2 p) const { return p.x >= x && p.x < x + w && p.y >= y && p.y < y + h; }
};

/// What a frame drew that tests inspect: every touch target, every text and those that did not fit.
struct UiLog {
    struct Target { std::string id; Box box; };
    struct Overflow { std::string text; Box box; };
    std::vector<Target> targets;
    std::vector<Overflow> overflows;
    std::vector<std::string> texts;   ///< every text drawText was given, in order
    void clear() { targets.clear(); overflows.clear(); texts.clear(); }
};

/// Everything a screen needs to draw one frame.
struct Ui {
    const Theme& theme;
    const Metrics& m;
    const platform::Fonts& fonts;
    const Strings& strings;
    std::string lang;
    core::Now now;
    ImDrawList* dl = nullptr;
    UiLog* log = nullptr;

    std::string_view tr(std::string_view key) const { return strings.get(lang, key); }
};

inline constexpr float kPi = 3.14159265358979f;

enum class Align { Left, Center, Right };

struct TextStyle {
    ImFont* font = nullptr;
    float size = 20.f;
    ImU32 color = IM_COL32_WHITE;
    Align align = Align::Center;
    int maxLines = 2;
    float minScale = 0.6f;     ///< shrink down to this fraction of `size` before giving up
    bool vcenter = true;
    bool ellipsis = false;     ///< cut with "…" instead of overflowing (free text such as errors)
};

/// One laid-out line: a slice of the text and its width at the chosen size.
struct TextLine {
    std::string_view text;
    float width = 0;
};

/// Greedy line breaking that allows breaks at spaces and between CJK characters (never
/// before closing or after opening punctuation). Explicit '\n' always breaks.
std::vector<TextLine> wrapText(const ImFont& font, float size, std::string_view text, float maxWidth);

/// Draws `text` inside `box`, wrapped and shrunk until it fits; logs an overflow when even
/// the smallest size does not. Returns the box the text occupies.
Box drawText(Ui& ui, const Box& box, std::string_view text, const TextStyle& style);

/// Width of `text` on one line.
float textWidth(const ImFont& font, float size, std::string_view text);

/// An invisible touch area; `clicked` on release over it, `held` while pressed.
struct Press {
    bool clicked = false;
    bool held = false;
};
Press hitArea(Ui& ui, const char* id, const Box& box);

enum class ButtonKind { Primary, Secondary, Ghost };
/// A rounded button with a centred label. Disabled buttons draw dimmed and never click.
/// `rounding` < 0 uses the theme's corner radius.
bool button(Ui& ui, const char* id, const Box& box, std::string_view label, ButtonKind kind,
            bool enabled = true, float rounding = -1.f);

/// Width a button needs for `label` (at least one touch target and a half).
float buttonWidth(const Ui& ui, std::string_view label);

// Icons.
void drawStar(ImDrawList* dl, ImVec2 center, float radius, ImU32 color, bool filled, float thickness);
void drawCheck(ImDrawList* dl, ImVec2 center, float size, ImU32 color, float thickness);
/// A face from 1 (very unhappy) to 5 (very happy).
void drawFace(ImDrawList* dl, ImVec2 center, float radius, int mood, ImU32 ink, float thickness);
void drawChevron(ImDrawList* dl, ImVec2 center, float size, bool pointsLeft, ImU32 color, float thickness);

/// `c` with its alpha scaled by `alpha` (0..1).
ImU32 withAlpha(ImU32 c, float alpha);
/// `c` mixed towards black by `amount` (0..1).
ImU32 darker(ImU32 c, float amount);

} // namespace segue::app
