#include "hq/rate_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace segue::hq {

std::optional<int> RateLimiter::take(const std::string& key) {
    const std::int64_t now = m_clock.now().monoMs;
    std::lock_guard lock(m_mutex);
    auto [it, fresh] = m_buckets.try_emplace(key, Bucket{m_burst, now});
    Bucket& b = it->second;
    if (!fresh) {
        const double elapsedS = static_cast<double>(std::max<std::int64_t>(0, now - b.lastMono)) / 1000.0;
        b.tokens = std::min(m_burst, b.tokens + elapsedS * m_rate);
        b.lastMono = now;
    }
    if (b.tokens >= 1.0) {
        b.tokens -= 1.0;
        return std::nullopt;
    }
    if (m_rate <= 0) return 3600;
    const double waitS = (1.0 - b.tokens) / m_rate;
    return std::clamp(static_cast<int>(std::ceil(waitS)), 1, 3600);
}

} // namespace segue::hq
