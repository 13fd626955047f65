#include "store/pin_lock.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "store/meta.hpp"

namespace segue::store {

std::expected<PinLock, Error> loadPinLock(Database& db) {
    auto text = getMeta(db, kMetaPinLock);
    if (!text) return std::unexpected(std::move(text.error()));
    PinLock out;
    if (!*text) return out;
    const auto j = nlohmann::json::parse(**text, nullptr, false);
    if (!j.is_object()) return out;
    const auto field = [&j](const char* key) -> std::int64_t {
        const auto it = j.find(key);
        return it != j.end() && it->is_number_integer() ? it->get<std::int64_t>() : 0;
    };
    out.failures = static_cast<int>(std::clamp<std::int64_t>(field("failures"), 0, 1'000'000));
    out.locks = static_cast<int>(std::clamp<std::int64_t>(field("locks"), 0, 1'000'000));
    out.lockedAtUtcMs = field("locked_at_utc_ms");
    out.lockedUntilUtcMs = field("locked_until_utc_ms");
    return out;
}

std::expected<void, Error> savePinLock(Database& db, const PinLock& lock) {
    const nlohmann::json j = {{"failures", lock.failures},
                              {"locks", lock.locks},
                              {"locked_at_utc_ms", lock.lockedAtUtcMs},
                              {"locked_until_utc_ms", lock.lockedUntilUtcMs}};
    return setMeta(db, kMetaPinLock, j.dump());
}

} // namespace segue::store
