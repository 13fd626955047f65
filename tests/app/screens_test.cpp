// Every screen in every state, both languages, from 800×480 to 1920×1080 and portrait
// 1080×1920: no ImGui assert, no text that does not fit, touch targets large enough and
// inside the screen, no two targets overlapping; and every translation key in use.
#include <catch2/catch.hpp>

#include <set>

#include "app/string_keys.hpp"
#include "assets/assets.hpp"
#include "core/survey.hpp"
#include "tests/app/headless.hpp"

using namespace segue;
using namespace segue::app;
using namespace segue::app::test;
namespace cs = segue::core;

namespace {

const cs::Survey& survey() {
    static const cs::Survey s = [] {
        auto parsed = cs::parseSurvey(*assets::find("survey/default.json"));
        REQUIRE(parsed.has_value());
        return *parsed;
    }();
    return s;
}

constexpr std::int64_t kNowUtc = 1'795'000'000'000;

cs::DayStats dayWith(std::string date, std::int64_t responses, double csat) {
    cs::DayStats d;
    d.date = std::move(date);
    d.responses = responses;
    if (responses > 0) {
        d.csat = csat;
        d.meanStars = 1.0 + 4.0 * csat;
    }
    return d;
}

StaffVM richStaff() {
    StaffVM vm;
    vm.storeId = "store-demo";
    vm.deviceId = "kiosk-demo";
    vm.date = "2026-11-18";
    vm.targetCsat = 0.9;
    vm.segueItems = survey().items;
    vm.nowUtcMs = kNowUtc;
    cs::DayStats s = dayWith(vm.date, 1287, 0.874);
    s.meanStars = 4.38;
    s.segue = {4.5, 3.9, 4.7, std::nullopt, 2.2};
    s.partial = 31;
    s.misuse = 12;
    s.pendingSync = 17;
    for (int h = 8; h < 21; ++h) s.byHour[static_cast<std::size_t>(h)] = 40 + (h * 37) % 90;
    for (std::size_t i = 0; i < survey().tags.size(); ++i) s.tags[survey().tags[i]] = static_cast<std::int64_t>(40 - 6 * i);
    vm.stats = s;
    for (int i = 29; i >= 0; --i)
        vm.trend.push_back(dayWith(cs::addDays(vm.date, -i), i % 9 == 4 ? 0 : 100 + i, 0.8 + 0.005 * (i % 25)));
    vm.trend.back() = s;
    vm.sync.enabled = true;
    vm.sync.online = true;
    vm.sync.lastSuccessUtcMs = kNowUtc - 30'000;
    vm.sync.pending = 17;
    vm.sync.oldestPendingUtcMs = kNowUtc - 5 * 60'000;
    return vm;
}

StaffVM troubledStaff() {
    StaffVM vm = richStaff();
    vm.dayOffset = -3;
    vm.sync.online = false;
    vm.sync.lastSuccessUtcMs = kNowUtc - 3 * 3'600'000;
    vm.sync.oldestPendingUtcMs = kNowUtc - 3 * 86'400'000;
    vm.sync.rejected = 2;
    vm.sync.lastError = "curl error 7: Failed to connect to hq.example.com port 8443 after 3002 ms: Connection refused";
    vm.recovery = RecoveryNotice{"2026-11-17T01:02:03.000Z",
                                 "/var/lib/segue-kiosk/some/long/path/kiosk.sqlite.corrupt-20261117T010203Z",
                                 "database disk image is malformed"};
    vm.storeError = "database or disk is full while saving response 01890a5d-ac96-774b-bcce-b302099a8057";
    vm.unsaved = 3;
    return vm;
}

StaffVM emptyStaff() {
    StaffVM vm = richStaff();
    vm.stats.reset();
    vm.trend.clear();
    vm.sync = SyncPanelVM{};
    return vm;
}

StaffVM syncingStaff() {
    StaffVM vm = richStaff();
    vm.sync.syncing = true;
    vm.sync.lastSuccessUtcMs.reset();
    vm.stats->tags.clear();
    return vm;
}

struct Case {
    std::string name;
    FrameVM vm;
};

std::vector<Case> allScreens(const std::string& lang) {
    std::vector<Case> out;
    auto base = [&](cs::Screen s) {
        FrameVM vm;
        vm.screen = s;
        vm.language = lang;
        vm.languages = survey().languages;
        return vm;
    };
    out.push_back({"attract", base(cs::Screen::Attract)});
    FrameVM lit = base(cs::Screen::Attract);
    lit.attract.litStars = 3;
    out.push_back({"attract-lit", lit});
    for (int pos = 0; pos < static_cast<int>(survey().items.size()); ++pos) {
        FrameVM vm = base(cs::Screen::Item);
        vm.item.position = pos;
        vm.item.count = static_cast<int>(survey().items.size());
        vm.item.segueIndex = survey().items[static_cast<std::size_t>(pos)];
        vm.item.answered.assign(survey().items.size(), false);
        for (int i = 0; i < pos; ++i) vm.item.answered[static_cast<std::size_t>(i)] = i % 2 == 0;
        if (pos % 2 == 1) vm.item.answer = pos;
        out.push_back({"item" + std::to_string(pos + 1), vm});
    }
    FrameVM reasons = base(cs::Screen::Reasons);
    reasons.reasons.tagIds = survey().tags;
    reasons.reasons.selected = {true, false, true, false, false, true};
    out.push_back({"reasons", reasons});
    out.push_back({"thankyou", base(cs::Screen::ThankYou)});
    out.push_back({"unavailable", base(cs::Screen::Unavailable)});
    FrameVM pin = base(cs::Screen::PinPad);
    pin.pin.entered = 3;
    out.push_back({"pin", pin});
    pin.pin.entered = 0;
    pin.pin.failures = 2;
    out.push_back({"pin-wrong", pin});
    pin.pin.lockedSeconds = 45;
    out.push_back({"pin-locked", pin});
    pin.pin.lockedSeconds = 3600;   // the longest lock, shown in minutes
    out.push_back({"pin-locked-long", pin});
    FrameVM pinOff = base(cs::Screen::PinPad);
    pinOff.pin.configured = false;
    out.push_back({"pin-not-set", pinOff});
    FrameVM staff = base(cs::Screen::Staff);
    staff.staff = richStaff();
    out.push_back({"staff", staff});
    staff.staff = troubledStaff();
    out.push_back({"staff-troubled", staff});
    staff.staff = emptyStaff();
    out.push_back({"staff-empty", staff});
    staff.staff = syncingStaff();
    out.push_back({"staff-syncing", staff});
    // Issue 17: the callback offer and number screens, and HQ's open callback count on staff.
    out.push_back({"callback-offer", base(cs::Screen::CallbackOffer)});
    FrameVM offerSurvey = base(cs::Screen::CallbackOffer);
    offerSurvey.callback.consent = lang == "en" ? "We call you back about this visit; the number is erased {days} days "
                                                  "after your case is closed and only the store's managers see it."
                                                : "我们会就本次到店体验给您回电；号码仅门店经理可见，处理完成{days}天后删除。";
    offerSurvey.callback.retentionDays = 90;
    out.push_back({"callback-offer-survey-consent", offerSurvey});
    out.push_back({"callback-number-empty", base(cs::Screen::CallbackNumber)});
    FrameVM number = base(cs::Screen::CallbackNumber);
    number.callback.digits = "13800138000";
    out.push_back({"callback-number", number});
    number.callback.digits = "123456789012345";
    out.push_back({"callback-number-longest", number});
    number.callback.digits = "1380013800";
    number.callback.invalid = true;
    out.push_back({"callback-number-invalid", number});
    staff.staff = richStaff();
    staff.staff.openCallbacks = 3;
    out.push_back({"staff-open-callbacks", staff});
    // The survey line and the sync / config messages in the screen's language.
    staff.staff = troubledStaff();
    staff.staff.survey = {2, "14:05", false};
    staff.staff.sync.lastErrorKind = sync::SendError::Offline;
    out.push_back({"staff-survey-offline", staff});
    staff.staff.survey = {2, "", true};
    staff.staff.sync.lastErrorKind = sync::SendError::Tls;
    out.push_back({"staff-survey-refused-tls", staff});
    staff.staff.sync.lastErrorKind = sync::SendError::Unauthorized;
    out.push_back({"staff-unauthorized", staff});
    staff.staff = richStaff();
    staff.staff.survey = {3, "12-05 09:41", false};
    staff.staff.sync.lastError = "HQ had a server error (HTTP 503: busy)";
    staff.staff.sync.lastErrorKind = sync::SendError::ServerError;
    out.push_back({"staff-server-error", staff});
    // A local store failure, said in the screen's language (SQLite's words go to the log).
    staff.staff = troubledStaff();
    for (const auto& [kind, name] : {std::pair{store::ErrorKind::Full, "full"}, {store::ErrorKind::ReadOnly, "read-only"},
                                     {store::ErrorKind::Corrupt, "corrupt"}, {store::ErrorKind::Busy, "busy"},
                                     {store::ErrorKind::Io, "io"}, {store::ErrorKind::Schema, "schema"},
                                     {store::ErrorKind::Invalid, "invalid"}}) {
        staff.staff.storeErrorKind = kind;
        out.push_back({std::string("staff-store-") + name, staff});
    }
    FrameVM enrol = base(cs::Screen::Enrol);
    enrol.enrol.serverUrl = "https://hq.segue-feedback.example.com:8443";
    out.push_back({"enrol-empty", enrol});
    enrol.enrol.digits = "1234567";
    out.push_back({"enrol-typing", enrol});
    enrol.enrol.digits = "123456789012";
    out.push_back({"enrol-full", enrol});
    enrol.enrol.enrolling = true;
    enrol.enrol.waitedSeconds = 12;
    out.push_back({"enrol-asking", enrol});
    enrol.enrol.enrolling = false;
    for (const auto& [name, problem] : {std::pair{"enrol-refused", cs::EnrolProblem::Refused},
                                        std::pair{"enrol-unreachable", cs::EnrolProblem::Unreachable},
                                        std::pair{"enrol-failed", cs::EnrolProblem::Failed}}) {
        enrol.enrol.problem = problem;
        out.push_back({name, enrol});
    }
    return out;
}

bool overlaps(const Box& a, const Box& b) {
    const float e = 0.5f;
    return a.x + e < b.right() && b.x + e < a.right() && a.y + e < b.bottom() && b.y + e < a.bottom();
}

} // namespace

TEST_CASE("every screen fits at every supported size in both languages", "[app][screens][layout]") {
    const auto [w, h] = GENERATE(std::pair{800, 480}, std::pair{1280, 800}, std::pair{1920, 1080}, std::pair{1080, 1920});
    test::Screen screen(w, h);
    const cs::Now now{100'000, kNowUtc, 480};
    for (const std::string lang : {"zh-CN", "en"}) {
        for (const auto& c : allScreens(lang)) {
            INFO(c.name << " " << lang << " " << w << "x" << h);
            screen.draw(c.vm, now);
            const UiLog& log = screen.log();
            for (const auto& o : log.overflows) FAIL_CHECK("text does not fit: \"" << o.text << "\" in " << o.box.w << "x" << o.box.h);
            const float minTarget = w == 800 && h == 480 ? 64.f : screen.metrics().target;
            for (std::size_t i = 0; i < log.targets.size(); ++i) {
                const auto& t = log.targets[i];
                INFO("target " << t.id);
                CHECK(std::min(t.box.w, t.box.h) >= minTarget - 0.5f);
                CHECK(t.box.x >= -0.5f);
                CHECK(t.box.y >= -0.5f);
                CHECK(t.box.right() <= static_cast<float>(w) + 0.5f);
                CHECK(t.box.bottom() <= static_cast<float>(h) + 0.5f);
                for (std::size_t j = i + 1; j < log.targets.size(); ++j) {
                    INFO("and target " << log.targets[j].id);
                    CHECK_FALSE(overlaps(t.box, log.targets[j].box));
                }
                // Nothing tappable sits in the staff long-press corner of a customer screen.
                if (c.vm.screen != cs::Screen::Staff && c.vm.screen != cs::Screen::PinPad) {
                    CHECK_FALSE(overlaps(t.box, staffCorner(screen.metrics())));
                }
            }
        }
    }
}

TEST_CASE("the customer screens meet the design's sizes at 1280x800", "[app][screens][layout]") {
    test::Screen screen(1280, 800);
    const Metrics& m = screen.metrics();
    CHECK(m.fonts.title >= 44.f);     // the question
    CHECK(m.fonts.body >= 26.f);      // option labels
    CHECK(m.target >= 96.f);          // touch targets
    const cs::Now now{100'000, kNowUtc, 480};
    for (const auto& c : allScreens("zh-CN")) {
        if (c.vm.screen == cs::Screen::Staff) continue;
        screen.draw(c.vm, now);
        for (const auto& t : screen.log().targets) {
            INFO(c.name << " " << t.id);
            CHECK(std::min(t.box.w, t.box.h) >= 96.f);
        }
    }
}

TEST_CASE("portrait screens stack the options vertically, best on top", "[app][screens][layout]") {
    const cs::Now now{100'000, kNowUtc, 480};
    auto vm = allScreens("en")[2];
    REQUIRE(vm.vm.screen == cs::Screen::Item);
    test::Screen portrait(1080, 1920);
    portrait.draw(vm.vm, now);
    for (int v = 5; v > 1; --v) {
        const Box upper = portrait.target("option" + std::to_string(v));
        const Box lower = portrait.target("option" + std::to_string(v - 1));
        CHECK(upper.bottom() <= lower.y);
        CHECK(upper.x == lower.x);
    }
    test::Screen landscape(1280, 800);
    landscape.draw(vm.vm, now);
    for (int v = 1; v < 5; ++v)
        CHECK(landscape.target("option" + std::to_string(v)).right() <= landscape.target("option" + std::to_string(v + 1)).x);
}

TEST_CASE("every translation key exists in every language and every one is used", "[app][strings]") {
    const Strings& strings = embeddedStrings();
    std::set<std::string> expected(keys::kStatic.begin(), keys::kStatic.end());
    REQUIRE(expected.size() == keys::kStatic.size());   // no key listed twice
    for (const auto& k : keys::surveyKeys(survey())) expected.insert(k);

    for (const auto& lang : survey().languages) {
        INFO("language " << lang);
        const auto have = strings.keys(lang);
        const std::set<std::string> got(have.begin(), have.end());
        for (const auto& k : expected) {
            INFO("key " << k);
            CHECK(got.count(k) == 1);
            CHECK_FALSE(std::string(strings.get(lang, k)).empty());
        }
        for (const auto& k : got) {
            INFO("key " << k << " is in translations/" << lang << ".json but nothing uses it");
            CHECK(expected.count(k) == 1);
        }
    }

    // The screens ask for exactly those keys: draw every screen and state in both languages.
    strings.setTracking(true);
    test::Screen screen(1280, 800);
    const cs::Now now{100'000, kNowUtc, 480};
    for (const std::string lang : {"zh-CN", "en"})
        for (const auto& c : allScreens(lang)) screen.draw(c.vm, now);
    strings.setTracking(false);
    std::set<std::string> used(strings.usedKeys().begin(), strings.usedKeys().end());
    for (const auto& k : expected) {
        INFO("key " << k << " is listed but no screen draws it");
        CHECK(used.count(k) == 1);
    }
    for (const auto& k : used) {
        INFO("a screen draws key " << k << " that is not in the list");
        CHECK(expected.count(k) == 1);
    }
}
