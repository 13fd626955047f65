// Per-device token bucket: a terminal draining a backlog is never slowed, a runaway one is.
#pragma once
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "core/time.hpp"

namespace segue::hq {

class RateLimiter {
public:
    /// `ratePerS` tokens refill each second up to `burst`; each request takes one.
    RateLimiter(double ratePerS, double burst, const core::Clock& clock)
        : m_rate(ratePerS), m_burst(burst), m_clock(clock) {}

    /// Takes a token for `key`: nullopt when allowed, otherwise whole seconds until one is free.
    std::optional<int> take(const std::string& key);

private:
    struct Bucket {
        double tokens = 0;
        std::int64_t lastMono = 0;
    };
    double m_rate;
    double m_burst;
    const core::Clock& m_clock;
    std::mutex m_mutex;
    std::unordered_map<std::string, Bucket> m_buckets;   // enrolled devices only: bounded
};

} // namespace segue::hq
