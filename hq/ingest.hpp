// Turns one batch body from an authenticated device into stored rows and the reply: envelope
// checks, per-record refusals (invalid, wrong store, wrong device, a tag the survey does not
// have, a time too far ahead), dedup through Storage.
#pragma once
#include <expected>
#include <string_view>
#include <vector>

#include "core/survey.hpp"

#include "core/time.hpp"
#include "hq/api_error.hpp"
#include "hq/storage.hpp"
#include "hq/surveys.hpp"
#include "sync/wire.hpp"

namespace segue::hq {

/// Reasons HQ gives for records it refuses on its own account (others come from core::validate).
inline constexpr const char* kReasonConflict = "conflict";
inline constexpr const char* kReasonWrongStore = "wrong store";
inline constexpr const char* kReasonWrongDevice = "wrong device";
/// A tag that is not in the survey version the record names (checked for the versions HQ knows).
inline constexpr const char* kReasonUnknownTag = "unknown_tag";
/// created_at more than kMaxAheadMs ahead of HQ's time, after the terminal's reported offset.
inline constexpr const char* kReasonFutureTimestamp = "future_timestamp";
/// callback_requested without a well-formed callback_contact (standard base64 of 54..63 bytes),
/// or a callback_contact without callback_requested.
inline constexpr const char* kReasonBadCallbackContact = "bad_callback_contact";

class Ingest {
public:
    /// How far ahead of HQ's time (on HQ's clock) a record may be stamped: 7 days.
    static constexpr std::int64_t kMaxAheadMs = 7LL * 24 * 3600 * 1000;
    /// A reported clock offset beyond a century either way is not a clock (a terminal booted at
    /// 1970 is ~57 years behind): it is treated as not reported, which also keeps the offset
    /// arithmetic far from overflow.
    static constexpr std::int64_t kMaxReportedOffsetMs = 100LL * 366 * 24 * 3600 * 1000;

    /// Checks tags against the survey version a record names: the built-in one or any published
    /// one (hq/surveys.hpp); a version HQ does not know is accepted with its tags unchecked.
    /// A record that asks for a callback opens a case due `caseSlaMs` after it was made.
    Ingest(Storage& storage, const core::Clock& clock, std::int64_t caseSlaMs = 24LL * 3600 * 1000);

    /// The 200 reply for `body`, or the whole-request error (400, 409, 413, 500).
    std::expected<wire::BatchAck, ApiError> handle(const DeviceAuth& device, std::string_view body);

private:
    /// The reason HQ refuses `r` on its survey (`survey`: the version it names, null when HQ does
    /// not know it) or its time, or nullptr. `offsetMs` is the terminal's reported clock offset
    /// (its clock minus HQ's).
    static const char* refusal(const core::Response& r, const core::Survey* survey, std::int64_t nowMs,
                               std::int64_t offsetMs);

    /// The sealed bytes' base64 when `r`'s callback fields agree and are well-formed, "" when it
    /// asks for none; nullopt: refuse it as kReasonBadCallbackContact.
    static std::optional<std::string> callbackContact(const core::Response& r, const wire::Batch& batch);

    Storage& m_storage;
    const core::Clock& m_clock;
    std::int64_t m_caseSlaMs;
    SurveyCatalog m_surveys;   ///< the survey versions HQ knows
};

} // namespace segue::hq
