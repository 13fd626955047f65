// The staff screen's survey line and its sync/config/store messages in the screen's language: the
// version and when HQ was last asked, a refused definition, a sync error and a local store
// failure as short phrases (curl's and SQLite's English text stay in the log, never on the
// Chinese screen).
#include <catch2/catch.hpp>

#include <algorithm>

#include "store/config_store.hpp"
#include "tests/app/headless.hpp"

using namespace segue;
using namespace segue::app;
using namespace segue::app::test;
namespace cs = segue::core;

namespace {

constexpr const char* kCurlText =
    "HQ cannot be reached (Failed to connect to 127.0.0.1 port 8443 after 0 ms: Connection refused)";

bool drew(const test::Screen& s, const std::string& text) {
    const auto& texts = s.log().texts;
    return std::find(texts.begin(), texts.end(), text) != texts.end();
}

bool drewContaining(const test::Screen& s, const std::string& part) {
    const auto& texts = s.log().texts;
    return std::any_of(texts.begin(), texts.end(), [&](const std::string& t) { return t.find(part) != std::string::npos; });
}

struct StaffOpen {
    TempDir dir;
    core::FakeClock clock{*core::parseUtc("2026-11-22T06:30:00Z"), 480};   // 14:30 in Shanghai
    std::optional<KioskController> c;

    explicit StaffOpen(std::optional<sync::SendError> kind, bool refused) {
        KioskConfig cfg;
        cfg.dataDir = dir.path();
        ControllerHooks hooks;
        hooks.syncPanel = [kind] {
            SyncPanelVM s;
            s.enabled = true;
            s.lastError = kCurlText;
            s.lastErrorKind = kind;
            return s;
        };
        auto made = KioskController::create(cfg, hooks);
        REQUIRE(made.has_value());
        c.emplace(std::move(*made));
        c->start(clock.now());
        auto saved = store::updateSurveyConfig(*c->database(), [&](store::SurveyConfigState& s) {
            s.fetchedAtMs = *core::parseUtc("2026-11-22T06:05:00Z");
            if (refused) s.lastError = "tag \"queue\" has no label in en";
        });
        REQUIRE(saved.has_value());
        storePin(*c->database(), "97531");
        c->dispatch(core::Intent::key(core::Intent::Kind::OpenStaff), clock.now());
        for (char d : std::string("97531")) c->dispatch(core::Intent::key(core::Intent::Kind::PinDigit, d - '0'), clock.now());
        c->dispatch(core::Intent::key(core::Intent::Kind::Submit), clock.now());
        REQUIRE(c->session().screen == cs::Screen::Staff);
    }

    FrameVM vm(const std::string& language) {
        FrameVM v = c->viewModel(clock.now());
        v.language = language;
        return v;
    }
};

} // namespace

TEST_CASE("staff screen: the survey version and when it was fetched, in the screen's language", "[app][staff][sync]") {
    StaffOpen k(sync::SendError::Offline, false);
    const FrameVM zh = k.vm("zh-CN");
    CHECK(zh.staff.survey.version == 1);
    CHECK(zh.staff.survey.fetchedAt == "14:05");
    CHECK_FALSE(zh.staff.survey.configRefused);
    test::Screen screen(1280, 800);
    screen.draw(zh, k.clock.now());
    CHECK(drew(screen, "问卷 v1 · 14:05 获取"));
    screen.draw(k.vm("en"), k.clock.now());
    CHECK(drew(screen, "Survey v1 · fetched 14:05"));
}

TEST_CASE("staff screen: a sync error is a short phrase in the screen's language, not curl's text", "[app][staff][sync]") {
    test::Screen screen(1280, 800);
    for (const auto& [kind, zhText, enText] :
         {std::tuple{sync::SendError::Offline, "最近错误：无法连接总部", "Last error: HQ cannot be reached"},
          std::tuple{sync::SendError::Tls, "最近错误：总部证书不受信任（请检查 ca_file）",
                     "Last error: HQ's certificate is not trusted (check ca_file)"},
          std::tuple{sync::SendError::Unauthorized, "最近错误：总部拒绝了此终端（请检查令牌或登记）",
                     "Last error: HQ refused this terminal (check its token or enrolment)"},
          std::tuple{sync::SendError::ServerError, "最近错误：总部服务器出错，正在重试",
                     "Last error: HQ had a server error; retrying"}}) {
        INFO(sync::errorName(kind));
        StaffOpen k(kind, false);
        screen.draw(k.vm("zh-CN"), k.clock.now());
        CHECK(drew(screen, zhText));
        CHECK_FALSE(drewContaining(screen, "Failed to connect"));
        screen.draw(k.vm("en"), k.clock.now());
        CHECK(drew(screen, enText));
        CHECK_FALSE(drewContaining(screen, "Failed to connect"));
    }
}

TEST_CASE("staff screen: a refused definition from HQ is said, with the version that stays", "[app][staff][sync]") {
    StaffOpen k(sync::SendError::Offline, true);
    const FrameVM zh = k.vm("zh-CN");
    CHECK(zh.staff.survey.configRefused);
    for (const auto& [w, h] : {std::pair{800, 480}, std::pair{1280, 800}, std::pair{1080, 1920}}) {
        INFO(w << "x" << h);
        test::Screen screen(w, h);
        screen.draw(zh, k.clock.now());
        CHECK(drew(screen, "总部下发的新问卷未被采用（详情见日志），继续使用 v1"));
        CHECK(screen.log().overflows.empty());
        screen.draw(k.vm("en"), k.clock.now());
        CHECK(drew(screen, "HQ's new survey was refused (details in the log); v1 stays"));
        CHECK(screen.log().overflows.empty());
    }
}

TEST_CASE("staff screen: a local store failure is said in the screen's language; SQLite's words stay in the log",
          "[app][staff][store]") {
    StaffOpen k(std::nullopt, false);
    // The terminal's own database fails the staff screen's read (a table gone from under it).
    REQUIRE(k.c->database()->exec("ALTER TABLE day_tag_counts RENAME TO day_tag_counts_gone").has_value());
    k.clock.advance(KioskController::kStaffRefreshMs + 1);
    const FrameVM zh = k.vm("zh-CN");
    CHECK_THAT(zh.staff.storeError, Catch::Contains("no such table"));   // kept whole for the log
    REQUIRE(zh.staff.storeErrorKind.has_value());
    CHECK(k.c->lastStoreError() == zh.staff.storeError);
    for (const auto& [w, h] : {std::pair{800, 480}, std::pair{1280, 800}}) {
        INFO(w << "x" << h);
        test::Screen screen(w, h);
        screen.draw(zh, k.clock.now());
        CHECK(drew(screen, "本地存储不可用：数据库读写失败"));
        CHECK_FALSE(drewContaining(screen, "no such table"));
        CHECK(screen.log().overflows.empty());
        screen.draw(k.vm("en"), k.clock.now());
        CHECK(drew(screen, "Local storage unavailable: the database could not be read or written"));
        CHECK_FALSE(drewContaining(screen, "no such table"));
    }

    // Each kind has its phrase in both languages; a failure of no known kind shows as it came.
    test::Screen screen(1280, 800);
    FrameVM vm = k.vm("zh-CN");
    vm.staff.storeError = "database or disk is full";
    for (const auto& [kind, zhText, enText] :
         {std::tuple{store::ErrorKind::Full, "磁盘已满", "the disk is full"},
          std::tuple{store::ErrorKind::ReadOnly, "数据库无法写入（文件权限）", "the database cannot be written (file permissions)"},
          std::tuple{store::ErrorKind::Corrupt, "数据库文件已损坏", "the database file is damaged"},
          std::tuple{store::ErrorKind::Busy, "数据库被占用（另一个程序正在使用）", "the database is busy (another program holds it)"},
          std::tuple{store::ErrorKind::Schema, "数据库来自本软件的更新版本", "the database is from a newer version of this software"},
          std::tuple{store::ErrorKind::Invalid, "数据库拒绝了一条记录", "the database refused a record"}}) {
        vm.staff.storeErrorKind = kind;
        vm.language = "zh-CN";
        screen.draw(vm, k.clock.now());
        CHECK(drew(screen, std::string("本地存储不可用：") + zhText));
        vm.language = "en";
        screen.draw(vm, k.clock.now());
        CHECK(drew(screen, std::string("Local storage unavailable: ") + enText));
        CHECK_FALSE(drewContaining(screen, "database or disk is full"));
    }
    vm.staff.storeErrorKind.reset();
    screen.draw(vm, k.clock.now());
    CHECK(drew(screen, "Local storage unavailable: database or disk is full"));
}
