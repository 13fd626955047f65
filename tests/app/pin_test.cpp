// The staff PIN: Argon2id hashes via libsodium, never the PIN itself.
#include <catch2/catch.hpp>

#include "app/pin.hpp"

using namespace segue::app;

TEST_CASE("a PIN hashes to an Argon2id string that verifies only that PIN", "[app][pin]") {
    const auto hash = hashPin("482913");
    REQUIRE(hash.has_value());
    CHECK(hash->rfind("$argon2id$", 0) == 0);
    CHECK(hash->find("482913") == std::string::npos);
    CHECK(verifyPin(*hash, "482913"));
    CHECK_FALSE(verifyPin(*hash, "482914"));
    CHECK_FALSE(verifyPin(*hash, "48291"));
    CHECK_FALSE(verifyPin(*hash, ""));
    // Salted: the same PIN hashes differently each time, and both verify.
    const auto again = hashPin("482913");
    REQUIRE(again.has_value());
    CHECK(*again != *hash);
    CHECK(verifyPin(*again, "482913"));
}

TEST_CASE("PINs are 4 to 8 digits", "[app][pin]") {
    CHECK(isValidPin("1234"));
    CHECK(isValidPin("12345678"));
    CHECK_FALSE(isValidPin("123"));
    CHECK_FALSE(isValidPin("123456789"));
    CHECK_FALSE(isValidPin("12a4"));
    CHECK_FALSE(isValidPin(""));
    const auto bad = hashPin("12 34");
    REQUIRE_FALSE(bad.has_value());
    CHECK_FALSE(bad.error().empty());
}

TEST_CASE("a malformed stored hash never verifies", "[app][pin]") {
    CHECK_FALSE(verifyPin("", "1234"));
    CHECK_FALSE(verifyPin("1234", "1234"));
    CHECK_FALSE(verifyPin("$argon2id$v=19$m=65536,t=2,p=1$garbage", "1234"));
    CHECK_FALSE(verifyPin(std::string(500, 'x'), "1234"));
    CHECK_FALSE(verifyPin(std::string("$argon2id\0$", 11), "1234"));
}

TEST_CASE("the lockout policy: doubling locks, capped, counted across failures", "[app][pin]") {
    CHECK(pinLockDurationMs(1) == 60'000);
    CHECK(pinLockDurationMs(2) == 120'000);
    CHECK(pinLockDurationMs(3) == 240'000);
    CHECK(pinLockDurationMs(6) == 1'920'000);
    CHECK(pinLockDurationMs(7) == 3'600'000);
    CHECK(pinLockDurationMs(1000) == 3'600'000);

    segue::store::PinLock lock;
    for (int i = 1; i < kPinFailuresPerLock; ++i) {
        lock = afterPinFailure(lock, 1'000);
        CHECK(lock.failures == i);
        CHECK(lock.locks == 0);
        CHECK(pinLockRemainingMs(lock, 1'000) == 0);
    }
    lock = afterPinFailure(lock, 5'000);
    CHECK(lock.failures == 0);
    CHECK(lock.locks == 1);
    CHECK(lock.lockedAtUtcMs == 5'000);
    CHECK(lock.lockedUntilUtcMs == 65'000);
    CHECK(pinLockRemainingMs(lock, 5'000) == 60'000);
    CHECK(pinLockRemainingMs(lock, 35'000) == 30'000);
    CHECK(pinLockRemainingMs(lock, 65'000) == 0);
    // A clock that went back before the lock began: the lock's own length, never more.
    CHECK(pinLockRemainingMs(lock, -86'400'000) == 60'000);
    // A value edited to last for ever counts as the cap.
    segue::store::PinLock forever{0, 1, 0, 1LL << 60};
    CHECK(pinLockRemainingMs(forever, 1'000) == kPinMaxLockMs);
}
