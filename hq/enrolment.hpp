// Enrolling devices (with a token shown once, or with a one-time enrolment code the terminal
// trades for its token) and issuing read tokens: the only places a token exists in clear text.
#pragma once
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

#include "hq/api_error.hpp"
#include "hq/storage.hpp"

namespace segue::hq {

/// A token shown once to the operator; HQ keeps only its hash.
struct Enrolment {
    std::string deviceId;
    std::string storeId;
    std::string token;
};

/// True for ids the records can carry: 1-64 of [A-Za-z0-9._-] (as core::validate checks).
bool isPlainId(const std::string& id);

/// Enrols a device in `storeId` (created if new) with a fresh token. Without `deviceId` an id
/// "kiosk-" + 12 random hex digits is made. Invalid ids or names are Invalid errors.
Result<Enrolment> enrolDevice(Storage& storage, const std::string& storeId, const std::string& name,
                              const std::optional<std::string>& deviceId, std::int64_t nowMs);

/// Hours an enrolment code stays valid unless told otherwise.
inline constexpr int kDefaultCodeTtlH = 72;
/// The most hours a code may be given.
inline constexpr int kMaxCodeTtlH = 24 * 30;

/// A device enrolled with a one-time code instead of a token.
struct CodeEnrolment {
    std::string deviceId;
    std::string storeId;
    std::string code;              ///< 12 digits as shown: "1234-5678-9012"
    std::int64_t expiresAtMs = 0;
};

/// Enrols a device in `storeId` as enrolDevice() does, but with no usable token: instead a fresh
/// 12-digit code valid for `ttlHours`, which the terminal trades once for its token.
Result<CodeEnrolment> enrolDeviceWithCode(Storage& storage, const std::string& storeId, const std::string& name,
                                          const std::optional<std::string>& deviceId, int ttlHours,
                                          std::int64_t nowMs);

/// {"device_id","store_id","enrolment_code","expires_at"}: what `device add --enrolment-code
/// --json` prints and the dashboard's enrolment routes answer.
nlohmann::json codeEnrolmentJson(const CodeEnrolment& e);

/// A fresh code valid for `ttlHours` for `deviceId`, a device added with a code that has not
/// enrolled yet; its other unused codes stop working. The storage's answer says when it could not.
Result<std::pair<CodeReissue, CodeEnrolment>> reissueCode(Storage& storage, const std::string& deviceId,
                                                          const std::string& storeId, int ttlHours, std::int64_t nowMs);

/// The 12 digits of a code typed as "1234-5678-9012", "123456789012" or with spaces; nullopt
/// when it is not 12 digits.
std::optional<std::string> codeDigits(std::string_view typed);

/// "1234-5678-9012" for 12 digits.
std::string formatCode(std::string_view digits);

/// What was stored for a code before schema 16: hex SHA-256 of its digits (still accepted).
std::string hashCode(std::string_view digits);

/// What is stored for a code: hex HMAC-SHA-256 of its digits under the database's key
/// `codeKey` (64 hex digits, see enrolmentCodeKey()).
std::string hashCode(std::string_view codeKey, std::string_view digits);

/// The database's key for enrolment codes, made on first use.
Result<std::string> enrolmentCodeKey(Storage& storage, std::int64_t nowMs);

/// POST /api/v1/enrol: `body` is {"code","app_version"}. 200's body {"device_id","store_id",
/// "token","server_time"}; a code used, expired, revoked (its device) or unknown is one answer,
/// 401 enrolment_refused; a body that is not that object is 400.
std::expected<nlohmann::json, ApiError> enrolByCode(Storage& storage, std::string_view body, std::int64_t nowMs);

/// Issues a read token (role "read") for the read API and the dashboard.
Result<std::string> issueReadToken(Storage& storage, std::int64_t nowMs);

/// A read token and its id (what `token list` and `token revoke` name it by).
struct IssuedToken {
    std::int64_t id = 0;
    std::string token;
};
Result<IssuedToken> issueReadTokenWithId(Storage& storage, std::int64_t nowMs);

} // namespace segue::hq
