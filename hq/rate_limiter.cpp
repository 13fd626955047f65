#include "hq/rate_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace segue::hq {

std::optional<int> RateLimiter::take(const std::string& key) {
    const std::int64_t now = m_clock.now().monoMs;
    std::lock_guard lock(m_mutex);
    if (m_maxKeys > 0 && m_buckets.size() >= m_maxKeys && !m_buckets.contains(key)) {
        std::erase_if(m_buckets, [&](const auto& kv) {
            const double idleS = static_cast<double>(std::max<std::int64_t>(0, now - kv.second.lastMono)) / 1000.0;
            return kv.second.tokens + idleS * m_rate >= m_burst;
        });
        // Every kept key is still limited: refuse the newcomer rather than grow without bound.
        if (m_buckets.size() >= m_maxKeys)
            return std::clamp(static_cast<int>(std::ceil(1.0 / std::max(m_rate, 1e-3))), 1, 3600);
    }
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
