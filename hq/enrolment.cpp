#include "hq/enrolment.hpp"

#include <algorithm>
#include <cassert>
#include <cctype>

#include <sodium.h>

#include "core/time.hpp"
#include "hq/token.hpp"

namespace segue::hq {

bool isPlainId(const std::string& id) {
    if (id.empty() || id.size() > 64) return false;
    return std::all_of(id.begin(), id.end(), [](unsigned char c) {
        return std::isalnum(c) || c == '-' || c == '_' || c == '.';
    });
}

Result<Enrolment> enrolDevice(Storage& storage, const std::string& storeId, const std::string& name,
                              const std::optional<std::string>& deviceId, std::int64_t nowMs) {
    using Kind = StorageError::Kind;
    if (!isPlainId(storeId)) return std::unexpected(StorageError{Kind::Invalid, "store id must be 1-64 of [A-Za-z0-9._-]"});
    if (deviceId && !isPlainId(*deviceId))
        return std::unexpected(StorageError{Kind::Invalid, "device id must be 1-64 of [A-Za-z0-9._-]"});
    if (name.empty() || name.size() > 200)
        return std::unexpected(StorageError{Kind::Invalid, "device name must be 1-200 bytes"});
    Enrolment e{deviceId.value_or("kiosk-" + randomHex(6)), storeId, generateToken()};
    if (auto r = storage.addDevice({e.deviceId, storeId, name, hashToken(e.token), nowMs}); !r)
        return std::unexpected(r.error());
    return e;
}

namespace {

constexpr std::size_t kCodeDigits = 12;

std::string randomDigits(std::size_t n) {
    std::string out;
    for (std::size_t i = 0; i < n; ++i) out += static_cast<char>('0' + randombytes_uniform(10));
    return out;
}

ApiError refused() {
    return ApiError{401, "enrolment_refused", "the enrolment code is not valid (used, expired, revoked or unknown)", {}};
}

} // namespace

std::optional<std::string> codeDigits(std::string_view typed) {
    std::string digits;
    for (const char c : typed) {
        if (c >= '0' && c <= '9') digits += c;
        else if (c != '-' && c != ' ') return std::nullopt;
        if (digits.size() > kCodeDigits) return std::nullopt;
    }
    if (digits.size() != kCodeDigits) return std::nullopt;
    return digits;
}

std::string formatCode(std::string_view d) {
    return std::string(d.substr(0, 4)) + "-" + std::string(d.substr(4, 4)) + "-" + std::string(d.substr(8));
}

std::string hashCode(std::string_view digits) { return sha256Hex("segue-enrolment-code:" + std::string(digits)); }

std::string hashCode(std::string_view codeKey, std::string_view digits) {
    unsigned char key[crypto_auth_hmacsha256_KEYBYTES] = {};
    std::size_t keyLength = 0;
    const int decoded = sodium_hex2bin(key, sizeof key, codeKey.data(), codeKey.size(), nullptr, &keyLength, nullptr);
    assert(decoded == 0 && keyLength == sizeof key);   // the key comes from enrolmentCodeKey()
    (void)decoded;
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256(mac, reinterpret_cast<const unsigned char*>(digits.data()), digits.size(), key);
    sodium_memzero(key, sizeof key);
    char hex[2 * sizeof mac + 1];
    sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
    return hex;
}

Result<std::string> enrolmentCodeKey(Storage& storage, std::int64_t nowMs) {
    auto key = storage.databaseKey("enrolment_code", randomHex(crypto_auth_hmacsha256_KEYBYTES), nowMs);
    if (key && key->size() != 2 * crypto_auth_hmacsha256_KEYBYTES)
        return std::unexpected(StorageError{StorageError::Kind::Io, "the stored enrolment code key is not 64 hex digits"});
    return key;
}

Result<CodeEnrolment> enrolDeviceWithCode(Storage& storage, const std::string& storeId, const std::string& name,
                                          const std::optional<std::string>& deviceId, int ttlHours,
                                          std::int64_t nowMs) {
    using Kind = StorageError::Kind;
    if (!isPlainId(storeId)) return std::unexpected(StorageError{Kind::Invalid, "store id must be 1-64 of [A-Za-z0-9._-]"});
    if (deviceId && !isPlainId(*deviceId))
        return std::unexpected(StorageError{Kind::Invalid, "device id must be 1-64 of [A-Za-z0-9._-]"});
    if (name.empty() || name.size() > 200)
        return std::unexpected(StorageError{Kind::Invalid, "device name must be 1-200 bytes"});
    if (ttlHours < 1 || ttlHours > kMaxCodeTtlH)
        return std::unexpected(StorageError{Kind::Invalid, "the code's lifetime must be 1.." + std::to_string(kMaxCodeTtlH) + " hours"});
    auto key = enrolmentCodeKey(storage, nowMs);
    if (!key) return std::unexpected(key.error());
    const std::string digits = randomDigits(kCodeDigits);
    CodeEnrolment e{deviceId.value_or("kiosk-" + randomHex(6)), storeId, formatCode(digits),
                    nowMs + std::int64_t{ttlHours} * 3'600'000};
    // Until the code is used the device's token is one nobody was shown: it cannot sync.
    const NewDevice device{e.deviceId, storeId, name, hashToken(generateToken()), nowMs};
    if (auto r = storage.addDeviceWithCode(device, {hashCode(*key, digits), nowMs, e.expiresAtMs}); !r)
        return std::unexpected(r.error());
    return e;
}

nlohmann::json codeEnrolmentJson(const CodeEnrolment& e) {
    return nlohmann::json{{"device_id", e.deviceId},
                          {"store_id", e.storeId},
                          {"enrolment_code", e.code},
                          {"expires_at", core::formatUtc(e.expiresAtMs)}};
}

Result<std::pair<CodeReissue, CodeEnrolment>> reissueCode(Storage& storage, const std::string& deviceId,
                                                          const std::string& storeId, int ttlHours, std::int64_t nowMs) {
    if (ttlHours < 1 || ttlHours > kMaxCodeTtlH)
        return std::unexpected(StorageError{StorageError::Kind::Invalid,
                                            "the code's lifetime must be 1.." + std::to_string(kMaxCodeTtlH) + " hours"});
    auto key = enrolmentCodeKey(storage, nowMs);
    if (!key) return std::unexpected(key.error());
    const std::string digits = randomDigits(kCodeDigits);
    CodeEnrolment e{deviceId, storeId, formatCode(digits), nowMs + std::int64_t{ttlHours} * 3'600'000};
    auto done = storage.reissueEnrolmentCode(deviceId, {hashCode(*key, digits), nowMs, e.expiresAtMs});
    if (!done) return std::unexpected(done.error());
    return std::pair{*done, std::move(e)};
}

std::expected<nlohmann::json, ApiError> enrolByCode(Storage& storage, std::string_view body, std::int64_t nowMs) {
    const auto j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object() || !j.contains("code") || !j["code"].is_string())
        return std::unexpected(ApiError::badRequest("the body must be {\"code\": \"1234-5678-9012\", \"app_version\": ...}"));
    if (j.contains("app_version") && !j["app_version"].is_string())
        return std::unexpected(ApiError::badRequest("app_version must be a string"));
    const auto digits = codeDigits(j["code"].get<std::string>());
    if (!digits) return std::unexpected(refused());
    auto key = enrolmentCodeKey(storage, nowMs);
    if (!key) return std::unexpected(ApiError::internal("storage failure: " + key.error().message));
    const std::string token = generateToken();
    auto device = storage.redeemEnrolmentCode(hashCode(*key, *digits), hashCode(*digits), hashToken(token), nowMs);
    if (!device) return std::unexpected(ApiError::internal("storage failure: " + device.error().message));
    if (!*device) return std::unexpected(refused());
    return nlohmann::json{{"device_id", (*device)->deviceId},
                          {"store_id", (*device)->storeId},
                          {"token", token},
                          {"server_time", core::formatUtc(nowMs)}};
}

Result<std::string> issueReadToken(Storage& storage, std::int64_t nowMs) {
    auto issued = issueReadTokenWithId(storage, nowMs);
    if (!issued) return std::unexpected(issued.error());
    return std::move(issued->token);
}

Result<IssuedToken> issueReadTokenWithId(Storage& storage, std::int64_t nowMs) {
    std::string token = generateToken();
    auto id = storage.addToken(hashToken(token), "read", nowMs);
    if (!id) return std::unexpected(id.error());
    return IssuedToken{*id, std::move(token)};
}

} // namespace segue::hq
