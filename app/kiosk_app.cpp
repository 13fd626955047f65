#include "app/kiosk_app.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <future>
#include <tuple>
#include <memory>
#include <string>
#include <vector>

#include <malloc.h>

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "app/controller.hpp"
#include "app/keys.hpp"
#include "app/screens.hpp"
#include "app/strings.hpp"
#include "app/theme.hpp"
#include "platform/fonts.hpp"
#include "core/system_clock.hpp"
#include "platform/window.hpp"
#include "service/journal_log.hpp"
#include "service/sd_notify.hpp"
#include "store/data_dir.hpp"

namespace segue::app {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kFramesAfterInput = 3;      // the SDL backend reads the mouse in NewFrame: press, release, settle
constexpr std::int64_t kIdleTickMs = 1000; // clock and sync panel
constexpr std::int64_t kHeldTickMs = 100;  // while a finger is down (the 3 s long-press)

void setupLogging(const KioskConfig& cfg) {
    std::vector<spdlog::sink_ptr> sinks;
    auto stderrSink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    sinks.push_back(stderrSink);
    std::string fileProblem;
    // The data directory is made (or tightened to) 0700 before the log file is created in it;
    // what changed is logged once the logger exists.
    const auto secured = store::secureDataDir(cfg.dataDir);
    try {
        sinks.push_back(std::make_shared<spdlog::sinks::basic_file_sink_mt>(cfg.logPath().string()));
    } catch (const std::exception& e) {
        fileProblem = e.what();   // the terminal still runs; the log goes to stderr only
    }
    auto logger = std::make_shared<spdlog::logger>("segue-kiosk", sinks.begin(), sinks.end());
    const std::string pattern = "%Y-%m-%dT%H:%M:%S.%e%z %l %v";
    logger->set_pattern(pattern);
    stderrSink->set_formatter(service::stderrFormatter(pattern));   // under systemd: the journal's lines
    logger->flush_on(spdlog::level::info);
    spdlog::set_default_logger(logger);
    if (!fileProblem.empty()) spdlog::warn("cannot write the log file {}: {}", cfg.logPath().string(), fileProblem);
    if (secured) logDataDirReport(cfg.dataDir, *secured);
    else spdlog::error("{}", secured.error().message);
}

const char* screenName(core::Screen s) {
    switch (s) {
    case core::Screen::Attract: return "attract";
    case core::Screen::Item: return "item";
    case core::Screen::Reasons: return "reasons";
    case core::Screen::ThankYou: return "thankyou";
    case core::Screen::Unavailable: return "unavailable";
    case core::Screen::PinPad: return "pinpad";
    case core::Screen::Staff: return "staff";
    case core::Screen::CallbackOffer: return "callback-offer";
    case core::Screen::CallbackNumber: return "callback-number";
    }
    return "screen";
}

/// "<screen>-<lang>-<W>x<H>", items numbered ("item3-en-1280x800").
std::string shotName(const FrameVM& vm, int w, int h) {
    std::string name = screenName(vm.screen);
    if (vm.screen == core::Screen::Item) name += std::to_string(vm.item.position + 1);
    return name + "-" + vm.language + "-" + std::to_string(w) + "x" + std::to_string(h);
}

std::expected<platform::Fonts, std::string> loadFonts(ImFontAtlas& atlas, const Metrics& m, const Strings& strings,
                                                     const KioskConfig& cfg) {
    platform::FontRequest req;
    req.sizes = m.fonts;
    req.texts = strings.allTexts();
    req.texts.push_back(cfg.storeId);
    req.texts.push_back(cfg.deviceId);
    return platform::buildFonts(atlas, req);
}

} // namespace

int runKiosk(const KioskConfig& cfg, const RunOptions& options) {
    const auto started = Clock::now();
    setupLogging(cfg);
    spdlog::info("segue-kiosk starting: store {} device {} data {}", cfg.storeId, cfg.deviceId, cfg.dataDir.string());
    // TZ is normally set before any thread starts (the command line does it); setting it again
    // here would race a running sync worker's localtime_r, so only when it differs.
    const char* tz = std::getenv("TZ");
    if ((tz == nullptr || cfg.timezone != tz) && !core::setProcessTimezone(cfg.timezone))
        spdlog::warn("unknown timezone '{}': local dates fall back to UTC", cfg.timezone);
    core::SystemClock clock;

    // The store opens (and reads the whole file for its check) while the window and the fonts
    // are made: the attract screen needs nothing from it.
    auto controller = KioskController::create(cfg, {.syncPanel = options.syncPanel,
                                                    .onSyncNow = options.onSyncNow,
                                                    .onResponseSaved = options.onResponseSaved,
                                                    .onStoreOpened = options.onStoreOpened,
                                                    .openInBackground = true,
                                                    .surveyFetched = options.surveyFetched});
    if (!controller) {
        spdlog::critical("{}", controller.error());
        return 1;
    }
    auto strings = Strings::loadEmbedded(controller->flow().survey.languages);
    if (!strings) {
        spdlog::critical("{}", strings.error());
        return 1;
    }
    controller->start(clock.now());

    platform::WindowOptions wo;
    wo.title = "SEGUE Kiosk";
    wo.width = options.width.value_or(1280);
    wo.height = options.height.value_or(800);
    wo.fullscreen = options.fullscreen;
    if (wo.fullscreen)
        if (const auto desktop = platform::desktopSize()) std::tie(wo.width, wo.height) = *desktop;

    // The font atlas is rasterized on a second thread while the GL driver loads; no ImGui
    // context exists until both are done. The atlas outlives the window that shares it.
    auto atlas = std::make_unique<ImFontAtlas>();
    Metrics metrics = metricsFor(static_cast<float>(wo.width), static_cast<float>(wo.height));
    auto fontJob = std::async(std::launch::async, [&] { return loadFonts(*atlas, metrics, *strings, cfg); });
    auto window = platform::Window::create(wo);
    auto fonts = fontJob.get();
    if (!window) {
        spdlog::critical("cannot open the window: {}", window.error());
        return 1;
    }
    platform::Window& win = **window;
    if (auto started = win.startImGui(atlas.get()); !started) {
        spdlog::critical("{}", started.error());
        return 1;
    }
    // The window manager may have given another size than asked for.
    if (const Metrics actual = metricsFor(static_cast<float>(win.width()), static_cast<float>(win.height()));
        actual.fonts.body != metrics.fonts.body || actual.fonts.title != metrics.fonts.title) {
        metrics = actual;
        fonts = loadFonts(*atlas, metrics, *strings, cfg);
    } else {
        metrics = actual;
    }
    if (!fonts) {
        spdlog::critical("{}", fonts.error());
        return 1;
    }
    const Theme theme = makeTheme(cfg.theme);
    const ImVec4 clear = ImGui::ColorConvertU32ToFloat4(theme.background);

    std::filesystem::path shotDir = options.screenshotDir;
    if (shotDir.empty())
        if (const char* env = std::getenv("SEGUE_SCREENSHOT_DIR"); env != nullptr && *env != '\0') shotDir = env;
    std::string lastShot, pendingShot;
    int pendingShotFrames = 0;

    // Under systemd (cage's child, so WATCHDOG_PID may name cage): pinged from this loop, which
    // wakes at least every kIdleTickMs also when idle.
    service::WatchdogPinger watchdog(service::watchdogInterval(true));
    if (watchdog.enabled()) spdlog::info("systemd watchdog: a ping at most every {} ms", watchdog.everyMs());

    FrameState frameState;
    int framesLeft = 2;
    bool firstFrame = true;
    std::int64_t lastFrameMono = 0;
    for (;;) {
        core::Now now = clock.now();
        int timeoutMs = 0;
        if (framesLeft == 0) {
            std::int64_t wake = now.monoMs + kIdleTickMs;
            if (const auto at = controller->nextWakeMono()) wake = std::min(wake, *at);
            if (win.pointerHeld()) wake = std::min(wake, now.monoMs + kHeldTickMs);
            timeoutMs = static_cast<int>(std::clamp<std::int64_t>(wake - now.monoMs, 1, kIdleTickMs));
        }
        platform::PumpResult events = win.waitEvents(timeoutMs);
        if (events.quit) break;
        now = clock.now();
        watchdog.tick(now.monoMs);
        if (events.activity) framesLeft = std::max(framesLeft, kFramesAfterInput);
        if (win.pointerHeld()) framesLeft = std::max(framesLeft, 1);
        if (events.resized) {
            const Metrics resized = metricsFor(static_cast<float>(win.width()), static_cast<float>(win.height()));
            if (resized.fonts.body != metrics.fonts.body || resized.fonts.title != metrics.fonts.title) {
                auto rebuilt = loadFonts(*atlas, resized, *strings, cfg);
                if (!rebuilt) {
                    // The atlas is already cleared: the old faces are gone with it.
                    spdlog::critical("{}", rebuilt.error());
                    return 1;
                }
                fonts = std::move(rebuilt);
                win.reloadFontTexture();
                atlas->ClearTexData();   // uploaded again; as after the first frame
            }
            metrics = resized;
        }

        const core::Session before = controller->session();
        const bool opening = controller->storeOpening();
        for (const auto& key : events.keys) controller->dispatch(intentForKey(key, controller->session().screen), now);
        controller->tick(now);
        // The open's thread is done: what its check of the file used goes back to the system.
        if (opening && !controller->storeOpening()) (void)malloc_trim(0);
        if (const auto& fatal = controller->fatalStoreError()) {
            spdlog::critical("{}", *fatal);
            controller->closeStore();   // anything unsaved goes to the log in full
            return 1;
        }
        if (!(before == controller->session())) framesLeft = std::max(framesLeft, 2);
        // Screens with a live clock (staff figures, the PIN lock countdown) redraw once a second.
        const core::Screen screen = controller->session().screen;
        const bool live = screen == core::Screen::Staff ||
                          (screen == core::Screen::PinPad && controller->session().pinLockedUntilMono > now.monoMs);
        if (live && now.monoMs - lastFrameMono >= kIdleTickMs - 20) framesLeft = std::max(framesLeft, 1);
        if (framesLeft == 0) continue;

        win.newFrame();
        const FrameVM vm = controller->viewModel(now);
        Ui ui{theme, metrics, *fonts, *strings, vm.language, now};
        const core::Intent intent = drawFrame(ui, vm, frameState);

        std::filesystem::path shot;
        if (!shotDir.empty()) {
            // A screen is captured on its second frame, once its layout has settled.
            const std::string name = shotName(vm, win.width(), win.height());
            if (name != pendingShot) { pendingShot = name; pendingShotFrames = 0; }
            if (++pendingShotFrames == 2 && name != lastShot) {
                shot = shotDir / (name + ".png");
                lastShot = name;
            }
        }
        if (auto presented = win.present(clear, shot); !presented)
            spdlog::warn("screenshot {}: {}", shot.string(), presented.error());
        else if (!shot.empty())
            spdlog::info("screenshot {}", shot.string());
        lastFrameMono = now.monoMs;
        --framesLeft;
        if (firstFrame) {
            firstFrame = false;
            ImFontAtlas& fontAtlas = *ImGui::GetIO().Fonts;
            fontAtlas.ClearTexData();   // uploaded to the GPU; the CPU copy is not needed
            // What start-up freed (the atlas's CPU pixels, the font file, the GL driver's shader
            // compile) goes back to the system rather than waiting in malloc's free lists.
            (void)malloc_trim(0);
            spdlog::info("first frame {} ms after start ({} ms after the process started; {}x{}; font atlas {}x{})",
                         std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count(),
                         core::msSinceProcessStart().value_or(-1), win.width(), win.height(), fontAtlas.TexWidth,
                         fontAtlas.TexHeight);
            service::notifyReady();
        }
        if (intent.kind != core::Intent::Kind::None) {
            controller->dispatch(intent, clock.now());
            framesLeft = std::max(framesLeft, 2);
        }
    }
    service::notifyStopping();
    spdlog::info("segue-kiosk exiting");
    controller->closeStore();
    return 0;
}

} // namespace segue::app
