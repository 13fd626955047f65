// The real clock of both programs: steady time for timeouts, rates and latency, wall time (UTC) for
// stamps, and the local UTC offset (the process's TZ) for the calendar of records and day sums.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "core/time.hpp"

namespace segue::core {

/// Points the C library's local time at `ianaName` (sets TZ and calls tzset). Call once at
/// start, before any thread exists. False when no zoneinfo file has that name (the C library
/// would then silently use UTC), so the caller can log it.
bool setProcessTimezone(const std::string& ianaName);

/// Milliseconds since this process started (from /proc/self/stat, 10 ms resolution), for the
/// start-to-first-frame figure in the log; nullopt where /proc is not readable.
std::optional<std::int64_t> msSinceProcessStart();

/// Reads steady_clock, system_clock and localtime_r's offset once per now().
class SystemClock final : public Clock {
public:
    Now now() const override;
};

} // namespace segue::core
