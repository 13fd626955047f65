// Drives the real screens and the real KioskController without a window: an ImGui context
// with the real font atlas, a FakeClock, mouse state set per frame, a real SQLite file.
#pragma once
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "app/config.hpp"
#include "app/controller.hpp"
#include "app/screens.hpp"
#include "app/strings.hpp"
#include "app/theme.hpp"
#include "core/time.hpp"
#include "platform/fonts.hpp"
#include "platform/input.hpp"
#include "tests/support/temp_dir.hpp"

namespace segue::app::test {

using segue::testing::TempDir;

/// The embedded strings (zh-CN, en).
const Strings& embeddedStrings();

/// An ImGui context sized like a screen, with the kiosk's fonts for that size.
class Screen {
public:
    Screen(int width, int height);
    ~Screen();
    Screen(const Screen&) = delete;
    Screen& operator=(const Screen&) = delete;

    const Metrics& metrics() const { return m_metrics; }
    const platform::Fonts& fonts() const { return m_fonts; }
    const Theme& theme() const { return m_theme; }

    /// Draws one frame of `vm` with the pointer at `mouse` (none = off screen) and returns
    /// what the screen reported. The frame's targets and overflows are in log().
    core::Intent draw(const FrameVM& vm, const core::Now& now, std::optional<ImVec2> mouse = std::nullopt,
                      bool down = false);
    const UiLog& log() const { return m_log; }
    /// The box of the target drawn last frame with this id; fails the test when absent.
    Box target(const std::string& id) const;
    bool hasTarget(const std::string& id) const;

    FrameState& frameState() { return m_state; }

private:
    ImGuiContext* m_ctx = nullptr;
    Metrics m_metrics;
    platform::Fonts m_fonts;
    Theme m_theme;
    UiLog m_log;
    FrameState m_state;
};

/// A kiosk under test: controller + clock + screen, tapped like a customer would.
class Kiosk {
public:
    explicit Kiosk(const std::filesystem::path& dataDir, int width = 1280, int height = 800,
                   std::string language = "zh-CN", ControllerHooks hooks = {});
    /// With a configuration of the test's own (sync, ids).
    Kiosk(KioskConfig cfg, int width, int height, ControllerHooks hooks);

    KioskController& controller() { return m_controller; }
    core::FakeClock& clock() { return m_clock; }
    Screen& screen() { return m_screen; }
    const KioskConfig& config() const { return m_cfg; }
    core::Screen current() const { return m_controller.session().screen; }

    /// Draws a frame of the current view-model (no input) and dispatches what it returns.
    core::Intent frame(std::optional<ImVec2> mouse = std::nullopt, bool down = false);
    /// Press and release over the target `id` (drawn on the current screen).
    core::Intent tap(const std::string& id);
    /// Lets `ms` pass (in 50 ms steps, ticking the controller as the loop would).
    void wait(std::int64_t ms);
    /// Ticks as the loop would until a background open has been adopted (real time passes
    /// too: the open runs on its own thread). Fails the test after 60 s.
    void waitForOpen();
    /// Tap, then wait out the confirmation moment.
    void choose(const std::string& id);
    /// A key press as the loop delivers it.
    void key(const platform::KeyPress& k);

    /// Every stored response, oldest first.
    std::vector<core::Response> rows();

private:
    KioskConfig m_cfg;
    core::FakeClock m_clock;
    KioskController m_controller;
    Screen m_screen;
};

/// Stores `pin`'s Argon2id hash as the staff PIN.
void storePin(store::Database& db, const std::string& pin);
/// Opens the PIN pad and types `pin` as a keyboard would (intents straight to the controller: no
/// frame is drawn and no tick runs in between), then Enter.
void enterPinByKeys(Kiosk& k, const std::string& pin);
/// Whether `dir` holds a database moved aside as corrupt (kiosk.sqlite.corrupt-…).
bool hasMovedAside(const std::filesystem::path& dir);

} // namespace segue::app::test
