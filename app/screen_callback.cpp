// The callback screens (issue 17): the offer after a low rating, and the phone keypad.
#include <algorithm>
#include <cmath>
#include <string>

#include "app/screens.hpp"
#include "app/string_keys.hpp"

namespace segue::app {
namespace {

using core::Intent;
using Kind = Intent::Kind;

/// 1 2 3 / 4 5 6 / 7 8 9 / Delete 0 Confirm, keys `key` wide and `keyH` tall.
Intent drawPhoneKeypad(Ui& ui, const CallbackVM& vm, float x0, float y0, float keyW, float keyH) {
    const Metrics& m = ui.m;
    const float round = std::min(keyW, keyH) * 0.5f;
    const bool full = static_cast<int>(vm.digits.size()) >= vm.maxDigits;
    Intent out;
    for (int r = 0; r < 4; ++r) {
        for (int c = 0; c < 3; ++c) {
            const Box b{x0 + static_cast<float>(c) * (keyW + m.gap), y0 + static_cast<float>(r) * (keyH + m.gap), keyW, keyH};
            if (r < 3 || c == 1) {
                const int digit = r < 3 ? r * 3 + c + 1 : 0;
                const std::string id = "digit" + std::to_string(digit);
                const Press p = hitArea(ui, id.c_str(), b);
                ImU32 fill = p.held ? ui.theme.surfacePressed : ui.theme.surface;
                ImU32 ink = ui.theme.text;
                if (full) { fill = withAlpha(fill, 0.45f); ink = withAlpha(ink, 0.5f); }
                if (ui.dl != nullptr) ui.dl->AddRectFilled(b.min(), b.max(), fill, round);
                drawText(ui, b.inset(4.f), std::to_string(digit),
                         {ui.fonts.title, std::min(m.fonts.title, keyH * 0.5f), ink, Align::Center, 1});
                if (p.clicked && !full) out = Intent::of(Kind::PinDigit, digit);
            } else if (c == 0) {
                if (button(ui, "delete", b, ui.tr(keys::kPinDelete), ButtonKind::Ghost, !vm.digits.empty(), round))
                    out = Intent::of(Kind::PinDelete);
            } else {
                if (button(ui, "confirm", b, ui.tr(keys::kCallbackConfirm), ButtonKind::Primary, !vm.digits.empty(), round))
                    out = Intent::of(Kind::Submit);
            }
        }
    }
    return out;
}

/// The number as typed, grouped, in a field; a caret where the next digit goes.
void drawNumberField(Ui& ui, const CallbackVM& vm, const Box& field) {
    const Theme& t = ui.theme;
    if (ui.dl != nullptr) {
        ui.dl->AddRectFilled(field.min(), field.max(), t.surface, ui.m.radius);
        if (vm.invalid) ui.dl->AddRect(field.min(), field.max(), t.warningInk, ui.m.radius, 0, 3.f);
    }
    const std::string shown = groupDigits(vm.digits);
    const float size = std::min(ui.m.fonts.title * 1.1f, field.h * 0.6f);
    const Box text = drawText(ui, field.inset(ui.m.gap, 2.f), shown.empty() ? std::string_view(" ") : std::string_view(shown),
                              {ui.fonts.title, size, t.text, Align::Center, 1});
    if (ui.dl != nullptr) {
        const float x = shown.empty() ? field.center().x : text.right() + size * 0.12f;
        ui.dl->AddLine(ImVec2(x, field.center().y - size * 0.45f), ImVec2(x, field.center().y + size * 0.45f), t.primary, 3.f);
    }
}

} // namespace

std::string groupDigits(std::string_view digits) {
    std::string out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i == 3 || (i > 3 && (i - 3) % 4 == 0)) out += ' ';
        out += digits[i];
    }
    return out;
}

Intent drawCallbackOffer(Ui& ui, const CallbackVM& vm) {
    const Metrics& m = ui.m;
    const Theme& t = ui.theme;
    Intent out;

    const Box bar = bottomBar(m);
    const float midTop = topBarBottom(m);
    const float midBottom = bar.y - m.gap;
    const float textW = std::min(m.width - 2 * m.margin, m.shortSide * 1.35f);
    const float titleH = m.fonts.title * 2.6f;
    const float consentH = m.fonts.body * 4.8f;
    const float buttonH = std::floor(m.target * 1.2f);
    const std::string consent = formatText(vm.consent.empty() ? ui.tr(keys::kCallbackConsent) : std::string_view(vm.consent),
                                           {{"days", std::to_string(vm.retentionDays)}});
    // Landscape: Yes and No thanks side by side; portrait: Yes on top.
    const float buttonsH = m.portrait ? 2 * buttonH + m.gap : buttonH;
    const float total = titleH + m.gap + consentH + 2 * m.gap + buttonsH;
    float y = midTop + std::max(0.f, (midBottom - midTop - total) * 0.5f);
    const float x = (m.width - textW) * 0.5f;

    drawText(ui, {x, y, textW, titleH}, ui.tr(keys::kCallbackTitle), {ui.fonts.title, m.fonts.title, t.text, Align::Center, 2});
    y += titleH + m.gap;
    drawText(ui, {x, y, textW, consentH}, consent, {ui.fonts.body, m.fonts.body, t.textMuted, Align::Center, 4});
    y += consentH + 2 * m.gap;

    Box yes, no;
    if (m.portrait) {
        yes = {x, y, textW, buttonH};
        no = {x, y + buttonH + m.gap, textW, buttonH};
    } else {
        const float w = (textW - m.gap) * 0.5f;
        no = {x, y, w, buttonH};
        yes = {x + w + m.gap, y, w, buttonH};
    }
    if (button(ui, "yes", yes, ui.tr(keys::kCallbackYes), ButtonKind::Primary)) out = Intent::of(Kind::CallbackYes);
    if (button(ui, "no", no, ui.tr(keys::kCallbackNo), ButtonKind::Secondary)) out = Intent::of(Kind::CallbackNo);

    const float backW = buttonWidth(ui, ui.tr(keys::kBack));
    if (button(ui, "back", {bar.x, bar.y, backW, bar.h}, ui.tr(keys::kBack), ButtonKind::Ghost))
        out = Intent::of(Kind::Back);
    return out;
}

Intent drawCallbackNumber(Ui& ui, const CallbackVM& vm) {
    const Metrics& m = ui.m;
    const Theme& t = ui.theme;
    Intent out;

    const Box bar = bottomBar(m);
    const float top = topBarBottom(m);
    const float bottom = bar.y - m.gap;
    const float titleH = m.fonts.title * 1.3f, hintH = m.fonts.body * 1.4f;
    const float fieldH = std::floor(m.target * 1.05f), msgH = m.fonts.body * 2.6f;
    const float infoH = titleH + hintH + m.gap + fieldH + m.gap + msgH;

    Box info;
    float padX = 0, padY = 0, keyW = 0, keyH = 0;
    if (!m.portrait) {
        // Info on the left, the keypad on the right, both centred in the space between the bars.
        keyH = std::floor(std::min(m.target * 1.1f, (bottom - top - 3 * m.gap) / 4.f));
        keyW = std::floor(std::max(keyH * 1.25f, std::min(keyH * 1.6f, (m.width * 0.5f - 2 * m.gap) / 3.f)));
        const float padW = 3 * keyW + 2 * m.gap, padH = 4 * keyH + 3 * m.gap;
        padX = m.width - m.margin - padW;
        padY = top + std::max(0.f, (bottom - top - padH) * 0.5f);
        const float leftW = padX - 2 * m.gap - m.margin;
        info = {m.margin, top + std::max(0.f, (bottom - top - infoH) * 0.5f), leftW, infoH};
    } else {
        keyW = std::floor(std::min((m.width - 2 * m.margin - 2 * m.gap) / 3.f, m.target * 1.9f));
        keyH = std::floor(std::min(m.target * 1.2f, m.height * 0.085f));
        const float padW = 3 * keyW + 2 * m.gap, padH = 4 * keyH + 3 * m.gap;
        const float total = infoH + 2 * m.gap + padH;
        const float y0 = top + std::max(0.f, (bottom - top - total) * 0.5f);
        info = {m.margin, y0, m.width - 2 * m.margin, infoH};
        padX = (m.width - padW) * 0.5f;
        padY = y0 + infoH + 2 * m.gap;
    }

    float y = info.y;
    drawText(ui, {info.x, y, info.w, titleH}, ui.tr(keys::kCallbackNumberTitle), {ui.fonts.title, m.fonts.title, t.text, Align::Center, 1});
    y += titleH;
    drawText(ui, {info.x, y, info.w, hintH}, ui.tr(keys::kCallbackNumberHint), {ui.fonts.body, m.fonts.body, t.textMuted, Align::Center, 1});
    y += hintH + m.gap;
    const float fieldW = std::min(info.w, m.shortSide * 0.9f);
    drawNumberField(ui, vm, {info.x + (info.w - fieldW) * 0.5f, y, fieldW, fieldH});
    y += fieldH + m.gap;
    if (vm.invalid)
        drawText(ui, {info.x, y, info.w, msgH}, ui.tr(keys::kCallbackInvalid),
                 {ui.fonts.body, m.fonts.body, t.warningInk, Align::Center, 2, 0.6f, false});

    const Intent k = drawPhoneKeypad(ui, vm, padX, padY, keyW, keyH);
    if (k.kind != Kind::None) out = k;

    const float backW = buttonWidth(ui, ui.tr(keys::kBack));
    if (button(ui, "back", {bar.x, bar.y, backW, bar.h}, ui.tr(keys::kBack), ButtonKind::Ghost))
        out = Intent::of(Kind::Back);
    return out;
}

} // namespace segue::app
