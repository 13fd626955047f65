#include <algorithm>

#include "app/screens.hpp"
#include "app/string_keys.hpp"

namespace segue::app {
namespace {

using core::Intent;
using core::Screen;

bool isCustomerFacing(Screen s) {
    return s == Screen::Attract || s == Screen::Item || s == Screen::Reasons || s == Screen::ThankYou ||
           s == Screen::Unavailable || s == Screen::CallbackOffer || s == Screen::CallbackNumber;
}

/// The unavailable screen takes no input but the staff press: it speaks both languages instead.
bool hasLanguageSwitch(Screen s) { return isCustomerFacing(s) && s != Screen::Unavailable; }

/// Tracks a press that starts in the corner; fires once after kLongPressMs.
Intent longPress(Ui& ui, FrameState& state) {
    const ImGuiIO& io = ImGui::GetIO();
    const Box corner = staffCorner(ui.m);
    if (io.MouseClicked[0] && corner.contains(io.MouseClickedPos[0])) {
        state.cornerSinceMono = ui.now.monoMs;
        state.cornerFired = false;
    }
    if (!io.MouseDown[0] || !corner.contains(io.MousePos)) {
        state.cornerSinceMono.reset();
        state.cornerFired = false;
        return {};
    }
    if (!state.cornerSinceMono || state.cornerFired) return {};
    const std::int64_t held = ui.now.monoMs - *state.cornerSinceMono;
    if (held >= kLongPressMs) {
        state.cornerFired = true;
        return Intent::of(Intent::Kind::OpenStaff);
    }
    // After a second, a quiet ring fills so staff know the press is being counted.
    if (held >= 1000 && ui.dl != nullptr) {
        const float frac = static_cast<float>(held - 1000) / static_cast<float>(kLongPressMs - 1000);
        const ImVec2 c = corner.center();
        const float r = corner.w * 0.25f;
        ui.dl->PathArcTo(c, r, -kPi / 2.f, -kPi / 2.f + frac * 2.f * kPi, 32);
        ui.dl->PathStroke(withAlpha(ui.theme.textMuted, 0.8f), ImDrawFlags_None, 3.f);
    }
    return {};
}

} // namespace

Box staffCorner(const Metrics& m) { return {0, 0, m.target * 1.25f, m.target * 1.25f}; }

float topBarBottom(const Metrics& m) { return m.margin * 0.5f + m.target; }

Box bottomBar(const Metrics& m) {
    return {m.margin, m.height - m.margin - m.target, m.width - 2 * m.margin, m.target};
}

std::string agoText(const Ui& ui, std::int64_t ms) {
    const std::int64_t minutes = std::max<std::int64_t>(0, ms) / 60000;
    if (minutes < 1) return std::string(ui.tr(keys::kJustNow));
    if (minutes < 60) return formatText(ui.tr(keys::kMinutes), {{"n", std::to_string(minutes)}});
    if (minutes < 48 * 60) return formatText(ui.tr(keys::kHours), {{"n", std::to_string(minutes / 60)}});
    return formatText(ui.tr(keys::kDays), {{"n", std::to_string(minutes / (24 * 60))}});
}

Intent drawLanguageSwitch(Ui& ui, const std::vector<std::string>& languages) {
    Intent out;
    if (languages.size() < 2) return out;
    const Metrics& m = ui.m;
    std::vector<float> widths;
    float total = 0;
    for (const auto& lang : languages) {
        const float w = std::max(m.target * 1.1f,
                                 textWidth(*ui.fonts.body, m.fonts.body, ui.strings.get(lang, keys::kLangName)) + m.target * 0.5f);
        widths.push_back(w);
        total += w;
    }
    // The hit area is a full touch target; the visible pill sits inside it.
    Box area{m.width - m.margin - total, m.margin * 0.5f, total, m.target};
    const Box pill = area.inset(0, m.target * 0.14f);
    if (ui.dl != nullptr) ui.dl->AddRectFilled(pill.min(), pill.max(), ui.theme.surface, pill.h * 0.5f);
    float x = area.x;
    for (std::size_t i = 0; i < languages.size(); ++i) {
        const Box hit{x, area.y, widths[i], area.h};
        const Box seg{x, pill.y, widths[i], pill.h};
        const bool current = languages[i] == ui.lang;
        const std::string id = "lang-" + languages[i];
        const Press p = hitArea(ui, id.c_str(), hit);
        if (ui.dl != nullptr && (current || p.held))
            ui.dl->AddRectFilled(seg.inset(3.f).min(), seg.inset(3.f).max(),
                                 current ? ui.theme.primary : ui.theme.surfacePressed, seg.h * 0.5f);
        drawText(ui, seg.inset(m.gap * 0.5f, 2.f), ui.strings.get(languages[i], keys::kLangName),
                 {ui.fonts.body, m.fonts.body, current ? ui.theme.onPrimary : ui.theme.text, Align::Center, 1});
        if (p.clicked && !current) {
            out = Intent::of(Intent::Kind::SetLanguage);
            out.text = languages[i];
        }
        x += widths[i];
    }
    return out;
}

Intent drawFrame(Ui& ui, const FrameVM& vm, FrameState& state) {
    ImGuiIO& io = ImGui::GetIO();
    ImGui::SetNextWindowPos(ImVec2(0, 0));
    ImGui::SetNextWindowSize(io.DisplaySize);
    ImGui::PushStyleVar(ImGuiStyleVar_WindowPadding, ImVec2(0, 0));
    ImGui::PushStyleVar(ImGuiStyleVar_WindowBorderSize, 0.f);
    ImGui::PushStyleVar(ImGuiStyleVar_WindowRounding, 0.f);
    ImGui::PushStyleVar(ImGuiStyleVar_ItemSpacing, ImVec2(0, 0));
    ImGui::PushStyleColor(ImGuiCol_WindowBg, ui.theme.background);
    const ImGuiWindowFlags flags = ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove |
                                   ImGuiWindowFlags_NoSavedSettings | ImGuiWindowFlags_NoBringToFrontOnFocus |
                                   ImGuiWindowFlags_NoScrollWithMouse | ImGuiWindowFlags_NoNav |
                                   ImGuiWindowFlags_NoFocusOnAppearing;
    ImGui::Begin("##kiosk", nullptr, flags);
    ui.dl = ImGui::GetWindowDrawList();
    ImGui::PushID(static_cast<int>(vm.screen));

    Intent out;
    switch (vm.screen) {
    case Screen::Attract: out = drawAttract(ui, vm.attract); break;
    case Screen::Item: out = drawItem(ui, vm.item, vm.languages); break;
    case Screen::Reasons: out = drawReasons(ui, vm.reasons); break;
    case Screen::ThankYou: out = drawThankYou(ui); break;
    case Screen::Unavailable: out = drawUnavailable(ui, vm.languages); break;
    case Screen::PinPad: out = drawPinPad(ui, vm.pin); break;
    case Screen::Staff: out = drawStaff(ui, vm.staff); break;
    case Screen::CallbackOffer: out = drawCallbackOffer(ui, vm.callback); break;
    case Screen::CallbackNumber: out = drawCallbackNumber(ui, vm.callback); break;
    }
    if (isCustomerFacing(vm.screen)) {
        if (hasLanguageSwitch(vm.screen)) {
            const Intent lang = drawLanguageSwitch(ui, vm.languages);
            if (out.kind == Intent::Kind::None) out = lang;
        }
        const Intent staff = longPress(ui, state);
        if (staff.kind != Intent::Kind::None) out = staff;
    } else {
        state.cornerSinceMono.reset();
    }

    ImGui::PopID();
    ImGui::End();
    ImGui::PopStyleColor();
    ImGui::PopStyleVar(4);
    return out;
}

} // namespace segue::app
