// Enrolling devices and issuing read tokens: the only places a token exists in clear text.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

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

/// Issues a read token (role "read") for the read API and the dashboard.
Result<std::string> issueReadToken(Storage& storage, std::int64_t nowMs);

/// A read token and its id (what `token list` and `token revoke` name it by).
struct IssuedToken {
    std::int64_t id = 0;
    std::string token;
};
Result<IssuedToken> issueReadTokenWithId(Storage& storage, std::int64_t nowMs);

} // namespace segue::hq
