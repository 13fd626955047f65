// Plain view-models the screens draw. The controller fills them from the session and the store;
// screens read nothing else, so tests can draw any state.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "app/sync_panel.hpp"
#include "core/flow.hpp"
#include "core/scoring.hpp"
#include "store/database.hpp"

namespace segue::app {

struct AttractVM {
    int litStars = 0;              ///< stars held gold while the tap is confirmed
};

struct ItemVM {
    int segueIndex = 0;            ///< index into core::kSegueKeys
    int position = 0;              ///< 0-based among the items asked
    int count = 0;
    std::optional<int> answer;     ///< 1..5 when this item was answered
    std::vector<bool> answered;    ///< per item asked, for the progress dots
};

struct ReasonsVM {
    std::vector<std::string> tagIds;
    std::vector<bool> selected;
    /// Per tag, the label the survey definition carries in the screen's language; empty where
    /// it carries none (the translation of tag.<id> is shown).
    std::vector<std::string> tagLabels;
};

struct PinPadVM {
    bool configured = true;        ///< false: no PIN hash stored, the pad cannot open
    int entered = 0;               ///< digits typed so far (never the digits themselves)
    int minDigits = 4;
    int maxDigits = 8;
    bool checking = false;
    int failures = 0;
    int maxFailures = 5;
    int lockedSeconds = 0;         ///< > 0 while locked out
};

struct EnrolVM {
    std::string digits;            ///< typed so far, shown grouped 1234-5678-9012
    int maxDigits = 12;
    bool enrolling = false;        ///< asking HQ now
    int waitedSeconds = 0;         ///< how long it has been asking
    core::EnrolProblem problem = core::EnrolProblem::None;   ///< how the last attempt ended
    std::string serverUrl;         ///< the HQ it enrols with (staff check it)
};

/// The callback offer and number screens (issue 17).
struct CallbackVM {
    std::string consent;           ///< the survey's sentence in the screen's language; empty: the translation
    int retentionDays = 30;        ///< {days} in the consent sentence
    std::string digits;            ///< typed so far (memory only, never stored in clear)
    bool invalid = false;          ///< Confirm was pressed on a number the pattern refuses
    int maxDigits = 15;
};

/// "138 0013 8000": three digits, then groups of four, as a phone number is read out.
std::string groupDigits(std::string_view digits);

struct RecoveryNotice {
    std::string when;              ///< RFC 3339 UTC
    std::string movedTo;
    std::string reason;
};

/// The survey the terminal runs, for the staff screen's version line.
struct SurveyLineVM {
    int version = 0;
    std::string fetchedAt;         ///< store-local "14:05" (or "12-05 14:05" on another day); empty: never
    bool configRefused = false;    ///< the last definition HQ sent was refused (the reason is in the log)
};

struct StaffVM {
    std::string storeId;
    std::string deviceId;
    std::string date;              ///< store-local YYYY-MM-DD shown
    int dayOffset = 0;             ///< 0 = today
    std::optional<core::DayStats> stats;
    std::vector<core::DayStats> trend;   ///< 30 days ending at `date`, oldest first
    double targetCsat = 0.9;
    std::vector<int> segueItems;         ///< kSegueKeys indices, survey order
    std::string storeError;              ///< the store's own words; staff only
    /// What kind of failure storeError is: the screen says it in its own language (the log keeps
    /// the store's words). Without one the words are shown as they came.
    std::optional<store::ErrorKind> storeErrorKind;
    std::size_t unsaved = 0;             ///< responses held in memory until the store recovers
    std::optional<RecoveryNotice> recovery;
    SyncPanelVM sync;
    SurveyLineVM survey;
    std::int64_t nowUtcMs = 0;
    std::optional<std::int64_t> openCallbacks;   ///< HQ's last count of the store's open callback requests
};

struct FrameVM {
    core::Screen screen = core::Screen::Attract;
    std::string language;
    std::vector<std::string> languages;
    AttractVM attract;
    ItemVM item;
    ReasonsVM reasons;
    CallbackVM callback;
    PinPadVM pin;
    StaffVM staff;
    EnrolVM enrol;
};

} // namespace segue::app
