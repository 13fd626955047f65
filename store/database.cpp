#include "store/database.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <charconv>
#include <chrono>
#include <ctime>
#include <memory>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include "core/time.hpp"
#include "core/version.hpp"
#include "store/meta.hpp"
#include "store/migrations.hpp"
#include "store/sqlite_support.hpp"

namespace segue::store::embedded {
const std::vector<std::pair<std::string_view, std::string_view>>& embeddedFiles();
} // namespace segue::store::embedded

namespace segue::store {

namespace {

constexpr std::size_t kMaxReasonChars = 2000;

std::vector<Migration> parseMigrations() {
    std::vector<Migration> out;
    constexpr std::string_view kPrefix = "migrations/";
    for (const auto& [path, text] : embedded::embeddedFiles()) {
        if (!path.starts_with(kPrefix)) continue;
        const std::string_view name = path.substr(kPrefix.size());
        int version = 0;
        const auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), version);
        // A misnamed migration is a build mistake, not a runtime condition.
        assert(ec == std::errc() && end - name.data() == 4 && *end == '_' && name.ends_with(".sql"));
        (void)end;
        out.push_back({version, name, text});
    }
    std::sort(out.begin(), out.end(),
              [](const Migration& a, const Migration& b) { return a.version < b.version; });
    for (std::size_t i = 0; i < out.size(); ++i)
        assert(out[i].version == static_cast<int>(i) + 1 && "migrations must be numbered 1, 2, 3, ...");
    assert(!out.empty());
    return out;
}

Error makeError(ErrorKind kind, std::string message) {
    Error e;
    e.kind = kind;
    e.message = std::move(message);
    return e;
}

ErrorKind kindOf(const std::error_code& ec) {
    if (ec == std::errc::no_space_on_device) return ErrorKind::Full;
    if (ec == std::errc::permission_denied || ec == std::errc::read_only_file_system ||
        ec == std::errc::operation_not_permitted)
        return ErrorKind::ReadOnly;
    return ErrorKind::Io;
}

/// "YYYYMMDDTHHMMSSZ" for the current UTC time.
std::string utcStamp() {
    const std::time_t t =
        std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    const std::size_t n = std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
    return std::string(buf, n);
}

std::int64_t utcNowMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

bool pathExists(const std::filesystem::path& p) {
    std::error_code ec;
    return std::filesystem::symlink_status(p, ec).type() != std::filesystem::file_type::not_found &&
           !ec;
}

/// Makes a rename durable: the directory entry itself has to reach the disk.
std::expected<void, Error> syncDirectory(const std::filesystem::path& dir) {
    const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        const std::error_code ec(errno, std::generic_category());
        return std::unexpected(makeError(kindOf(ec), "opening " + dir.string() + " to sync it: " + ec.message()));
    }
    const int rc = ::fsync(fd);
    const std::error_code ec(errno, std::generic_category());
    ::close(fd);
    if (rc != 0)
        return std::unexpected(makeError(kindOf(ec), "syncing " + dir.string() + ": " + ec.message()));
    return {};
}

/// Renames `file` and its -wal/-shm companions to "<file>.corrupt-<stamp>[-N]". The WAL goes
/// first: a stale WAL beside a fresh database would be replayed into it.
std::expected<std::filesystem::path, Error> moveAside(const std::filesystem::path& file) {
    const std::string base = file.string() + ".corrupt-" + utcStamp();
    std::string target = base;
    for (int n = 2; pathExists(target) || pathExists(target + "-wal") || pathExists(target + "-shm"); ++n)
        target = base + "-" + std::to_string(n);

    for (const char* suffix : {"-wal", "-shm", ""}) {
        const std::filesystem::path from = file.string() + suffix;
        if (!pathExists(from)) continue;
        std::error_code ec;
        std::filesystem::rename(from, target + suffix, ec);
        if (ec)
            return std::unexpected(makeError(kindOf(ec), "moving " + from.string() + " aside to " +
                                                             target + suffix + ": " + ec.message()));
    }
    if (auto synced = syncDirectory(file.parent_path()); !synced)
        return std::unexpected(std::move(synced.error()));
    return std::filesystem::path(target);
}

std::expected<int, Error> readUserVersion(sqlite3* db) {
    auto st = Statement::prepare(db, "PRAGMA user_version", "reading the schema version");
    if (!st) return std::unexpected(std::move(st.error()));
    auto row = st->step();
    if (!row) return std::unexpected(std::move(row.error()));
    if (!*row) return std::unexpected(makeError(ErrorKind::Io, "reading the schema version: no row"));
    return static_cast<int>(st->columnInt(0));
}

/// The program version a migration records in the header's application_id (a.b.c as
/// a*1 000 000 + b*1 000 + c): an older program can then name the version to install.
int encodeVersion(std::string_view v) {
    int parts[3] = {0, 0, 0};
    int i = 0;
    for (const char c : v) {
        if (c == '.') {
            if (++i == 3) break;
        } else if (c >= '0' && c <= '9') {
            parts[i] = std::min(parts[i] * 10 + (c - '0'), 999);
        } else {
            break;   // "0.2.0~rc1": the numeric part
        }
    }
    return std::min(parts[0], 2000) * 1'000'000 + parts[1] * 1'000 + parts[2];
}

/// The version recorded by the program that last migrated the file, or nullopt (none recorded).
std::optional<std::string> readWriterVersion(sqlite3* db) {
    auto st = Statement::prepare(db, "PRAGMA application_id", "reading the writer's version");
    if (!st) return std::nullopt;
    auto row = st->step();
    if (!row || !*row) return std::nullopt;
    const auto id = st->columnInt(0);
    if (id <= 0) return std::nullopt;
    return std::to_string(id / 1'000'000) + "." + std::to_string(id / 1'000 % 1'000) + "." + std::to_string(id % 1'000);
}

struct Probe {
    int version = 0;
    std::optional<std::string> corruptReason;   ///< set when the file must be moved aside
};

bool isCorruptCode(ErrorKind k) { return k == ErrorKind::Corrupt; }

/// Reads the schema version and, with `check`, runs quick_check. Touches nothing on disk.
std::expected<Probe, Error> probe(sqlite3* db, bool check) {
    Probe p;
    auto version = readUserVersion(db);
    if (!version) {
        if (isCorruptCode(version.error().kind)) {
            p.corruptReason = version.error().message;
            return p;
        }
        return std::unexpected(std::move(version.error()));
    }
    p.version = *version;
    if (p.version > latestSchemaVersion() || p.version < 0) {
        const auto writer = readWriterVersion(db);
        return std::unexpected(makeError(
            ErrorKind::Schema, "database schema " + std::to_string(p.version) + " is newer than this program (" +
                                   std::to_string(latestSchemaVersion()) + "); install segue-kiosk " +
                                   (writer ? "\u2265 " + *writer : "newer than " + std::string(kVersion)) +
                                   "; the file was left untouched"));
    }
    if (!check) {
        // Only the header and the schema: reading them is what any statement needs first.
        auto st = Statement::prepare(db, "SELECT COUNT(*) FROM sqlite_schema", "reading the schema");
        auto row = st ? st->step() : std::unexpected(std::move(st.error()));
        if (row) return p;
        if (isCorruptCode(row.error().kind)) {
            p.corruptReason = row.error().message;
            return p;
        }
        return std::unexpected(std::move(row.error()));
    }

    auto st = Statement::prepare(db, "PRAGMA quick_check", "checking the database");
    if (!st) {
        if (isCorruptCode(st.error().kind)) {
            p.corruptReason = st.error().message;
            return p;
        }
        return std::unexpected(std::move(st.error()));
    }
    std::vector<std::string> lines;
    for (;;) {
        auto row = st->step();
        if (!row) {
            if (isCorruptCode(row.error().kind)) {
                p.corruptReason = row.error().message;
                return p;
            }
            return std::unexpected(std::move(row.error()));
        }
        if (!*row) break;
        lines.push_back(st->columnText(0));
    }
    if (lines.size() == 1 && lines.front() == "ok") return p;
    std::string reason = "quick_check:";
    for (const auto& l : lines) {
        if (reason.size() > kMaxReasonChars) {
            reason += " ...";
            break;
        }
        reason += ' ';
        reason += l;
    }
    if (lines.empty()) reason += " no result";
    p.corruptReason = std::move(reason);
    return p;
}

std::expected<void, Error> configure(sqlite3* db, const std::filesystem::path& file, Checkpoints checkpoints) {
    // The mode pragma answers with the mode actually in force: a read-only or odd file
    // system can refuse WAL without an error code.
    auto st = Statement::prepare(db, "PRAGMA journal_mode = WAL", "switching to WAL");
    if (!st) return std::unexpected(std::move(st.error()));
    auto row = st->step();
    if (!row) return std::unexpected(std::move(row.error()));
    const std::string mode = *row ? st->columnText(0) : std::string();
    if (mode != "wal")
        return std::unexpected(makeError(ErrorKind::Io, "switching " + file.string() +
                                                            " to WAL: the journal mode stayed '" + mode + "'"));
    if (auto r = execSql(db, "PRAGMA synchronous = FULL", "setting synchronous = FULL"); !r) return r;
    if (auto r = execSql(db, "PRAGMA foreign_keys = ON", "enabling foreign keys"); !r) return r;
    // Deleted content (a sealed callback contact once HQ has it) is overwritten with zeros, so
    // no free page or cell of the file keeps it.
    if (auto r = execSql(db, "PRAGMA secure_delete = ON", "enabling secure_delete"); !r) return r;
    // Numbers from this build, never data: formatting them is safe.
    const std::string cache = "PRAGMA cache_size = -" + std::to_string(kPageCacheKiB);
    if (auto r = execSql(db, cache.c_str(), "sizing the page cache"); !r) return r;
    if (checkpoints == Checkpoints::Deferred) {
        // A checkpoint inside a commit copies the WAL into the database file and syncs it: the
        // customer whose tap crosses the threshold waits for two more syncs (benchmark 1's tail).
        const std::string ckpt = "PRAGMA wal_autocheckpoint = " + std::to_string(kDeferredCheckpointPages);
        if (auto r = execSql(db, ckpt.c_str(), "deferring checkpoints"); !r) return r;
        const std::string limit = "PRAGMA journal_size_limit = " + std::to_string(kWalSizeLimitBytes);
        if (auto r = execSql(db, limit.c_str(), "limiting the WAL size"); !r) return r;
    }
    return {};
}

std::expected<void, Error> migrate(sqlite3* db, int found, int target) {
    for (const Migration& m : migrations()) {
        if (m.version <= found) continue;   // no write lock taken on an up-to-date file
        if (m.version > target) break;
        const std::string doing = "applying migration " + std::string(m.name);
        auto tx = Transaction::begin(db, doing);
        if (!tx) return std::unexpected(std::move(tx.error()));
        // Re-read inside the write lock: another connection may have migrated meanwhile.
        auto current = readUserVersion(db);
        if (!current) return std::unexpected(std::move(current.error()));
        if (*current >= m.version) continue;
        const std::string sql(m.sql);
        if (auto r = execSql(db, sql.c_str(), doing); !r) return r;
        // The version is a number from this build, never data: formatting it is safe.
        const std::string bump = "PRAGMA user_version = " + std::to_string(m.version);
        if (auto r = execSql(db, bump.c_str(), doing + " (recording the version)"); !r) return r;
        const std::string writer = "PRAGMA application_id = " + std::to_string(encodeVersion(kVersion));
        if (auto r = execSql(db, writer.c_str(), doing + " (recording the program)"); !r) return r;
        if (auto r = tx->commit(); !r) return r;
    }
    return {};
}

} // namespace

const std::vector<Migration>& migrations() {
    static const std::vector<Migration> list = parseMigrations();
    return list;
}

int latestSchemaVersion() { return migrations().back().version; }

ErrorKind classify(int sqliteCode) {
    switch (sqliteCode & 0xff) {
    case SQLITE_FULL: return ErrorKind::Full;
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_AUTH: return ErrorKind::ReadOnly;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return ErrorKind::Corrupt;
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return ErrorKind::Busy;
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_TOOBIG: return ErrorKind::Invalid;
    default: return ErrorKind::Io;
    }
}

Database::Database() = default;

Database::Database(Database&& other) noexcept
    : m_db(std::exchange(other.m_db, nullptr)),
      m_statements(std::move(other.m_statements)),
      m_path(std::move(other.m_path)),
      m_report(std::move(other.m_report)) {}

Database& Database::operator=(Database&& other) noexcept {
    if (this != &other) {
        close();
        m_db = std::exchange(other.m_db, nullptr);
        m_statements = std::move(other.m_statements);
        m_path = std::move(other.m_path);
        m_report = std::move(other.m_report);
    }
    return *this;
}

Database::~Database() { close(); }

void Database::close() noexcept {
    m_statements.reset();   // finalized first, so the close below is immediate
    // close_v2 never fails on a valid handle: with statements left it defers the close.
    sqlite3_close_v2(m_db);
    m_db = nullptr;
}

StatementCache& Database::statements() {
    assert(m_db != nullptr);
    if (!m_statements) m_statements = std::make_unique<StatementCache>(m_db);
    return *m_statements;
}

int Database::schemaVersion() const {
    if (m_db == nullptr) return -1;
    auto v = readUserVersion(m_db);
    return v ? *v : -1;
}

std::expected<void, Error> Database::exec(const char* sql) {
    assert(m_db != nullptr);
    return execSql(m_db, sql, "running SQL");
}

namespace {

struct CloseDb {
    void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
using Handle = std::unique_ptr<sqlite3, CloseDb>;

std::expected<Handle, Error> connect(const std::filesystem::path& file) {
    sqlite3* raw = nullptr;
    const int rc = sqlite3_open_v2(file.c_str(), &raw,
                                   SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
    Handle db(raw);   // sqlite hands out a handle even on failure; it must be closed
    if (rc != SQLITE_OK) return std::unexpected(sqlError(raw, rc, "opening " + file.string()));
    sqlite3_extended_result_codes(raw, 1);
    sqlite3_busy_timeout(raw, kBusyTimeoutMs);
    // Until the file has passed its check, closing must not checkpoint into it or delete its
    // WAL: a file that is moved aside keeps every byte it had (its WAL may hold the newest rows).
    if (const int cfg = sqlite3_db_config(raw, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, static_cast<int*>(nullptr)); cfg != SQLITE_OK)
        return std::unexpected(sqlError(raw, cfg, "configuring " + file.string()));
    // sqlite falls back to read-only when it cannot write the file; a kiosk that cannot
    // save must say so at once rather than on the first customer.
    if (sqlite3_db_readonly(raw, "main") == 1)
        return std::unexpected(makeError(ErrorKind::ReadOnly, "opening " + file.string() +
                                                                  ": the file or its file system is read-only"));
    return db;
}

struct Opened {
    Handle db;
    OpenReport report;
};

/// Everything open() does up to a migrated connection: checks, recovery, pragmas, migrations.
std::expected<Opened, Error> openConnection(const std::filesystem::path& file, const OpenOptions& options,
                                            int targetVersion) {
    const bool recoverCorrupt = options.recoverCorrupt;
    Opened out;
    if (const auto dir = file.parent_path(); !dir.empty()) {
        std::error_code ec;
        std::filesystem::create_directories(dir, ec);
        if (ec)
            return std::unexpected(makeError(kindOf(ec), "creating the data directory " + dir.string() +
                                                             ": " + ec.message()));
    }
    auto db = connect(file);
    if (!db) return std::unexpected(std::move(db.error()));
    auto found = probe(db->get(), options.check);
    if (!found) return std::unexpected(std::move(found.error()));

    if (found->corruptReason) {
        if (!recoverCorrupt)
            return std::unexpected(makeError(ErrorKind::Corrupt, file.string() + " failed its check: " +
                                                                     *found->corruptReason));
        db->reset();   // closed before the rename, so no handle keeps the old inode busy
        auto moved = moveAside(file);
        if (!moved)
            return std::unexpected(makeError(moved.error().kind,
                                             file.string() + " failed its check (" + *found->corruptReason +
                                                 ") and could not be moved aside: " + moved.error().message));
        out.report.recreated = true;
        out.report.movedAsidePath = moved->string();
        out.report.reason = *found->corruptReason;
        db = connect(file);
        if (!db) return std::unexpected(std::move(db.error()));
        found = probe(db->get(), true);
        if (!found) return std::unexpected(std::move(found.error()));
        if (found->corruptReason)
            return std::unexpected(makeError(ErrorKind::Corrupt, "the fresh database " + file.string() +
                                                                     " failed its check: " + *found->corruptReason));
    }
    if (found->version > targetVersion)
        return std::unexpected(makeError(ErrorKind::Schema, file.string() + " has schema version " +
                                                                std::to_string(found->version) + ", above " +
                                                                std::to_string(targetVersion)));
    out.report.migratedFrom = found->version;
    // Healthy: the usual checkpoint on close keeps the WAL short.
    if (const int cfg = sqlite3_db_config(db->get(), SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 0, static_cast<int*>(nullptr)); cfg != SQLITE_OK)
        return std::unexpected(sqlError(db->get(), cfg, "configuring " + file.string()));

    if (auto r = configure(db->get(), file, options.checkpoints); !r) return std::unexpected(std::move(r.error()));
    const auto migrationStart = std::chrono::steady_clock::now();
    if (auto r = migrate(db->get(), found->version, targetVersion); !r) return std::unexpected(std::move(r.error()));
    if (found->version < targetVersion)
        out.report.migrationMs = std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::steady_clock::now() - migrationStart).count();
    auto now = readUserVersion(db->get());
    if (!now) return std::unexpected(std::move(now.error()));
    out.report.schemaVersion = *now;
    out.db = std::move(*db);
    return out;
}

std::string recoveryJson(const OpenReport& report) {
    const nlohmann::json j = {
        {"recreated", report.recreated},
        {"moved_aside_path", report.movedAsidePath},
        {"reason", report.reason},
        {"at", core::formatUtc(utcNowMs())},
    };
    // Paths need not be UTF-8; replace rather than throw.
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

} // namespace

std::expected<Database, Error> Database::open(const std::filesystem::path& file, bool recoverCorrupt) {
    OpenOptions options;
    options.recoverCorrupt = recoverCorrupt;
    return open(file, options);
}

std::expected<Database, Error> Database::open(const std::filesystem::path& file, const OpenOptions& options) {
    auto opened = openConnection(file, options, latestSchemaVersion());
    if (!opened) return std::unexpected(std::move(opened.error()));
    Database db;
    db.m_db = opened->db.release();
    db.m_path = file;
    db.m_report = std::move(opened->report);
    if (db.m_report.recreated) {
        // Kept in the database so the staff screen can show it after any number of restarts.
        if (auto r = setMeta(db, kMetaRecovery, recoveryJson(db.m_report)); !r)
            return std::unexpected(std::move(r.error()));
    }
    return db;
}

std::expected<Database, Error> Database::openAtVersion(const std::filesystem::path& file, int version) {
    if (version < 0 || version > latestSchemaVersion())
        return std::unexpected(makeError(ErrorKind::Invalid, "no schema version " + std::to_string(version)));
    OpenOptions options;
    options.recoverCorrupt = false;
    auto opened = openConnection(file, options, version);
    if (!opened) return std::unexpected(std::move(opened.error()));
    Database db;
    db.m_db = opened->db.release();
    db.m_path = file;
    db.m_report = std::move(opened->report);
    return db;
}

} // namespace segue::store
