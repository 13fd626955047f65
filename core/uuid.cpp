#include "core/uuid.hpp"

#include <cstdio>

namespace segue::core {

UuidV7Generator::UuidV7Generator() : m_rng(std::random_device{}()) {
    // Two draws so the 64-bit state is not seeded from only 32 bits.
    m_rng.seed((static_cast<std::uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}());
}

UuidV7Generator::UuidV7Generator(std::uint64_t seed) : m_rng(seed) {}

std::string UuidV7Generator::next(std::int64_t unixMs) {
    // Monotonic even if the wall clock steps back: keep using the last timestamp and count.
    if (unixMs > m_lastMs) {
        m_lastMs = unixMs;
        m_counter = static_cast<std::uint32_t>(m_rng() & 0x1FF);  // room to count within the ms
    } else if (++m_counter > 0xFFF) {
        ++m_lastMs;  // counter exhausted: borrow the next millisecond
        m_counter = 0;
    }
    const std::uint64_t ms = static_cast<std::uint64_t>(m_lastMs) & 0xFFFF'FFFF'FFFFULL;
    const std::uint64_t hi = (ms << 16) | (0x7ULL << 12) | (m_counter & 0xFFF);
    const std::uint64_t lo = (m_rng() & 0x3FFF'FFFF'FFFF'FFFFULL) | 0x8000'0000'0000'0000ULL;
    char buf[40];
    std::snprintf(buf, sizeof buf, "%08llx-%04llx-%04llx-%04llx-%012llx",
                  static_cast<unsigned long long>(hi >> 32),
                  static_cast<unsigned long long>((hi >> 16) & 0xFFFF),
                  static_cast<unsigned long long>(hi & 0xFFFF),
                  static_cast<unsigned long long>(lo >> 48),
                  static_cast<unsigned long long>(lo & 0xFFFF'FFFF'FFFFULL));
    return buf;
}

bool isUuid(std::string_view t) {
    if (t.size() != 36) return false;
    for (std::size_t i = 0; i < t.size(); ++i) {
        const char c = t[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-') return false;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return false;
        }
    }
    return true;
}

std::int64_t uuidV7Millis(std::string_view t) {
    if (!isUuid(t) || t[14] != '7') return -1;
    std::int64_t ms = 0;
    for (std::size_t i = 0; i < 13; ++i) {
        if (i == 8) continue;
        const char c = t[i];
        ms = ms * 16 + (c <= '9' ? c - '0' : c - 'a' + 10);
    }
    return ms;
}

std::string uuidV7Floor(std::int64_t unixMs) {
    const auto ms = static_cast<unsigned long long>(unixMs) & 0xFFFF'FFFF'FFFFULL;
    char buf[40];
    std::snprintf(buf, sizeof buf, "%08llx-%04llx-0000-0000-000000000000", ms >> 16, ms & 0xFFFF);
    return buf;
}

} // namespace segue::core
