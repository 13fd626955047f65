// The kiosk screens: each draws its view-model for one frame and returns what the person did.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "app/ui.hpp"
#include "app/view_model.hpp"
#include "core/flow.hpp"

namespace segue::app {

/// How long the top-left corner must be held to open the PIN pad.
inline constexpr std::int64_t kLongPressMs = 3000;

/// State a frame keeps for the next one (the long press spans many frames).
struct FrameState {
    std::optional<std::int64_t> cornerSinceMono;
    bool cornerFired = false;
};

/// The invisible top-left area that opens the PIN pad after a 3 s press.
Box staffCorner(const Metrics& m);

/// One full frame: the screen for vm.screen, the language switch on customer screens and the
/// staff long-press. Call between ImGui::NewFrame() and ImGui::Render().
core::Intent drawFrame(Ui& ui, const FrameVM& vm, FrameState& state);

// The screens (all inside drawFrame's full-screen window).
core::Intent drawAttract(Ui& ui, const AttractVM& vm);
core::Intent drawItem(Ui& ui, const ItemVM& vm, const std::vector<std::string>& languages);
core::Intent drawReasons(Ui& ui, const ReasonsVM& vm);
core::Intent drawThankYou(Ui& ui);
/// "Would you like the store manager to contact you?" with the consent sentence, Yes / No thanks.
core::Intent drawCallbackOffer(Ui& ui, const CallbackVM& vm);
/// The phone keypad: the number grouped as typed, digits, delete, confirm.
core::Intent drawCallbackNumber(Ui& ui, const CallbackVM& vm);
/// In the current language, then quieter in the others (it takes no input).
core::Intent drawUnavailable(Ui& ui, const std::vector<std::string>& languages);
core::Intent drawPinPad(Ui& ui, const PinPadVM& vm);
core::Intent drawStaff(Ui& ui, const StaffVM& vm);
/// 中文 | EN, top right; returns SetLanguage.
core::Intent drawLanguageSwitch(Ui& ui, const std::vector<std::string>& languages);

// Layout shared by the customer screens.
/// Bottom of the top bar (language switch row).
float topBarBottom(const Metrics& m);
/// The row of Back / Skip / Submit at the bottom.
Box bottomBar(const Metrics& m);
/// "3 min ago" style text for a duration.
std::string agoText(const Ui& ui, std::int64_t ms);

} // namespace segue::app
