// The outbox: pending → synced / rejected, oldest first, nothing resent or lost.
#include <catch2/catch.hpp>

#include <algorithm>
#include <random>

#include "store/database.hpp"
#include "store/outbox.hpp"
#include "store/responses.hpp"
#include "tests/store/support.hpp"

using namespace segue;
using namespace segue::store;
using segue::store::test::TempDir;

namespace {

std::vector<std::string> idsOf(const std::vector<core::Response>& rs) {
    std::vector<std::string> out;
    for (const auto& r : rs) out.push_back(r.id);
    return out;
}

} // namespace

TEST_CASE("pendingBatch hands out pending responses oldest first, whole", "[store][outbox]") {
    TempDir dir;
    auto db = Database::open(dir / "kiosk.sqlite");
    REQUIRE(db.has_value());
    const auto rs = test::randomResponses(42, 120, 2);
    // Saved newest first: the order must come from the time-ordered ids, not insertion.
    for (auto it = rs.rbegin(); it != rs.rend(); ++it) REQUIRE(saveResponse(*db, *it).has_value());

    auto batch = pendingBatch(*db, 50);
    REQUIRE(batch.has_value());
    REQUIRE(batch->size() == 50);
    for (std::size_t i = 0; i < 50; ++i) CHECK((*batch)[i] == rs[i]);

    auto everything = pendingBatch(*db, 1000);
    REQUIRE(everything.has_value());
    CHECK(everything->size() == 120);
    CHECK(pendingBatch(*db, 0)->empty());
    CHECK(pendingBatch(*db, -1).error().kind == ErrorKind::Invalid);
}

TEST_CASE("synced and rejected responses leave the pending batches and are never resent", "[store][outbox]") {
    TempDir dir;
    auto db = Database::open(dir / "kiosk.sqlite");
    REQUIRE(db.has_value());
    const auto rs = test::randomResponses(43, 30, 1);
    REQUIRE(saveResponses(*db, rs).has_value());

    auto counts = outboxCounts(*db);
    REQUIRE(counts.has_value());
    CHECK(counts->pending == 30);
    CHECK(counts->synced == 0);
    CHECK(counts->rejected == 0);
    CHECK(counts->oldestPendingUtcMs == rs[0].createdAtMs);

    auto first = pendingBatch(*db, 10);
    REQUIRE(first.has_value());
    // HQ accepted 8, rejected 2 of the first batch.
    std::vector<std::string> accepted = idsOf(std::vector<core::Response>(first->begin(), first->begin() + 8));
    REQUIRE(markSynced(*db, accepted, 1'795'000'500'000).has_value());
    REQUIRE(markRejected(*db, {{(*first)[8].id, "stars out of range"}, {(*first)[9].id, "conflict"}}).has_value());

    counts = outboxCounts(*db);
    REQUIRE(counts.has_value());
    CHECK(counts->pending == 20);
    CHECK(counts->synced == 8);
    CHECK(counts->rejected == 2);
    CHECK(counts->oldestPendingUtcMs == rs[10].createdAtMs);

    auto next = pendingBatch(*db, 100);
    REQUIRE(next.has_value());
    REQUIRE(next->size() == 20);
    CHECK(next->front() == rs[10]);

    auto rejected = rejectedList(*db, 10);
    REQUIRE(rejected.has_value());
    REQUIRE(rejected->size() == 2);
    CHECK((*rejected)[0].id == rs[8].id);
    CHECK((*rejected)[0].reason == "stars out of range");
    CHECK((*rejected)[1].reason == "conflict");
    CHECK(rejectedList(*db, 1)->size() == 1);

    // Rejected and synced responses are still stored, whole.
    CHECK(findResponse(*db, rs[9].id)->value() == rs[9]);
    CHECK(findResponse(*db, rs[0].id)->value() == rs[0]);

    // Everything synced: nothing pending, no oldest.
    REQUIRE(markSynced(*db, idsOf(*next), 1'795'000'600'000).has_value());
    counts = outboxCounts(*db);
    CHECK(counts->pending == 0);
    CHECK(counts->synced == 28);
    CHECK_FALSE(counts->oldestPendingUtcMs.has_value());
    CHECK(pendingBatch(*db, 100)->empty());
}

TEST_CASE("a repeated ack keeps the first sync time and counts the attempt", "[store][outbox]") {
    TempDir dir;
    auto db = Database::open(dir / "kiosk.sqlite");
    REQUIRE(db.has_value());
    const auto rs = test::randomResponses(44, 1, 1);
    REQUIRE(saveResponse(*db, rs[0]).has_value());
    REQUIRE(markSynced(*db, {rs[0].id}, 1000).has_value());
    REQUIRE(markSynced(*db, {rs[0].id}, 2000).has_value());   // a duplicate ack after a lost reply
    CHECK(test::queryInt(*db, "SELECT synced_at_ms FROM outbox WHERE response_id = ?1", {rs[0].id}) == 1000);
    CHECK(test::queryInt(*db, "SELECT attempts FROM outbox WHERE response_id = ?1", {rs[0].id}) == 2);
    CHECK(outboxCounts(*db)->synced == 1);
    // Listed twice in one ack: one attempt, still one synced response.
    REQUIRE(markSynced(*db, {rs[0].id, rs[0].id}, 3000).has_value());
    CHECK(test::queryInt(*db, "SELECT attempts FROM outbox WHERE response_id = ?1", {rs[0].id}) == 3);
    CHECK(test::queryInt(*db, "SELECT synced_at_ms FROM outbox WHERE response_id = ?1", {rs[0].id}) == 1000);
    CHECK(outboxCounts(*db)->synced == 1);
}

TEST_CASE("an ack for an unknown id changes nothing at all", "[store][outbox]") {
    TempDir dir;
    auto db = Database::open(dir / "kiosk.sqlite");
    REQUIRE(db.has_value());
    const auto rs = test::randomResponses(45, 3, 1);
    REQUIRE(saveResponses(*db, rs).has_value());
    const std::string stranger = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";

    auto synced = markSynced(*db, {rs[0].id, stranger, rs[1].id}, 5000);
    REQUIRE_FALSE(synced.has_value());
    CHECK(synced.error().kind == ErrorKind::Invalid);
    CHECK_THAT(synced.error().message, Catch::Contains(stranger));
    CHECK(outboxCounts(*db)->pending == 3);   // rs[0] was rolled back with the rest

    auto rejected = markRejected(*db, {{rs[2].id, "bad"}, {stranger, "bad"}});
    REQUIRE_FALSE(rejected.has_value());
    CHECK(rejected.error().kind == ErrorKind::Invalid);
    CHECK(outboxCounts(*db)->pending == 3);
    CHECK(outboxCounts(*db)->rejected == 0);
}

TEST_CASE("applyAck records HQ's whole answer in one transaction, or none of it", "[store][outbox]") {
    TempDir dir;
    auto db = Database::open(dir / "kiosk.sqlite");
    REQUIRE(db.has_value());
    const auto rs = test::randomResponses(47, 4, 1);
    REQUIRE(saveResponses(*db, rs).has_value());
    const std::string stranger = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";

    // The synced part is valid, the rejected part names a stranger: nothing may stick.
    auto bad = applyAck(*db, {rs[0].id, rs[1].id}, 7000, {{stranger, "conflict"}});
    REQUIRE_FALSE(bad.has_value());
    CHECK(outboxCounts(*db)->pending == 4);
    CHECK(outboxCounts(*db)->synced == 0);
    // The ack is written without its own fdatasync; the customers' commits after it keep theirs.
    CHECK(test::queryInt(*db, "PRAGMA synchronous") == 2);

    REQUIRE(applyAck(*db, {rs[0].id, rs[1].id}, 7000, {{rs[2].id, "stars must be 1..5"}}).has_value());
    const auto counts = outboxCounts(*db);
    CHECK(counts->pending == 1);
    CHECK(counts->synced == 2);
    CHECK(counts->rejected == 1);
    const auto list = rejectedList(*db, 10);
    REQUIRE(list->size() == 1);
    CHECK((*list)[0].id == rs[2].id);
    CHECK((*list)[0].reason == "stars must be 1..5");
    const auto next = pendingBatch(*db, 10);
    REQUIRE(next->size() == 1);
    CHECK((*next)[0].id == rs[3].id);
    CHECK(test::queryInt(*db, "PRAGMA synchronous") == 2);   // FULL again for the next tap
}

TEST_CASE("pendingBatch after an id hands out only the later ones", "[store][outbox]") {
    TempDir dir;
    auto db = Database::open(dir / "kiosk.sqlite");
    REQUIRE(db.has_value());
    auto rs = test::randomResponses(48, 10, 1);
    REQUIRE(saveResponses(*db, rs).has_value());
    std::sort(rs.begin(), rs.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    const auto after = pendingBatch(*db, 4, rs[5].id);
    REQUIRE(after.has_value());
    REQUIRE(after->size() == 4);
    CHECK((*after)[0].id == rs[6].id);
    CHECK((*after)[3].id == rs[9].id);
    CHECK(pendingBatch(*db, 4, rs[9].id)->empty());
    CHECK(pendingBatch(*db, 20, "")->size() == 10);
}

TEST_CASE("outbox state survives reopening", "[store][outbox]") {
    TempDir dir;
    const auto file = dir / "kiosk.sqlite";
    const auto rs = test::randomResponses(46, 6, 1);
    {
        auto db = Database::open(file);
        REQUIRE(db.has_value());
        REQUIRE(saveResponses(*db, rs).has_value());
        REQUIRE(markSynced(*db, {rs[0].id, rs[1].id}, 7000).has_value());
        REQUIRE(markRejected(*db, {{rs[2].id, "wrong store"}}).has_value());
    }
    auto db = Database::open(file);
    REQUIRE(db.has_value());
    auto counts = outboxCounts(*db);
    REQUIRE(counts.has_value());
    CHECK(counts->pending == 3);
    CHECK(counts->synced == 2);
    CHECK(counts->rejected == 1);
    CHECK(rejectedList(*db, 5)->front().reason == "wrong store");
    CHECK(pendingBatch(*db, 10)->front() == rs[3]);
}

TEST_CASE("the kept outbox counts always equal counting the rows", "[store][outbox]") {
    TempDir dir;
    auto db = Database::open(dir / "kiosk.sqlite");
    REQUIRE(db.has_value());
    const auto rs = test::randomResponses(47, 400, 2);
    REQUIRE(saveResponses(*db, rs).has_value());
    std::mt19937 rng(3);
    for (int round = 0; round < 40; ++round) {
        std::vector<std::string> synced;
        std::vector<Rejection> rejected;
        for (int k = 0; k < 10; ++k) {
            const auto& id = rs[rng() % rs.size()].id;
            if (rng() % 3 == 0) rejected.push_back({id, "r" + std::to_string(round)});
            else synced.push_back(id);
        }
        REQUIRE(markSynced(*db, synced, 1000 + round).has_value());
        REQUIRE(markRejected(*db, rejected).has_value());
        // A failed call changes no count either.
        REQUIRE_FALSE(markSynced(*db, {rs[0].id, "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"}, 1).has_value());

        auto counts = outboxCounts(*db);
        REQUIRE(counts.has_value());
        CHECK(counts->pending == test::queryInt(*db, "SELECT COUNT(*) FROM outbox WHERE state = 'pending'"));
        CHECK(counts->synced == test::queryInt(*db, "SELECT COUNT(*) FROM outbox WHERE state = 'synced'"));
        CHECK(counts->rejected == test::queryInt(*db, "SELECT COUNT(*) FROM outbox WHERE state = 'rejected'"));
        CHECK(counts->pending + counts->synced + counts->rejected == 400);
    }
}
