#include <catch2/catch.hpp>

#include "assets/assets.hpp"
#include "core/flow.hpp"

using namespace segue::core;
using Kind = Intent::Kind;

namespace {

FlowConfig config() {
    FlowConfig cfg;
    cfg.survey = *parseSurvey(*segue::assets::find("survey/default.json"));
    cfg.storeId = "store-1";
    cfg.deviceId = "kiosk-1";
    return cfg;
}

/// Drives the reducer like the app does: one Now per intent, ticks between.
struct Kiosk {
    FlowConfig cfg = config();
    FakeClock clock{*parseUtc("2026-11-22T06:00:00Z"), 480};
    Session s = initialSession(cfg, clock.now());
    std::vector<Response> saved;
    std::vector<std::string> pinsChecked;

    void send(const Intent& i) {
        Step st = reduce(s, i, clock.now(), cfg);
        if (st.toSave) saved.push_back(*st.toSave);
        if (st.verifyPin) pinsChecked.push_back(*st.verifyPin);
        s = std::move(st.next);
    }
    void tap(Kind k, int v = 0) { send(Intent::of(k, v)); }
    void key(Kind k, int v = 0) { send(Intent::key(k, v)); }
    void wait(std::int64_t ms) {
        clock.advance(ms);
        send(Intent::tick());
    }
    /// Tap, then let the feedback moment pass.
    void choose(Kind k, int v) {
        tap(k, v);
        wait(cfg.feedbackMs);
    }
};

} // namespace

TEST_CASE("flow: a high rating with every item answered is saved complete, then thank you, then attract") {
    Kiosk k;
    k.choose(Kind::Star, 5);
    REQUIRE(k.s.screen == Screen::Item);
    for (int v : {5, 4, 5, 3, 4}) {
        REQUIRE(k.s.screen == Screen::Item);
        k.choose(Kind::Answer, v);
    }
    REQUIRE(k.saved.size() == 1);
    const Response& r = k.saved[0];
    CHECK(r.stars == 5);
    CHECK(r.segue == std::array<std::optional<int>, 5>{5, 4, 5, 3, 4});
    CHECK(r.complete);
    CHECK_FALSE(r.misuse);
    CHECK(r.tags.empty());
    CHECK(r.language == "zh-CN");
    CHECK(r.storeId == "store-1");
    CHECK(r.localDate == "2026-11-22");
    CHECK(r.localHour == 14);
    CHECK(r.id.empty());  // the app assigns the UUIDv7
    CHECK(r.durationMs == 6 * k.cfg.feedbackMs);
    CHECK(k.s.screen == Screen::ThankYou);
    k.wait(k.cfg.thankYouMs - 1);
    CHECK(k.s.screen == Screen::ThankYou);
    k.wait(1);
    CHECK(k.s.screen == Screen::Attract);
    CHECK_FALSE(k.s.draft.has_value());
}

TEST_CASE("flow: a low rating leads to reasons; tags toggle; Done saves") {
    Kiosk k;
    k.choose(Kind::Star, 2);
    k.tap(Kind::Submit);  // straight to the end: reasons first
    REQUIRE(k.s.screen == Screen::Reasons);
    REQUIRE(k.saved.empty());
    k.tap(Kind::ToggleTag, 0);
    k.tap(Kind::ToggleTag, 2);
    k.tap(Kind::ToggleTag, 0);  // untoggled
    k.tap(Kind::ToggleTag, 5);
    k.tap(Kind::ToggleTag, 17);  // not a tag: ignored
    k.tap(Kind::Submit);
    REQUIRE(k.saved.size() == 1);
    CHECK(k.saved[0].tags == std::vector<std::string>{"not_solved", "price"});
    CHECK(k.saved[0].segue == std::array<std::optional<int>, 5>{});
    CHECK(k.saved[0].complete);
    CHECK(k.s.screen == Screen::ThankYou);
}

TEST_CASE("flow: reasons are asked once after the last item of a 3-star rating, and only then") {
    Kiosk k;
    k.choose(Kind::Star, 3);
    for (int i = 0; i < 5; ++i) k.choose(Kind::Answer, 2);
    REQUIRE(k.s.screen == Screen::Reasons);
    k.tap(Kind::Back);
    CHECK(k.s.screen == Screen::Item);
    CHECK(k.s.item == 4);
    k.tap(Kind::Submit);
    CHECK(k.s.screen == Screen::Reasons);  // asked again after going back
    k.tap(Kind::Skip);
    REQUIRE(k.saved.size() == 1);
    CHECK(k.saved[0].tags.empty());

    Kiosk high;
    high.choose(Kind::Star, 4);
    high.tap(Kind::Submit);
    CHECK(high.s.screen == Screen::ThankYou);
    REQUIRE(high.saved.size() == 1);
}

TEST_CASE("flow: skip leaves an item unanswered; back keeps earlier answers") {
    Kiosk k;
    k.choose(Kind::Star, 4);
    k.choose(Kind::Answer, 5);  // satisfactory
    k.tap(Kind::Skip);          // efficient
    CHECK(k.s.item == 2);
    k.tap(Kind::Back);
    k.tap(Kind::Back);
    CHECK(k.s.item == 0);
    k.tap(Kind::Back);          // back to the stars, the draft stays
    CHECK(k.s.screen == Screen::Attract);
    REQUIRE(k.s.draft);
    CHECK(k.s.draft->stars == 4);
    k.choose(Kind::Star, 5);    // change the rating
    CHECK(k.s.screen == Screen::Item);
    CHECK(k.s.item == 0);
    k.tap(Kind::Skip);          // satisfactory keeps its 5
    k.choose(Kind::Answer, 2);  // efficient
    k.tap(Kind::Submit);
    REQUIRE(k.saved.size() == 1);
    CHECK(k.saved[0].stars == 5);
    CHECK(k.saved[0].segue == std::array<std::optional<int>, 5>{5, 2, std::nullopt, std::nullopt, std::nullopt});
}

TEST_CASE("flow: inactivity mid-survey saves a partial response and resets to the default language") {
    Kiosk k;
    k.tap(Kind::ToggleLanguage);
    CHECK(k.s.language == "en");
    k.choose(Kind::Star, 1);
    k.choose(Kind::Answer, 1);
    REQUIRE(k.s.draft);
    const auto deadline = nextDeadline(k.s, k.cfg);
    REQUIRE(deadline);
    CHECK(*deadline == k.s.lastInputMono + k.cfg.inactivityMs);
    k.wait(k.cfg.inactivityMs - 1 - k.cfg.feedbackMs);
    CHECK(k.saved.empty());
    k.wait(1);
    REQUIRE(k.saved.size() == 1);
    CHECK_FALSE(k.saved[0].complete);
    CHECK(k.saved[0].stars == 1);
    CHECK(k.saved[0].segue[0] == 1);
    CHECK(k.saved[0].language == "en");
    CHECK(k.s.screen == Screen::Attract);
    CHECK(k.s.language == "zh-CN");
    CHECK_FALSE(k.s.draft);
    CHECK_FALSE(nextDeadline(k.s, k.cfg).has_value());  // idle attract: nothing to wake for
}

TEST_CASE("flow: inactivity on the reasons screen keeps the chosen tags") {
    Kiosk k;
    k.choose(Kind::Star, 2);
    k.tap(Kind::Submit);
    k.tap(Kind::ToggleTag, 1);
    k.wait(k.cfg.inactivityMs);
    REQUIRE(k.saved.size() == 1);
    CHECK_FALSE(k.saved[0].complete);
    CHECK(k.saved[0].tags == std::vector<std::string>{"attitude"});
}

TEST_CASE("flow: a response started within the misuse window is flagged, one after it is not") {
    Kiosk k;
    k.choose(Kind::Star, 5);
    k.tap(Kind::Submit);
    REQUIRE(k.saved.size() == 1);
    CHECK_FALSE(k.saved[0].misuse);
    k.wait(k.cfg.thankYouMs);  // back on attract, 3 s after the finish
    k.choose(Kind::Star, 5);   // 3.15 s after: inside 5 s
    k.tap(Kind::Submit);
    REQUIRE(k.saved.size() == 2);
    CHECK(k.saved[1].misuse);
    k.wait(k.cfg.thankYouMs);
    k.wait(k.cfg.misuseWindowMs - k.cfg.thankYouMs);  // exactly 5 s after the second finish
    k.choose(Kind::Star, 4);
    k.tap(Kind::Submit);
    REQUIRE(k.saved.size() == 3);
    CHECK_FALSE(k.saved[2].misuse);
}

TEST_CASE("flow: a star tapped on the thank-you screen starts the next response at once") {
    Kiosk k;
    k.choose(Kind::Star, 4);
    k.tap(Kind::Submit);
    k.wait(1000);
    k.choose(Kind::Star, 2);
    CHECK(k.s.screen == Screen::Item);
    REQUIRE(k.s.draft);
    CHECK(k.s.draft->misuse);
    CHECK(k.s.draft->stars == 2);
}

TEST_CASE("flow: during the feedback moment touches are ignored and keys are queued for the next screen") {
    Kiosk k;
    k.tap(Kind::Star, 4);
    REQUIRE(k.s.feedback);
    CHECK(k.s.screen == Screen::Attract);
    CHECK(nextDeadline(k.s, k.cfg) == k.s.feedback->untilMono);
    k.tap(Kind::Star, 1);           // a second touch: ignored
    k.key(Kind::Digit, 3);          // a fast keypad: answers the first item
    k.key(Kind::Digit, 2);          // ... and then the second (queued behind the first's feedback)
    CHECK(k.s.draft->stars == 4);
    k.wait(k.cfg.feedbackMs);
    CHECK(k.s.screen == Screen::Item);
    CHECK(k.s.draft->segue[0] == 3);
    REQUIRE(k.s.feedback);          // the replayed key shows its own feedback
    CHECK(k.s.queuedKeys.size() == 1);
    k.wait(k.cfg.feedbackMs);
    CHECK(k.s.draft->segue[1] == 2);
    k.wait(k.cfg.feedbackMs);
    CHECK(k.s.item == 2);
    CHECK(k.s.queuedKeys.empty());
}

TEST_CASE("flow: keys alone complete a survey (digits, Enter, Escape, L)") {
    Kiosk k;
    k.key(Kind::ToggleLanguage);
    k.key(Kind::Digit, 3);
    k.wait(k.cfg.feedbackMs);
    k.key(Kind::Digit, 4);
    k.wait(k.cfg.feedbackMs);
    k.key(Kind::Back);               // Escape: back to item 1
    CHECK(k.s.item == 0);
    k.key(Kind::Digit, 5);
    k.wait(k.cfg.feedbackMs);
    k.key(Kind::Submit);             // Enter: to reasons (3 stars)
    REQUIRE(k.s.screen == Screen::Reasons);
    k.key(Kind::Digit, 1);           // toggles the first tag
    k.key(Kind::Digit, 9);           // no ninth tag: ignored
    k.key(Kind::Submit);
    REQUIRE(k.saved.size() == 1);
    CHECK(k.saved[0].language == "en");
    CHECK(k.saved[0].segue[0] == 5);
    CHECK(k.saved[0].tags == std::vector<std::string>{"wait_time"});
    k.key(Kind::Submit);             // Enter on thank you: straight back
    CHECK(k.s.screen == Screen::Attract);
}

TEST_CASE("flow: language switch works on every customer screen and is recorded") {
    Kiosk k;
    k.choose(Kind::Star, 5);
    k.send(Intent::language("en"));
    CHECK(k.s.language == "en");
    k.send(Intent::language("fr"));  // not in the survey: ignored
    CHECK(k.s.language == "en");
    k.tap(Kind::Submit);
    REQUIRE(k.saved.size() == 1);
    CHECK(k.saved[0].language == "en");
    k.tap(Kind::ToggleLanguage);     // on the thank-you screen
    CHECK(k.s.language == "zh-CN");
}

TEST_CASE("flow: staff PIN pad verifies through the app and locks after five failures") {
    Kiosk k;
    k.tap(Kind::OpenStaff);
    REQUIRE(k.s.screen == Screen::PinPad);
    for (int d : {1, 2, 3}) k.tap(Kind::PinDigit, d);
    k.tap(Kind::Submit);             // too short: nothing checked
    CHECK(k.pinsChecked.empty());
    k.tap(Kind::PinDigit, 4);
    k.tap(Kind::PinDelete);
    k.key(Kind::Digit, 9);
    k.tap(Kind::Submit);
    REQUIRE(k.pinsChecked == std::vector<std::string>{"1239"});
    k.tap(Kind::PinDigit, 5);        // typing while the hash is checked: ignored
    CHECK(k.s.pinEntry.empty());
    k.tap(Kind::PinResult, 0);
    CHECK(k.s.screen == Screen::PinPad);
    CHECK(k.s.pinFailures == 1);
    for (int attempt = 2; attempt <= 5; ++attempt) {
        for (int d = 0; d < 4; ++d) k.tap(Kind::PinDigit, 0);
        k.tap(Kind::Submit);
        k.tap(Kind::PinResult, 0);
    }
    CHECK(k.s.pinLockedUntilMono == k.clock.now().monoMs + k.cfg.pinLockMs);
    for (int d = 0; d < 4; ++d) k.tap(Kind::PinDigit, 1);
    k.tap(Kind::Submit);
    CHECK(k.pinsChecked.size() == 5);  // locked: no sixth check
    CHECK(nextDeadline(k.s, k.cfg) == k.s.pinLockedUntilMono);  // wake to re-enable the pad
    k.wait(k.cfg.pinLockMs);
    CHECK(k.s.pinLockedUntilMono == 0);  // the lock ended: no deadline in the past remains
    CHECK(nextDeadline(k.s, k.cfg) == k.s.lastInputMono + k.cfg.staffIdleMs);
    for (int d = 0; d < 4; ++d) k.tap(Kind::PinDigit, 1);
    k.tap(Kind::Submit);
    CHECK(k.pinsChecked.size() == 6);
    k.tap(Kind::PinResult, 1);
    CHECK(k.s.screen == Screen::Staff);
    k.tap(Kind::StaffDay, -1);
    k.tap(Kind::StaffDay, -1);
    k.tap(Kind::StaffDay, 1);
    CHECK(k.s.staffDayOffset == -1);
    k.tap(Kind::StaffDay, 5);        // never into the future
    CHECK(k.s.staffDayOffset == 0);
    k.tap(Kind::ExitStaff);
    CHECK(k.s.screen == Screen::Attract);
}

TEST_CASE("flow: opening the staff screen mid-survey keeps the customer's answers as partial") {
    Kiosk k;
    k.choose(Kind::Star, 2);
    k.choose(Kind::Answer, 1);
    k.key(Kind::OpenStaff);
    REQUIRE(k.saved.size() == 1);
    CHECK_FALSE(k.saved[0].complete);
    CHECK(k.saved[0].segue[0] == 1);
    CHECK(k.s.screen == Screen::PinPad);
    k.wait(k.cfg.staffIdleMs);       // nobody typed: back to attract
    CHECK(k.s.screen == Screen::Attract);
}

TEST_CASE("flow: a failed save shows Unavailable, ignores customers, and recovers to attract") {
    Kiosk k;
    k.choose(Kind::Star, 5);
    k.tap(Kind::Submit);
    REQUIRE(k.saved.size() == 1);
    k.send(Intent::of(Kind::StoreFailed));
    CHECK(k.s.screen == Screen::Unavailable);
    CHECK(k.s.resumeScreen == Screen::ThankYou);
    k.tap(Kind::Star, 4);
    CHECK_FALSE(k.s.draft);
    CHECK(k.saved.size() == 1);
    k.wait(60'000);
    CHECK(k.s.screen == Screen::Unavailable);
    CHECK_FALSE(nextDeadline(k.s, k.cfg).has_value());
    k.send(Intent::of(Kind::StoreRecovered));
    CHECK(k.s.screen == Screen::Attract);
}

TEST_CASE("flow: a wall clock jump does not move timeouts, and the record keeps the tap's wall time") {
    Kiosk k;
    const auto startUtc = k.clock.now().utcMs;
    k.choose(Kind::Star, 4);
    k.clock.jumpWall(-86'400'000);   // NTP steps the clock back a day
    k.wait(1000);
    CHECK(k.saved.empty());
    k.tap(Kind::Submit);
    REQUIRE(k.saved.size() == 1);
    CHECK(k.saved[0].createdAtMs == startUtc);
    CHECK(k.saved[0].durationMs == k.cfg.feedbackMs + 1000);
}
