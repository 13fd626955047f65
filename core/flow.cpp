#include "core/flow.hpp"

#include <algorithm>

namespace segue::core {
namespace {

using Kind = Intent::Kind;

bool isCustomerScreen(Screen s) {
    return s == Screen::Attract || s == Screen::Item || s == Screen::Reasons || s == Screen::ThankYou ||
           s == Screen::CallbackOffer || s == Screen::CallbackNumber;
}


bool isInput(Kind k) {
    switch (k) {
    case Kind::None:
    case Kind::Tick:
    case Kind::PinResult:
    case Kind::StoreFailed:
    case Kind::StoreRecovered:
        return false;
    default:
        return true;
    }
}

void go(Session& s, Screen screen, const Now& now) {
    s.screen = screen;
    s.screenSinceMono = now.monoMs;
}

/// Back to a fresh attract screen for the next customer, in the default language.
void resetToAttract(Session& s, const Now& now, const FlowConfig& cfg) {
    s.draft.reset();
    s.item = 0;
    s.feedback.reset();
    s.queuedKeys.clear();
    s.pinEntry.clear();
    s.pinChecking = false;
    s.language = cfg.defaultLanguage;
    go(s, Screen::Attract, now);
}

int itemCount(const FlowConfig& cfg) { return static_cast<int>(cfg.survey.items.size()); }

bool wantsReasons(const Draft& d, const FlowConfig& cfg) {
    return d.stars <= cfg.survey.reasonsMaxStars && !cfg.survey.tags.empty();
}

/// Saves the draft as a complete response and shows the thank-you screen.
void saveComplete(Step& st, const Now& now, const FlowConfig& cfg) {
    Session& s = st.next;
    st.toSave = finishDraft(*s.draft, /*complete=*/true, now, cfg);
    s.lastFinishedMono = now.monoMs;
    s.draft.reset();
    s.item = 0;
    go(s, Screen::ThankYou, now);
}

/// After the items and the reasons: the callback offer after a low rating, else save.
void offerOrSave(Step& st, const Now& now, const FlowConfig& cfg) {
    Session& s = st.next;
    if (offersCallback(s.draft->stars, cfg)) {
        go(s, Screen::CallbackOffer, now);
        return;
    }
    saveComplete(st, now, cfg);
}

/// Leaves the SEGUE items: the reasons screen after a low rating (once), else on.
void finishItems(Step& st, const Now& now, const FlowConfig& cfg) {
    Session& s = st.next;
    if (wantsReasons(*s.draft, cfg) && !s.draft->reasonsShown) {
        s.draft->reasonsShown = true;
        go(s, Screen::Reasons, now);
        return;
    }
    offerOrSave(st, now, cfg);
}

/// The customer confirmed a number: saved with the callback when the pattern takes it.
void confirmCallback(Step& st, const Now& now, const FlowConfig& cfg) {
    Session& s = st.next;
    if (!callbackNumberMatches(cfg.survey.settings, s.draft->callbackDigits)) {
        s.draft->callbackInvalid = true;
        return;
    }
    std::string digits = std::move(s.draft->callbackDigits);
    s.draft->callbackDigits.clear();
    saveComplete(st, now, cfg);
    st.toSave->callbackRequested = true;
    st.callbackNumber = std::move(digits);
}

void onCallbackNumber(Step& st, const Intent& i, const Now& now, const FlowConfig& cfg) {
    Session& s = st.next;
    std::string& digits = s.draft->callbackDigits;
    switch (i.kind) {
    case Kind::Digit:
    case Kind::PinDigit:
        if (i.value >= 0 && i.value <= 9 && digits.size() < kCallbackMaxDigits) {
            digits.push_back(static_cast<char>('0' + i.value));
            s.draft->callbackInvalid = false;
        }
        break;
    case Kind::PinDelete:
        if (!digits.empty()) digits.pop_back();
        s.draft->callbackInvalid = false;
        break;
    case Kind::Submit:
        confirmCallback(st, now, cfg);
        break;
    case Kind::Back:
        s.draft->callbackInvalid = false;
        go(s, Screen::CallbackOffer, now);
        break;
    default:
        break;
    }
}

void onCallbackOffer(Step& st, const Intent& i, const Now& now, const FlowConfig& cfg) {
    Session& s = st.next;
    switch (i.kind) {
    case Kind::CallbackYes:
        go(s, Screen::CallbackNumber, now);
        break;
    case Kind::CallbackNo:
    case Kind::Skip:
        s.draft->callbackDigits.clear();
        saveComplete(st, now, cfg);
        break;
    case Kind::Back:
        // Back to the reasons (or the last item) the customer came from.
        if (wantsReasons(*s.draft, cfg)) {
            go(s, Screen::Reasons, now);
        } else {
            s.item = std::max(0, itemCount(cfg) - 1);
            go(s, itemCount(cfg) > 0 ? Screen::Item : Screen::Attract, now);
        }
        break;
    default:
        break;
    }
}

void nextItem(Step& st, const Now& now, const FlowConfig& cfg) {
    Session& s = st.next;
    if (s.screen == Screen::Attract) {
        s.item = 0;
        if (itemCount(cfg) == 0) {
            finishItems(st, now, cfg);
            return;
        }
        go(s, Screen::Item, now);
        return;
    }
    if (s.item + 1 < itemCount(cfg)) {
        ++s.item;
        go(s, Screen::Item, now);
        return;
    }
    finishItems(st, now, cfg);
}

/// Saves what was answered so far as a partial response (inactivity, staff taking over).
void savePartial(Step& st, const Now& now, const FlowConfig& cfg) {
    st.toSave = finishDraft(*st.next.draft, /*complete=*/false, now, cfg);
    st.next.draft.reset();
}

void startFeedback(Session& s, int chosen, const Now& now, const FlowConfig& cfg) {
    s.feedback = Feedback{s.screen, chosen, now.monoMs + cfg.feedbackMs};
}

Step reduceOne(const Session& in, const Intent& intent, const Now& now, const FlowConfig& cfg);

/// Ends the feedback moment: advance, then replay the keys pressed meanwhile on the new screen.
void completeFeedback(Step& st, const Now& now, const FlowConfig& cfg) {
    Session& s = st.next;
    s.feedback.reset();
    nextItem(st, now, cfg);
    std::vector<Intent> queued;
    queued.swap(s.queuedKeys);
    for (std::size_t i = 0; i < queued.size(); ++i) {
        if (st.toSave) break;  // the response is finished; later keys have no screen to land on
        Step inner = reduceOne(st.next, queued[i], now, cfg);
        st.next = std::move(inner.next);
        st.toSave = std::move(inner.toSave);
        if (inner.verifyPin) st.verifyPin = std::move(inner.verifyPin);
        if (inner.callbackNumber) st.callbackNumber = std::move(inner.callbackNumber);
        if (st.next.feedback) {  // a queued key started a new feedback moment: keep the rest queued
            st.next.queuedKeys.assign(queued.begin() + static_cast<std::ptrdiff_t>(i) + 1, queued.end());
            break;
        }
    }
}

void onStar(Step& st, int stars, const Now& now, const FlowConfig& cfg) {
    Session& s = st.next;
    if (stars < 1 || stars > 5) return;
    if (!s.draft) {
        Draft d;
        d.startedMono = now.monoMs;
        d.startedUtc = now.utcMs;
        d.utcOffsetMin = now.utcOffsetMin;
        d.language = s.language;
        d.misuse = s.lastFinishedMono && now.monoMs - *s.lastFinishedMono < cfg.misuseWindowMs;
        s.draft = d;
    }
    s.draft->stars = stars;
    startFeedback(s, stars, now, cfg);
}

void onAnswer(Step& st, int value, const Now& now, const FlowConfig& cfg) {
    Session& s = st.next;
    if (value < 1 || value > 5 || !s.draft || s.item < 0 || s.item >= itemCount(cfg)) return;
    s.draft->segue[static_cast<std::size_t>(cfg.survey.items[static_cast<std::size_t>(s.item)])] = value;
    startFeedback(s, value, now, cfg);
}

void onToggleTag(Session& s, int index, const FlowConfig& cfg) {
    if (!s.draft || index < 0 || index >= static_cast<int>(cfg.survey.tags.size())) return;
    const std::string& tag = cfg.survey.tags[static_cast<std::size_t>(index)];
    auto& tags = s.draft->tags;
    const auto it = std::find(tags.begin(), tags.end(), tag);
    if (it == tags.end()) tags.push_back(tag);
    else tags.erase(it);
}

void setLanguage(Session& s, const std::string& lang, const FlowConfig& cfg) {
    const auto& langs = cfg.survey.languages;
    if (std::find(langs.begin(), langs.end(), lang) == langs.end()) return;
    s.language = lang;
    if (s.draft) s.draft->language = lang;
}

void toggleLanguage(Session& s, const FlowConfig& cfg) {
    const auto& langs = cfg.survey.languages;
    if (langs.empty()) return;
    auto it = std::find(langs.begin(), langs.end(), s.language);
    it = (it == langs.end() || it + 1 == langs.end()) ? langs.begin() : it + 1;
    setLanguage(s, *it, cfg);
}

void onTick(Step& st, const Now& now, const FlowConfig& cfg) {
    Session& s = st.next;
    switch (s.screen) {
    case Screen::Attract:
    case Screen::Item:
    case Screen::Reasons:
    case Screen::CallbackOffer:
    case Screen::CallbackNumber:
        // On the callback screens too: saved as partial, without a callback (digits dropped).
        if (s.draft && now.monoMs - s.lastInputMono >= cfg.inactivityMs) {
            savePartial(st, now, cfg);
            resetToAttract(s, now, cfg);
        }
        break;
    case Screen::ThankYou:
        if (now.monoMs - s.screenSinceMono >= cfg.thankYouMs) resetToAttract(s, now, cfg);
        break;
    case Screen::PinPad:
    case Screen::Staff:
        // A lock that has run out is forgotten, so nextDeadline() stops reporting a past time.
        if (s.pinLockedUntilMono != 0 && now.monoMs >= s.pinLockedUntilMono) s.pinLockedUntilMono = 0;
        if (now.monoMs - s.lastInputMono >= cfg.staffIdleMs) resetToAttract(s, now, cfg);
        break;
    case Screen::Unavailable:
        break;
    }
}

void openStaff(Step& st, const Now& now, const FlowConfig& cfg) {
    Session& s = st.next;
    if (s.draft) savePartial(st, now, cfg);  // the customer's answers so far are kept
    s.item = 0;
    s.pinEntry.clear();
    s.pinChecking = false;
    go(s, Screen::PinPad, now);
    (void)cfg;
}

void onPinPad(Step& st, const Intent& in, const Now& now, const FlowConfig& cfg) {
    Session& s = st.next;
    const bool locked = now.monoMs < s.pinLockedUntilMono;
    switch (in.kind) {
    case Kind::Digit:
    case Kind::PinDigit:
        if (!locked && !s.pinChecking && in.value >= 0 && in.value <= 9 &&
            static_cast<int>(s.pinEntry.size()) < cfg.pinMaxDigits)
            s.pinEntry.push_back(static_cast<char>('0' + in.value));
        break;
    case Kind::PinDelete:
        if (!s.pinEntry.empty()) s.pinEntry.pop_back();
        break;
    case Kind::Submit:
        if (!locked && !s.pinChecking && static_cast<int>(s.pinEntry.size()) >= cfg.pinLength) {
            st.verifyPin = s.pinEntry;
            s.pinEntry.clear();
            s.pinChecking = true;
        }
        break;
    case Kind::PinResult:
        if (!s.pinChecking) break;
        s.pinChecking = false;
        if (in.value == 1) {
            s.pinFailures = 0;
            s.staffDayOffset = 0;
            go(s, Screen::Staff, now);
        } else if (++s.pinFailures >= cfg.pinMaxFailures) {
            s.pinFailures = 0;
            s.pinLockedUntilMono = now.monoMs + cfg.pinLockMs;
        }
        break;
    case Kind::Back:
    case Kind::ExitStaff:
        resetToAttract(s, now, cfg);
        break;
    default:
        break;
    }
}

void onStaff(Step& st, const Intent& in, const Now& now, const FlowConfig& cfg) {
    Session& s = st.next;
    switch (in.kind) {
    case Kind::StaffDay:
        s.staffDayOffset = in.value == 0 ? 0 : std::min(0, s.staffDayOffset + in.value);
        break;
    case Kind::Back:
    case Kind::ExitStaff:
        resetToAttract(s, now, cfg);
        break;
    case Kind::ToggleLanguage:
        toggleLanguage(s, cfg);
        break;
    case Kind::SetLanguage:
        setLanguage(s, in.text, cfg);
        break;
    default:
        break;
    }
}

void onCustomer(Step& st, const Intent& in, const Now& now, const FlowConfig& cfg) {
    Session& s = st.next;
    Intent i = in;
    if (i.kind == Kind::Digit) {  // a digit means what the current screen asks for
        if (s.screen == Screen::Attract) i.kind = Kind::Star;
        else if (s.screen == Screen::Item) i.kind = Kind::Answer;
        else if (s.screen == Screen::Reasons) { i.kind = Kind::ToggleTag; i.value -= 1; }
        else if (s.screen == Screen::CallbackOffer) {
            if (i.value == 1) i.kind = Kind::CallbackYes;
            else if (i.value == 2) i.kind = Kind::CallbackNo;
            else return;
        }
        else if (s.screen != Screen::CallbackNumber) return;
    }
    switch (i.kind) {
    case Kind::ToggleLanguage:
        toggleLanguage(s, cfg);
        return;
    case Kind::SetLanguage:
        setLanguage(s, i.text, cfg);
        return;
    case Kind::OpenStaff:
        openStaff(st, now, cfg);
        return;
    default:
        break;
    }
    switch (s.screen) {
    case Screen::Attract:
        if (i.kind == Kind::Star) onStar(st, i.value, now, cfg);
        else if (i.kind == Kind::Submit && s.draft) nextItem(st, now, cfg);  // continue after Back
        break;
    case Screen::Item:
        if (i.kind == Kind::Answer) onAnswer(st, i.value, now, cfg);
        else if (i.kind == Kind::Skip) nextItem(st, now, cfg);
        else if (i.kind == Kind::Submit) finishItems(st, now, cfg);
        else if (i.kind == Kind::Back) {
            if (s.item > 0) --s.item;
            else go(s, Screen::Attract, now);  // the stars stay chosen; a new tap changes them
            s.screenSinceMono = now.monoMs;
        }
        break;
    case Screen::Reasons:
        if (i.kind == Kind::ToggleTag) onToggleTag(s, i.value, cfg);
        else if (i.kind == Kind::Submit || i.kind == Kind::Skip) offerOrSave(st, now, cfg);
        else if (i.kind == Kind::Back) {
            s.draft->reasonsShown = false;
            s.item = std::max(0, itemCount(cfg) - 1);
            go(s, itemCount(cfg) > 0 ? Screen::Item : Screen::Attract, now);
        }
        break;
    case Screen::CallbackOffer:
        if (s.draft) onCallbackOffer(st, i, now, cfg);
        break;
    case Screen::CallbackNumber:
        if (s.draft) onCallbackNumber(st, i, now, cfg);
        break;
    case Screen::ThankYou:
        if (i.kind == Kind::Submit || i.kind == Kind::Back) resetToAttract(s, now, cfg);
        else if (i.kind == Kind::Star && now.monoMs - s.screenSinceMono >= cfg.feedbackMs) {
            // The next customer need not wait for the thank-you screen to end.
            resetToAttract(s, now, cfg);
            onStar(st, i.value, now, cfg);
        }
        break;
    default:
        break;
    }
}

Step reduceOne(const Session& in, const Intent& intent, const Now& now, const FlowConfig& cfg) {
    Step st{in, std::nullopt, std::nullopt, std::nullopt};
    Session& s = st.next;

    if (s.feedback && now.monoMs >= s.feedback->untilMono) completeFeedback(st, now, cfg);
    if (st.toSave) {
        // The feedback moment finished the response: this intent belongs to the next screen.
        if (intent.kind == Kind::Tick || !isInput(intent.kind)) return st;
    }
    if (s.feedback) {  // still inside the feedback moment
        if (intent.source == InputSource::Key && isInput(intent.kind)) s.queuedKeys.push_back(intent);
        return st;     // touches are ignored: they would land on a control not yet seen
    }
    if (isInput(intent.kind)) s.lastInputMono = now.monoMs;

    switch (intent.kind) {
    case Kind::None:
    case Kind::SyncNow:
        return st;
    case Kind::Tick:
        if (!st.toSave) onTick(st, now, cfg);
        return st;
    case Kind::StoreFailed:
        if (s.screen != Screen::Unavailable) s.resumeScreen = s.screen;
        s.draft.reset();
        s.feedback.reset();
        s.queuedKeys.clear();
        go(s, Screen::Unavailable, now);
        return st;
    case Kind::StoreRecovered:
        if (s.screen == Screen::Unavailable) resetToAttract(s, now, cfg);
        return st;
    default:
        break;
    }

    switch (s.screen) {
    case Screen::Unavailable:
        if (intent.kind == Kind::OpenStaff) openStaff(st, now, cfg);
        break;
    case Screen::PinPad:
        onPinPad(st, intent, now, cfg);
        break;
    case Screen::Staff:
        onStaff(st, intent, now, cfg);
        break;
    default:
        if (isCustomerScreen(s.screen)) onCustomer(st, intent, now, cfg);
        break;
    }
    return st;
}

} // namespace

bool offersCallback(int stars, const FlowConfig& cfg) {
    const int max = cfg.survey.settings.callbackMaxStars;
    return cfg.callbackKey && max > 0 && stars >= 1 && stars <= max;
}

Session initialSession(const FlowConfig& cfg, const Now& now) {
    Session s;
    s.language = cfg.defaultLanguage;
    s.lastInputMono = now.monoMs;
    s.screenSinceMono = now.monoMs;
    return s;
}

Step reduce(const Session& s, const Intent& intent, const Now& now, const FlowConfig& cfg) {
    return reduceOne(s, intent, now, cfg);
}

std::optional<std::int64_t> nextDeadline(const Session& s, const FlowConfig& cfg) {
    std::optional<std::int64_t> at;
    auto earliest = [&](std::int64_t t) { at = at ? std::min(*at, t) : t; };
    if (s.feedback) earliest(s.feedback->untilMono);
    switch (s.screen) {
    case Screen::Attract:
    case Screen::Item:
    case Screen::Reasons:
    case Screen::CallbackOffer:
    case Screen::CallbackNumber:
        if (s.draft) earliest(s.lastInputMono + cfg.inactivityMs);
        break;
    case Screen::ThankYou:
        earliest(s.screenSinceMono + cfg.thankYouMs);
        break;
    case Screen::PinPad:
        if (s.pinLockedUntilMono != 0) earliest(s.pinLockedUntilMono);
        [[fallthrough]];
    case Screen::Staff:
        earliest(s.lastInputMono + cfg.staffIdleMs);
        break;
    case Screen::Unavailable:
        break;
    }
    return at;
}

Response finishDraft(const Draft& d, bool complete, const Now& now, const FlowConfig& cfg) {
    Response r;
    r.storeId = cfg.storeId;
    r.deviceId = cfg.deviceId;
    r.surveyId = cfg.survey.id;
    r.surveyVersion = cfg.survey.version;
    r.language = d.language;
    r.createdAtMs = d.startedUtc;
    r.utcOffsetMin = d.utcOffsetMin;
    r.localDate = localDate(d.startedUtc, d.utcOffsetMin);
    r.localHour = localHour(d.startedUtc, d.utcOffsetMin);
    r.stars = d.stars;
    r.segue = d.segue;
    r.tags = d.tags;
    r.complete = complete;
    r.misuse = d.misuse;
    r.durationMs = std::max<std::int64_t>(0, now.monoMs - d.startedMono);
    return r;
}

} // namespace segue::core
