// Database::open: pragmas, directories, schema versions, error mapping.
#include <catch2/catch.hpp>

#include <sqlite3.h>

#include "store/database.hpp"
#include "store/migrations.hpp"
#include "store/responses.hpp"
#include "tests/store/support.hpp"

using namespace segue;
using namespace segue::store;
using segue::store::test::TempDir;

TEST_CASE("open creates the directory and a WAL database with FULL sync and foreign keys", "[store][database]") {
    TempDir dir;
    const auto file = dir / "nested/data/kiosk.sqlite";
    auto db = Database::open(file);
    REQUIRE(db.has_value());
    CHECK(std::filesystem::is_regular_file(file));
    CHECK(db->path() == file);

    CHECK(test::queryTexts(*db, "PRAGMA journal_mode") == std::vector<std::string>{"wal"});
    CHECK(test::queryInt(*db, "PRAGMA synchronous") == 2);   // FULL
    CHECK(test::queryInt(*db, "PRAGMA foreign_keys") == 1);
    CHECK(test::queryInt(*db, "PRAGMA busy_timeout") >= 1000);

    CHECK(db->schemaVersion() == latestSchemaVersion());
    CHECK(db->report().migratedFrom == 0);
    CHECK(db->report().schemaVersion == latestSchemaVersion());
    CHECK_FALSE(db->report().recreated);
    CHECK(db->report().movedAsidePath.empty());

    const auto tables = test::queryTexts(*db, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name");
    CHECK(tables == std::vector<std::string>{"callback_contacts", "day_hour_tallies", "day_tag_counts", "meta", "outbox", "outbox_counts",
                                             "response_tags", "responses"});
}

TEST_CASE("a connection's page cache stays within kPageCacheKiB however large the file", "[store][database]") {
    TempDir dir;
    const auto file = dir / "kiosk.sqlite";
    {
        auto db = Database::open(file);
        REQUIRE(db.has_value());
        REQUIRE(saveResponses(*db, test::randomResponses(7, 20'000, 60)).has_value());
    }
    const auto fileBytes = std::filesystem::file_size(file);
    REQUIRE(fileBytes > 4u * kPageCacheKiB * 1024u);   // far more than the cache could hold

    auto db = Database::open(file);
    REQUIRE(db.has_value());
    CHECK(test::queryInt(*db, "PRAGMA cache_size") == -kPageCacheKiB);
    // Every page of the responses table passes through the cache.
    CHECK(test::queryInt(*db, "SELECT count(*) FROM responses WHERE duration_ms + stars >= 0") == 20'000);
    int used = 0, highwater = 0;
    REQUIRE(sqlite3_db_status(db->handle(), SQLITE_DBSTATUS_CACHE_USED, &used, &highwater, 0) == SQLITE_OK);
    INFO("file " << fileBytes << " bytes, cache " << used << " bytes");
    CHECK(used > 0);
    CHECK(used <= kPageCacheKiB * 1024 * 5 / 4);   // SQLite counts each page's header too
}

TEST_CASE("reopening an up-to-date file migrates nothing and keeps WAL", "[store][database]") {
    TempDir dir;
    const auto file = dir / "kiosk.sqlite";
    { REQUIRE(Database::open(file).has_value()); }
    auto again = Database::open(file);
    REQUIRE(again.has_value());
    CHECK(again->report().migratedFrom == latestSchemaVersion());
    CHECK(again->report().schemaVersion == latestSchemaVersion());
    CHECK(test::queryTexts(*again, "PRAGMA journal_mode") == std::vector<std::string>{"wal"});
}

TEST_CASE("migrations are numbered 1..N without gaps, at least three of them", "[store][database]") {
    const auto& list = migrations();
    REQUIRE(list.size() >= 3);
    CHECK(latestSchemaVersion() == static_cast<int>(list.size()));
    for (std::size_t i = 0; i < list.size(); ++i) {
        INFO(list[i].name);
        CHECK(list[i].version == static_cast<int>(i) + 1);
        CHECK(list[i].name.ends_with(".sql"));
        // The embedded text is whole SQL, ending with a complete statement.
        const std::string sql(list[i].sql);
        CHECK(sql.find_first_not_of(" \n") != std::string::npos);
        CHECK(sqlite3_complete(sql.c_str()) == 1);
    }
}

TEST_CASE("a file with a newer schema is refused and left byte for byte untouched", "[store][database]") {
    TempDir dir;
    const auto file = dir / "kiosk.sqlite";
    {
        auto db = Database::open(file);
        REQUIRE(db.has_value());
        const std::string bump = "PRAGMA user_version = " + std::to_string(latestSchemaVersion() + 1);
        REQUIRE(db->exec(bump.c_str()).has_value());
        REQUIRE(db->exec("PRAGMA wal_checkpoint(TRUNCATE)").has_value());
    }
    const std::string before = test::readBytes(file);

    auto db = Database::open(file);
    REQUIRE_FALSE(db.has_value());
    CHECK(db.error().kind == ErrorKind::Schema);
    CHECK_THAT(db.error().message, Catch::Contains(std::to_string(latestSchemaVersion() + 1)));
    CHECK(test::readBytes(file) == before);
    for (const auto& entry : std::filesystem::directory_iterator(dir.path()))
        CHECK(entry.path().filename().string().find("corrupt") == std::string::npos);

    auto old = Database::openAtVersion(file, 1);
    REQUIRE_FALSE(old.has_value());
    CHECK(old.error().kind == ErrorKind::Schema);
}

TEST_CASE("openAtVersion stops at the version asked for", "[store][database]") {
    TempDir dir;
    for (int v = 0; v <= latestSchemaVersion(); ++v) {
        auto db = Database::openAtVersion(dir / ("v" + std::to_string(v) + ".sqlite"), v);
        REQUIRE(db.has_value());
        CHECK(db->schemaVersion() == v);
    }
    CHECK(Database::openAtVersion(dir / "bad.sqlite", latestSchemaVersion() + 1).error().kind == ErrorKind::Invalid);
    CHECK(Database::openAtVersion(dir / "bad.sqlite", -1).error().kind == ErrorKind::Invalid);
}

TEST_CASE("a data directory that cannot be made is an error naming it", "[store][database]") {
    TempDir dir;
    test::writeBytes(dir / "blocker", "a file where a directory should be");
    auto db = Database::open(dir / "blocker/sub/kiosk.sqlite");
    REQUIRE_FALSE(db.has_value());
    CHECK_THAT(db.error().message, Catch::Contains("blocker"));
    CHECK(test::readBytes(dir / "blocker") == "a file where a directory should be");
}

TEST_CASE("a directory in place of the database file is an open error, not a recovery", "[store][database]") {
    TempDir dir;
    std::filesystem::create_directories(dir / "kiosk.sqlite");
    auto db = Database::open(dir / "kiosk.sqlite");
    REQUIRE_FALSE(db.has_value());
    CHECK(db.error().kind == ErrorKind::ReadOnly);   // SQLITE_CANTOPEN
    CHECK(std::filesystem::is_directory(dir / "kiosk.sqlite"));
}

TEST_CASE("two connections to one file see each other's commits (the sync worker has its own)", "[store][database]") {
    TempDir dir;
    auto ui = Database::open(dir / "kiosk.sqlite");
    auto worker = Database::open(dir / "kiosk.sqlite");
    REQUIRE(ui.has_value());
    REQUIRE(worker.has_value());
    const auto rs = test::randomResponses(7, 3, 1);
    for (const auto& r : rs) REQUIRE(saveResponse(*ui, r).has_value());
    CHECK(test::queryInt(*worker, "SELECT COUNT(*) FROM responses") == 3);
}

TEST_CASE("moving a Database keeps one live connection", "[store][database]") {
    TempDir dir;
    auto db = Database::open(dir / "kiosk.sqlite");
    REQUIRE(db.has_value());
    Database moved = std::move(*db);
    CHECK(db->handle() == nullptr);
    CHECK(moved.schemaVersion() == latestSchemaVersion());
    auto other = Database::open(dir / "other.sqlite");
    REQUIRE(other.has_value());
    moved = std::move(*other);
    CHECK(moved.path() == dir / "other.sqlite");
    CHECK(moved.schemaVersion() == latestSchemaVersion());
}

TEST_CASE("exec reports sqlite's message and what was being done", "[store][database]") {
    TempDir dir;
    auto db = Database::open(dir / "kiosk.sqlite");
    REQUIRE(db.has_value());
    auto r = db->exec("SELECT * FROM no_such_table");
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().kind == ErrorKind::Io);
    CHECK_THAT(r.error().message, Catch::Contains("no such table: no_such_table"));
}

TEST_CASE("sqlite result codes map to error kinds, extended codes included", "[store][database]") {
    CHECK(classify(SQLITE_FULL) == ErrorKind::Full);
    CHECK(classify(SQLITE_READONLY) == ErrorKind::ReadOnly);
    CHECK(classify(SQLITE_READONLY_DBMOVED) == ErrorKind::ReadOnly);
    CHECK(classify(SQLITE_CANTOPEN) == ErrorKind::ReadOnly);
    CHECK(classify(SQLITE_PERM) == ErrorKind::ReadOnly);
    CHECK(classify(SQLITE_CORRUPT) == ErrorKind::Corrupt);
    CHECK(classify(SQLITE_NOTADB) == ErrorKind::Corrupt);
    CHECK(classify(SQLITE_BUSY) == ErrorKind::Busy);
    CHECK(classify(SQLITE_BUSY_SNAPSHOT) == ErrorKind::Busy);
    CHECK(classify(SQLITE_LOCKED) == ErrorKind::Busy);
    CHECK(classify(SQLITE_CONSTRAINT) == ErrorKind::Invalid);
    CHECK(classify(SQLITE_CONSTRAINT_PRIMARYKEY) == ErrorKind::Invalid);
    CHECK(classify(SQLITE_IOERR) == ErrorKind::Io);
    CHECK(classify(SQLITE_IOERR_FSYNC) == ErrorKind::Io);
    CHECK(classify(SQLITE_ERROR) == ErrorKind::Io);
}
