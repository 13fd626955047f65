// Sealed callback contacts (issue 17, migration 0008): saved in the response's transaction,
// read for a batch, deleted with HQ's ack, zeroed on delete (secure_delete).
#include <catch2/catch.hpp>

#include <random>

#include "store/database.hpp"
#include "store/outbox.hpp"
#include "store/responses.hpp"
#include "tests/store/support.hpp"

using namespace segue;
using namespace segue::store;
using segue::store::test::TempDir;

namespace {

// Stands in for a sealed box: the store only ever sees opaque text.
const std::string kSealed = "c2VhbGVkLWJveC1zdGFuZC1pbi1mb3ItdGhlLXN0b3JlLXRlc3QtMDEyMzQ1Njc4OQ==";

} // namespace

TEST_CASE("a sealed contact is saved with its response, read for the batch and erased by the ack",
          "[store][callback]") {
    TempDir dir;
    auto db = Database::open(dir.path() / "kiosk.sqlite");
    REQUIRE(db.has_value());
    CHECK(test::queryInt(*db, "PRAGMA secure_delete") == 1);
    auto rs = test::randomResponses(17, 3, 1);
    rs[1].callbackRequested = true;

    // A callback without its sealed contact, or a contact without a callback: refused whole.
    auto missing = saveResponse(*db, rs[1]);
    REQUIRE_FALSE(missing.has_value());
    CHECK(missing.error().kind == ErrorKind::Invalid);
    auto stray = saveResponse(*db, rs[0], kSealed);
    REQUIRE_FALSE(stray.has_value());
    CHECK(test::queryInt(*db, "SELECT COUNT(*) FROM responses") == 0);

    REQUIRE(saveResponse(*db, rs[0], std::nullopt).has_value());
    REQUIRE(saveResponse(*db, rs[1], kSealed).has_value());
    REQUIRE(saveResponses(*db, {rs[2]}, {}).has_value());
    CHECK(test::queryInt(*db, "SELECT callback_requested FROM responses WHERE id = ?1", {rs[1].id}) == 1);

    const auto pending = pendingBatch(*db, 10);
    REQUIRE(pending.has_value());
    REQUIRE(pending->size() == 3);
    CHECK((*pending)[1].callbackRequested);
    const auto contacts = sealedContacts(*db, *pending);
    REQUIRE(contacts.has_value());
    CHECK(*contacts == std::map<std::string, std::string>{{rs[1].id, kSealed}});

    // A rejected record keeps its contact (nothing is erased but what HQ holds).
    auto first = applyAck(*db, {rs[0].id}, 1000, {{rs[2].id, "bad"}});
    REQUIRE(first.has_value());
    CHECK(*first == 0);
    auto second = applyAck(*db, {rs[1].id}, 2000, {});
    REQUIRE(second.has_value());
    CHECK(*second == 1);
    CHECK(test::queryInt(*db, "SELECT COUNT(*) FROM callback_contacts") == 0);
    CHECK(test::queryInt(*db, "SELECT callback_requested FROM responses WHERE id = ?1", {rs[1].id}) == 1);

    // Acked twice (a duplicate after a lost reply): nothing left to erase.
    auto again = applyAck(*db, {rs[1].id}, 3000, {});
    REQUIRE(again.has_value());
    CHECK(*again == 0);
}

TEST_CASE("demo-style bulk saves take sealed contacts by id", "[store][callback]") {
    TempDir dir;
    auto db = Database::open(dir.path() / "kiosk.sqlite");
    REQUIRE(db.has_value());
    auto rs = test::randomResponses(5, 4, 1);
    rs[0].callbackRequested = true;
    rs[3].callbackRequested = true;
    REQUIRE_FALSE(saveResponses(*db, rs, {{rs[0].id, kSealed}}).has_value());   // rs[3] has none
    CHECK(test::queryInt(*db, "SELECT COUNT(*) FROM responses") == 0);
    REQUIRE(saveResponses(*db, rs, {{rs[0].id, kSealed}, {rs[3].id, kSealed + "x"}}).has_value());
    CHECK(test::queryInt(*db, "SELECT COUNT(*) FROM callback_contacts") == 2);
}
