// The kiosk flow as a pure state machine: reduce(session, intent, now) -> step.
// No I/O, no clock reads, no randomness: the app wires these to the store and the screen.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/response.hpp"
#include "core/survey.hpp"
#include "core/time.hpp"

namespace segue::core {

enum class Screen { Attract, Item, Reasons, ThankYou, Unavailable, PinPad, Staff, CallbackOffer, CallbackNumber };

/// Touches during the ~150 ms feedback moment are ignored (they would land on a control the
/// customer has not seen yet); keys are queued and applied to the next screen.
enum class InputSource { Touch, Key };

struct Intent {
    enum class Kind {
        None,
        Tick,            ///< time passed (timers)
        Digit,           ///< a digit key, value 0..9: a star, an answer, a tag or a PIN digit,
                         ///< whichever the screen it lands on asks for
        Star,            ///< value 1..5 (attract screen)
        Answer,          ///< value 1..5 for the current SEGUE item
        Skip,            ///< leave the current item unanswered, next
        Submit,          ///< finish now (to reasons first after a low rating), or Done on reasons
        Back,            ///< previous item; from the first item back to the stars
        ToggleTag,       ///< value = index into survey.tags
        ToggleLanguage,
        SetLanguage,     ///< text = language code
        OpenStaff,       ///< long-press / F10: the PIN pad
        PinDigit,        ///< value 0..9
        PinDelete,
        PinResult,       ///< value 1 = the PIN verified, 0 = wrong (the app checks the hash)
        StaffDay,        ///< value = days to move the staff date (-1, +1), 0 = today
        SyncNow,         ///< staff asked for a sync; the app reacts, the flow ignores it
        ExitStaff,
        StoreFailed,     ///< the last toSave could not be written
        StoreRecovered,  ///< the store accepts writes again
        CallbackYes,     ///< the callback offer's "Yes" (key 1)
        CallbackNo,      ///< the callback offer's "No thanks" (key 2)
    };
    Kind kind = Kind::None;
    int value = 0;
    std::string text;
    InputSource source = InputSource::Touch;

    static Intent none() { return {}; }
    static Intent tick() { return of(Kind::Tick); }
    static Intent of(Kind k, int v = 0, InputSource s = InputSource::Touch) {
        Intent i;
        i.kind = k;
        i.value = v;
        i.source = s;
        return i;
    }
    static Intent key(Kind k, int v = 0) { return of(k, v, InputSource::Key); }
    static Intent language(std::string code, InputSource s = InputSource::Touch) {
        Intent i = of(Kind::SetLanguage, 0, s);
        i.text = std::move(code);
        return i;
    }
    bool operator==(const Intent&) const = default;
};

struct FlowConfig {
    Survey survey;
    std::string storeId = "store-demo";
    std::string deviceId = "kiosk-demo";
    std::string defaultLanguage = "zh-CN";
    std::int64_t inactivityMs = 30'000;
    std::int64_t thankYouMs = 3'000;
    std::int64_t misuseWindowMs = 5'000;
    std::int64_t feedbackMs = 150;         ///< chosen option stays highlighted this long
    std::int64_t staffIdleMs = 120'000;    ///< staff screen / PIN pad return to attract
    int pinLength = 4;                     ///< minimum digits before the pad submits on Enter
    int pinMaxDigits = 8;
    int pinMaxFailures = 5;
    std::int64_t pinLockMs = 60'000;
    /// HQ's public key is at hand, so a callback number can be sealed: only then is the
    /// callback offered (after ratings up to survey.settings.callbackMaxStars).
    bool callbackKey = false;
};

/// The answers so far for the customer on screen.
struct Draft {
    int stars = 0;
    std::array<std::optional<int>, kSegueCount> segue{};
    std::vector<std::string> tags;
    std::int64_t startedMono = 0;
    std::int64_t startedUtc = 0;
    int utcOffsetMin = 0;
    std::string language;
    bool misuse = false;
    bool reasonsShown = false;
    /// The callback number typed so far: in memory only, handed to the app to seal on confirm.
    std::string callbackDigits;
    bool callbackInvalid = false;   ///< Return was pressed on a number the pattern refuses
    bool operator==(const Draft&) const = default;
};

/// The chosen option shown highlighted before the screen advances.
struct Feedback {
    Screen screen = Screen::Attract;
    int chosen = 0;              ///< star or option value that was tapped
    std::int64_t untilMono = 0;
    bool operator==(const Feedback&) const = default;
};

struct Session {
    Screen screen = Screen::Attract;
    std::string language;                 ///< current UI language
    std::optional<Draft> draft;           ///< present from the first star until saved
    int item = 0;                         ///< index into survey.items on the Item screen
    std::int64_t lastInputMono = 0;
    std::int64_t screenSinceMono = 0;
    std::optional<std::int64_t> lastFinishedMono;  ///< for the misuse window
    std::optional<Feedback> feedback;
    std::vector<Intent> queuedKeys;       ///< keys pressed during feedback
    // Staff
    std::string pinEntry;
    int pinFailures = 0;
    std::int64_t pinLockedUntilMono = 0;
    bool pinChecking = false;             ///< waiting for PinResult
    int staffDayOffset = 0;               ///< 0 = today, -1 = yesterday, ...
    Screen resumeScreen = Screen::Attract; ///< where Unavailable goes back to
    bool operator==(const Session&) const = default;
};

struct Step {
    Session next;
    std::optional<Response> toSave;       ///< commit this before showing the thank-you screen
    std::optional<std::string> verifyPin; ///< app checks the hash, answers with PinResult
    /// With toSave (callbackRequested): the number the customer confirmed, which the app seals
    /// with HQ's public key before it commits the response. Never stored in clear.
    std::optional<std::string> callbackNumber;
};

/// Whether a draft with these stars is offered a callback under `cfg`.
bool offersCallback(int stars, const FlowConfig& cfg);

/// A fresh session showing the attract screen in the default language.
Session initialSession(const FlowConfig& cfg, const Now& now);

/// The pure transition function. Response ids are left empty: the app assigns a UUIDv7.
Step reduce(const Session& s, const Intent& intent, const Now& now, const FlowConfig& cfg);

/// The next monotonic time at which a Tick changes something (feedback end, thank-you end,
/// inactivity, PIN lock end), or nullopt when only input can. The render loop sleeps until then.
std::optional<std::int64_t> nextDeadline(const Session& s, const FlowConfig& cfg);

/// The response a draft becomes when it is saved now.
Response finishDraft(const Draft& d, bool complete, const Now& now, const FlowConfig& cfg);

} // namespace segue::core
