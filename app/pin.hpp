// The staff PIN: stored only as an Argon2id hash (libsodium crypto_pwhash_str).
#pragma once
#include <cstdint>
#include <expected>
#include <string>
#include <string_view>

#include "store/pin_lock.hpp"

namespace segue::app {

inline constexpr int kPinMinDigits = 4;
inline constexpr int kPinMaxDigits = 8;
/// Fewer digits than this and `set-pin` warns that the PIN is weak (10 000 PINs of 4 digits
/// fall to an offline search in minutes; the lockout below only slows guessing at the pad).
inline constexpr int kPinRecommendedDigits = 6;

/// The lockout: every kPinFailuresPerLock wrong PINs lock the pad; the first lock lasts
/// kPinFirstLockMs, each further one twice the last, at most kPinMaxLockMs. Only a correct PIN
/// starts the series again.
inline constexpr int kPinFailuresPerLock = 5;
inline constexpr std::int64_t kPinFirstLockMs = 60'000;
inline constexpr std::int64_t kPinMaxLockMs = 3'600'000;

/// How long the `lockNumber`-th lock (1, 2, ...) lasts: 60 s, 120 s, 240 s ... capped at 1 h.
std::int64_t pinLockDurationMs(int lockNumber);

/// The state after one more wrong PIN at wall time `nowUtcMs`: the kPinFailuresPerLock-th
/// starts the next lock (and the count of failures starts again).
store::PinLock afterPinFailure(store::PinLock lock, std::int64_t nowUtcMs);

/// How much of a persisted lock is left at wall time `nowUtcMs`. A wall clock that jumped back
/// (before the lock began) gives at most the lock's own length, never more: a lock cannot become
/// endless. A clock that jumped forward past its end ends it: the time is taken as having passed.
/// (While the terminal runs, the lock is timed on the monotonic clock: a wall-clock jump then
/// changes nothing.)
std::int64_t pinLockRemainingMs(const store::PinLock& lock, std::int64_t nowUtcMs);

/// True for 4..8 ASCII digits.
bool isValidPin(std::string_view pin);

/// Argon2id hash string (OPSLIMIT/MEMLIMIT_INTERACTIVE) of a valid PIN, or why it failed.
std::expected<std::string, std::string> hashPin(std::string_view pin);

/// Stores `hash` (from hashPin) as the staff PIN and clears the PIN pad's failed attempts and
/// lock: whoever may set the PIN may open the staff screen anyway. A running terminal sees both
/// the next time its pad opens. Gives whether a lock or failures were cleared, or why it failed.
std::expected<bool, std::string> storeStaffPin(store::Database& db, const std::string& hash);

/// True when `pin` matches `hash` (a crypto_pwhash_str string). False for anything else,
/// including a malformed hash.
bool verifyPin(std::string_view hash, std::string_view pin);

} // namespace segue::app
