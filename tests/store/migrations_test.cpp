// Every older schema is migrated to the newest with its data intact; a failing migration
// leaves the file at the version before it.
#include <catch2/catch.hpp>

#include <sqlite3.h>

#include "store/database.hpp"
#include "store/meta.hpp"
#include "store/outbox.hpp"
#include "store/responses.hpp"
#include "tests/store/support.hpp"

using namespace segue;
using namespace segue::store;
using segue::store::test::TempDir;

namespace {

void rawExec(Database& db, const char* sql) {
    char* msg = nullptr;
    const int rc = sqlite3_exec(db.handle(), sql, nullptr, nullptr, &msg);
    INFO(sql << " -> " << (msg ? msg : ""));
    sqlite3_free(msg);
    REQUIRE(rc == SQLITE_OK);
}

/// Inserts `r` with the columns that existed at schema version 1 and 2 (no `synthetic`),
/// as a build of that era would have.
void insertOldResponse(Database& db, const core::Response& r) {
    sqlite3_stmt* st = nullptr;
    REQUIRE(sqlite3_prepare_v2(db.handle(),
                               "INSERT INTO responses (id, store_id, device_id, survey_id, survey_version,"
                               " language, created_at_ms, local_date, local_hour, utc_offset_min, stars,"
                               " segue_satisfactory, segue_efficient, segue_genuine, segue_understanding,"
                               " segue_effective, complete, misuse, duration_ms)"
                               " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                               -1, &st, nullptr) == SQLITE_OK);
    int i = 1;
    auto text = [&](const std::string& s) { sqlite3_bind_text(st, i++, s.c_str(), -1, SQLITE_TRANSIENT); };
    auto num = [&](std::int64_t v) { sqlite3_bind_int64(st, i++, v); };
    text(r.id);
    text(r.storeId);
    text(r.deviceId);
    text(r.surveyId);
    num(r.surveyVersion);
    text(r.language);
    num(r.createdAtMs);
    text(r.localDate);
    num(r.localHour);
    num(r.utcOffsetMin);
    num(r.stars);
    for (const auto& s : r.segue) {
        if (s) num(*s);
        else sqlite3_bind_null(st, i++);
    }
    num(r.complete);
    num(r.misuse);
    num(r.durationMs);
    const int rc = sqlite3_step(st);
    INFO(sqlite3_errmsg(db.handle()));
    sqlite3_finalize(st);
    REQUIRE(rc == SQLITE_DONE);

    for (std::size_t p = 0; p < r.tags.size(); ++p) {
        REQUIRE(sqlite3_prepare_v2(db.handle(), "INSERT INTO response_tags VALUES (?, ?, ?)", -1, &st, nullptr) ==
                SQLITE_OK);
        sqlite3_bind_text(st, 1, r.id.c_str(), -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 2, static_cast<std::int64_t>(p));
        sqlite3_bind_text(st, 3, r.tags[p].c_str(), -1, SQLITE_TRANSIENT);
        const int trc = sqlite3_step(st);
        sqlite3_finalize(st);
        REQUIRE(trc == SQLITE_DONE);
    }
}

void insertOldOutbox(Database& db, const std::string& id, const char* state, const char* reason,
                     std::optional<std::int64_t> syncedAt) {
    sqlite3_stmt* st = nullptr;
    REQUIRE(sqlite3_prepare_v2(db.handle(),
                               "INSERT INTO outbox (response_id, state, reason, attempts, synced_at_ms)"
                               " VALUES (?, ?, ?, 1, ?)",
                               -1, &st, nullptr) == SQLITE_OK);
    sqlite3_bind_text(st, 1, id.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, state, -1, SQLITE_STATIC);
    if (reason) sqlite3_bind_text(st, 3, reason, -1, SQLITE_STATIC);
    if (syncedAt) sqlite3_bind_int64(st, 4, *syncedAt);
    const int rc = sqlite3_step(st);
    INFO(sqlite3_errmsg(db.handle()));
    sqlite3_finalize(st);
    REQUIRE(rc == SQLITE_DONE);
}

std::vector<core::Response> oldEraResponses() {
    auto rs = test::randomResponses(2024, 40, 5);
    for (auto& r : rs) r.synthetic = false;   // the column did not exist yet
    rs[0].tags = {"not_solved", "attitude", "waited_too_long"};
    rs[0].segue = {5, std::nullopt, 3, std::nullopt, 1};
    rs[1].misuse = true;
    rs[2].complete = false;
    rs[2].segue = {};
    return rs;
}

} // namespace

TEST_CASE("every older schema version migrates to the newest with its data intact", "[store][migrations]") {
    REQUIRE(latestSchemaVersion() >= 3);
    for (int v = 0; v < latestSchemaVersion(); ++v) {
        DYNAMIC_SECTION("from version " << v) {
            TempDir dir;
            const auto file = dir / "kiosk.sqlite";
            const auto rs = oldEraResponses();
            constexpr std::int64_t kSyncedAt = 1'795'000'100'000;
            {
                auto old = Database::openAtVersion(file, v);
                REQUIRE(old.has_value());
                REQUIRE(old->schemaVersion() == v);
                if (v == 0) {
                    CHECK(test::queryInt(*old, "SELECT COUNT(*) FROM sqlite_master") == 0);
                }
                if (v >= 1) {
                    rawExec(*old, "BEGIN");
                    for (const auto& r : rs) insertOldResponse(*old, r);
                    rawExec(*old, "COMMIT");
                }
                if (v >= 2) {
                    // Version 2 terminals kept outbox rows; keep their states through the upgrade.
                    insertOldOutbox(*old, rs[0].id, "synced", nullptr, kSyncedAt);
                    insertOldOutbox(*old, rs[1].id, "rejected", "conflict", std::nullopt);
                    for (std::size_t i = 2; i < rs.size(); ++i)
                        insertOldOutbox(*old, rs[i].id, "pending", nullptr, std::nullopt);
                }
                if (v < 3) {
                    CHECK(test::queryInt(*old, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'meta'") == 0);
                }
            }

            auto db = Database::open(file);
            REQUIRE(db.has_value());
            CHECK(db->schemaVersion() == latestSchemaVersion());
            CHECK(db->report().migratedFrom == v);
            CHECK(db->report().schemaVersion == latestSchemaVersion());
            CHECK_FALSE(db->report().recreated);
            CHECK(test::queryTexts(*db, "PRAGMA integrity_check") == std::vector<std::string>{"ok"});
            CHECK(test::queryTexts(*db, "PRAGMA foreign_key_check").empty());
            // Made by migration 3, unread since 5, dropped by 7.
            CHECK(test::queryInt(*db, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'responses_stats'") == 0);
            CHECK(test::queryInt(*db, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'responses_by_created'") == 1);
            CHECK(test::queryInt(*db, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'responses_by_local_date'") == 0);

            if (v >= 1) {
                for (const auto& r : rs) {
                    auto found = findResponse(*db, r.id);
                    REQUIRE(found.has_value());
                    REQUIRE(found->has_value());
                    CHECK(**found == r);
                }
                auto counts = outboxCounts(*db);
                REQUIRE(counts.has_value());
                if (v == 1) {
                    // Stored before sync existed: the whole backlog is pending.
                    CHECK(counts->pending == static_cast<std::int64_t>(rs.size()));
                    CHECK(counts->synced == 0);
                } else {
                    CHECK(counts->pending == static_cast<std::int64_t>(rs.size()) - 2);
                    CHECK(counts->synced == 1);
                    CHECK(counts->rejected == 1);
                    auto rejected = rejectedList(*db, 10);
                    REQUIRE(rejected.has_value());
                    REQUIRE(rejected->size() == 1);
                    CHECK((*rejected)[0].id == rs[1].id);
                    CHECK((*rejected)[0].reason == "conflict");
                }
                core::Tally expected;
                for (const auto& r : rs) expected.add(r);
                auto t = tally(*db, "2000-01-01", "2099-12-31");
                REQUIRE(t.has_value());
                CHECK(*t == expected);
            }

            // The upgraded file takes new data of the newest shape.
            auto fresh = test::randomResponses(99, 1, 1);
            fresh[0].synthetic = true;
            REQUIRE(saveResponse(*db, fresh[0]).has_value());
            CHECK(findResponse(*db, fresh[0].id)->value() == fresh[0]);
            REQUIRE(setMeta(*db, "k", "v").has_value());
            CHECK(getMeta(*db, "k")->value() == "v");
        }
    }
}

TEST_CASE("migrations can be applied one version at a time", "[store][migrations]") {
    TempDir dir;
    const auto file = dir / "kiosk.sqlite";
    for (int v = 0; v <= latestSchemaVersion(); ++v) {
        auto db = Database::openAtVersion(file, v);
        REQUIRE(db.has_value());
        CHECK(db->report().migratedFrom == (v == 0 ? 0 : v - 1));
        CHECK(db->schemaVersion() == v);
    }
}

TEST_CASE("a migration that fails is rolled back as a whole and can be retried", "[store][migrations]") {
    TempDir dir;
    const auto file = dir / "kiosk.sqlite";
    const int last = 3;   // 0003 creates meta, synthetic and two indexes, in that order
    const auto rs = oldEraResponses();
    {
        auto old = Database::openAtVersion(file, last - 1);
        REQUIRE(old.has_value());
        for (const auto& r : rs) insertOldResponse(*old, r);
        // A stray object named like one the last migration creates near its end.
        rawExec(*old, "CREATE INDEX responses_by_created ON outbox (attempts)");
    }
    auto failed = Database::openAtVersion(file, last);
    REQUIRE_FALSE(failed.has_value());
    CHECK_THAT(failed.error().message, Catch::Contains("responses_by_created"));
    CHECK_FALSE(std::filesystem::exists(file.string() + ".corrupt-"));

    {
        auto old = Database::openAtVersion(file, last - 1);
        REQUIRE(old.has_value());
        CHECK(old->schemaVersion() == last - 1);
        // Nothing of the failed script is left: no table, no column, no new index.
        CHECK(test::queryInt(*old, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'meta'") == 0);
        CHECK(test::queryInt(*old, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'responses_stats'") == 0);
        CHECK(test::queryInt(*old, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'responses_by_local_date'") == 1);
        CHECK(test::queryInt(*old, "SELECT COUNT(*) FROM pragma_table_info('responses') WHERE name = 'synthetic'") == 0);
        CHECK(test::queryInt(*old, "SELECT COUNT(*) FROM responses") == static_cast<std::int64_t>(rs.size()));
        rawExec(*old, "DROP INDEX responses_by_created");
    }
    auto db = Database::open(file);
    REQUIRE(db.has_value());
    CHECK(db->schemaVersion() == latestSchemaVersion());
    CHECK(test::queryInt(*db, "SELECT COUNT(*) FROM responses") == static_cast<std::int64_t>(rs.size()));
}
