// The real clock: steady time for timeouts, wall time and the store timezone's offset for records.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "core/time.hpp"

namespace segue::platform {

/// Points the C library's local time at `ianaName` (sets TZ and calls tzset). Call once at
/// start, before any thread exists. False when no zoneinfo file has that name (the C library
/// would then silently use UTC), so the caller can log it.
bool setProcessTimezone(const std::string& ianaName);

/// Milliseconds since this process started (from /proc/self/stat, 10 ms resolution), for the
/// start-to-first-frame figure in the log; nullopt where /proc is not readable.
std::optional<std::int64_t> msSinceProcessStart();

class SystemClock final : public core::Clock {
public:
    core::Now now() const override;
};

} // namespace segue::platform
