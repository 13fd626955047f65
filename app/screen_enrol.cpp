// The enrolment screen: staff type the 12-digit code HQ printed (1234-5678-9012) on a keypad;
// the terminal trades it for its identity and moves on to the customers' screens.
#include <algorithm>
#include <cmath>
#include <string>
#include <tuple>
#include <utility>

#include "app/screens.hpp"
#include "app/string_keys.hpp"

namespace segue::app {
namespace {

using core::Intent;

constexpr int kGroup = 4;   ///< digits between the dashes

/// The code as typed, in groups of four, with a line under each slot still to fill and the
/// next one marked.
void drawCode(Ui& ui, const EnrolVM& vm, const Box& area) {
    const Theme& t = ui.theme;
    ImFont* font = ui.fonts.title;
    const int slots = std::max(vm.maxDigits, 1);
    const int dashes = (slots - 1) / kGroup;
    float size = ui.m.fonts.title;
    auto widthAt = [&](float px) {
        const float cell = textWidth(*font, px, "0") * 1.25f, dash = textWidth(*font, px, "-") * 1.8f;
        return std::pair{cell, dash};
    };
    auto [cell, dash] = widthAt(size);
    const float need = cell * static_cast<float>(slots) + dash * static_cast<float>(dashes);
    if (need > area.w) {   // narrow screens: a smaller code rather than one that clips
        size *= area.w / need;
        std::tie(cell, dash) = widthAt(size);
    }
    const float total = cell * static_cast<float>(slots) + dash * static_cast<float>(dashes);
    float x = area.x + (area.w - total) * 0.5f;
    const int typed = static_cast<int>(vm.digits.size());
    const float line = std::max(2.f, size * 0.06f);
    for (int i = 0; i < slots; ++i) {
        if (i > 0 && i % kGroup == 0) {
            drawText(ui, {x, area.y, dash, area.h}, "-", {font, size, t.textMuted, Align::Center, 1});
            x += dash;
        }
        const Box slot{x, area.y, cell, area.h};
        if (i < typed) {
            drawText(ui, slot, std::string(1, vm.digits[static_cast<std::size_t>(i)]), {font, size, t.text, Align::Center, 1});
        } else if (ui.dl != nullptr) {
            const bool next = i == typed && !vm.enrolling;
            const float y = area.center().y + size * 0.5f;
            ui.dl->AddLine(ImVec2(x + cell * 0.15f, y), ImVec2(x + cell * 0.85f, y), next ? t.primary : t.textMuted,
                           next ? line * 1.5f : line);
        }
        x += cell;
    }
}

/// What the line under the code says: progress, or how the last attempt ended.
std::string statusText(const Ui& ui, const EnrolVM& vm) {
    if (vm.enrolling) return formatText(ui.tr(keys::kEnrolWorking), {{"seconds", std::to_string(vm.waitedSeconds)}});
    switch (vm.problem) {
    case core::EnrolProblem::None: return {};
    case core::EnrolProblem::Refused: return std::string(ui.tr(keys::kEnrolRefused));
    case core::EnrolProblem::Unreachable: return std::string(ui.tr(keys::kEnrolUnreachable));
    case core::EnrolProblem::Failed: return std::string(ui.tr(keys::kEnrolFailed));
    }
    return {};
}

} // namespace

Intent drawEnrol(Ui& ui, const EnrolVM& vm) {
    const Metrics& m = ui.m;
    const Theme& t = ui.theme;
    const float top = topBarBottom(m);
    const float key = std::floor(std::min({m.target * 1.15f, (m.height - top - m.margin - 3 * m.gap) / 4.f,
                                           m.portrait ? m.height * 0.09f : m.width * 0.14f}));
    const float padW = 3 * key + 2 * m.gap, padH = 4 * key + 3 * m.gap;
    const float titleH = m.fonts.title * 1.3f, hintH = m.fonts.body * 2.6f, codeH = m.fonts.title * 1.6f;
    const float statusH = m.fonts.body * 3.9f, serverH = m.fonts.caption * 1.5f;
    const float infoH = titleH + hintH + codeH + statusH + serverH + 3 * m.gap;

    Box info;
    float padX = 0, padY = 0;
    if (!m.portrait) {
        padX = m.width - m.margin - padW;
        padY = top + std::max(0.f, (m.height - top - m.margin - padH) * 0.5f);
        info = {m.margin, top + std::max(0.f, (m.height - top - m.margin - infoH) * 0.5f), padX - 2 * m.gap - m.margin, infoH};
    } else {
        const float total = infoH + 2 * m.gap + padH;
        const float y0 = top + std::max(0.f, (m.height - top - m.margin - total) * 0.5f);
        info = {m.margin, y0, m.width - 2 * m.margin, infoH};
        padX = (m.width - padW) * 0.5f;
        padY = y0 + infoH + 2 * m.gap;
    }

    float y = info.y;
    drawText(ui, {info.x, y, info.w, titleH}, ui.tr(keys::kEnrolTitle), {ui.fonts.title, m.fonts.title, t.text, Align::Center, 1});
    y += titleH;
    drawText(ui, {info.x, y, info.w, hintH}, ui.tr(keys::kEnrolHint),
             {ui.fonts.body, m.fonts.body, t.textMuted, Align::Center, 2, 0.6f, false});
    y += hintH + m.gap;
    drawCode(ui, vm, {info.x, y, info.w, codeH});
    y += codeH + m.gap;
    const std::string status = statusText(ui, vm);
    if (!status.empty())
        drawText(ui, {info.x, y, info.w, statusH}, status,
                 {ui.fonts.body, m.fonts.body, vm.enrolling ? t.text : t.warningInk, Align::Center, 3, 0.6f, false});
    y += statusH + m.gap;
    if (!vm.serverUrl.empty())
        drawText(ui, {info.x, y, info.w, serverH}, formatText(ui.tr(keys::kEnrolServer), {{"url", vm.serverUrl}}),
                 {ui.fonts.caption, m.fonts.caption, t.textMuted, Align::Center, 1, 0.6f, true, true});

    const int typed = static_cast<int>(vm.digits.size());
    return drawDigitPad(ui, {padX, padY, key, !vm.enrolling, typed > 0, typed == vm.maxDigits});
}

} // namespace segue::app
