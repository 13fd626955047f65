#include <catch2/catch.hpp>

#include <random>

#include "sync/backoff.hpp"
#include "sync/worker.hpp"

using namespace segue::sync;

TEST_CASE("backoff ceiling doubles from 1 s and stops at 5 min", "[backoff]") {
    const BackoffPolicy p;
    CHECK(backoffCeilingMs(0, p) == 0);
    CHECK(backoffCeilingMs(1, p) == 1'000);
    CHECK(backoffCeilingMs(2, p) == 2'000);
    CHECK(backoffCeilingMs(3, p) == 4'000);
    CHECK(backoffCeilingMs(9, p) == 256'000);
    CHECK(backoffCeilingMs(10, p) == 300'000);
    CHECK(backoffCeilingMs(11, p) == 300'000);
    // A terminal offline for weeks keeps failing: no overflow, still the cap.
    CHECK(backoffCeilingMs(1'000'000, p) == 300'000);
}

TEST_CASE("full jitter draws stay within [0, ceiling] and spread over it", "[backoff]") {
    std::mt19937_64 rng(42);
    Backoff b;
    for (int failure = 1; failure <= 14; ++failure) {
        const auto wait = b.onFailure(rng);
        CHECK(b.failures() == failure);
        CHECK(wait >= 0);
        CHECK(wait <= backoffCeilingMs(failure, b.policy()));
    }
    // At the cap, many draws cover both halves of the range (not a fixed delay).
    std::int64_t lo = 300'000, hi = 0;
    for (int i = 0; i < 200; ++i) {
        const auto wait = b.onFailure(rng);
        lo = std::min(lo, wait);
        hi = std::max(hi, wait);
    }
    CHECK(lo < 60'000);
    CHECK(hi > 240'000);
}

TEST_CASE("backoff is deterministic for a seed and resets on success", "[backoff]") {
    std::mt19937_64 a(7), b(7);
    Backoff x, y;
    for (int i = 0; i < 6; ++i) CHECK(x.onFailure(a) == y.onFailure(b));
    x.reset();
    CHECK(x.failures() == 0);
    std::mt19937_64 rng(1);
    for (int i = 0; i < 50; ++i) {
        x.reset();
        CHECK(x.onFailure(rng) <= 1'000);   // back to the base after a success
    }
}

TEST_CASE("a failure's kind decides the schedule", "[backoff][plan]") {
    std::mt19937_64 rng(3);
    const RetryPolicy policy;

    SECTION("offline backs off with jitter, growing") {
        Backoff b(policy.backoff);
        const Plan first = planAfterFailure(SendFailure{SendError::Offline, "refused", {}, {}}, b, rng, policy);
        CHECK(first.state == SyncState::Retrying);
        CHECK(first.waitMs <= 1'000);
        for (int i = 0; i < 20; ++i) planAfterFailure(SendFailure{SendError::Timeout, "", {}, {}}, b, rng, policy);
        CHECK(b.failures() == 21);
    }
    SECTION("Retry-After is a floor, capped at an hour") {
        Backoff b(policy.backoff);
        const Plan p = planAfterFailure(SendFailure{SendError::RateLimited, "", 429, 120'000}, b, rng, policy);
        CHECK(p.state == SyncState::Retrying);
        CHECK(p.waitMs >= 120'000);
        CHECK(p.waitMs <= 120'000 + 1'000);
        const Plan huge = planAfterFailure(SendFailure{SendError::ServerError, "", 503, 86'400'000}, b, rng, policy);
        CHECK(huge.waitMs == policy.maxRetryAfterMs);
    }
    SECTION("token and certificate problems wait long and do not grow the backoff") {
        Backoff b(policy.backoff);
        for (auto kind : {SendError::Unauthorized, SendError::Tls}) {
            const Plan p = planAfterFailure(SendFailure{kind, "", {}, {}}, b, rng, policy);
            CHECK(p.state == SyncState::ConfigProblem);
            CHECK(p.waitMs == policy.slowRetryMs);
        }
        CHECK(b.failures() == 0);
    }
    SECTION("protocol and other refusals are parked") {
        Backoff b(policy.backoff);
        for (auto kind : {SendError::Protocol, SendError::Rejected, SendError::TooLarge}) {
            const Plan p = planAfterFailure(SendFailure{kind, "", 400, {}}, b, rng, policy);
            CHECK(p.state == SyncState::Parked);
            CHECK(p.waitMs == policy.slowRetryMs);
        }
    }
    SECTION("stopping is not a failure") {
        Backoff b(policy.backoff);
        CHECK(planAfterFailure(SendFailure{SendError::Aborted, "", {}, {}}, b, rng, policy).state == SyncState::Stopped);
        CHECK(b.failures() == 0);
    }
}

TEST_CASE("a new response wakes the worker only while the link is up, sync now always", "[plan]") {
    CHECK(wakeStartsDrain(SyncState::Idle, false));
    CHECK_FALSE(wakeStartsDrain(SyncState::Retrying, false));
    CHECK_FALSE(wakeStartsDrain(SyncState::ConfigProblem, false));
    CHECK_FALSE(wakeStartsDrain(SyncState::Parked, false));
    for (auto s : {SyncState::Idle, SyncState::Retrying, SyncState::ConfigProblem, SyncState::Parked})
        CHECK(wakeStartsDrain(s, true));
}

TEST_CASE("every send error has a disposition, plain words and a stable name", "[transport]") {
    using E = SendError;
    CHECK(dispositionOf(E::Offline) == Disposition::Retry);
    CHECK(dispositionOf(E::Timeout) == Disposition::Retry);
    CHECK(dispositionOf(E::TlsHandshake) == Disposition::Retry);
    CHECK(dispositionOf(E::ServerError) == Disposition::Retry);
    CHECK(dispositionOf(E::RateLimited) == Disposition::Retry);
    CHECK(dispositionOf(E::TooLarge) == Disposition::Split);
    CHECK(dispositionOf(E::Tls) == Disposition::ConfigProblem);
    CHECK(dispositionOf(E::Unauthorized) == Disposition::ConfigProblem);
    CHECK(dispositionOf(E::Protocol) == Disposition::Parked);
    CHECK(dispositionOf(E::Rejected) == Disposition::Parked);
    CHECK(dispositionOf(E::Aborted) == Disposition::Stop);
    for (auto k : {E::Offline, E::Timeout, E::TlsHandshake, E::Tls, E::Unauthorized, E::ServerError,
                   E::RateLimited, E::TooLarge, E::Protocol, E::Rejected, E::Aborted}) {
        CHECK_FALSE(plainWords(k).empty());
        CHECK(errorFromName(errorName(k)) == k);
    }
    CHECK_FALSE(errorFromName("no-such-error").has_value());
    const std::string text = describe(SendFailure{E::ServerError, "busy", 503, 2'000});
    CHECK(text.find("HQ had a server error") != std::string::npos);
    CHECK(text.find("HTTP 503: busy") != std::string::npos);
}
