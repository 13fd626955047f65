#include <algorithm>
#include <cmath>
#include <string>

#include "app/screens.hpp"
#include "app/string_keys.hpp"

namespace segue::app {
namespace {

using core::Intent;

void drawProgress(Ui& ui, const ItemVM& vm) {
    const Metrics& m = ui.m;
    if (vm.count <= 1 || ui.dl == nullptr) return;
    const float r = std::max(5.f, m.fonts.caption * 0.3f);
    const float step = r * 3.4f;
    const float cy = m.margin * 0.5f + m.target * 0.5f;
    float x = (m.width - step * static_cast<float>(vm.count - 1)) * 0.5f;
    for (int i = 0; i < vm.count; ++i, x += step) {
        const bool done = i < static_cast<int>(vm.answered.size()) && vm.answered[static_cast<std::size_t>(i)];
        if (i == vm.position) {
            ui.dl->AddCircleFilled(ImVec2(x, cy), r * 1.3f, ui.theme.primary, 24);
        } else if (done || i < vm.position) {
            ui.dl->AddCircleFilled(ImVec2(x, cy), r, withAlpha(ui.theme.text, done ? 0.85f : 0.45f), 24);
        } else {
            ui.dl->AddCircle(ImVec2(x, cy), r, ui.theme.textMuted, 24, 2.f);
        }
    }
}

/// One answer option; value 1 (worst) .. 5 (best).
struct OptionLook {
    bool held = false;
    bool chosen = false;
    bool dimmed = false;
};

OptionLook optionLook(const ItemVM& vm, int value, bool held) {
    OptionLook l;
    l.held = held;
    l.chosen = vm.answer && *vm.answer == value;
    l.dimmed = vm.answer && !l.chosen && !held;   // the option under the finger is never dimmed
    return l;
}

void drawOptionTile(Ui& ui, const Box& b, int value, const OptionLook& look) {
    const Theme& t = ui.theme;
    ImU32 tint = t.scale[static_cast<std::size_t>(value - 1)];
    if (look.held) tint = darker(tint, 0.18f);
    if (look.dimmed) tint = withAlpha(tint, 0.5f);
    if (ui.dl == nullptr) return;
    if (look.chosen) {
        const Box ring = b.inset(-ui.m.gap * 0.45f);
        ui.dl->AddRect(ring.min(), ring.max(), t.text, ui.m.radius * 1.3f, 0, std::max(3.f, ui.m.gap * 0.35f));
    }
    ui.dl->AddRectFilled(b.min(), b.max(), tint, ui.m.radius);
    const float r = std::min(b.w, b.h) * 0.34f;
    drawFace(ui.dl, b.center(), r, value, look.dimmed ? withAlpha(t.faceInk, 0.6f) : t.faceInk,
             std::max(2.5f, r * 0.1f));
}

} // namespace

Intent drawItem(Ui& ui, const ItemVM& vm, const std::vector<std::string>& languages) {
    const Metrics& m = ui.m;
    const Theme& t = ui.theme;
    Intent out;
    drawProgress(ui, vm);

    // "满意度 · Satisfactory": the dimension in this language, then in the other one.
    std::string caption(ui.tr(keys::itemName(vm.segueIndex)));
    for (const auto& lang : languages) {
        if (lang == ui.lang) continue;
        const std::string_view other = ui.strings.get(lang, keys::itemName(vm.segueIndex));
        if (other != caption) caption += " · " + std::string(other);
        break;
    }

    const Box bar = bottomBar(m);
    const float midTop = topBarBottom(m) + m.gap * 0.5f;
    const float midBottom = bar.y - m.gap;
    const float capH = m.fonts.caption * 1.5f;
    const ImU32 labelInk = t.text;

    if (!m.portrait) {
        const float qH = m.fonts.title * 2.5f;
        const float labelH = m.fonts.body * 2.5f;
        const float optW = std::floor((m.width - 2 * m.margin - 4 * m.gap) / 5.f);
        const float optH = std::floor(std::min(optW * 0.85f, midBottom - midTop - capH - qH - labelH - 2 * m.gap));
        const float total = capH + qH + m.gap + optH + m.gap * 0.5f + labelH;
        float y = midTop + std::max(0.f, (midBottom - midTop - total) * 0.5f);
        drawText(ui, {m.margin, y, m.width - 2 * m.margin, capH}, caption,
                 {ui.fonts.caption, m.fonts.caption, t.textMuted, Align::Center, 1});
        y += capH;
        drawText(ui, {m.margin, y, m.width - 2 * m.margin, qH}, ui.tr(keys::itemQuestion(vm.segueIndex)),
                 {ui.fonts.title, m.fonts.title, t.text, Align::Center, 2});
        y += qH + m.gap;
        const float rowW = 5 * optW + 4 * m.gap;
        const float x0 = (m.width - rowW) * 0.5f;
        for (int v = 1; v <= 5; ++v) {   // worst on the left, best on the right
            const Box b{x0 + static_cast<float>(v - 1) * (optW + m.gap), y, optW, optH};
            const std::string id = "option" + std::to_string(v);
            const Press p = hitArea(ui, id.c_str(), b);
            if (p.clicked) out = Intent::of(Intent::Kind::Answer, v);
            const OptionLook look = optionLook(vm, v, p.held);
            drawOptionTile(ui, b, v, look);
            drawText(ui, {b.x - m.gap * 0.4f, b.bottom() + m.gap * 0.5f, optW + m.gap * 0.8f, labelH},
                     ui.tr(keys::itemOption(vm.segueIndex, v)),
                     {ui.fonts.body, m.fonts.body, look.dimmed ? t.textMuted : labelInk, Align::Center, 2, 0.6f, false});
        }
    } else {
        const float qH = m.fonts.title * 3.8f;
        const float avail = midBottom - midTop - capH - qH - m.gap;
        const float rowH = std::floor(std::min(m.target * 1.25f, (avail - 4 * m.gap) / 5.f));
        const float total = capH + qH + m.gap + 5 * rowH + 4 * m.gap;
        float y = midTop + std::max(0.f, (midBottom - midTop - total) * 0.5f);
        drawText(ui, {m.margin, y, m.width - 2 * m.margin, capH}, caption,
                 {ui.fonts.caption, m.fonts.caption, t.textMuted, Align::Center, 1});
        y += capH;
        drawText(ui, {m.margin, y, m.width - 2 * m.margin, qH}, ui.tr(keys::itemQuestion(vm.segueIndex)),
                 {ui.fonts.title, m.fonts.title, t.text, Align::Center, 3});
        y += qH + m.gap;
        const float rowW = std::min(m.width - 2 * m.margin, m.shortSide * 0.9f);
        const float x = (m.width - rowW) * 0.5f;
        for (int v = 5; v >= 1; --v, y += rowH + m.gap) {   // portrait: best on top
            const Box row{x, y, rowW, rowH};
            const std::string id = "option" + std::to_string(v);
            const Press p = hitArea(ui, id.c_str(), row);
            if (p.clicked) out = Intent::of(Intent::Kind::Answer, v);
            const OptionLook look = optionLook(vm, v, p.held);
            if (ui.dl != nullptr) {
                if (look.chosen) {
                    const Box ring = row.inset(-m.gap * 0.4f);
                    ui.dl->AddRect(ring.min(), ring.max(), t.text, m.radius * 1.3f, 0, std::max(3.f, m.gap * 0.3f));
                }
                ui.dl->AddRectFilled(row.min(), row.max(), p.held ? t.surfacePressed : t.surface, m.radius);
            }
            const float pad = rowH * 0.1f;
            const Box tile{row.x + pad, row.y + pad, (rowH - 2 * pad) * 1.25f, rowH - 2 * pad};
            drawOptionTile(ui, tile, v, {p.held, false, look.dimmed});
            const float lx = tile.right() + m.gap * 1.5f;
            drawText(ui, {lx, row.y, row.right() - lx - m.gap, row.h}, ui.tr(keys::itemOption(vm.segueIndex, v)),
                     {ui.fonts.body, m.fonts.body * 1.15f, look.dimmed ? t.textMuted : labelInk, Align::Left, 2});
        }
    }

    // Back on the left; Skip and Submit on the right, always one tap away.
    const float backW = buttonWidth(ui, ui.tr(keys::kBack));
    if (button(ui, "back", {bar.x, bar.y, backW, bar.h}, ui.tr(keys::kBack), ButtonKind::Ghost))
        out = Intent::of(Intent::Kind::Back);
    const float submitW = buttonWidth(ui, ui.tr(keys::kSubmit));
    const float skipW = buttonWidth(ui, ui.tr(keys::kSkip));
    const Box submit{bar.right() - submitW, bar.y, submitW, bar.h};
    const Box skip{submit.x - m.gap - skipW, bar.y, skipW, bar.h};
    if (button(ui, "skip", skip, ui.tr(keys::kSkip), ButtonKind::Secondary)) out = Intent::of(Intent::Kind::Skip);
    if (button(ui, "submit", submit, ui.tr(keys::kSubmit), ButtonKind::Primary)) out = Intent::of(Intent::Kind::Submit);
    return out;
}

} // namespace segue::app
