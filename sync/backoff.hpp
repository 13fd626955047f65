// Retry pacing for the sync worker: exponential backoff with full jitter, pure and seedable.
#pragma once
#include <algorithm>
#include <cstdint>
#include <random>

namespace segue::sync {

struct BackoffPolicy {
    std::int64_t baseMs = 1'000;     ///< ceiling after the first failure
    std::int64_t capMs = 300'000;    ///< the ceiling never grows past this (5 min)
};

/// The upper bound of the wait after `failures` consecutive failures (failures >= 1):
/// min(cap, base * 2^(failures-1)). Zero failures means no wait.
inline std::int64_t backoffCeilingMs(int failures, const BackoffPolicy& p) {
    if (failures <= 0) return 0;
    std::int64_t ceiling = p.baseMs;
    // Doubling stops at the cap, so a long outage cannot overflow.
    for (int i = 1; i < failures && ceiling < p.capMs; ++i) ceiling *= 2;
    return std::min(ceiling, p.capMs);
}

/// The ceiling when the link has been down for `downMs` (monotonic time since the first failure
/// of this run of failures): backoffCeilingMs, but never above max(base, downMs). Full jitter can
/// draw several short waits in a row, and the ceiling doubles per failure, not per second: in a
/// fleet of 1 000 that lost HQ for 10 s, a few terminals reached 9 failures (a 256 s ceiling) and
/// came back minutes after HQ did (benchmark 11). Bounded by the time down, no terminal waits
/// much longer than the outage has lasted, and the retries still spread over [0, ceiling].
inline std::int64_t backoffCeilingMs(int failures, std::int64_t downMs, const BackoffPolicy& p) {
    return std::min(backoffCeilingMs(failures, p), std::max(p.baseMs, downMs));
}

/// Counts consecutive failures and draws the next wait uniformly from [0, ceiling]
/// ("full jitter"), so a fleet that lost HQ at the same moment does not come back in lockstep.
class Backoff {
public:
    explicit Backoff(BackoffPolicy policy = {}) : m_policy(policy) {}

    /// Records a failure and returns how long to wait before the next attempt.
    /// `rng` is any UniformRandomBitGenerator (tests pass a seeded engine).
    template <class Rng>
    std::int64_t onFailure(Rng& rng) {
        ++m_failures;
        const std::int64_t ceiling = backoffCeilingMs(m_failures, m_policy);
        std::uniform_int_distribution<std::int64_t> pick(0, ceiling);
        return pick(rng);
    }

    /// The same, with the ceiling bounded by the time down so far (see backoffCeilingMs above):
    /// `nowMonoMs` is the monotonic clock; the first failure after a reset starts the outage.
    template <class Rng>
    std::int64_t onFailure(Rng& rng, std::int64_t nowMonoMs) {
        if (m_failures == 0) m_downSinceMs = nowMonoMs;
        ++m_failures;
        const std::int64_t ceiling = backoffCeilingMs(m_failures, nowMonoMs - m_downSinceMs, m_policy);
        std::uniform_int_distribution<std::int64_t> pick(0, ceiling);
        return pick(rng);
    }

    /// A success starts the sequence again from the base.
    void reset() { m_failures = 0; }
    int failures() const { return m_failures; }
    const BackoffPolicy& policy() const { return m_policy; }

private:
    BackoffPolicy m_policy;
    int m_failures = 0;
    std::int64_t m_downSinceMs = 0;
};

} // namespace segue::sync
