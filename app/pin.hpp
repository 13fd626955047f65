// The staff PIN: stored only as an Argon2id hash (libsodium crypto_pwhash_str).
#pragma once
#include <expected>
#include <string>
#include <string_view>

namespace segue::app {

inline constexpr int kPinMinDigits = 4;
inline constexpr int kPinMaxDigits = 8;

/// True for 4..8 ASCII digits.
bool isValidPin(std::string_view pin);

/// Argon2id hash string (OPSLIMIT/MEMLIMIT_INTERACTIVE) of a valid PIN, or why it failed.
std::expected<std::string, std::string> hashPin(std::string_view pin);

/// True when `pin` matches `hash` (a crypto_pwhash_str string). False for anything else,
/// including a malformed hash.
bool verifyPin(std::string_view hash, std::string_view pin);

} // namespace segue::app
