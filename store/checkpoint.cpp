#include "store/checkpoint.hpp"

#include <cassert>
#include <cstdint>
#include <string>

#include <sqlite3.h>

#include "store/sqlite_support.hpp"

namespace segue::store {

namespace {

/// Restores the connection's busy timeout on every way out.
class NoWaiting {
public:
    explicit NoWaiting(sqlite3* db) : m_db(db) { sqlite3_busy_timeout(m_db, 0); }
    ~NoWaiting() { sqlite3_busy_timeout(m_db, kBusyTimeoutMs); }
    NoWaiting(const NoWaiting&) = delete;
    NoWaiting& operator=(const NoWaiting&) = delete;

private:
    sqlite3* m_db;
};

bool isBusy(int rc) { return (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED; }

} // namespace

std::expected<CheckpointReport, Error> checkpointPassive(Database& db) {
    assert(db.handle() != nullptr);
    CheckpointReport report;
    int log = 0, copied = 0;
    const int rc = sqlite3_wal_checkpoint_v2(db.handle(), "main", SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
    if (isBusy(rc)) {
        report.busy = true;
        return report;
    }
    if (rc != SQLITE_OK) return std::unexpected(sqlError(db.handle(), rc, "checkpointing the WAL"));
    report.walFrames = log;
    report.copiedFrames = copied;
    return report;
}

std::expected<CheckpointReport, Error> checkpointBetweenCustomers(Database& db) {
    auto report = checkpointPassive(db);
    if (!report || !report->complete() || report->walFrames == 0) return report;

    // Rewriting the schema version with its own value changes nothing but page 1, and that
    // commit is the one that rewinds the WAL. A writer holding the lock (the sync worker)
    // rewinds it just as well, so this never waits for one.
    NoWaiting noWaiting(db.handle());
    auto tx = Transaction::begin(db.handle(), "rewinding the WAL");
    if (!tx) {
        if (tx.error().kind == ErrorKind::Busy) return report;
        return std::unexpected(std::move(tx.error()));
    }
    std::int64_t version = 0;
    {
        auto st = Statement::prepare(db.handle(), "PRAGMA user_version", "rewinding the WAL");
        if (!st) return std::unexpected(std::move(st.error()));
        auto row = st->step();
        if (!row) return std::unexpected(std::move(row.error()));
        if (!*row) return report;
        version = st->columnInt(0);
    }
    // A number read from the file, never data from outside: formatting it is safe.
    const std::string same = "PRAGMA user_version = " + std::to_string(version);
    if (auto r = execSql(db.handle(), same.c_str(), "rewinding the WAL"); !r) return std::unexpected(std::move(r.error()));
    if (auto r = tx->commit(); !r) {
        if (r.error().kind == ErrorKind::Busy) return report;
        return std::unexpected(std::move(r.error()));
    }
    report->rewound = true;
    return report;
}

std::expected<CheckpointReport, Error> checkpointTruncate(Database& db) {
    assert(db.handle() != nullptr);
    CheckpointReport report;
    int log = 0, copied = 0;
    const int rc = sqlite3_wal_checkpoint_v2(db.handle(), "main", SQLITE_CHECKPOINT_TRUNCATE, &log, &copied);
    if (isBusy(rc)) {
        report.busy = true;
        return report;
    }
    if (rc != SQLITE_OK) return std::unexpected(sqlError(db.handle(), rc, "checkpointing (truncating) the WAL"));
    report.walFrames = log;
    report.copiedFrames = copied;
    report.rewound = true;
    return report;
}

} // namespace segue::store
