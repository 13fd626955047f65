// One customer's answer: what is stored on the terminal, sent to HQ and exported.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/survey.hpp"

namespace segue::core {

struct Response {
    std::string id;                 ///< UUIDv7, made on the terminal
    std::string storeId;
    std::string deviceId;
    std::string surveyId;
    int surveyVersion = 1;
    std::string language;           ///< "zh-CN" | "en"
    std::int64_t createdAtMs = 0;   ///< UTC, when the first star was tapped
    std::string localDate;          ///< store-local "YYYY-MM-DD" of createdAtMs
    int localHour = 0;              ///< store-local hour 0..23
    int utcOffsetMin = 0;           ///< store offset used for localDate/localHour
    int stars = 0;                  ///< 1..5
    std::array<std::optional<int>, kSegueCount> segue{};  ///< 1..5 or unanswered, kSegueKeys order
    std::vector<std::string> tags;  ///< reason tag ids, in the order chosen
    bool complete = false;          ///< false: saved on inactivity before the end
    bool misuse = false;            ///< started within the misuse window of the previous one
    bool synthetic = false;         ///< made by `demo-data`
    std::int64_t durationMs = 0;    ///< first tap to finish
    bool callbackRequested = false; ///< the customer left a number to be called back on (sealed, never here)

    bool operator==(const Response&) const = default;
};

/// Why a record is invalid, or nullopt when it is valid. `survey` adds the tag check.
std::optional<std::string> validate(const Response& r, const Survey* survey = nullptr);

/// The record as JSON: the wire format to HQ and the JSONL export line. Keys:
/// id, store_id, device_id, survey_id, survey_version, language, created_at (RFC 3339 UTC),
/// local_date, local_hour, utc_offset_min, stars, segue{satisfactory..effective: 1..5|null},
/// tags[], complete, misuse, synthetic, duration_ms, callback_requested.
nlohmann::json toJson(const Response& r);
/// Appends exactly `toJson(r).dump()` to `out` without building the JSON tree (the sync drain
/// encodes a thousand records a batch). Throws as dump() does on a string that is not UTF-8.
void appendJson(std::string& out, const Response& r);
/// What appendJsonString does with bytes that are not UTF-8: throw as dump() does by default, or
/// write U+FFFD in their place as dump() does with error_handler_t::replace.
enum class BadUtf8 { Throw, Replace };
/// Appends `s` as a JSON string literal, exactly as nlohmann's dump() writes it.
void appendJsonString(std::string& out, std::string_view s, BadUtf8 bad = BadUtf8::Throw);
/// Strict decode: wrong types, missing keys, unknown SEGUE keys and bad values are errors.
/// Unknown top-level keys are ignored (forward compatible).
std::optional<Response> fromJson(const nlohmann::json& j, std::string* error);

} // namespace segue::core
