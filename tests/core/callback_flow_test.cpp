// The callback offer and number screens (issue 17) through the pure flow: keys and taps,
// pattern, back, timeout, and when the offer stays off.
#include <catch2/catch.hpp>

#include "assets/assets.hpp"
#include "core/flow.hpp"

using namespace segue::core;
using Kind = Intent::Kind;

namespace {

FlowConfig config(bool key = true) {
    FlowConfig cfg;
    cfg.survey = *parseSurvey(*segue::assets::find("survey/default.json"));
    cfg.callbackKey = key;
    return cfg;
}

struct Kiosk {
    FlowConfig cfg = config();
    FakeClock clock{*parseUtc("2026-11-22T06:00:00Z"), 480};
    Session s = initialSession(cfg, clock.now());
    std::vector<Response> saved;
    std::vector<std::optional<std::string>> numbers;   ///< Step.callbackNumber per save

    void send(const Intent& i) {
        Step st = reduce(s, i, clock.now(), cfg);
        if (st.toSave) {
            saved.push_back(*st.toSave);
            numbers.push_back(st.callbackNumber);
        } else {
            REQUIRE_FALSE(st.callbackNumber);   // a number only ever comes with its response
        }
        s = std::move(st.next);
    }
    void tap(Kind k, int v = 0) { send(Intent::of(k, v)); }
    void key(Kind k, int v = 0) { send(Intent::key(k, v)); }
    void wait(std::int64_t ms) {
        clock.advance(ms);
        send(Intent::tick());
    }
    void choose(Kind k, int v) {
        tap(k, v);
        wait(cfg.feedbackMs);
    }
    /// Stars, every item answered, then Done on the reasons screen if it shows.
    void rate(int stars) {
        choose(Kind::Star, stars);
        for (int i = 0; i < 5; ++i) choose(Kind::Answer, 2);
        if (s.screen == Screen::Reasons) {
            tap(Kind::ToggleTag, 0);
            tap(Kind::Submit);
        }
    }
    void typeKeys(const std::string& digits) {
        for (char c : digits) key(Kind::Digit, c - '0');
    }
};

} // namespace

TEST_CASE("callback: keys 1, the digits and Return save the response with the number handed over") {
    Kiosk k;
    k.rate(1);
    REQUIRE(k.s.screen == Screen::CallbackOffer);
    REQUIRE(k.saved.empty());
    k.key(Kind::Digit, 1);
    REQUIRE(k.s.screen == Screen::CallbackNumber);
    k.typeKeys("13800138001");
    k.key(Kind::PinDelete);                       // BackSpace
    k.typeKeys("0");
    CHECK(k.s.draft->callbackDigits == "13800138000");
    k.key(Kind::Submit);                          // Return
    REQUIRE(k.saved.size() == 1);
    CHECK(k.saved[0].callbackRequested);
    CHECK(k.saved[0].complete);
    CHECK(k.saved[0].tags == std::vector<std::string>{"wait_time"});
    REQUIRE(k.numbers[0] == std::optional<std::string>("13800138000"));
    CHECK(k.s.screen == Screen::ThankYou);
    CHECK_FALSE(k.s.draft);                       // the digits left the session with the draft
}

TEST_CASE("callback: taps on Yes, the keypad and confirm do the same") {
    Kiosk k;
    k.rate(2);
    REQUIRE(k.s.screen == Screen::CallbackOffer);
    k.tap(Kind::CallbackYes);
    REQUIRE(k.s.screen == Screen::CallbackNumber);
    for (char c : std::string("19912345678")) k.tap(Kind::PinDigit, c - '0');
    k.tap(Kind::Submit);
    REQUIRE(k.saved.size() == 1);
    CHECK(k.saved[0].callbackRequested);
    CHECK(k.numbers[0] == std::optional<std::string>("19912345678"));
}

TEST_CASE("callback: No thanks (key 2 or a tap) saves as today, without a callback") {
    for (const bool byKey : {true, false}) {
        Kiosk k;
        k.rate(1);
        REQUIRE(k.s.screen == Screen::CallbackOffer);
        if (byKey) k.key(Kind::Digit, 2);
        else k.tap(Kind::CallbackNo);
        REQUIRE(k.saved.size() == 1);
        CHECK_FALSE(k.saved[0].callbackRequested);
        CHECK(k.saved[0].complete);
        CHECK_FALSE(k.numbers[0]);
        CHECK(k.s.screen == Screen::ThankYou);
    }
}

TEST_CASE("callback: Return on a number the pattern refuses saves nothing and says so until it is fixed") {
    Kiosk k;
    k.rate(1);
    k.key(Kind::Digit, 1);
    k.typeKeys("2380013800");                      // 10 digits, and not starting with 1
    k.key(Kind::Submit);
    CHECK(k.saved.empty());
    CHECK(k.s.screen == Screen::CallbackNumber);
    CHECK(k.s.draft->callbackInvalid);
    k.typeKeys("0");                               // 11 digits now, still not starting with 1
    CHECK_FALSE(k.s.draft->callbackInvalid);       // typing clears the message
    k.key(Kind::Submit);
    CHECK(k.saved.empty());
    CHECK(k.s.draft->callbackInvalid);
    for (int i = 0; i < 11; ++i) k.key(Kind::PinDelete);
    CHECK(k.s.draft->callbackDigits.empty());
    k.key(Kind::Submit);                           // nothing typed: nothing saved
    CHECK(k.saved.empty());
    k.typeKeys("15000000000");
    k.key(Kind::Submit);
    REQUIRE(k.saved.size() == 1);
    CHECK(k.numbers[0] == std::optional<std::string>("15000000000"));
}

TEST_CASE("callback: the survey's pattern decides what a number is; at most 15 digits are taken") {
    Kiosk k;
    k.cfg.survey = *parseSurvey(R"({"id":"s","version":2,"languages":["en"],"items":["efficient"],
        "settings":{"callback_number_pattern":"[0-9]{6,15}"}})");
    k.s = initialSession(k.cfg, k.clock.now());
    k.choose(Kind::Star, 1);
    k.choose(Kind::Answer, 1);
    REQUIRE(k.s.screen == Screen::CallbackOffer);   // no reasons screen: right after the last item
    k.key(Kind::Digit, 1);
    k.typeKeys("12345");
    k.key(Kind::Submit);
    CHECK(k.saved.empty());                          // 5 digits
    k.typeKeys("67890123456789");                    // 19 typed, 15 kept
    CHECK(k.s.draft->callbackDigits == "123456789012345");
    k.key(Kind::Submit);
    REQUIRE(k.saved.size() == 1);
    CHECK(k.numbers[0] == std::optional<std::string>("123456789012345"));
}

TEST_CASE("callback: Escape goes back to the offer, Back on the offer to the reasons") {
    Kiosk k;
    k.rate(1);
    k.key(Kind::Digit, 1);
    k.typeKeys("138");
    k.key(Kind::Back);                              // Escape
    CHECK(k.s.screen == Screen::CallbackOffer);
    k.key(Kind::Back);
    CHECK(k.s.screen == Screen::Reasons);
    k.tap(Kind::Submit);
    CHECK(k.s.screen == Screen::CallbackOffer);
    k.key(Kind::Digit, 1);
    CHECK(k.s.draft->callbackDigits == "138");      // kept in memory while the customer is here
    k.key(Kind::Digit, 2);                          // on the number screen a 2 is a digit
    CHECK(k.s.draft->callbackDigits == "1382");
    CHECK(k.saved.empty());
}

TEST_CASE("callback: idle on the offer or the number screen saves a partial response without a callback") {
    for (const bool onNumber : {false, true}) {
        Kiosk k;
        k.rate(1);
        if (onNumber) {
            k.key(Kind::Digit, 1);
            k.typeKeys("1380013800");
        }
        REQUIRE(k.saved.empty());
        REQUIRE(nextDeadline(k.s, k.cfg) == std::optional<std::int64_t>(k.s.lastInputMono + k.cfg.inactivityMs));
        k.wait(k.cfg.inactivityMs - 1);
        CHECK(k.saved.empty());
        k.wait(1);
        REQUIRE(k.saved.size() == 1);
        CHECK_FALSE(k.saved[0].callbackRequested);
        CHECK_FALSE(k.saved[0].complete);
        CHECK_FALSE(k.numbers[0]);
        CHECK(k.s.screen == Screen::Attract);
        CHECK_FALSE(k.s.draft);
    }
}

TEST_CASE("callback: the staff corner on the number screen keeps the answers, not the number") {
    Kiosk k;
    k.rate(1);
    k.key(Kind::Digit, 1);
    k.typeKeys("13800138000");
    k.key(Kind::OpenStaff);
    REQUIRE(k.saved.size() == 1);
    CHECK_FALSE(k.saved[0].callbackRequested);
    CHECK_FALSE(k.numbers[0]);
    CHECK(k.s.screen == Screen::PinPad);
}

TEST_CASE("callback: not offered without HQ's key, above callback_max_stars, or with it 0") {
    SECTION("no key") {
        Kiosk k;
        k.cfg.callbackKey = false;
        k.rate(1);
        REQUIRE(k.saved.size() == 1);
        CHECK(k.s.screen == Screen::ThankYou);
    }
    SECTION("3 stars with the default of 2: reasons, then saved") {
        Kiosk k;
        k.rate(3);
        REQUIRE(k.saved.size() == 1);
        CHECK(k.s.screen == Screen::ThankYou);
    }
    SECTION("callback_max_stars 0") {
        Kiosk k;
        k.cfg.survey.settings.callbackMaxStars = 0;
        k.rate(1);
        REQUIRE(k.saved.size() == 1);
    }
    SECTION("callback_max_stars 4 offers it after 4 stars (no reasons screen then)") {
        Kiosk k;
        k.cfg.survey.settings.callbackMaxStars = 4;
        k.rate(4);
        CHECK(k.saved.empty());
        CHECK(k.s.screen == Screen::CallbackOffer);
    }
    CHECK(offersCallback(2, config()));
    CHECK_FALSE(offersCallback(3, config()));
    CHECK_FALSE(offersCallback(1, config(false)));
}

TEST_CASE("callback: a fast keypad's keys queued in the last item's feedback reach the number screen") {
    Kiosk k;
    k.cfg.survey.tags.clear();                     // no reasons screen: the offer follows the items
    k.choose(Kind::Star, 1);
    for (int i = 0; i < 4; ++i) k.choose(Kind::Answer, 1);
    k.key(Kind::Digit, 1);                         // the last item's answer, feedback starts
    k.key(Kind::Digit, 1);                         // queued: yes
    k.typeKeys("13800138000");
    k.key(Kind::Submit);
    CHECK(k.saved.empty());
    k.wait(k.cfg.feedbackMs);
    REQUIRE(k.saved.size() == 1);
    CHECK(k.saved[0].callbackRequested);
    CHECK(k.numbers[0] == std::optional<std::string>("13800138000"));
}

TEST_CASE("survey: callback settings parse with defaults, and bad ones name the field") {
    const auto builtIn = parseSurvey(*segue::assets::find("survey/default.json"));
    REQUIRE(builtIn);
    CHECK(builtIn->settings.callbackMaxStars == 2);
    CHECK(builtIn->settings.callbackNumberPattern == "1[0-9]{10}");
    CHECK(builtIn->settings.contactRetentionDays == 30);
    CHECK(builtIn->callbackConsent.empty());

    const std::string head = R"({"id":"s","version":1,"languages":["zh-CN","en"],"items":["efficient"],)";
    const auto good = parseSurvey(head + R"("settings":{"callback_max_stars":3,"callback_number_pattern":"[0-9]{6,15}",
        "contact_retention_days":7},"callback_consent":{"zh-CN":"保存{days}天","en":"Kept {days} days"}})");
    REQUIRE(good);
    CHECK(good->settings.callbackMaxStars == 3);
    CHECK(good->settings.contactRetentionDays == 7);
    CHECK(good->callbackConsent.at("en") == "Kept {days} days");
    CHECK_FALSE(publishableError(*good));
    CHECK(callbackNumberMatches(good->settings, "123456"));
    CHECK_FALSE(callbackNumberMatches(good->settings, "12345"));
    CHECK(callbackNumberMatches(builtIn->settings, "13800138000"));
    CHECK_FALSE(callbackNumberMatches(builtIn->settings, "1380013800"));    // whole match only
    CHECK_FALSE(callbackNumberMatches(builtIn->settings, "138001380001"));
    CHECK_FALSE(callbackNumberMatches(builtIn->settings, "1380013800a"));

    const auto half = parseSurvey(head + R"("callback_consent":{"en":"Kept {days} days"}})");
    REQUIRE(half);
    REQUIRE(publishableError(*half));
    CHECK(publishableError(*half)->find("callback_consent has no text in zh-CN") != std::string::npos);

    auto error = [&](const std::string& tail) {
        const auto s = parseSurvey(head + tail);
        REQUIRE_FALSE(s);
        return s.error();
    };
    CHECK(error(R"("settings":{"callback_max_stars":6}})").find("callback_max_stars") != std::string::npos);
    CHECK(error(R"("settings":{"callback_max_stars":-1}})").find("callback_max_stars") != std::string::npos);
    CHECK(error(R"("settings":{"contact_retention_days":0}})").find("contact_retention_days") != std::string::npos);
    CHECK(error(R"("settings":{"contact_retention_days":3651}})").find("contact_retention_days") != std::string::npos);
    CHECK(error(R"("settings":{"callback_number_pattern":"[0-9"}})").find("callback_number_pattern") != std::string::npos);
    CHECK(error(R"("settings":{"callback_number_pattern":5}})").find("callback_number_pattern") != std::string::npos);
    CHECK(error(R"("callback_consent":{"en":""}})").find("callback_consent") != std::string::npos);
    CHECK(error(R"("callback_consent":"yes"})").find("callback_consent") != std::string::npos);
}
