#include <array>
#include <algorithm>
#include <cmath>
#include <string>

#include "app/screens.hpp"
#include "app/string_keys.hpp"

namespace segue::app {

core::Intent drawAttract(Ui& ui, const AttractVM& vm) {
    const Metrics& m = ui.m;
    const Theme& t = ui.theme;
    core::Intent out;

    const float side = m.margin + m.target * 2.6f;   // keeps clear of the switch and the corner
    drawText(ui, {side, m.margin * 0.5f, m.width - 2 * side, m.target}, ui.tr(keys::kAttractBrand),
             {ui.fonts.caption, m.fonts.caption, t.textMuted, Align::Center, 1});

    const float hintH = m.fonts.body * 1.6f;
    const Box hint{m.margin, m.height - m.margin - hintH, m.width - 2 * m.margin, hintH};
    const float midTop = topBarBottom(m) + m.gap;
    const float midH = hint.y - m.gap - midTop;
    const float qH = m.fonts.title * 2.5f;
    const float labelH = m.fonts.body * 1.5f;
    const float star = std::floor(std::min({(m.width - 2 * m.margin - 4 * m.gap) / 5.f,
                                            midH - qH - labelH - 3 * m.gap, m.shortSide * 0.3f}));
    const float total = qH + 2 * m.gap + star + labelH;
    const float y0 = midTop + std::max(0.f, (midH - total) * 0.5f);

    drawText(ui, {m.margin, y0, m.width - 2 * m.margin, qH}, ui.tr(keys::kAttractQuestion),
             {ui.fonts.title, m.fonts.title, t.text, Align::Center, 2});

    const float rowW = 5 * star + 4 * m.gap;
    const float x0 = (m.width - rowW) * 0.5f;
    const float sy = y0 + qH + 2 * m.gap;
    int pressed = 0;
    std::array<Press, 5> presses{};
    for (int i = 0; i < 5; ++i) {
        const Box b{x0 + static_cast<float>(i) * (star + m.gap), sy, star, star};
        const std::string id = "star" + std::to_string(i + 1);
        presses[static_cast<std::size_t>(i)] = hitArea(ui, id.c_str(), b);
        if (presses[static_cast<std::size_t>(i)].held) pressed = i + 1;
        if (presses[static_cast<std::size_t>(i)].clicked) out = core::Intent::of(core::Intent::Kind::Star, i + 1);
    }
    // Pressing a star lights it and those before it, as the rating it will record.
    const int lit = std::max(vm.litStars, pressed);
    for (int i = 0; i < 5; ++i) {
        const Box b{x0 + static_cast<float>(i) * (star + m.gap), sy, star, star};
        const float r = star * 0.46f;
        const bool on = i < lit;
        if (on) drawStar(ui.dl, b.center(), r, t.gold, true, 0);
        else {
            drawStar(ui.dl, b.center(), r, t.surface, true, 0);
            drawStar(ui.dl, b.center(), r, t.starIdle, false, std::max(2.5f, r * 0.07f));
        }
        drawText(ui, {b.x - m.gap * 0.5f, b.bottom() + m.gap * 0.25f, star + m.gap, labelH},
                 ui.tr(keys::kStars[static_cast<std::size_t>(i)]),
                 {ui.fonts.body, m.fonts.body, on ? t.text : t.textMuted, Align::Center, 1});
    }

    drawText(ui, hint, ui.tr(keys::kAttractHint), {ui.fonts.body, m.fonts.body, t.textMuted, Align::Center, 1});
    return out;
}

} // namespace segue::app
