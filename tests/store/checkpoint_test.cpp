// Checkpoints off the customer's path: a connection opened with Checkpoints::Deferred never
// checkpoints inside a commit, checkpointBetweenCustomers() empties and rewinds the WAL, and
// nothing written is lost on the way (real files, a real reopen, a process that never closed).
#include <catch2/catch.hpp>

#include <cstdint>
#include <filesystem>

#include "store/checkpoint.hpp"
#include "store/database.hpp"
#include "store/responses.hpp"
#include "tests/store/support.hpp"

using namespace segue;
using namespace segue::store;
using segue::store::test::TempDir;

namespace {

constexpr std::int64_t kPage = 4096;
constexpr std::int64_t kWalHeader = 32;
constexpr std::int64_t kFrameHeader = 24;
constexpr int kOldAutocheckpointPages = 1000;   // SQLite's default wal_autocheckpoint
constexpr int kPastThreshold = 1200;            // frames: past it, and the file past kWalSizeLimitBytes

std::filesystem::path walOf(const std::filesystem::path& file) { return file.string() + "-wal"; }

/// Frames the WAL file has room for (its size; frames past the last commit are stale).
std::int64_t walFileFrames(const std::filesystem::path& file) {
    std::error_code ec;
    const auto size = static_cast<std::int64_t>(std::filesystem::file_size(walOf(file), ec));
    if (ec || size < kWalHeader) return 0;
    return (size - kWalHeader) / (kPage + kFrameHeader);
}

std::int64_t fileSize(const std::filesystem::path& file) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(file, ec);
    return ec ? -1 : static_cast<std::int64_t>(size);
}

Database openDeferred(const std::filesystem::path& file) {
    OpenOptions options;
    options.checkpoints = Checkpoints::Deferred;
    auto db = Database::open(file, options);
    REQUIRE(db.has_value());
    return std::move(*db);
}

/// Saves responses one commit each, as customers do, until the WAL file holds `frames`
/// frames; returns how many were saved. `all` must be long enough.
std::size_t saveUntilWalHolds(Database& db, const std::vector<core::Response>& all, std::int64_t frames) {
    std::size_t n = 0;
    while (walFileFrames(db.path()) < frames) {
        REQUIRE(n < all.size());
        REQUIRE(saveResponse(db, all[n]).has_value());
        ++n;
    }
    return n;
}

} // namespace

TEST_CASE("a deferred connection lets the WAL grow past the automatic threshold without checkpointing",
          "[store][checkpoint]") {
    TempDir dir;
    const auto file = dir / "kiosk.sqlite";
    const auto all = test::randomResponses(7, 4000, 30);
    auto db = openDeferred(file);
    CHECK(test::queryInt(db, "PRAGMA wal_autocheckpoint") == kDeferredCheckpointPages);
    CHECK(test::queryInt(db, "PRAGMA journal_size_limit") == kWalSizeLimitBytes);
    CHECK(test::queryInt(db, "PRAGMA synchronous") == 2);   // FULL, as ever
    const std::int64_t dbBytesBefore = fileSize(file);

    const std::size_t saved = saveUntilWalHolds(db, all, kPastThreshold);
    INFO("responses saved: " << saved);
    // Not one page went into the database file: every commit only appended to the WAL.
    CHECK(fileSize(file) == dbBytesBefore);
    CHECK(walFileFrames(file) > kOldAutocheckpointPages);
    CHECK(test::queryInt(db, "SELECT COUNT(*) FROM responses") == static_cast<std::int64_t>(saved));

    // The same writes on a connection that checkpoints in its commits keep the WAL at about
    // the automatic threshold, and the database file grows.
    const auto other = dir / "bulk.sqlite";
    auto bulk = Database::open(other);
    REQUIRE(bulk.has_value());
    CHECK(test::queryInt(*bulk, "PRAGMA wal_autocheckpoint") == kOldAutocheckpointPages);
    for (std::size_t i = 0; i < saved; ++i) REQUIRE(saveResponse(*bulk, all[i]).has_value());
    CHECK(walFileFrames(other) < kPastThreshold);
    CHECK(fileSize(other) > dbBytesBefore);
}

TEST_CASE("the checkpoint between customers copies the whole WAL, rewinds it and cuts the file back",
          "[store][checkpoint]") {
    TempDir dir;
    const auto file = dir / "kiosk.sqlite";
    const auto all = test::randomResponses(8, 4000, 30);
    auto db = openDeferred(file);
    const std::size_t saved = saveUntilWalHolds(db, all, kPastThreshold);
    const std::int64_t dbBytesBefore = fileSize(file);

    auto report = checkpointBetweenCustomers(db);
    REQUIRE(report.has_value());
    CHECK_FALSE(report->busy);
    CHECK(report->walFrames >= kPastThreshold - 1);
    CHECK(report->complete());
    CHECK(report->rewound);
    CHECK(fileSize(file) > dbBytesBefore);                   // the pages are in the database file now
    CHECK(fileSize(walOf(file)) <= kWalSizeLimitBytes);      // and the WAL file was cut back

    // The next customer's commit writes from the start of the WAL: a few frames in all.
    REQUIRE(saveResponse(db, all[saved]).has_value());
    auto after = checkpointPassive(db);
    REQUIRE(after.has_value());
    CHECK(after->walFrames > 0);
    CHECK(after->walFrames < 50);
    CHECK(after->complete());

    // Frames already copied are not copied again; the rewind still happens.
    auto again = checkpointBetweenCustomers(db);
    REQUIRE(again.has_value());
    CHECK(again->complete());
    CHECK(again->rewound);
    CHECK(test::queryInt(db, "SELECT COUNT(*) FROM responses") == static_cast<std::int64_t>(saved + 1));
}

TEST_CASE("the checkpoint between customers does not wait for another connection's write",
          "[store][checkpoint]") {
    TempDir dir;
    const auto file = dir / "kiosk.sqlite";
    const auto all = test::randomResponses(9, 20, 5);
    auto db = openDeferred(file);
    for (const auto& r : all) REQUIRE(saveResponse(db, r).has_value());

    auto worker = Database::open(file);   // the sync worker's connection, mid-write
    REQUIRE(worker.has_value());
    REQUIRE(worker->exec("BEGIN IMMEDIATE").has_value());
    auto report = checkpointBetweenCustomers(db);
    REQUIRE(report.has_value());
    CHECK(report->complete());
    CHECK_FALSE(report->rewound);   // the write lock was taken: the worker's commit rewinds instead
    REQUIRE(worker->exec("COMMIT").has_value());
    // The busy timeout is back: the tap connection still waits for a lock as before.
    CHECK(test::queryInt(db, "PRAGMA busy_timeout") == kBusyTimeoutMs);
}

TEST_CASE("responses saved on a deferred connection survive a reopen, checkpointed or not",
          "[store][checkpoint]") {
    TempDir dir;
    const auto file = dir / "kiosk.sqlite";
    const auto all = test::randomResponses(10, 4000, 30);

    // A process that saves past the old threshold and dies without closing: everything it
    // saved is in the WAL only, and a new connection replays it.
    const auto child = test::runInChild([&](test::ChildReporter& report) {
        OpenOptions options;
        options.checkpoints = Checkpoints::Deferred;
        auto opened = Database::open(file, options);
        report.check(opened.has_value(), "open");
        if (!opened) return;
        // Never closed (a close would checkpoint): the child leaves as a killed kiosk would.
        Database* db = new Database(std::move(*opened));
        std::size_t n = 0;
        while (walFileFrames(file) < kPastThreshold && n < all.size()) {
            if (auto saved = saveResponse(*db, all[n]); !saved) {
                report.check(false, "save: " + saved.error().message);
                return;
            }
            ++n;
        }
        report.note("saved " + std::to_string(n));
    });
    INFO(child.log());
    REQUIRE(child.exitedNormally);
    REQUIRE(child.failures().empty());
    std::int64_t saved = 0;
    for (const auto& line : child.lines)
        if (line.starts_with("NOTE saved ")) saved = std::stoll(line.substr(11));
    REQUIRE(saved > 0);
    CHECK(walFileFrames(file) >= kPastThreshold);

    {
        auto db = openDeferred(file);
        CHECK(test::queryInt(db, "SELECT COUNT(*) FROM responses") == saved);
        int missing = 0;
        for (std::int64_t i = 0; i < saved; ++i)
            if (test::rowsFor(db, all[static_cast<std::size_t>(i)].id) == 0) ++missing;
        CHECK(missing == 0);
        auto report = checkpointBetweenCustomers(db);
        REQUIRE(report.has_value());
        CHECK(report->complete());
        REQUIRE(saveResponse(db, all[static_cast<std::size_t>(saved)]).has_value());
    }   // closed cleanly
    auto db = openDeferred(file);
    CHECK(test::queryInt(db, "SELECT COUNT(*) FROM responses") == saved + 1);
    CHECK(test::queryTexts(db, "PRAGMA integrity_check") == std::vector<std::string>{"ok"});
}
