// Per-device token bucket: a terminal draining a backlog is never slowed, a runaway one is.
#pragma once
#include <cstddef>
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
    /// `maxKeys` > 0 bounds the keys kept (per-address limits: anyone can bring new addresses);
    /// past it, keys whose bucket has refilled are dropped, as they hold no state worth keeping.
    RateLimiter(double ratePerS, double burst, const core::Clock& clock, std::size_t maxKeys = 0)
        : m_rate(ratePerS), m_burst(burst), m_maxKeys(maxKeys), m_clock(clock) {}

    /// Takes a token for `key`: nullopt when allowed, otherwise whole seconds until one is free.
    std::optional<int> take(const std::string& key);

private:
    struct Bucket {
        double tokens = 0;
        std::int64_t lastMono = 0;
    };
    double m_rate;
    double m_burst;
    std::size_t m_maxKeys;
    const core::Clock& m_clock;
    std::mutex m_mutex;
    std::unordered_map<std::string, Bucket> m_buckets;   // bounded by the enrolled devices, or by maxKeys
};

} // namespace segue::hq
