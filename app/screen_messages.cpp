// The thank-you and the temporarily-unavailable screens: an icon, a title, a line of text.
#include <algorithm>
#include <string>
#include <vector>
#include <cmath>

#include "app/screens.hpp"
#include "app/string_keys.hpp"

namespace segue::app {
namespace {

/// Icon radius and the boxes of the title and body, centred as one block.
struct MessageLayout {
    ImVec2 iconCenter;
    float iconR = 0;
    Box title;
    Box body;
};

MessageLayout messageLayout(const Metrics& m, int bodyLines) {
    MessageLayout l;
    l.iconR = std::floor(std::min(m.shortSide * 0.13f, m.height * 0.14f));
    const float titleH = m.fonts.title * 2.5f;
    const float bodyH = m.fonts.body * (1.25f * static_cast<float>(bodyLines) + 0.2f);
    const float top = topBarBottom(m);
    const float total = 2 * l.iconR + 2 * m.gap + titleH + m.gap * 0.5f + bodyH;
    float y = top + std::max(0.f, (m.height - m.margin - top - total) * 0.5f);
    l.iconCenter = ImVec2(m.width * 0.5f, y + l.iconR);
    y += 2 * l.iconR + 2 * m.gap;
    const float w = std::min(m.width - 2 * m.margin, m.shortSide * 1.3f);
    const float x = (m.width - w) * 0.5f;
    l.title = {x, y, w, titleH};
    l.body = {x, y + titleH + m.gap * 0.5f, w, bodyH};
    return l;
}

} // namespace

core::Intent drawThankYou(Ui& ui) {
    const Metrics& m = ui.m;
    const Theme& t = ui.theme;
    const MessageLayout l = messageLayout(m, 2);
    if (ui.dl != nullptr) {
        ui.dl->AddCircleFilled(l.iconCenter, l.iconR, t.success, 64);
        drawCheck(ui.dl, l.iconCenter, l.iconR * 1.1f, IM_COL32_WHITE, std::max(4.f, l.iconR * 0.16f));
    }
    drawText(ui, l.title, ui.tr(keys::kThanksTitle), {ui.fonts.title, m.fonts.title, t.text, Align::Center, 2});
    drawText(ui, l.body, ui.tr(keys::kThanksBody), {ui.fonts.body, m.fonts.body, t.textMuted, Align::Center, 2, 0.6f, false});
    return {};
}

core::Intent drawUnavailable(Ui& ui, const std::vector<std::string>& languages) {
    const Metrics& m = ui.m;
    const Theme& t = ui.theme;
    std::vector<std::string> others;
    for (const auto& lang : languages)
        if (lang != ui.lang) others.push_back(lang);
    // The same message again in each other language, smaller, under a thin rule.
    const float otherH = m.fonts.body * 1.3f + m.fonts.caption * 2.6f;
    const float extra = static_cast<float>(others.size()) * (otherH + m.gap * 1.5f);
    MessageLayout l = messageLayout(m, 2);
    const float shift = std::min(extra * 0.5f, std::max(0.f, l.iconCenter.y - l.iconR - topBarBottom(m) * 0.5f));
    l.iconCenter.y -= shift;
    l.title.y -= shift;
    l.body.y -= shift;
    if (ui.dl != nullptr) {
        // A calm "pause" sign, not a warning.
        const float r = l.iconR * 0.85f;
        ui.dl->AddCircle(l.iconCenter, r, t.textMuted, 64, std::max(3.f, r * 0.07f));
        const float bw = r * 0.16f, bh = r * 0.8f, dx = r * 0.22f;
        for (const float sx : {-1.f, 1.f}) {
            const ImVec2 c(l.iconCenter.x + sx * dx, l.iconCenter.y);
            ui.dl->AddRectFilled(ImVec2(c.x - bw * 0.5f, c.y - bh * 0.5f), ImVec2(c.x + bw * 0.5f, c.y + bh * 0.5f),
                                 t.textMuted, bw * 0.4f);
        }
    }
    drawText(ui, l.title, ui.tr(keys::kUnavailableTitle), {ui.fonts.title, m.fonts.title, t.text, Align::Center, 2});
    drawText(ui, l.body, ui.tr(keys::kUnavailableBody), {ui.fonts.body, m.fonts.body, t.textMuted, Align::Center, 2, 0.6f, false});
    float y = l.body.bottom() + m.gap * 1.5f;
    for (const auto& lang : others) {
        if (ui.dl != nullptr)
            ui.dl->AddLine(ImVec2(l.body.center().x - l.body.w * 0.15f, y), ImVec2(l.body.center().x + l.body.w * 0.15f, y), t.divider, 2.f);
        y += m.gap * 1.5f;
        drawText(ui, {l.body.x, y, l.body.w, m.fonts.body * 1.3f}, ui.strings.get(lang, keys::kUnavailableTitle),
                 {ui.fonts.body, m.fonts.body, t.textMuted, Align::Center, 1});
        y += m.fonts.body * 1.3f;
        drawText(ui, {l.body.x, y, l.body.w, m.fonts.caption * 2.6f}, ui.strings.get(lang, keys::kUnavailableBody),
                 {ui.fonts.caption, m.fonts.caption, t.textMuted, Align::Center, 2, 0.6f, false});
        y += m.fonts.caption * 2.6f;
    }
    return {};
}

} // namespace segue::app
