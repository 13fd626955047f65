// UUIDv7 (RFC 9562): time-ordered ids made on the terminal, so inserts stay sequential.
#pragma once
#include <cstdint>
#include <random>
#include <string>
#include <string_view>

namespace segue::core {

/// Makes strictly increasing UUIDv7 strings, even within one millisecond or when the
/// wall clock steps back (the 12-bit rand_a field is used as a counter, RFC 9562 method 1).
class UuidV7Generator {
public:
    UuidV7Generator();
    explicit UuidV7Generator(std::uint64_t seed);
    std::string next(std::int64_t unixMs);
private:
    std::mt19937_64 m_rng;
    std::int64_t m_lastMs = -1;
    std::uint32_t m_counter = 0;
};

/// Canonical lowercase 8-4-4-4-12 hex form of any version.
bool isUuid(std::string_view text);
/// The Unix milliseconds of a UUIDv7; -1 when text is not a v7 UUID.
std::int64_t uuidV7Millis(std::string_view text);
/// The smallest UUID whose first 48 bits are `unixMs` (0 ≤ unixMs < 2^48): every UUIDv7 made at
/// or after that millisecond sorts at or above it, as text and as PostgreSQL's uuid.
std::string uuidV7Floor(std::int64_t unixMs);

} // namespace segue::core
