// segue-bench-kiosk-driver: the kiosk's own window, fonts, screens, controller and store
// (segue_app + segue_platform) run by a script instead of a person, for benchmarks 2 and 3.
//   --busy           draw the attract screen on every loop iteration (benchmark 2's baseline:
//                    what the terminal would cost without render on demand)
//   --responses N    serve N customers (5 stars, Enter, Enter) through the controller with the
//                    monotonic clock stepped past each feedback moment and thank-you screen, one
//                    frame drawn per customer, then idle; prints "responses done" (benchmark 3)
//   --soak N --config FILE [--sync-every K] [--sample-every S] [--samples OUT]
//                    the same customers with the terminal's own sync worker (CurlTransport, config
//                    fetch after each drain) against the HQ of FILE: a sync cycle ("sync now",
//                    waited for) every K customers, and a "sample" line (RSS, open file
//                    descriptors, threads) every S customers, also appended to OUT with the
//                    reason of a failure (stderr carries the sync log too); then exits (benchmark 9)
// Both log "first frame" on stderr right after the first presented frame, as segue-kiosk does.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include "app/cli_config.hpp"
#include "app/config.hpp"
#include "app/controller.hpp"
#include "app/screens.hpp"
#include "app/strings.hpp"
#include "app/theme.hpp"
#include "app/ui.hpp"
#include "platform/fonts.hpp"
#include "core/system_clock.hpp"
#include "platform/window.hpp"
#include "sync/curl_transport.hpp"
#include "sync/worker.hpp"

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

/// A number from /proc/self/status ("VmRSS", "Threads"); -1 when unreadable.
long statusField(const char* field) {
    std::FILE* f = std::fopen("/proc/self/status", "r");
    if (f == nullptr) return -1;
    char line[256];
    long v = -1;
    const std::size_t n = std::strlen(field);
    while (std::fgets(line, sizeof line, f) != nullptr)
        if (std::strncmp(line, field, n) == 0 && line[n] == ':') {
            v = std::strtol(line + n + 1, nullptr, 10);
            break;
        }
    std::fclose(f);
    return v;
}

/// Open descriptors of this process (the directory stream's own one left out): files and
/// pipes, and sockets apart. The sockets are the display's and the sync worker's connection to
/// HQ, which HQ closes after 1 000 requests and the next sync cycle opens again.
struct Fds {
    long files = 0, sockets = 0;
};
Fds openFds() {
    std::error_code ec;
    Fds n;
    for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec); !ec && it != std::filesystem::directory_iterator();
         it.increment(ec)) {
        std::error_code lec;
        const auto target = std::filesystem::read_symlink(it->path(), lec);
        if (!lec && target.native().starts_with("socket:"))
            ++n.sockets;
        else
            ++n.files;
    }
    --n.files;
    return n;
}

/// A soak line: on stderr, and in the --samples file when there is one.
std::FILE* g_samples = nullptr;
void note(const std::string& line) {
    std::fprintf(stderr, "kiosk-driver: %s\n", line.c_str());
    std::fflush(stderr);
    if (g_samples != nullptr) {
        std::fprintf(g_samples, "kiosk-driver: %s\n", line.c_str());
        std::fflush(g_samples);
    }
}

/// The terminal's sync worker as segue-kiosk wires it (app/cli_terminal.cpp): its own connection,
/// CurlTransport, the configuration fetched after each drain, and the batches' config report.
std::expected<std::unique_ptr<sync::SyncWorker>, std::string> makeWorker(const app::KioskConfig& cfg,
                                                                         const core::Clock& clock,
                                                                         std::shared_ptr<std::atomic<bool>> fetched) {
    sync::CurlOptions curl;
    curl.serverUrl = cfg.sync.serverUrl;
    curl.token = cfg.sync.token;
    curl.caFile = cfg.sync.caFile;
    auto transport = sync::CurlTransport::create(curl);
    if (!transport) return std::unexpected("[sync] " + transport.error());
    sync::WorkerOptions wo;
    wo.databasePath = cfg.databasePath();
    wo.checkStore = false;
    wo.drain.deviceId = cfg.deviceId;
    wo.drain.configReport = app::configReport;
    wo.afterDrain = [options = app::configFetchOptions(cfg), fetched](store::Database& db) {
        if (app::fetchAndRecord(db, options) == sync::ConfigFetch::Pending) fetched->store(true);
    };
    return std::make_unique<sync::SyncWorker>(std::move(wo), std::move(*transport), clock);
}

} // namespace

int main(int argc, char** argv) {
    std::optional<std::filesystem::path> dataDir, configFile;
    bool busy = false;
    long responses = -1, soak = -1, syncEvery = 50, sampleEvery = 1000;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--data-dir" && i + 1 < argc) dataDir = argv[++i];
        else if (a == "--config" && i + 1 < argc) configFile = argv[++i];
        else if (a == "--busy") busy = true;
        else if (a == "--responses" && i + 1 < argc) responses = std::stol(argv[++i]);
        else if (a == "--soak" && i + 1 < argc) soak = std::stol(argv[++i]);
        else if (a == "--sync-every" && i + 1 < argc) syncEvery = std::stol(argv[++i]);
        else if (a == "--sample-every" && i + 1 < argc) sampleEvery = std::stol(argv[++i]);
        else if (a == "--samples" && i + 1 < argc) {
            g_samples = std::fopen(argv[++i], "a");
            if (g_samples == nullptr) {
                std::cerr << "kiosk-driver: cannot write " << argv[i] << "\n";
                return 2;
            }
        }
        else {
            std::cerr << "kiosk-driver: usage: --data-dir DIR (--busy | --responses N | --soak N --config FILE "
                         "[--sync-every K] [--sample-every S])\n";
            return 2;
        }
    }
    if (int(busy) + int(responses >= 0) + int(soak >= 0) != 1 || syncEvery < 1 || sampleEvery < 1) {
        std::cerr << "kiosk-driver: choose one of --busy, --responses N and --soak N\n";
        return 2;
    }
    if (soak >= 0 && !configFile) {
        std::cerr << "kiosk-driver: --soak needs --config FILE (a kiosk.toml with [sync])\n";
        return 2;
    }
    auto cfg = app::loadConfig(configFile, dataDir);
    if (!cfg) {
        std::cerr << "kiosk-driver: " << cfg.error() << "\n";
        return 2;
    }
    core::setProcessTimezone(cfg->timezone);
    SteppedClock clock;
    // --soak: the sync worker starts once the controller's connection has opened the store.
    std::unique_ptr<sync::SyncWorker> worker;
    auto fetched = std::make_shared<std::atomic<bool>>(false);
    app::ControllerHooks hooks;
    if (soak >= 0) {
        if (!cfg->sync.enabled) {
            std::cerr << "kiosk-driver: --soak needs [sync] enabled in the config\n";
            return 2;
        }
        auto made = makeWorker(*cfg, clock, fetched);
        if (!made) {
            std::cerr << "kiosk-driver: " << made.error() << "\n";
            return 1;
        }
        worker = std::move(*made);
        hooks.onStoreOpened = [&worker] {
            if (auto ok = worker->start(); !ok) std::cerr << "kiosk-driver: sync worker: " << ok.error() << "\n";
        };
        hooks.surveyFetched = [fetched] { return fetched->exchange(false); };
    }
    auto controller = app::KioskController::create(*cfg, std::move(hooks));
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
    const long customers = soak >= 0 ? soak : responses;
    std::uint64_t cycles = 0;
    for (long i = 0; i < customers; ++i) {
        using Kind = core::Intent::Kind;
        controller->dispatch(core::Intent::key(Kind::Digit, 5), clock.now());   // five stars
        clock.skip(feedbackMs + 10);                                             // the feedback moment
        controller->tick(clock.now());
        if (!frame()) return 1;                                                  // the first SEGUE item
        controller->dispatch(core::Intent::key(Kind::Submit), clock.now());     // Enter: submit
        if (controller->unsavedCount() != 0) {
            note("error: the store refused a response: " + controller->lastStoreError());
            return 1;
        }
        clock.skip(feedbackMs + 10);
        controller->dispatch(core::Intent::key(Kind::Submit), clock.now());     // Enter: leave thank-you
        // The counter is quiet a moment before the next customer: the kiosk's idle work (the
        // checkpoint between customers) runs as it does at a real counter.
        clock.skip(app::KioskController::kCheckpointIdleMs + 10);
        controller->tick(clock.now());
        if (!worker) continue;
        const long served = i + 1;
        if (served % syncEvery == 0) {
            // "Sync now", as staff would press it, and wait for that drain (bounded).
            const std::uint64_t seen = worker->drainCount();
            worker->wake(true);
            if (worker->waitForDrain(seen, std::chrono::seconds(60)) <= seen) {
                note("error: a sync cycle did not finish within 60 s");
                return 1;
            }
            ++cycles;
            const sync::SyncStatus st = worker->status();
            if (!st.lastError.empty()) {
                note("error: sync failed after " + std::to_string(served) + " customers: " + st.lastError);
                return 1;
            }
        }
        if (served % sampleEvery == 0) {
            const sync::SyncStatus st = worker->status();
            const Fds fds = openFds();
            char line[256];
            std::snprintf(line, sizeof line,
                          "sample customers=%ld cycles=%llu rss_kib=%ld fds=%ld sockets=%ld threads=%ld pending=%lld synced=%lld",
                          served, static_cast<unsigned long long>(cycles), statusField("VmRSS"), fds.files, fds.sockets,
                          statusField("Threads"), static_cast<long long>(st.pending), static_cast<long long>(st.synced));
            note(line);
        }
    }
    if (worker) {
        worker->stop();
        controller->closeStore();
        note("soak done cycles=" + std::to_string(cycles));
        return 0;
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
