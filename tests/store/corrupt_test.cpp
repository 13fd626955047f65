// A file that fails its check at start is moved aside under a timestamped name (never
// deleted), a fresh database replaces it, and the report is kept for the staff screen.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <regex>

#include <nlohmann/json.hpp>

#include "store/database.hpp"
#include "store/meta.hpp"
#include "store/outbox.hpp"
#include "store/responses.hpp"
#include "tests/store/support.hpp"

using namespace segue;
using namespace segue::store;
using segue::store::test::TempDir;

namespace {

std::string randomBytes(std::size_t n, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(rng() & 0xff);
    return s;
}

/// A real, multi-page database holding `count` responses, checkpointed into the main file.
void makeRealDatabase(const std::filesystem::path& file, int count) {
    auto db = Database::open(file);
    REQUIRE(db.has_value());
    REQUIRE(saveResponses(*db, test::randomResponses(5, count, 10)).has_value());
    REQUIRE(db->exec("PRAGMA wal_checkpoint(TRUNCATE)").has_value());
}

/// A real database (3 000 responses) whose pages 3..10, table and index pages, are overwritten
/// with noise; the header page is left alone so the file still opens. Returns the file's bytes.
std::string makeDamagedDatabase(const std::filesystem::path& file, std::uint64_t seed) {
    makeRealDatabase(file, 3000);
    std::string bytes = test::readBytes(file);
    const std::size_t page = 4096;
    REQUIRE(bytes.size() > 12 * page);
    const std::string noise = randomBytes(8 * page, seed);
    bytes.replace(2 * page, noise.size(), noise);
    test::writeBytes(file, bytes);
    return bytes;
}

/// Checks everything a recovery must leave behind; returns the moved-aside path.
std::filesystem::path checkRecovered(Database& db, const std::filesystem::path& file, const std::string& oldBytes) {
    const OpenReport& rep = db.report();
    REQUIRE(rep.recreated);
    CHECK_FALSE(rep.reason.empty());
    const std::filesystem::path moved = rep.movedAsidePath;
    INFO("moved to " << moved);
    CHECK(moved.parent_path() == file.parent_path());
    const std::regex name(R"(kiosk\.sqlite\.corrupt-\d{8}T\d{6}Z(-\d+)?)");
    CHECK(std::regex_match(moved.filename().string(), name));
    REQUIRE(std::filesystem::exists(moved));
    CHECK(test::readBytes(moved) == oldBytes);   // never deleted, never altered

    // A fresh, working database at the old path.
    CHECK(db.schemaVersion() == latestSchemaVersion());
    CHECK(rep.migratedFrom == 0);
    CHECK(test::queryInt(db, "SELECT COUNT(*) FROM responses") == 0);
    const auto r = test::randomResponses(77, 1, 1);
    REQUIRE(saveResponse(db, r[0]).has_value());
    CHECK(findResponse(db, r[0].id)->value() == r[0]);

    // The staff screen reads the report from meta.
    auto meta = getMeta(db, kMetaRecovery);
    REQUIRE(meta.has_value());
    REQUIRE(meta->has_value());
    const auto j = nlohmann::json::parse(**meta);
    CHECK(j.at("recreated") == true);
    CHECK(j.at("moved_aside_path") == moved.string());
    CHECK(j.at("reason") == rep.reason);
    CHECK(j.at("at").get<std::string>().size() == 24);
    return moved;
}

} // namespace

TEST_CASE("a file of garbage bytes is moved aside and a fresh database created", "[store][corrupt]") {
    TempDir dir;
    const auto file = dir / "kiosk.sqlite";
    const std::string garbage = randomBytes(8192, 1);
    test::writeBytes(file, garbage);

    auto db = Database::open(file);
    REQUIRE(db.has_value());
    checkRecovered(*db, file, garbage);
    CHECK_THAT(db->report().reason, Catch::Contains("not a database"));
}

TEST_CASE("a real database truncated in the middle of a page is moved aside", "[store][corrupt]") {
    TempDir dir;
    const auto file = dir / "kiosk.sqlite";
    makeRealDatabase(file, 3000);
    const auto size = std::filesystem::file_size(file);
    REQUIRE(size > 16 * 4096);
    std::filesystem::resize_file(file, size / 2 + 1000);   // not on a page boundary
    const std::string truncated = test::readBytes(file);

    auto db = Database::open(file);
    REQUIRE(db.has_value());
    checkRecovered(*db, file, truncated);
}

TEST_CASE("a database with overwritten b-tree pages is moved aside", "[store][corrupt]") {
    TempDir dir;
    const auto file = dir / "kiosk.sqlite";
    const std::string bytes = makeDamagedDatabase(file, 2);

    auto db = Database::open(file);
    REQUIRE(db.has_value());
    checkRecovered(*db, file, bytes);
    CHECK_FALSE(db->report().reason.empty());
}

TEST_CASE("with the check off only an unreadable header or schema is recovered; a checking open finds the rest",
          "[store][corrupt]") {
    TempDir dir;
    const auto file = dir / "kiosk.sqlite";
    OpenOptions unchecked;
    unchecked.check = false;

    SECTION("garbage bytes") {
        const std::string garbage = randomBytes(8192, 11);
        test::writeBytes(file, garbage);
        auto db = Database::open(file, unchecked);
        REQUIRE(db.has_value());
        checkRecovered(*db, file, garbage);
        CHECK_THAT(db->report().reason, Catch::Contains("not a database"));
    }
    SECTION("overwritten b-tree pages behind an intact schema page") {
        const std::string bytes = makeDamagedDatabase(file, 12);
        {
            // What a second connection of the same process sees: the file opens as it is.
            auto db = Database::open(file, unchecked);
            REQUIRE(db.has_value());
            CHECK_FALSE(db->report().recreated);
        }
        CHECK(test::readBytes(file) == bytes);
        auto db = Database::open(file);
        REQUIRE(db.has_value());
        checkRecovered(*db, file, bytes);
    }
}

TEST_CASE("the -wal and -shm companions move aside with the file", "[store][corrupt]") {
    TempDir dir;
    const auto file = dir / "kiosk.sqlite";
    const std::string garbage = randomBytes(4096, 3);
    const std::string wal = randomBytes(10000, 4);
    const std::string shm = randomBytes(32768, 5);
    test::writeBytes(file, garbage);
    test::writeBytes(dir / "kiosk.sqlite-wal", wal);
    test::writeBytes(dir / "kiosk.sqlite-shm", shm);

    auto db = Database::open(file);
    REQUIRE(db.has_value());
    const auto moved = checkRecovered(*db, file, garbage);
    REQUIRE(std::filesystem::exists(moved.string() + "-wal"));
    CHECK(test::readBytes(moved.string() + "-wal") == wal);
    // The -shm is sqlite's shared-memory index, rebuilt by whoever opens the file; it is moved
    // along so the set stays together, but its bytes are not evidence.
    CHECK(std::filesystem::exists(moved.string() + "-shm"));
    (void)shm;
}

TEST_CASE("a corrupt file whose WAL holds the newest commits keeps that WAL byte for byte", "[store][corrupt]") {
    TempDir dir;
    const auto file = dir / "kiosk.sqlite";
    // A kiosk that committed into its WAL and was then killed: the WAL is left behind.
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        auto db = Database::open(file);
        if (!db || !db->exec("PRAGMA wal_checkpoint(TRUNCATE)") || !db->exec("PRAGMA wal_autocheckpoint = 0")) ::_exit(3);
        if (!saveResponses(*db, test::randomResponses(12, 200, 2))) ::_exit(4);
        ::raise(SIGKILL);
        ::_exit(5);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFSIGNALED(status));
    const auto walPath = dir / "kiosk.sqlite-wal";
    REQUIRE(std::filesystem::exists(walPath));
    const std::string wal = test::readBytes(walPath);
    REQUIRE(wal.size() > 4096);

    // Damage every page after the first. Pages the inserts rewrote have newer copies in the
    // WAL, but those they never touched (the meta table's, for one) exist only here.
    std::string bytes = test::readBytes(file);
    REQUIRE(bytes.size() > 4 * 4096);
    const std::string noise = randomBytes(bytes.size() - 4096, 13);
    bytes.replace(4096, noise.size(), noise);
    test::writeBytes(file, bytes);

    auto db = Database::open(file);
    REQUIRE(db.has_value());
    const auto moved = checkRecovered(*db, file, bytes);
    REQUIRE(std::filesystem::exists(moved.string() + "-wal"));
    CHECK(test::readBytes(moved.string() + "-wal") == wal);
}

TEST_CASE("two recoveries never overwrite an earlier moved-aside file", "[store][corrupt]") {
    TempDir dir;
    const auto file = dir / "kiosk.sqlite";
    const std::string first = randomBytes(4096, 6);
    const std::string second = randomBytes(4096, 7);

    test::writeBytes(file, first);
    std::filesystem::path movedFirst;
    {
        auto db = Database::open(file);
        REQUIRE(db.has_value());
        movedFirst = db->report().movedAsidePath;
    }
    std::filesystem::remove(file.string() + "-wal");
    std::filesystem::remove(file.string() + "-shm");
    test::writeBytes(file, second);
    auto db = Database::open(file);
    REQUIRE(db.has_value());
    const std::filesystem::path movedSecond = db->report().movedAsidePath;
    CHECK(movedFirst != movedSecond);
    CHECK(test::readBytes(movedFirst) == first);
    CHECK(test::readBytes(movedSecond) == second);
    // The report of the latest recovery is the one kept.
    const auto j = nlohmann::json::parse(getMeta(*db, kMetaRecovery)->value());
    CHECK(j.at("moved_aside_path") == movedSecond.string());
}

TEST_CASE("with recovery off a corrupt file is a Corrupt error and stays where it is", "[store][corrupt]") {
    TempDir dir;
    const auto file = dir / "kiosk.sqlite";
    const std::string garbage = randomBytes(8192, 8);
    test::writeBytes(file, garbage);

    auto db = Database::open(file, /*recoverCorrupt=*/false);
    REQUIRE_FALSE(db.has_value());
    CHECK(db.error().kind == ErrorKind::Corrupt);
    CHECK_THAT(db.error().message, Catch::Contains("kiosk.sqlite"));
    CHECK(test::readBytes(file) == garbage);
    int entries = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
        CHECK(e.path().filename().string().find("corrupt") == std::string::npos);
        ++entries;
    }
    CHECK(entries >= 1);
}

TEST_CASE("a healthy database is never moved aside, and the recovery note survives reopening", "[store][corrupt]") {
    TempDir dir;
    const auto file = dir / "kiosk.sqlite";
    test::writeBytes(file, randomBytes(4096, 9));
    std::string moved;
    {
        auto db = Database::open(file);
        REQUIRE(db.has_value());
        moved = db->report().movedAsidePath;
    }
    auto db = Database::open(file);
    REQUIRE(db.has_value());
    CHECK_FALSE(db->report().recreated);
    CHECK(db->report().movedAsidePath.empty());
    const auto j = nlohmann::json::parse(getMeta(*db, kMetaRecovery)->value());
    CHECK(j.at("moved_aside_path") == moved);
}
