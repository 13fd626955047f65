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

TEST_CASE("the ceiling never exceeds the time the link has been down (at least the base)", "[backoff]") {
    const BackoffPolicy p;
    CHECK(backoffCeilingMs(9, 0, p) == 1'000);          // nine quick failures: still the base
    CHECK(backoffCeilingMs(9, 10'000, p) == 10'000);    // 10 s down: not 256 s
    CHECK(backoffCeilingMs(3, 60'000, p) == 4'000);     // the doubling still bounds it
    CHECK(backoffCeilingMs(20, 3'600'000, p) == 300'000);   // and the cap

    // A terminal whose jittered waits came out short fails 9 times within 10 s of HQ going away
    // (what benchmark 11 saw in a fleet of 1 000): its next wait stays within the 10 s, where the
    // failure count alone would allow 256 s.
    std::mt19937_64 rng(11);
    Backoff b;
    std::int64_t now = 5'000'000;
    for (int i = 0; i < 8; ++i) {
        (void)b.onFailure(rng, now);
        now += 1'200;   // each attempt failed 1.2 s after the last
    }
    bool beyondOutage = false;
    Backoff plain;
    std::mt19937_64 rng2(11);
    for (int i = 0; i < 8; ++i) (void)plain.onFailure(rng2);
    std::int64_t plainMax = 0;
    for (int i = 0; i < 200; ++i) {
        Backoff copy = b;
        if (copy.onFailure(rng, now) > 9'600) beyondOutage = true;
        Backoff plainCopy = plain;
        plainMax = std::max(plainMax, plainCopy.onFailure(rng2));
    }
    CHECK(b.failures() == 8);
    CHECK_FALSE(beyondOutage);
    CHECK(plainMax > 60'000);   // without the bound the ninth wait reaches far past the outage

    // The outage starts again after a success.
    b.reset();
    for (int i = 0; i < 50; ++i) {
        Backoff copy = b;
        CHECK(copy.onFailure(rng, now + 1'000'000) <= 1'000);
    }
}

TEST_CASE("the worker's plan bounds the backoff by the time down and still honours Retry-After",
          "[backoff][plan]") {
    std::mt19937_64 rng(5);
    const RetryPolicy policy;
    Backoff b;
    for (int i = 0; i < 12; ++i)
        (void)planAfterFailure(SendFailure{SendError::Offline, "", {}, {}}, b, rng, policy, 1'000 + i);
    const Plan p = planAfterFailure(SendFailure{SendError::Offline, "", {}, {}}, b, rng, policy, 1'012);
    CHECK(p.state == SyncState::Retrying);
    CHECK(p.waitMs <= 1'000);   // 13 failures within 12 ms: the base, not the 5 min cap
    const Plan r = planAfterFailure(SendFailure{SendError::RateLimited, "", 429, 30'000}, b, rng, policy, 1'013);
    CHECK(r.waitMs >= 30'000);
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
