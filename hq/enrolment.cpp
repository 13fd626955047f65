#include "hq/enrolment.hpp"

#include <algorithm>
#include <cctype>

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
