// segue-bench-kiosk-driver: the kiosk's own window, fonts, screens, controller and store
// (segue_app + segue_platform) run by a script instead of a person, for benchmarks 2 and 3.
//   --busy           draw the attract screen on every loop iteration (benchmark 2's baseline:
//                    what the terminal would cost without render on demand)
//   --responses N    serve N customers (5 stars, Enter, Enter) through the controller with the
//                    monotonic clock stepped past each feedback moment and thank-you screen, one
//                    frame drawn per customer, then idle; prints "responses done" (benchmark 3)
// Both log "first frame" on stderr right after the first presented frame, as segue-kiosk does.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>

#include "app/config.hpp"
#include "app/controller.hpp"
#include "app/screens.hpp"
#include "app/strings.hpp"
#include "app/theme.hpp"
#include "app/ui.hpp"
#include "platform/fonts.hpp"
#include "core/system_clock.hpp"
#include "platform/window.hpp"

using namespace segue;

namespace {

/// The real clock plus a skew the script adds to jump over waits (feedback, thank-you).
class SteppedClock final : public core::Clock {
public:
    core::Now now() const override {
        core::Now n = m_real.now();
        n.monoMs += m_skewMs;
        n.utcMs += m_skewMs;
        return n;
    }
    void skip(std::int64_t ms) { m_skewMs += ms; }

private:
    core::SystemClock m_real;
    std::int64_t m_skewMs = 0;
};

/// VmRSS of this process in MiB (0 when /proc is unreadable).
double residentMiB() {
    std::FILE* f = std::fopen("/proc/self/status", "r");
    if (f == nullptr) return 0;
    char line[256];
    double kb = 0;
    while (std::fgets(line, sizeof line, f) != nullptr)
        if (std::sscanf(line, "VmRSS: %lf", &kb) == 1) break;
    std::fclose(f);
    return kb / 1024.0;
}

} // namespace

int main(int argc, char** argv) {
    std::optional<std::filesystem::path> dataDir;
    bool busy = false;
    long responses = -1;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--data-dir" && i + 1 < argc) dataDir = argv[++i];
        else if (a == "--busy") busy = true;
        else if (a == "--responses" && i + 1 < argc) responses = std::stol(argv[++i]);
        else {
            std::cerr << "kiosk-driver: usage: --data-dir DIR (--busy | --responses N)\n";
            return 2;
        }
    }
    if (busy == (responses >= 0)) {
        std::cerr << "kiosk-driver: choose one of --busy and --responses N\n";
        return 2;
    }
    auto cfg = app::loadConfig(std::nullopt, dataDir);
    if (!cfg) {
        std::cerr << "kiosk-driver: " << cfg.error() << "\n";
        return 2;
    }
    core::setProcessTimezone(cfg->timezone);
    SteppedClock clock;
    auto controller = app::KioskController::create(*cfg);
    if (!controller) {
        std::cerr << "kiosk-driver: " << controller.error() << "\n";
        return 1;
    }
    auto strings = app::Strings::loadEmbedded(controller->flow().survey.languages);
    if (!strings) {
        std::cerr << "kiosk-driver: " << strings.error() << "\n";
        return 1;
    }
    controller->start(clock.now());
    platform::WindowOptions wo;
    wo.title = "SEGUE Kiosk (bench driver)";
    // As segue-kiosk does: the atlas is built first and handed to the window's ImGui context.
    auto atlas = std::make_unique<ImFontAtlas>();
    const app::Metrics metrics = app::metricsFor(static_cast<float>(wo.width), static_cast<float>(wo.height));
    platform::FontRequest req;
    req.sizes = metrics.fonts;
    req.texts = strings->allTexts();
    req.texts.push_back(cfg->storeId);
    req.texts.push_back(cfg->deviceId);
    auto fonts = platform::buildFonts(*atlas, req);
    if (!fonts) {
        std::cerr << "kiosk-driver: " << fonts.error() << "\n";
        return 1;
    }
    auto window = platform::Window::create(wo);
    if (!window) {
        std::cerr << "kiosk-driver: " << window.error() << "\n";
        return 1;
    }
    platform::Window& win = **window;
    if (auto started = win.startImGui(atlas.get()); !started) {
        std::cerr << "kiosk-driver: " << started.error() << "\n";
        return 1;
    }
    const app::Theme theme = app::makeTheme(cfg->theme);
    const ImVec4 clear = ImGui::ColorConvertU32ToFloat4(theme.background);
    app::FrameState state;

    bool first = true;
    auto frame = [&]() -> bool {
        const core::Now now = clock.now();
        controller->tick(now);
        win.newFrame();
        const app::FrameVM vm = controller->viewModel(now);
        app::Ui ui{theme, metrics, *fonts, *strings, vm.language, now};
        (void)app::drawFrame(ui, vm, state);
        if (auto ok = win.present(clear); !ok) {
            std::cerr << "kiosk-driver: " << ok.error() << "\n";
            return false;
        }
        if (first) {
            first = false;
            ImGui::GetIO().Fonts->ClearTexData();   // as segue-kiosk does after the upload
            std::fprintf(stderr, "kiosk-driver: first frame\n");
            std::fflush(stderr);
        }
        return true;
    };
    if (!frame()) return 1;

    if (busy) {
        for (;;) {
            if (win.waitEvents(0).quit) break;   // never sleeps
            if (!frame()) return 1;
        }
        controller->closeStore();
        return 0;
    }

    // Settle as a started terminal would, then note the memory before the first customer.
    for (int i = 0; i < 3; ++i)
        if (win.waitEvents(500).quit) return 0;
    const double rssBefore = residentMiB();
    const auto feedbackMs = controller->flow().feedbackMs;
    for (long i = 0; i < responses; ++i) {
        using Kind = core::Intent::Kind;
        controller->dispatch(core::Intent::key(Kind::Digit, 5), clock.now());   // five stars
        clock.skip(feedbackMs + 10);                                             // the feedback moment
        controller->tick(clock.now());
        if (!frame()) return 1;                                                  // the first SEGUE item
        controller->dispatch(core::Intent::key(Kind::Submit), clock.now());     // Enter: submit
        if (controller->unsavedCount() != 0) {
            std::cerr << "kiosk-driver: the store refused a response: " << controller->lastStoreError() << "\n";
            return 1;
        }
        clock.skip(feedbackMs + 10);
        controller->dispatch(core::Intent::key(Kind::Submit), clock.now());     // Enter: leave thank-you
    }
    std::fprintf(stderr, "kiosk-driver: responses done rss_before_mib=%.2f\n", rssBefore);
    std::fflush(stderr);
    for (;;) {
        const platform::PumpResult events = win.waitEvents(1000);
        if (events.quit) break;
    }
    controller->closeStore();
    return 0;
}
