// What HQ's one storage implementation (hq/sql_storage.cpp) needs from a SQL engine: a connection
// that runs statements written once with `?` placeholders, and an engine that hands connections
// out and runs a batch's write transaction. SQLite and PostgreSQL implement it; see
// docs/ARCHITECTURE.md, "HQ storage", for adding a third.
#pragma once
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "hq/storage.hpp"

namespace segue::hq {

/// A statement parameter: NULL, an integer, text or a boolean (SQLite binds 0/1).
using SqlValue = std::variant<std::monostate, std::int64_t, std::string, bool>;
using SqlParams = std::vector<SqlValue>;

inline SqlValue sqlOptional(const std::optional<std::int64_t>& v) {
    if (v) return SqlValue(*v);
    return SqlValue();
}
inline SqlValue sqlOptional(const std::optional<std::string>& v) {
    if (v) return SqlValue(*v);
    return SqlValue();
}

/// Column types the shared schema code names; each engine spells them its own way.
enum class SqlType { Text, Uuid, Integer, SmallInt, BigInt, Boolean, Json };

struct SqlError {
    enum class Code {
        Other,        ///< anything else (I/O, syntax, a lost connection)
        Constraint,   ///< a UNIQUE or CHECK constraint refused the row
        Retry,        ///< a deadlock or serialization failure: the transaction may be tried again
    };
    Code code = Code::Other;
    std::string message;
};

template <typename T>
using SqlResult = std::expected<T, SqlError>;

/// The rows of one query, read forward once.
class SqlRows {
public:
    virtual ~SqlRows() = default;
    /// Moves to the next row: false after the last.
    virtual SqlResult<bool> next() = 0;
    virtual bool isNull(int col) const = 0;
    virtual std::int64_t integer(int col) const = 0;
    virtual std::string text(int col) const = 0;
    virtual bool flag(int col) const = 0;
    std::optional<std::int64_t> optInteger(int col) const {
        return isNull(col) ? std::nullopt : std::optional<std::int64_t>(integer(col));
    }
    std::optional<std::string> optText(int col) const {
        return isNull(col) ? std::nullopt : std::optional<std::string>(text(col));
    }
};

/// How often a statement text is run: Often ones are prepared once per connection and kept.
enum class Reuse { Once, Often };

/// A column of a bulk insert.
struct SqlColumn {
    std::string_view name;
    SqlType type;
};

/// Rows for one table, inserted ON CONFLICT (conflictColumn) DO NOTHING; what was inserted is
/// named by its `returning` column. `shared` columns take one value for every row.
struct BulkInsert {
    std::string_view table;
    std::vector<SqlColumn> columns;         ///< one value per row each
    std::vector<SqlColumn> shared;          ///< one value for all rows
    std::string_view conflictColumn;
    SqlColumn returning;                    ///< read back as text
};

/// One open connection. Not thread-safe: an engine hands it to one caller at a time.
class SqlConnection {
public:
    virtual ~SqlConnection() = default;

    /// Runs fixed SQL text of several statements and no parameters (a migration).
    virtual SqlResult<void> script(std::string_view sql) = 0;
    /// A statement whose result is not needed now. An engine may hold it back and send it with
    /// the next query() or commit() (PostgreSQL pipelines them); its error then surfaces there.
    virtual SqlResult<void> send(std::string_view sql, SqlParams params, Reuse reuse = Reuse::Once) = 0;
    /// A statement whose rows are read; whatever was sent before goes first. The rows must be
    /// dropped before the connection runs anything else.
    virtual SqlResult<std::unique_ptr<SqlRows>> query(std::string_view sql, SqlParams params,
                                                      Reuse reuse = Reuse::Once) = 0;
    /// Prepares a Reuse::Often statement ahead (warm-up); engines without a use for it do nothing.
    virtual SqlResult<void> prepare(std::string_view sql) = 0;
    /// Prepares the statement insertMany() runs for `spec` ahead.
    SqlResult<void> prepareInsert(const BulkInsert& spec) { return prepare(insertSql(spec)); }
    /// Inserts rows as the engine does in bulk (SQLite: one prepared row at a time; PostgreSQL: one
    /// statement with a column array each) and returns the `returning` values of inserted rows.
    SqlResult<std::vector<std::string>> insertMany(const BulkInsert& spec, const std::vector<SqlParams>& rows,
                                                   const SqlParams& shared) {
        if (rows.empty()) return std::vector<std::string>();
        return insertRows(spec, rows, shared);
    }

    enum class Tx {
        Write,      ///< a write transaction (SQLite takes the write lock at once)
        Snapshot,   ///< one consistent read of several queries
    };
    virtual SqlResult<void> begin(Tx kind) = 0;
    virtual SqlResult<void> commit() = 0;
    /// Undoes an open transaction and drops statements not yet sent; never throws.
    virtual void rollback() noexcept = 0;

protected:
    /// The statement text insertRows() runs for `spec`.
    virtual std::string insertSql(const BulkInsert& spec) const = 0;
    /// insertMany() of at least one row.
    virtual SqlResult<std::vector<std::string>> insertRows(const BulkInsert& spec, const std::vector<SqlParams>& rows,
                                                           const SqlParams& shared) = 0;
};

/// "a, b, c": the names of a bulk insert's columns, the shared ones last.
std::string insertColumnList(const BulkInsert& spec);

/// A connection lent for a while; given back when the lease ends.
class SqlLease {
public:
    SqlLease(SqlConnection& c, std::function<void()> giveBack) : m_conn(&c), m_giveBack(std::move(giveBack)) {}
    SqlLease(SqlLease&& o) noexcept : m_conn(o.m_conn), m_giveBack(std::exchange(o.m_giveBack, nullptr)) {}
    SqlLease& operator=(SqlLease&&) = delete;
    SqlLease(const SqlLease&) = delete;
    SqlLease& operator=(const SqlLease&) = delete;
    ~SqlLease() {
        if (m_giveBack) m_giveBack();
    }
    SqlConnection* operator->() const { return m_conn; }
    SqlConnection& operator*() const { return *m_conn; }

private:
    SqlConnection* m_conn;
    std::function<void()> m_giveBack;
};

/// Writes one batch inside a transaction the engine opened (see SqlEngine::ingest).
using IngestStep = std::function<Result<std::vector<Outcome>>(SqlConnection&, const IngestRequest&)>;

/// An engine: its connections, and how a batch's transaction is run.
class SqlEngine {
public:
    virtual ~SqlEngine() = default;
    /// The directory of this engine's migrations among the embedded files ("sqlite", "postgresql").
    virtual std::string_view migrationsDir() const = 0;

    enum class Purpose {
        General,   ///< reads and writes of the API and the CLI
        Auth,      ///< the token lookup every request starts with: must not queue behind a writer
    };
    enum class Wait { Yes, No };
    /// A connection, or (Wait::No) an error at once when none is free.
    virtual Result<SqlLease> connection(Purpose purpose = Purpose::General, Wait wait = Wait::Yes) = 0;

    /// Runs `step` for `req` in a write transaction and commits it: SQLite writes a group of
    /// waiting batches in one transaction (group commit), PostgreSQL one batch on a pooled
    /// connection, tried again after a deadlock.
    virtual Result<std::vector<Outcome>> ingest(const IngestRequest& req, const IngestStep& step) = 0;

    /// Opens ahead what serving needs, calling `prepare` on each connection; how many are open.
    virtual Result<int> warmUp(const std::function<Result<void>(SqlConnection&)>& prepare) = 0;

    /// Runs the schema's migrations under the engine's migration lock.
    virtual Result<void> migrate(const std::function<Result<void>(SqlConnection&)>& run) = 0;
};

/// The SQLite engine on `file` (created if missing).
Result<std::unique_ptr<SqlEngine>> openSqliteEngine(const std::string& file);
/// The PostgreSQL engine at a libpq URL.
Result<std::unique_ptr<SqlEngine>> openPgEngine(const std::string& url);

/// A StorageError of kind Io for `what` failing with `e` (callers that expect a constraint to
/// refuse a row turn SqlError::Code::Constraint into Kind::Invalid themselves).
StorageError storageError(const std::string& what, const SqlError& e);

} // namespace segue::hq
