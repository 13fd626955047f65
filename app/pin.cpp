#include "app/pin.hpp"

#include <algorithm>
#include <string>

#include <sodium.h>

#include "store/meta.hpp"

namespace segue::app {
namespace {

bool sodiumReady() {
    static const bool ok = sodium_init() >= 0;   // thread-safe, idempotent
    return ok;
}

} // namespace

std::int64_t pinLockDurationMs(int lockNumber) {
    std::int64_t ms = kPinFirstLockMs;
    for (int i = 1; i < lockNumber && ms < kPinMaxLockMs; ++i) ms *= 2;
    return std::min(ms, kPinMaxLockMs);
}

store::PinLock afterPinFailure(store::PinLock lock, std::int64_t nowUtcMs) {
    if (++lock.failures < kPinFailuresPerLock) return lock;
    lock.failures = 0;
    ++lock.locks;
    lock.lockedAtUtcMs = nowUtcMs;
    lock.lockedUntilUtcMs = nowUtcMs + pinLockDurationMs(lock.locks);
    return lock;
}

std::int64_t pinLockRemainingMs(const store::PinLock& lock, std::int64_t nowUtcMs) {
    if (lock.lockedUntilUtcMs <= 0) return 0;
    // A length beyond the cap (a value edited by hand) counts as the cap.
    const std::int64_t length = std::clamp<std::int64_t>(lock.lockedUntilUtcMs - lock.lockedAtUtcMs, 0, kPinMaxLockMs);
    return std::clamp<std::int64_t>(lock.lockedUntilUtcMs - nowUtcMs, 0, length);
}

std::expected<bool, std::string> storeStaffPin(store::Database& db, const std::string& hash) {
    if (auto saved = store::setMeta(db, store::kMetaPinHash, hash); !saved)
        return std::unexpected("cannot store the PIN: " + saved.error().message);
    const auto lock = store::loadPinLock(db);
    const bool wasLocked = lock && (lock->failures > 0 || lock->locks > 0 || lock->lockedUntilUtcMs > 0);
    if (auto cleared = store::savePinLock(db, store::PinLock{}); !cleared)
        return std::unexpected("the PIN is set, but the PIN pad's lockout could not be cleared: " +
                               cleared.error().message);
    return wasLocked;
}

bool isValidPin(std::string_view pin) {
    return static_cast<int>(pin.size()) >= kPinMinDigits && static_cast<int>(pin.size()) <= kPinMaxDigits &&
           std::all_of(pin.begin(), pin.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::expected<std::string, std::string> hashPin(std::string_view pin) {
    if (!isValidPin(pin))
        return std::unexpected("a PIN is " + std::to_string(kPinMinDigits) + " to " +
                               std::to_string(kPinMaxDigits) + " digits");
    if (!sodiumReady()) return std::unexpected("libsodium failed to initialise");
    char out[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str(out, pin.data(), pin.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        return std::unexpected("not enough memory to hash the PIN");
    return std::string(out);
}

bool verifyPin(std::string_view hash, std::string_view pin) {
    if (!sodiumReady() || hash.empty() || hash.size() >= crypto_pwhash_STRBYTES) return false;
    if (hash.find('\0') != std::string_view::npos) return false;
    const std::string h(hash);   // crypto_pwhash_str_verify needs a terminated string
    return crypto_pwhash_str_verify(h.c_str(), pin.data(), pin.size()) == 0;
}

} // namespace segue::app
