// The SQLite engine of HQ storage (`sqlite:PATH`): one file, WAL, synchronous=FULL; the
// terminal's statement and error helpers (store/sqlite_support.hpp).
#include "hq/sqlite_storage.hpp"

#include <cassert>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>

#include <sqlite3.h>

#include "hq/sql_storage.hpp"
#include "store/sqlite_support.hpp"

namespace segue::hq {
namespace {

using Kind = StorageError::Kind;

/// Batches written in one transaction at most (group commit), and records in it at most.
constexpr std::size_t kGroupBatches = 64;
constexpr std::size_t kGroupRecords = 20'000;

SqlError sqlError(const store::Error& e) {
    return {e.kind == store::ErrorKind::Invalid ? SqlError::Code::Constraint : SqlError::Code::Other, e.message};
}

/// Rows of a statement; a kept statement is reset when they are dropped, so no read stays open.
class SqliteRows final : public SqlRows {
public:
    explicit SqliteRows(store::Statement& kept) : m_stmt(&kept) {}
    explicit SqliteRows(store::Statement&& own) : m_own(std::move(own)), m_stmt(&*m_own) {}
    ~SqliteRows() override {
        if (!m_own) m_stmt->reset();
    }
    SqlResult<bool> next() override {
        auto r = m_stmt->step();
        if (!r) return std::unexpected(sqlError(r.error()));
        return *r;
    }
    bool isNull(int col) const override { return m_stmt->columnIsNull(col); }
    std::int64_t integer(int col) const override { return m_stmt->columnInt(col); }
    std::string text(int col) const override { return m_stmt->columnText(col); }
    bool flag(int col) const override { return m_stmt->columnInt(col) != 0; }

private:
    std::optional<store::Statement> m_own;
    store::Statement* m_stmt;
};

class SqliteConnection final : public SqlConnection {
public:
    explicit SqliteConnection(sqlite3* db) : m_db(db), m_kept(db) {}
    ~SqliteConnection() override {
        m_kept.clear();
        sqlite3_close_v2(m_db);
    }
    SqliteConnection(const SqliteConnection&) = delete;
    SqliteConnection& operator=(const SqliteConnection&) = delete;

    sqlite3* db() const { return m_db; }

    SqlResult<void> script(std::string_view sql) override {
        const std::string text(sql);
        if (auto r = store::execSql(m_db, text.c_str(), "running SQL"); !r) return std::unexpected(sqlError(r.error()));
        return {};
    }

    SqlResult<void> send(std::string_view sql, SqlParams params, Reuse reuse) override {
        auto rows = query(sql, std::move(params), reuse);
        if (!rows) return std::unexpected(rows.error());
        for (;;) {   // an INSERT … RETURNING has rows; nobody reads them
            auto more = (*rows)->next();
            if (!more) return std::unexpected(more.error());
            if (!*more) return {};
        }
    }

    SqlResult<std::unique_ptr<SqlRows>> query(std::string_view sql, SqlParams params, Reuse reuse) override {
        std::unique_ptr<SqliteRows> rows;
        if (reuse == Reuse::Often) {
            auto kept = keptStatement(sql);
            if (!kept) return std::unexpected(kept.error());
            rows = std::make_unique<SqliteRows>(**kept);
            bindAll(**kept, params);
        } else {
            auto s = store::Statement::prepare(m_db, sql, "running SQL");
            if (!s) return std::unexpected(sqlError(s.error()));
            bindAll(*s, params);
            rows = std::make_unique<SqliteRows>(std::move(*s));
        }
        return std::unique_ptr<SqlRows>(std::move(rows));
    }

    SqlResult<void> prepare(std::string_view sql) override {
        auto kept = keptStatement(sql);
        if (!kept) return std::unexpected(kept.error());
        return {};
    }

protected:
    /// One kept single-row INSERT per row: SQLite has no round trips to save, and a prepared row
    /// insert is its fastest bulk path. Without RETURNING: a statement with it runs as a trigger
    /// program that opens a statement journal per row inside the batch's savepoint, and the fleet's
    /// ingest capacity fell by a third (A/B); sqlite3_changes() tells whether the row went in.
    SqlResult<std::vector<std::string>> insertRows(const BulkInsert& spec, const std::vector<SqlParams>& rows,
                                                   const SqlParams& shared) override {
        std::size_t key = 0;
        while (key < spec.columns.size() && spec.columns[key].name != spec.returning.name) ++key;
        assert(key < spec.columns.size() && "the returned column is one of the inserted ones");
        std::vector<std::string> inserted;
        auto kept = keptStatement(insertSql(spec));
        if (!kept) return std::unexpected(kept.error());
        store::Statement& s = **kept;
        for (const auto& row : rows) {
            s.reset();
            int i = 1;
            for (const auto& v : row) bind(s, i++, v);
            for (const auto& v : shared) bind(s, i++, v);
            if (auto r = s.run(); !r) {
                s.reset();
                return std::unexpected(sqlError(r.error()));
            }
            // 0: the key was there already.
            if (store::changedRows(m_db) == 1) inserted.push_back(std::get<std::string>(row[key]));
        }
        s.reset();
        return inserted;
    }

    std::string insertSql(const BulkInsert& spec) const override {
        std::string marks;
        for (std::size_t i = 0; i < spec.columns.size() + spec.shared.size(); ++i) marks += i ? ", ?" : "?";
        return "INSERT INTO " + std::string(spec.table) + " (" + insertColumnList(spec) + ") VALUES (" + marks +
               ") ON CONFLICT (" + std::string(spec.conflictColumn) + ") DO NOTHING";
    }

public:
    SqlResult<void> begin(Tx kind) override {
        auto t = kind == Tx::Write ? store::execSql(m_db, "BEGIN IMMEDIATE", "beginning a transaction")
                                   : store::execSql(m_db, "BEGIN DEFERRED", "beginning a read");
        if (!t) return std::unexpected(sqlError(t.error()));
        return {};
    }

    SqlResult<void> commit() override {
        if (auto r = store::execSql(m_db, "COMMIT", "committing"); !r) {
            rollback();   // a failed COMMIT can leave the transaction open (BUSY, FULL)
            return std::unexpected(sqlError(r.error()));
        }
        return {};
    }

    void rollback() noexcept override {
        // sqlite may have rolled back on its own (e.g. after SQLITE_FULL): then there is nothing to undo.
        if (sqlite3_get_autocommit(m_db) == 0) sqlite3_exec(m_db, "ROLLBACK", nullptr, nullptr, nullptr);
    }

private:
    static void bind(store::Statement& s, int i, const SqlValue& v) {
        if (const auto* n = std::get_if<std::int64_t>(&v)) s.bind(i, *n);
        else if (const auto* t = std::get_if<std::string>(&v)) s.bind(i, std::string_view(*t));
        else if (const auto* b = std::get_if<bool>(&v)) s.bind(i, std::int64_t{*b ? 1 : 0});
        else s.bindNull(i);
    }
    static void bindAll(store::Statement& s, const SqlParams& params) {
        int i = 1;
        for (const auto& v : params) bind(s, i++, v);
    }

    SqlResult<store::Statement*> keptStatement(std::string_view sql) {
        auto s = m_kept.get(sql, "running SQL");
        if (!s) return std::unexpected(sqlError(s.error()));
        return *s;
    }

    sqlite3* m_db;
    store::StatementCache m_kept;
};

Result<std::unique_ptr<SqliteConnection>> openConnection(const std::string& file, int flags,
                                                         std::initializer_list<const char*> pragmas) {
    sqlite3* db = nullptr;
    const int rc = sqlite3_open_v2(file.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
        StorageError e{Kind::Io, "cannot open " + file + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc))};
        sqlite3_close_v2(db);
        return std::unexpected(e);
    }
    auto conn = std::make_unique<SqliteConnection>(db);
    // The CLI and a running server may share the file: wait for the other's write to finish.
    if (sqlite3_busy_timeout(db, 10'000) != SQLITE_OK)
        return std::unexpected(StorageError{Kind::Io, file + ": setting busy timeout: " + sqlite3_errmsg(db)});
    for (const char* pragma : pragmas)
        if (auto r = conn->script(pragma); !r)
            return std::unexpected(StorageError{Kind::Io, file + ": " + pragma + ": " + r.error().message});
    return conn;
}

class SqliteEngine final : public SqlEngine {
public:
    SqliteEngine(std::string file, std::unique_ptr<SqliteConnection> writer)
        : m_file(std::move(file)), m_writer(std::move(writer)) {}

    std::string_view migrationsDir() const override { return "sqlite"; }

    /// A second connection for the token lookups every request starts with. On the main one they
    /// queued behind the writer (its mutex is not fair): at 33 000 responses/s from 200
    /// terminals a lookup waited 27 ms at the median and 125 ms at p99. In WAL mode a reader
    /// never waits for the writer, and it still sees every commit, the CLI's revocations too.
    Result<void> openAuthReader() {
        auto c = openConnection(m_file, SQLITE_OPEN_READWRITE, {"PRAGMA query_only=1"});
        if (!c) return std::unexpected(c.error());
        m_auth = std::move(*c);
        return {};
    }

    Result<SqlLease> connection(Purpose purpose, Wait wait) override {
        const bool auth = purpose == Purpose::Auth && m_auth;
        std::mutex& m = auth ? m_authMutex : m_mutex;
        if (wait == Wait::No) {
            if (!m.try_lock()) return std::unexpected(StorageError{Kind::Io, "the database connection is busy"});
        } else {
            m.lock();
        }
        return SqlLease(auth ? *m_auth : *m_writer, [&m] { m.unlock(); });
    }

    Result<std::vector<Outcome>> ingest(const IngestRequest& req, const IngestStep& step) override {
        // Group commit: a batch that arrives while another group is being written waits; the next
        // writer stores all the waiting batches in one transaction (one WAL sync for all of them),
        // each in its own savepoint, so one batch's failure does not touch the others.
        Waiter me{&req, {}, false};
        std::unique_lock queue(m_queueMutex);
        m_queue.push_back(&me);
        for (;;) {
            m_queueCv.wait(queue, [&] { return me.done || !m_writing; });
            if (me.done) return std::move(me.result);
            m_writing = true;
            std::vector<Waiter*> group;
            std::size_t records = 0;
            while (!m_queue.empty() && group.size() < kGroupBatches &&
                   (group.empty() || records + m_queue.front()->req->records.size() <= kGroupRecords)) {
                records += m_queue.front()->req->records.size();
                group.push_back(m_queue.front());
                m_queue.pop_front();
            }
            queue.unlock();
            writeGroup(group, step);
            queue.lock();
            for (auto* w : group) w->done = true;
            m_writing = false;
            m_queueCv.notify_all();
        }
    }

    Result<int> warmUp(const std::function<Result<void>(SqlConnection&)>&) override { return 0; }

    Result<void> migrate(const std::function<Result<void>(SqlConnection&)>& run) override {
        std::lock_guard lock(m_mutex);
        if (auto r = m_writer->begin(SqlConnection::Tx::Write); !r)
            return std::unexpected(storageError("migration", r.error()));
        auto done = run(*m_writer);
        if (done) {
            if (auto r = m_writer->commit(); !r) done = std::unexpected(storageError("migration commit", r.error()));
        }
        if (!done) m_writer->rollback();
        return done;
    }

private:
    /// A batch waiting for its group to be written, and what became of it.
    struct Waiter {
        const IngestRequest* req;
        Result<std::vector<Outcome>> result;
        bool done;
    };

    /// Writes a group of batches in one transaction, setting each waiter's result.
    void writeGroup(const std::vector<Waiter*>& group, const IngestStep& step) {
        std::lock_guard lock(m_mutex);
        try {
            writeGroupLocked(group, step);
        } catch (const std::exception& e) {   // out of memory: the group's transaction rolls back
            m_writer->rollback();
            for (auto* w : group) w->result = std::unexpected(StorageError{Kind::Io, e.what()});
        }
    }

    void writeGroupLocked(const std::vector<Waiter*>& group, const IngestStep& step) {
        SqliteConnection& c = *m_writer;
        auto failAll = [&](const SqlError& e) {
            c.rollback();
            for (auto* w : group) w->result = std::unexpected(storageError("storing a batch", e));
        };
        if (auto r = c.begin(SqlConnection::Tx::Write); !r) return failAll(r.error());
        for (auto* w : group) {
            if (auto r = c.script("SAVEPOINT batch"); !r) return failAll(r.error());
            w->result = step(c, *w->req);
            if (!w->result) {
                // Some errors (a full disk, I/O) end the whole transaction: then none of the group
                // is stored, and each batch must hear so.
                if (sqlite3_get_autocommit(c.db())) {
                    const auto e = w->result.error();
                    for (auto* o : group) o->result = std::unexpected(e);
                    return;
                }
                if (auto r = c.script("ROLLBACK TO batch"); !r) return failAll(r.error());
            }
            if (auto r = c.script("RELEASE batch"); !r) return failAll(r.error());
        }
        if (auto r = c.commit(); !r) return failAll(r.error());
    }

    std::string m_file;
    std::mutex m_mutex;   ///< m_writer: one user at a time
    std::unique_ptr<SqliteConnection> m_writer;
    std::mutex m_authMutex;   ///< m_auth
    std::unique_ptr<SqliteConnection> m_auth;   ///< see openAuthReader
    std::mutex m_queueMutex;
    std::condition_variable m_queueCv;
    std::deque<Waiter*> m_queue;   ///< batches waiting for the next group
    bool m_writing = false;        ///< a group is being written
};

} // namespace

Result<std::unique_ptr<SqlEngine>> openSqliteEngine(const std::string& file) {
    // A group of batches touches more pages than SQLite's default 2 MiB cache holds (it then spills
    // to the WAL mid-transaction), and checkpoints every 4 MiB of WAL copied the same hot index
    // pages over and over: 64 MiB of cache and a checkpoint every ~40 MiB (perf, 200 terminals).
    auto writer = openConnection(file, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                                 {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON",
                                  "PRAGMA cache_size=-65536", "PRAGMA wal_autocheckpoint=10000"});
    if (!writer) return std::unexpected(writer.error());
    return std::unique_ptr<SqlEngine>(std::make_unique<SqliteEngine>(file, std::move(*writer)));
}

Result<std::unique_ptr<Storage>> openSqliteStorage(const std::filesystem::path& file) {
    auto engine = openSqliteEngine(file.string());
    if (!engine) return std::unexpected(engine.error());
    auto* sqlite = static_cast<SqliteEngine*>(engine->get());
    auto storage = openSqlStorage(std::move(*engine));
    if (!storage) return storage;
    // After the migration: the reader's query_only connection needs the tables to exist.
    if (auto r = sqlite->openAuthReader(); !r) return std::unexpected(r.error());
    return storage;
}

} // namespace segue::hq
