// Secrets of HQ: device and read tokens are 32 random bytes shown once; only hashes are stored.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace segue::hq {

/// A new token: 32 bytes from libsodium's CSPRNG, base64url without padding (43 characters).
std::string generateToken();

/// What is stored for a token: hex SHA-256. A slow password hash (Argon2) would buy nothing:
/// the token carries 256 bits of entropy, so there is nothing to brute-force, and a fast
/// deterministic hash lets HQ find the token's row by an indexed lookup on every request.
/// That lookup needs no constant-time comparison: timing can at most reveal bytes of the
/// hash, and a SHA-256 preimage of a 256-bit secret cannot be searched for.
std::string hashToken(std::string_view token);

/// Hex SHA-256 of any bytes (also used to key stored records).
std::string sha256Hex(std::string_view data);

/// `bytes` random bytes as lowercase hex (device ids, database names in tests).
std::string randomHex(std::size_t bytes);

} // namespace segue::hq
