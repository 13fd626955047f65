#include <algorithm>
#include <cmath>
#include <string>

#include "app/screens.hpp"
#include "app/string_keys.hpp"

namespace segue::app {
namespace {

using core::Intent;

/// A lock with more left than this is shown in whole minutes (rounded up), else in seconds.
constexpr int kSecondsShownUpTo = 90;

void drawDots(Ui& ui, const PinPadVM& vm, const Box& area) {
    if (ui.dl == nullptr) return;
    const int slots = std::clamp(std::max(vm.minDigits, vm.entered), 1, std::max(vm.maxDigits, 1));
    const float r = std::min(area.h * 0.3f, ui.m.fonts.body * 0.35f);
    const float step = r * 3.2f;
    float x = area.center().x - step * static_cast<float>(slots - 1) * 0.5f;
    for (int i = 0; i < slots; ++i, x += step) {
        if (i < vm.entered) ui.dl->AddCircleFilled(ImVec2(x, area.center().y), r, ui.theme.text, 24);
        else ui.dl->AddCircle(ImVec2(x, area.center().y), r, ui.theme.textMuted, 24, 2.f);
    }
}

} // namespace

Intent drawDigitPad(Ui& ui, const DigitPad& pad) {
    const Metrics& m = ui.m;
    const float key = pad.key;
    Intent out;
    for (int r = 0; r < 4; ++r) {
        for (int c = 0; c < 3; ++c) {
            const Box b{pad.x + static_cast<float>(c) * (key + m.gap), pad.y + static_cast<float>(r) * (key + m.gap), key, key};
            if (r < 3 || c == 1) {
                const int digit = r < 3 ? r * 3 + c + 1 : 0;
                const std::string id = "digit" + std::to_string(digit);
                const std::string label = std::to_string(digit);
                const Press p = hitArea(ui, id.c_str(), b);
                ImU32 fill = p.held ? ui.theme.surfacePressed : ui.theme.surface;
                ImU32 ink = ui.theme.text;
                if (!pad.enabled) { fill = withAlpha(fill, 0.45f); ink = withAlpha(ink, 0.5f); }
                if (ui.dl != nullptr) ui.dl->AddRectFilled(b.min(), b.max(), fill, key * 0.5f);
                drawText(ui, b.inset(4.f), label, {ui.fonts.title, std::min(m.fonts.title, key * 0.5f), ink, Align::Center, 1});
                if (p.clicked && pad.enabled) out = Intent::of(Intent::Kind::PinDigit, digit);
            } else if (c == 0) {
                if (button(ui, "delete", b, ui.tr(keys::kPinDelete), ButtonKind::Ghost, pad.enabled && pad.canDelete, key * 0.5f))
                    out = Intent::of(Intent::Kind::PinDelete);
            } else {
                if (button(ui, "ok", b, ui.tr(keys::kPinOk), ButtonKind::Primary, pad.enabled && pad.canSubmit, key * 0.5f))
                    out = Intent::of(Intent::Kind::Submit);
            }
        }
    }
    return out;
}

Intent drawPinPad(Ui& ui, const PinPadVM& vm) {
    const Metrics& m = ui.m;
    const Theme& t = ui.theme;
    Intent out;

    std::string message;
    ImU32 messageInk = t.warningInk;
    if (!vm.configured) {
        message = std::string(ui.tr(keys::kPinNotSet));
        messageInk = t.text;
    } else if (vm.lockedSeconds > kSecondsShownUpTo) {
        // The doubled locks last up to an hour: "in 57 min" reads better than "in 3412 s".
        message = formatText(ui.tr(keys::kPinLockedMinutes), {{"minutes", std::to_string((vm.lockedSeconds + 59) / 60)}});
    } else if (vm.lockedSeconds > 0) {
        message = formatText(ui.tr(keys::kPinLocked), {{"seconds", std::to_string(vm.lockedSeconds)}});
    } else if (vm.failures > 0) {
        message = formatText(ui.tr(keys::kPinWrong), {{"left", std::to_string(std::max(0, vm.maxFailures - vm.failures))}});
    }

    const float key = std::floor(std::min({m.target * 1.15f, (m.height - 2 * m.margin - 3 * m.gap) / 4.f,
                                           m.portrait ? m.height * 0.11f : m.width * 0.16f}));
    const float padW = 3 * key + 2 * m.gap, padH = 4 * key + 3 * m.gap;
    const float titleH = m.fonts.title * 1.3f, hintH = m.fonts.body * 1.4f, dotsH = m.fonts.body * 1.6f;
    const float msgH = m.fonts.body * (vm.configured ? 2.6f : 3.9f);
    const float cancelW = buttonWidth(ui, ui.tr(keys::kCancel));

    Box info, cancel;
    float padX = 0, padY = 0;
    if (!m.portrait) {
        padX = m.width - m.margin - padW - m.gap;
        const float leftW = vm.configured ? padX - 2 * m.gap - m.margin : m.width - 2 * m.margin;
        padY = (m.height - padH) * 0.5f;
        const float infoH = vm.configured ? titleH + hintH + dotsH + msgH + 2 * m.gap : titleH + m.gap + msgH;
        info = {m.margin, std::max(m.margin, (m.height - m.target - m.gap - infoH) * 0.5f), leftW, infoH};
        cancel = {m.margin, m.height - m.margin - m.target, cancelW, m.target};
    } else {
        const float infoH = titleH + hintH + dotsH + msgH + 2 * m.gap;
        const float total = infoH + m.gap * 2 + padH;
        const float top = std::max(m.margin, (m.height - m.target - m.margin - total) * 0.5f);
        info = {m.margin, top, m.width - 2 * m.margin, infoH};
        padX = (m.width - padW) * 0.5f;
        padY = top + infoH + m.gap * 2;
        cancel = {(m.width - cancelW) * 0.5f, m.height - m.margin - m.target, cancelW, m.target};
    }

    float y = info.y;
    drawText(ui, {info.x, y, info.w, titleH}, ui.tr(keys::kPinTitle), {ui.fonts.title, m.fonts.title, t.text, Align::Center, 1});
    y += titleH;
    if (vm.configured) {
        drawText(ui, {info.x, y, info.w, hintH}, ui.tr(keys::kPinHint), {ui.fonts.body, m.fonts.body, t.textMuted, Align::Center, 1});
        y += hintH + m.gap;
        drawDots(ui, vm, {info.x, y, info.w, dotsH});
        y += dotsH + m.gap;
    } else {
        y += m.gap;
    }
    if (!message.empty())
        drawText(ui, {info.x, y, info.w, msgH}, message,
                 {ui.fonts.body, m.fonts.body, messageInk, Align::Center, vm.configured ? 2 : 3, 0.6f, false});

    if (vm.configured) {
        const bool enabled = !vm.checking && vm.lockedSeconds == 0;
        const Intent k = drawDigitPad(ui, {padX, padY, key, enabled, vm.entered > 0, vm.entered >= vm.minDigits});
        if (k.kind != Intent::Kind::None) out = k;
    }
    if (button(ui, "cancel", cancel, ui.tr(keys::kCancel), ButtonKind::Secondary)) out = Intent::of(Intent::Kind::ExitStaff);
    return out;
}

} // namespace segue::app
