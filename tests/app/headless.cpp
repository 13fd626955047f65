#include "tests/app/headless.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <random>
#include <thread>

#include "app/keys.hpp"
#include "app/pin.hpp"
#include "store/meta.hpp"
#include "store/responses.hpp"

#include <spdlog/spdlog.h>

namespace segue::app::test {
namespace {
// The controller logs every save; the test output only needs its warnings and errors.
[[maybe_unused]] const bool kQuietLog = (spdlog::set_level(spdlog::level::warn), true);
} // namespace

const Strings& embeddedStrings() {
    static const Strings strings = [] {
        auto s = Strings::loadEmbedded({"zh-CN", "en"});
        REQUIRE(s.has_value());
        return std::move(*s);
    }();
    return strings;
}

Screen::Screen(int width, int height) {
    m_ctx = ImGui::CreateContext();
    ImGui::SetCurrentContext(m_ctx);
    ImGuiIO& io = ImGui::GetIO();
    io.IniFilename = nullptr;
    io.LogFilename = nullptr;
    io.DisplaySize = ImVec2(static_cast<float>(width), static_cast<float>(height));
    io.DeltaTime = 1.f / 60.f;
    m_metrics = metricsFor(io.DisplaySize.x, io.DisplaySize.y);
    m_theme = makeTheme("dark");
    platform::FontRequest req;
    req.sizes = m_metrics.fonts;
    req.texts = embeddedStrings().allTexts();
    req.texts.push_back("store-demo");
    req.texts.push_back("kiosk-demo");
    auto fonts = platform::buildFonts(*io.Fonts, req);
    REQUIRE(fonts.has_value());
    m_fonts = *fonts;
    io.Fonts->SetTexID(reinterpret_cast<ImTextureID>(static_cast<std::intptr_t>(1)));
}

Screen::~Screen() {
    ImGui::DestroyContext(m_ctx);
}

core::Intent Screen::draw(const FrameVM& vm, const core::Now& now, std::optional<ImVec2> mouse, bool down) {
    ImGui::SetCurrentContext(m_ctx);
    ImGuiIO& io = ImGui::GetIO();
    io.MousePos = mouse ? *mouse : ImVec2(-FLT_MAX, -FLT_MAX);
    io.MouseDown[0] = down;
    m_log.clear();
    ImGui::NewFrame();
    Ui ui{m_theme, m_metrics, m_fonts, embeddedStrings(), vm.language, now};
    ui.log = &m_log;
    const core::Intent intent = drawFrame(ui, vm, m_state);
    ImGui::Render();
    return intent;
}

bool Screen::hasTarget(const std::string& id) const {
    for (const auto& t : m_log.targets)
        if (t.id == id) return true;
    return false;
}

Box Screen::target(const std::string& id) const {
    for (const auto& t : m_log.targets)
        if (t.id == id) return t.box;
    FAIL("no target '" << id << "' on this screen");
    return {};
}

namespace {

KioskConfig configFor(const std::filesystem::path& dataDir, std::string language) {
    KioskConfig cfg;
    cfg.dataDir = dataDir;
    cfg.language = std::move(language);
    return cfg;
}

} // namespace

Kiosk::Kiosk(const std::filesystem::path& dataDir, int width, int height, std::string language,
             ControllerHooks hooks)
    : m_cfg(configFor(dataDir, std::move(language))),
      m_controller([&] {
          auto c = KioskController::create(m_cfg, std::move(hooks));
          REQUIRE(c.has_value());
          return std::move(*c);
      }()),
      m_screen(width, height) {
    m_controller.start(m_clock.now());
}

Kiosk::Kiosk(KioskConfig cfg, int width, int height, ControllerHooks hooks)
    : m_cfg(std::move(cfg)),
      m_controller([&] {
          auto c = KioskController::create(m_cfg, std::move(hooks));
          REQUIRE(c.has_value());
          return std::move(*c);
      }()),
      m_screen(width, height) {
    m_controller.start(m_clock.now());
}

core::Intent Kiosk::frame(std::optional<ImVec2> mouse, bool down) {
    const core::Now now = m_clock.now();
    const FrameVM vm = m_controller.viewModel(now);
    const core::Intent intent = m_screen.draw(vm, now, mouse, down);
    if (intent.kind != core::Intent::Kind::None) m_controller.dispatch(intent, now);
    return intent;
}

core::Intent Kiosk::tap(const std::string& id) {
    frame();   // lay the current screen out to find the target
    const ImVec2 at = m_screen.target(id).center();
    frame(at, true);
    m_clock.advance(80);
    const core::Intent released = frame(at, false);
    m_controller.tick(m_clock.now());
    return released;
}

void Kiosk::wait(std::int64_t ms) {
    for (std::int64_t left = ms; left > 0; left -= 50) {
        m_clock.advance(std::min<std::int64_t>(50, left));
        m_controller.tick(m_clock.now());
    }
}

void Kiosk::waitForOpen() {
    // Waiting for the open's thread, not timing it: the limit only stops a hung test.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (m_controller.storeOpening()) {
        REQUIRE(std::chrono::steady_clock::now() < deadline);
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        wait(KioskController::kOpenPollMs);
    }
}

void Kiosk::choose(const std::string& id) {
    const core::Intent got = tap(id);
    INFO("tapping " << id);
    REQUIRE(got.kind != core::Intent::Kind::None);
    wait(m_controller.flow().feedbackMs + 50);
}

void Kiosk::key(const platform::KeyPress& k) {
    m_controller.dispatch(intentForKey(k, m_controller.session().screen), m_clock.now());
}

std::vector<core::Response> Kiosk::rows() {
    std::vector<core::Response> out;
    store::Database* db = m_controller.database();
    REQUIRE(db != nullptr);
    auto ok = store::forEachResponse(*db, {}, [&](const core::Response& r) {
        out.push_back(r);
        return true;
    });
    REQUIRE(ok.has_value());
    return out;
}

void storePin(store::Database& db, const std::string& pin) {
    auto hash = hashPin(pin);
    REQUIRE(hash.has_value());
    REQUIRE(store::setMeta(db, store::kMetaPinHash, *hash).has_value());
}

void enterPinByKeys(Kiosk& k, const std::string& pin) {
    using Kind = core::Intent::Kind;
    k.controller().dispatch(core::Intent::key(Kind::OpenStaff), k.clock().now());
    for (char d : pin) k.controller().dispatch(core::Intent::key(Kind::PinDigit, d - '0'), k.clock().now());
    k.controller().dispatch(core::Intent::key(Kind::Submit), k.clock().now());
}

bool hasMovedAside(const std::filesystem::path& dir) {
    for (const auto& e : std::filesystem::directory_iterator(dir))
        if (e.path().filename().string().starts_with("kiosk.sqlite.corrupt-")) return true;
    return false;
}

} // namespace segue::app::test
