// The terminal's SQLite database: open with WAL + synchronous=FULL, integrity check at start
// (a corrupt file is moved aside, never deleted), numbered migrations. The only SQL lives in store/.
#pragma once
#include <cstdint>
#include <expected>
#include <filesystem>
#include <memory>
#include <string>

struct sqlite3;

namespace segue::store {

class StatementCache;   // store/sqlite_support.hpp

enum class ErrorKind {
    Full,       ///< SQLITE_FULL: the disk is full
    ReadOnly,   ///< SQLITE_READONLY / permission denied
    Corrupt,    ///< SQLITE_CORRUPT / SQLITE_NOTADB
    Busy,       ///< SQLITE_BUSY / LOCKED after the busy timeout
    Io,         ///< any other I/O failure
    Schema,     ///< the file has a newer schema than this build knows
    Invalid,    ///< the caller passed something the schema refuses
};

struct Error {
    ErrorKind kind = ErrorKind::Io;
    std::string message;   ///< sqlite's own text plus what we were doing
};

/// What happened while opening; shown on the staff screen and logged.
struct OpenReport {
    bool recreated = false;             ///< the old file failed its check and was moved aside
    std::string movedAsidePath;         ///< where it went ("<db>.corrupt-YYYYMMDDTHHMMSSZ")
    std::string reason;                 ///< integrity_check output or the open error
    int migratedFrom = 0;               ///< schema version found (0 = new file)
    int schemaVersion = 0;              ///< schema version now
    std::int64_t migrationMs = 0;       ///< time the migrations took (0 when none ran)
};

/// Who copies the WAL back into the database file.
enum class Checkpoints {
    /// SQLite's automatic checkpoint: the commit that takes the WAL past ~1 000 pages does it
    /// (bulk writers, command-line verbs, tests).
    InCommit,
    /// A customer's commit never does (only past kDeferredCheckpointPages, a safety net); the
    /// owner runs checkpointBetweenCustomers() (store/checkpoint.hpp) off the tap path.
    Deferred,
};

struct OpenOptions {
    bool recoverCorrupt = true;   ///< move a file that fails `PRAGMA quick_check` aside
    /// Run `PRAGMA quick_check` (it reads the whole file: 1.4 s at 1 000 000 responses). Off for a
    /// second connection to a file this process has just checked, and for the commands that must
    /// not read the whole file at each call (`app::StoreAccess`); a file whose header or schema
    /// cannot be read is still reported (and recovered, where allowed) either way.
    bool check = true;
    Checkpoints checkpoints = Checkpoints::InCommit;
};

/// How long a connection waits for another one's lock before reporting Busy.
inline constexpr int kBusyTimeoutMs = 5000;
/// A Deferred connection still checkpoints inside a commit once the WAL holds this many pages
/// (~40 MiB): only if nothing checkpointed between customers for thousands of them.
inline constexpr int kDeferredCheckpointPages = 10'000;
/// A Deferred connection cuts the WAL file back to this size whenever it rewinds it (`PRAGMA
/// journal_size_limit`), so a long stretch without checkpoints does not leave a large file behind.
inline constexpr std::int64_t kWalSizeLimitBytes = 4 << 20;

/// Each connection's page cache, in KiB (SQLite's default is 2 000). The terminal's reads are the
/// newest rows and the day tallies, and the OS keeps the file's pages cached anyway; at the
/// default, each connection (the screens' and the sync worker's) grew by 2 MiB as responses
/// came in (benchmark 3).
inline constexpr int kPageCacheKiB = 512;

/// Owns one sqlite3 connection. Move-only; the destructor closes it and never throws.
class Database {
public:
    /// Opens (creating if needed) and migrates to the newest schema. `recoverCorrupt` moves a
    /// file that fails `PRAGMA quick_check` aside and starts a fresh one.
    static std::expected<Database, Error> open(const std::filesystem::path& file,
                                               bool recoverCorrupt = true);
    static std::expected<Database, Error> open(const std::filesystem::path& file, const OpenOptions& options);
    /// Opens and migrates only up to `version` (tests of older schemas).
    static std::expected<Database, Error> openAtVersion(const std::filesystem::path& file,
                                                        int version);
    Database(Database&&) noexcept;
    Database& operator=(Database&&) noexcept;
    ~Database();

    sqlite3* handle() const { return m_db; }
    const OpenReport& report() const { return m_report; }
    const std::filesystem::path& path() const { return m_path; }
    int schemaVersion() const;

    /// Runs plain SQL with no parameters (migrations, pragmas).
    std::expected<void, Error> exec(const char* sql);

    /// Statements prepared once and kept for this connection's life: the customer's commit would
    /// otherwise compile its inserts and their triggers again at every tap (benchmark 1).
    StatementCache& statements();

private:
    Database();
    void close() noexcept;
    sqlite3* m_db = nullptr;
    std::unique_ptr<StatementCache> m_statements;   ///< finalized before the connection closes
    std::filesystem::path m_path;
    OpenReport m_report;
};

/// The newest schema version this build knows.
int latestSchemaVersion();

/// Classifies an sqlite result code (extended codes allowed).
ErrorKind classify(int sqliteCode);

} // namespace segue::store
