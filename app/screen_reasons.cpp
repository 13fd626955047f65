#include <algorithm>
#include <cmath>
#include <string>

#include "app/screens.hpp"
#include "app/string_keys.hpp"

namespace segue::app {

core::Intent drawReasons(Ui& ui, const ReasonsVM& vm) {
    using core::Intent;
    const Metrics& m = ui.m;
    const Theme& t = ui.theme;
    Intent out;

    const Box bar = bottomBar(m);
    const float midTop = topBarBottom(m);
    const float midBottom = bar.y - m.gap;
    const int n = std::min<int>(6, static_cast<int>(vm.tagIds.size()));
    const int rows = (n + 1) / 2;
    const float titleH = m.fonts.title * 1.3f;
    const float hintH = m.fonts.body * 1.35f;
    const float chipW = std::floor(std::min((m.width - 2 * m.margin - m.gap) / 2.f, m.shortSide * 0.78f));
    const float room = midBottom - midTop - titleH - hintH - 2 * m.gap;
    const float chipH = std::floor(std::max(m.target, std::min(m.target * 1.3f,
                                   (room - static_cast<float>(rows - 1) * m.gap) / static_cast<float>(std::max(rows, 1)))));
    const float total = titleH + hintH + 2 * m.gap + static_cast<float>(rows) * chipH + static_cast<float>(rows - 1) * m.gap;
    float y = midTop + std::max(0.f, (midBottom - midTop - total) * 0.5f);

    drawText(ui, {m.margin, y, m.width - 2 * m.margin, titleH}, ui.tr(keys::kReasonsTitle),
             {ui.fonts.title, m.fonts.title, t.text, Align::Center, 1});
    y += titleH;
    drawText(ui, {m.margin, y, m.width - 2 * m.margin, hintH}, ui.tr(keys::kReasonsHint),
             {ui.fonts.body, m.fonts.body, t.textMuted, Align::Center, 1});
    y += hintH + 2 * m.gap;

    const float x0 = (m.width - (2 * chipW + m.gap)) * 0.5f;
    for (int i = 0; i < n; ++i) {
        const Box chip{x0 + static_cast<float>(i % 2) * (chipW + m.gap), y + static_cast<float>(i / 2) * (chipH + m.gap),
                       chipW, chipH};
        const bool on = i < static_cast<int>(vm.selected.size()) && vm.selected[static_cast<std::size_t>(i)];
        const std::string id = "tag" + std::to_string(i);
        const Press p = hitArea(ui, id.c_str(), chip);
        if (p.clicked) out = Intent::of(Intent::Kind::ToggleTag, i);
        const ImU32 fill = on ? (p.held ? t.primaryPressed : t.primary) : (p.held ? t.surfacePressed : t.surface);
        const ImU32 ink = on ? t.onPrimary : t.text;
        const float box = std::round(std::min(chipH * 0.42f, m.fonts.body * 1.2f));
        const Box check{chip.x + m.gap * 1.2f, chip.y + (chipH - box) * 0.5f, box, box};
        if (ui.dl != nullptr) {
            ui.dl->AddRectFilled(chip.min(), chip.max(), fill, m.radius);
            if (on) {
                ui.dl->AddRectFilled(check.min(), check.max(), t.onPrimary, box * 0.22f);
                drawCheck(ui.dl, check.center(), box * 0.8f, t.primary, std::max(2.5f, box * 0.13f));
            } else {
                ui.dl->AddRect(check.min(), check.max(), t.textMuted, box * 0.22f, 0, std::max(2.f, box * 0.08f));
            }
        }
        const float lx = check.right() + m.gap;
        const auto at = static_cast<std::size_t>(i);
        const std::string_view label =
            at < vm.tagLabels.size() && !vm.tagLabels[at].empty() ? std::string_view(vm.tagLabels[at]) : ui.tr(keys::tag(vm.tagIds[at]));
        drawText(ui, {lx, chip.y, chip.right() - lx - m.gap, chip.h}, label,
                 {ui.fonts.body, m.fonts.body * 1.1f, ink, Align::Left, 2});
    }

    const float backW = buttonWidth(ui, ui.tr(keys::kBack));
    if (button(ui, "back", {bar.x, bar.y, backW, bar.h}, ui.tr(keys::kBack), ButtonKind::Ghost))
        out = Intent::of(Intent::Kind::Back);
    const float doneW = buttonWidth(ui, ui.tr(keys::kDone));
    if (button(ui, "done", {bar.right() - doneW, bar.y, doneW, bar.h}, ui.tr(keys::kDone), ButtonKind::Primary))
        out = Intent::of(Intent::Kind::Submit);
    return out;
}

} // namespace segue::app
