// Issue 17 on the wire: a record's sealed callback contact in the batch, and the ack's
// open_callbacks.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "sync/config_fetch.hpp"
#include "sync/wire.hpp"
#include "tests/sync/support.hpp"

using namespace segue;

TEST_CASE("a batch carries callback_contact on the records that have one, keys in byte order", "[sync][callback]") {
    wire::Batch b;
    b.batchId = "0190f000-0000-7000-8000-000000000001";
    b.deviceId = "kiosk-1";
    b.sentAtMs = 1'795'000'000'000;
    b.appVersion = "test";
    b.responses = test::makeResponses(3, "store-1", "kiosk-1", b.sentAtMs);
    b.responses[1].callbackRequested = true;
    b.sealedContacts[b.responses[1].id] = "U0VBTEVE";
    const std::string body = wire::encodeBatch(b);
    const auto j = nlohmann::json::parse(body);
    CHECK(j.dump() == body);   // byte for byte what the tree writes
    const auto& records = j.at("responses");
    CHECK_FALSE(records[0].contains("callback_contact"));
    CHECK(records[0].at("callback_requested") == false);
    CHECK(records[1].at("callback_contact") == "U0VBTEVE");
    CHECK(records[1].at("callback_requested") == true);
    // Today's decoder reads the record and leaves the contact out of the response.
    const auto decoded = wire::decodeBatch(body);
    REQUIRE(decoded.has_value());
    REQUIRE(decoded->invalid.empty());
    CHECK(decoded->batch.responses == b.responses);
}

TEST_CASE("the ack's open_callbacks is optional and must be a count", "[sync][callback]") {
    const std::string head = R"({"accepted":[],"duplicates":[],"rejected":[],"server_time":"2026-12-06T06:00:00.000Z")";
    const auto none = wire::decodeAck(head + "}");
    REQUIRE(none.has_value());
    CHECK_FALSE(none->openCallbacks);
    const auto three = wire::decodeAck(head + R"(,"open_callbacks":3})");
    REQUIRE(three.has_value());
    CHECK(three->openCallbacks == std::optional<std::int64_t>(3));
    CHECK_FALSE(wire::decodeAck(head + R"(,"open_callbacks":-1})").has_value());
    CHECK_FALSE(wire::decodeAck(head + R"(,"open_callbacks":"3"})").has_value());
}

TEST_CASE("HQ's contact_public_key must be 32 bytes of standard base64", "[sync][callback]") {
    CHECK(sync::isContactPublicKey("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="));
    CHECK(sync::isContactPublicKey("q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA="));
    CHECK_FALSE(sync::isContactPublicKey("q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJB="));   // non-zero padding bits
    CHECK_FALSE(sync::isContactPublicKey("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="));  // 31 bytes
    CHECK_FALSE(sync::isContactPublicKey("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
    CHECK_FALSE(sync::isContactPublicKey("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA-="));   // URL-safe alphabet
    CHECK_FALSE(sync::isContactPublicKey(""));
}
