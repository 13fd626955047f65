// The enrolment screen in the pure flow: keys and taps type a 12-digit code, delete takes the
// last digit back, Enter asks the app to enrol, and the answer moves on or keeps the code.
#include <catch2/catch.hpp>

#include "assets/assets.hpp"
#include "core/flow.hpp"

using namespace segue::core;
using Kind = Intent::Kind;

namespace {

struct Terminal {
    FlowConfig cfg = [] {
        FlowConfig c;
        c.survey = *parseSurvey(*segue::assets::find("survey/default.json"));
        c.needsEnrolment = true;
        return c;
    }();
    FakeClock clock{*parseUtc("2026-12-06T06:00:00Z"), 480};
    Session s = initialSession(cfg, clock.now());
    std::vector<std::string> enrolments;   ///< codes the flow asked the app to enrol with
    std::vector<Response> saved;

    void send(const Intent& i) {
        Step st = reduce(s, i, clock.now(), cfg);
        if (st.enrolCode) enrolments.push_back(*st.enrolCode);
        if (st.toSave) saved.push_back(*st.toSave);
        s = std::move(st.next);
    }
    void key(Kind k, int v = 0) { send(Intent::key(k, v)); }
    void tap(Kind k, int v = 0) { send(Intent::of(k, v)); }
    void type(const std::string& digits) {
        for (const char c : digits) key(Kind::Digit, c - '0');
    }
    void answer(EnrolProblem p) { send(Intent::of(Kind::EnrolResult, static_cast<int>(p))); }
};

} // namespace

TEST_CASE("enrol flow: a terminal without an identity starts on the enrolment screen, not the stars") {
    Terminal t;
    CHECK(t.s.screen == Screen::Enrol);
    CHECK(t.s.enrolEntry.empty());
    FlowConfig enrolled = t.cfg;
    enrolled.needsEnrolment = false;
    CHECK(initialSession(enrolled, t.clock.now()).screen == Screen::Attract);
}

TEST_CASE("enrol flow: digit keys and taps type the code, delete takes the last one back") {
    Terminal t;
    t.type("1234");
    t.tap(Kind::PinDigit, 5);          // the on-screen keypad
    CHECK(t.s.enrolEntry == "12345");
    t.key(Kind::PinDelete);            // Backspace
    CHECK(t.s.enrolEntry == "1234");
    t.tap(Kind::PinDelete);
    t.tap(Kind::PinDelete);
    t.tap(Kind::PinDelete);
    t.tap(Kind::PinDelete);
    t.tap(Kind::PinDelete);            // nothing left to delete: still empty, no harm
    CHECK(t.s.enrolEntry.empty());
    t.tap(Kind::PinDigit, 10);         // not a digit
    t.tap(Kind::PinDigit, -1);
    CHECK(t.s.enrolEntry.empty());
    CHECK(t.s.screen == Screen::Enrol);
}

TEST_CASE("enrol flow: the code stops at 12 digits; Enter before then asks nothing") {
    Terminal t;
    t.type("12345678901");
    t.key(Kind::Submit);
    CHECK(t.enrolments.empty());
    CHECK_FALSE(t.s.enrolling);
    t.type("2");
    t.type("999");                     // a 13th, 14th, 15th digit are ignored
    CHECK(t.s.enrolEntry == "123456789012");
    t.key(Kind::Submit);
    REQUIRE(t.enrolments == std::vector<std::string>{"123456789012"});
    CHECK(t.s.enrolling);
    CHECK(t.s.screen == Screen::Enrol);
}

TEST_CASE("enrol flow: while HQ is asked, keys change nothing and Enter does not ask twice") {
    Terminal t;
    t.type("123456789012");
    t.key(Kind::Submit);
    t.key(Kind::PinDelete);
    t.type("5");
    t.key(Kind::Submit);
    t.tap(Kind::Submit);
    CHECK(t.s.enrolEntry == "123456789012");
    CHECK(t.enrolments.size() == 1);
}

TEST_CASE("enrol flow: refused or unreachable keeps the code for correction, with the reason") {
    Terminal t;
    t.type("123456789012");
    t.key(Kind::Submit);
    t.answer(EnrolProblem::Refused);
    CHECK(t.s.screen == Screen::Enrol);
    CHECK(t.s.enrolProblem == EnrolProblem::Refused);
    CHECK_FALSE(t.s.enrolling);
    CHECK(t.s.enrolEntry == "123456789012");
    t.key(Kind::PinDelete);
    t.type("3");
    CHECK(t.s.enrolEntry == "123456789013");
    t.key(Kind::Submit);
    CHECK(t.s.enrolProblem == EnrolProblem::None);   // asking again: the old answer is gone
    t.answer(EnrolProblem::Unreachable);
    CHECK(t.s.enrolProblem == EnrolProblem::Unreachable);
    CHECK(t.enrolments == std::vector<std::string>{"123456789012", "123456789013"});
}

TEST_CASE("enrol flow: success moves on to the attract screen; an answer nobody asked for is ignored") {
    Terminal t;
    t.answer(EnrolProblem::None);          // no attempt running
    CHECK(t.s.screen == Screen::Enrol);
    t.key(Kind::ToggleLanguage);           // staff read it in English
    t.type("123456789012");
    t.key(Kind::Submit);
    t.answer(EnrolProblem::None);
    CHECK(t.s.screen == Screen::Attract);
    CHECK(t.s.language == "zh-CN");        // the first customer meets the default language
    CHECK(t.s.enrolEntry.empty());
    CHECK_FALSE(t.s.enrolling);
}

TEST_CASE("enrol flow: customers and staff cannot get past the enrolment screen") {
    Terminal t;
    t.key(Kind::Star, 5);
    t.key(Kind::OpenStaff);                // F10
    t.tap(Kind::OpenStaff);
    t.key(Kind::Back);                     // Escape
    t.clock.advance(10 * 60 * 1000);
    t.send(Intent::tick());
    CHECK(t.s.screen == Screen::Enrol);
    CHECK_FALSE(t.s.draft.has_value());
    CHECK(t.saved.empty());
    // A store failure and its recovery come back here, not to the stars.
    t.send(Intent::of(Kind::StoreFailed));
    CHECK(t.s.screen == Screen::Unavailable);
    t.key(Kind::OpenStaff);
    CHECK(t.s.screen == Screen::Unavailable);
    t.send(Intent::of(Kind::StoreRecovered));
    CHECK(t.s.screen == Screen::Enrol);
}

TEST_CASE("enrol flow: the language toggles on the enrolment screen") {
    Terminal t;
    CHECK(t.s.language == "zh-CN");
    t.key(Kind::ToggleLanguage);
    CHECK(t.s.language == "en");
    t.send(Intent::language("zh-CN"));
    CHECK(t.s.language == "zh-CN");
}
