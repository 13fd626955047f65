// The staff PIN pad's failed attempts and lock, kept in the database so that a restart or a
// power cycle does not reset them (one row of `meta`, key kMetaPinLock, a small JSON object).
#pragma once
#include <cstdint>
#include <expected>

#include "store/database.hpp"

namespace segue::store {

/// The persisted lockout state. The policy (when to lock, for how long) lives in app/pin.hpp.
struct PinLock {
    int failures = 0;                   ///< wrong PINs since the last lock ended or the last success
    int locks = 0;                      ///< locks since the last correct PIN (the next one doubles)
    std::int64_t lockedAtUtcMs = 0;     ///< wall time the current lock began (0 = none)
    std::int64_t lockedUntilUtcMs = 0;  ///< wall time it ends
    bool operator==(const PinLock&) const = default;
};

/// The stored state; a database that never had a failure (or an unreadable value) gives {}.
std::expected<PinLock, Error> loadPinLock(Database& db);
/// Replaces the stored state (one transaction).
std::expected<void, Error> savePinLock(Database& db, const PinLock& lock);

} // namespace segue::store
