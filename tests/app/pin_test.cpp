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
