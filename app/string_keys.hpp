// The translation keys the screens use: one list of the fixed ones, plus those the survey
// definition implies (item.<key>.*, tag.<id>). A test checks both against every language file.
#pragma once
#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "core/survey.hpp"

namespace segue::app::keys {

inline constexpr std::string_view kLangName = "lang.name";
inline constexpr std::string_view kAttractBrand = "attract.brand";
inline constexpr std::string_view kAttractQuestion = "attract.question";
inline constexpr std::string_view kAttractHint = "attract.hint";
inline constexpr std::array<std::string_view, 5> kStars = {"stars.1", "stars.2", "stars.3", "stars.4", "stars.5"};
inline constexpr std::string_view kReasonsTitle = "reasons.title";
inline constexpr std::string_view kReasonsHint = "reasons.hint";
inline constexpr std::string_view kSkip = "button.skip";
inline constexpr std::string_view kSubmit = "button.submit";
inline constexpr std::string_view kBack = "button.back";
inline constexpr std::string_view kDone = "button.done";
inline constexpr std::string_view kThanksTitle = "thanks.title";
inline constexpr std::string_view kThanksBody = "thanks.body";
inline constexpr std::string_view kUnavailableTitle = "unavailable.title";
inline constexpr std::string_view kUnavailableBody = "unavailable.body";

// The callback offer and number screens (issue 17).
inline constexpr std::string_view kCallbackTitle = "callback.title";
inline constexpr std::string_view kCallbackConsent = "callback.consent";    // {days}
inline constexpr std::string_view kCallbackYes = "callback.yes";
inline constexpr std::string_view kCallbackNo = "callback.no";
inline constexpr std::string_view kCallbackNumberTitle = "callback.number_title";
inline constexpr std::string_view kCallbackNumberHint = "callback.number_hint";
inline constexpr std::string_view kCallbackInvalid = "callback.invalid";
inline constexpr std::string_view kCallbackConfirm = "callback.confirm";
inline constexpr std::string_view kStaffOpenCallbacks = "staff.open_callbacks";   // {count}

inline constexpr std::string_view kPinTitle = "pin.title";
inline constexpr std::string_view kPinHint = "pin.hint";
inline constexpr std::string_view kPinWrong = "pin.wrong";              // {left}
inline constexpr std::string_view kPinLocked = "pin.locked";            // {seconds}
inline constexpr std::string_view kPinLockedMinutes = "pin.locked_minutes"; // {minutes}: the longer locks
inline constexpr std::string_view kPinNotSet = "pin.not_set";
inline constexpr std::string_view kPinOk = "button.ok";
inline constexpr std::string_view kPinDelete = "button.delete";
inline constexpr std::string_view kCancel = "button.cancel";

inline constexpr std::string_view kEnrolTitle = "enrol.title";
inline constexpr std::string_view kEnrolHint = "enrol.hint";
inline constexpr std::string_view kEnrolServer = "enrol.server";            // {url}
inline constexpr std::string_view kEnrolWorking = "enrol.working";          // {seconds}
inline constexpr std::string_view kEnrolRefused = "enrol.refused";
inline constexpr std::string_view kEnrolUnreachable = "enrol.unreachable";
inline constexpr std::string_view kEnrolFailed = "enrol.failed";

inline constexpr std::string_view kStaffTitle = "staff.title";
inline constexpr std::string_view kStaffStore = "staff.store";          // {store} {device}
inline constexpr std::string_view kStaffToday = "staff.today";
inline constexpr std::string_view kStaffResponses = "staff.responses";
inline constexpr std::string_view kStaffMeanStars = "staff.mean_stars";
inline constexpr std::string_view kStaffCsat = "staff.csat";
inline constexpr std::string_view kStaffTarget = "staff.target";        // {target}
inline constexpr std::string_view kStaffSegue = "staff.segue";
inline constexpr std::string_view kStaffByHour = "staff.by_hour";
inline constexpr std::string_view kStaffTrend = "staff.trend";
inline constexpr std::string_view kStaffTrendDaily = "staff.trend_daily";
inline constexpr std::string_view kStaffTrend7 = "staff.trend_7";
inline constexpr std::string_view kStaffTrend30 = "staff.trend_30";
inline constexpr std::string_view kStaffTags = "staff.tags";
inline constexpr std::string_view kStaffNoData = "staff.no_data";
inline constexpr std::string_view kStaffNotScored = "staff.not_scored"; // {partial} {misuse}
inline constexpr std::string_view kStaffRecovered = "staff.recovered";  // {when} {path}
inline constexpr std::string_view kStaffStoreError = "staff.store_error"; // {error}
inline constexpr std::string_view kStaffUnsaved = "staff.unsaved";      // {count}
inline constexpr std::string_view kStaffSync = "staff.sync";
inline constexpr std::string_view kStaffSyncOff = "staff.sync_off";
inline constexpr std::string_view kStaffOnline = "staff.online";
inline constexpr std::string_view kStaffOffline = "staff.offline";
inline constexpr std::string_view kStaffSyncing = "staff.syncing";
inline constexpr std::string_view kStaffLastSuccess = "staff.last_success"; // {when}
inline constexpr std::string_view kStaffPending = "staff.pending";      // {count}
inline constexpr std::string_view kStaffOldest = "staff.oldest";        // {age}
inline constexpr std::string_view kStaffRejected = "staff.rejected";    // {count}
inline constexpr std::string_view kStaffLastError = "staff.last_error"; // {error}
inline constexpr std::string_view kStaffSurvey = "staff.survey";                  // {version} {time}
inline constexpr std::string_view kStaffSurveyNotFetched = "staff.survey_not_fetched"; // {version}
inline constexpr std::string_view kStaffConfigRefused = "staff.config_refused";  // {version}
inline constexpr std::string_view kStaffErrorOffline = "staff.error.offline";
inline constexpr std::string_view kStaffErrorCertificate = "staff.error.certificate";
inline constexpr std::string_view kStaffErrorRefused = "staff.error.refused";
inline constexpr std::string_view kStaffErrorServer = "staff.error.server";
inline constexpr std::string_view kStaffStoreFull = "staff.store.full";
inline constexpr std::string_view kStaffStoreReadOnly = "staff.store.read_only";
inline constexpr std::string_view kStaffStoreCorrupt = "staff.store.corrupt";
inline constexpr std::string_view kStaffStoreBusy = "staff.store.busy";
inline constexpr std::string_view kStaffStoreIo = "staff.store.io";
inline constexpr std::string_view kStaffStoreSchema = "staff.store.schema";
inline constexpr std::string_view kStaffStoreInvalid = "staff.store.invalid";
inline constexpr std::string_view kStaffNever = "staff.never";
inline constexpr std::string_view kStaffSyncNow = "staff.sync_now";
inline constexpr std::string_view kStaffExit = "staff.exit";
inline constexpr std::string_view kJustNow = "time.just_now";
inline constexpr std::string_view kMinutes = "time.minutes";            // {n}
inline constexpr std::string_view kHours = "time.hours";                // {n}
inline constexpr std::string_view kDays = "time.days";                  // {n}

/// Every fixed key above, the single list the key test checks.
inline constexpr std::array kStatic = {
    kLangName, kAttractBrand, kAttractQuestion, kAttractHint,
    kStars[0], kStars[1], kStars[2], kStars[3], kStars[4],
    kReasonsTitle, kReasonsHint, kSkip, kSubmit, kBack, kDone,
    kCallbackTitle, kCallbackConsent, kCallbackYes, kCallbackNo, kCallbackNumberTitle, kCallbackNumberHint,
    kCallbackInvalid, kCallbackConfirm, kStaffOpenCallbacks,
    kThanksTitle, kThanksBody, kUnavailableTitle, kUnavailableBody,
    kPinTitle, kPinHint, kPinWrong, kPinLocked, kPinLockedMinutes, kPinNotSet, kPinOk, kPinDelete, kCancel,
    kEnrolTitle, kEnrolHint, kEnrolServer, kEnrolWorking, kEnrolRefused, kEnrolUnreachable, kEnrolFailed,
    kStaffTitle, kStaffStore, kStaffToday, kStaffResponses, kStaffMeanStars, kStaffCsat,
    kStaffTarget, kStaffSegue, kStaffByHour, kStaffTrend, kStaffTrendDaily, kStaffTrend7,
    kStaffTrend30, kStaffTags, kStaffNoData, kStaffNotScored, kStaffRecovered,
    kStaffStoreError, kStaffUnsaved, kStaffSync, kStaffSyncOff, kStaffOnline, kStaffOffline,
    kStaffSyncing, kStaffLastSuccess, kStaffPending, kStaffOldest, kStaffRejected,
    kStaffLastError, kStaffNever, kStaffSyncNow, kStaffExit,
    kStaffSurvey, kStaffSurveyNotFetched, kStaffConfigRefused,
    kStaffErrorOffline, kStaffErrorCertificate, kStaffErrorRefused, kStaffErrorServer,
    kStaffStoreFull, kStaffStoreReadOnly, kStaffStoreCorrupt, kStaffStoreBusy, kStaffStoreIo, kStaffStoreSchema,
    kStaffStoreInvalid,
    kJustNow, kMinutes, kHours, kDays,
};

/// "item.<key>.name"
std::string itemName(int segueIndex);
/// "item.<key>.question"
std::string itemQuestion(int segueIndex);
/// "item.<key>.option.<value>" for value 1..5
std::string itemOption(int segueIndex, int value);
/// "tag.<id>"
std::string tag(std::string_view id);

/// The keys a survey definition implies: its items' names, questions and five options, and
/// its tags.
std::vector<std::string> surveyKeys(const core::Survey& survey);

} // namespace segue::app::keys
