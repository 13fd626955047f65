// Time as the domain sees it: one `Now` per frame, wall time only to stamp records,
// monotonic time for timeouts.
#pragma once
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace segue::core {

/// A moment, read once per frame from the injected clock.
struct Now {
    std::int64_t monoMs = 0;      ///< steady clock, for timeouts and backoff
    std::int64_t utcMs = 0;       ///< wall clock, milliseconds since the Unix epoch (UTC)
    int utcOffsetMin = 0;         ///< store timezone offset at utcMs (e.g. +480 for Asia/Shanghai)
};

/// Source of `Now`; the platform implements it, tests use FakeClock.
struct Clock {
    virtual ~Clock() = default;
    virtual Now now() const = 0;
};

/// A clock that moves only when told to.
/// Thread-safe: code under test may read it from its own threads while the test moves it.
class FakeClock final : public Clock {
public:
    explicit FakeClock(std::int64_t utcMs = 1'795'000'000'000, int offsetMin = 480)
        : m_now{0, utcMs, offsetMin} {}
    Now now() const override { std::lock_guard lock(m_mutex); return m_now; }
    void advance(std::int64_t ms) { std::lock_guard lock(m_mutex); m_now.monoMs += ms; m_now.utcMs += ms; }
    /// The wall clock jumps; the monotonic one does not.
    void jumpWall(std::int64_t ms) { std::lock_guard lock(m_mutex); m_now.utcMs += ms; }
    void setOffset(int minutes) { std::lock_guard lock(m_mutex); m_now.utcOffsetMin = minutes; }
private:
    mutable std::mutex m_mutex;
    Now m_now;
};

/// "2026-11-22T06:30:00.123Z"
std::string formatUtc(std::int64_t utcMs);
/// Parses RFC 3339 with 'Z' or a numeric offset; fractional seconds optional.
std::optional<std::int64_t> parseUtc(std::string_view text);
/// Local calendar date "YYYY-MM-DD" of utcMs shifted by offsetMin.
std::string localDate(std::int64_t utcMs, int offsetMin);
/// Local hour 0..23 of utcMs shifted by offsetMin.
int localHour(std::int64_t utcMs, int offsetMin);
/// True for a real calendar date written "YYYY-MM-DD".
bool isIsoDate(std::string_view date);
/// Days since 1970-01-01 for a valid ISO date; nullopt otherwise.
std::optional<std::int64_t> daysFromIsoDate(std::string_view date);
/// "YYYY-MM-DD" for days since 1970-01-01.
std::string isoDateFromDays(std::int64_t days);
/// Adds `days` to an ISO date (may be negative). Precondition: isIsoDate(date).
std::string addDays(std::string_view date, int days);

} // namespace segue::core
