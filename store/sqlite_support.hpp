// Small RAII pieces over the sqlite3 C API used by every store file: prepared statements,
// an IMMEDIATE transaction that rolls back unless committed, and error mapping.
#pragma once
#include <cstdint>
#include <expected>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "store/database.hpp"

struct sqlite3_stmt;

namespace segue::store {

/// An Error for result code `rc` on `db`: sqlite's message plus what we were doing.
Error sqlError(sqlite3* db, int rc, std::string_view doing);

/// Runs fixed SQL text with no parameters (may hold several statements).
std::expected<void, Error> execSql(sqlite3* db, const char* sql, std::string_view doing);

/// Rows changed by the last INSERT/UPDATE/DELETE on `db`.
std::int64_t changedRows(sqlite3* db);

/// One prepared statement. Move-only; finalized by the destructor.
class Statement {
public:
    /// Whether a statement is kept and run many times (SQLITE_PREPARE_PERSISTENT).
    enum class Keep { No, Yes };
    /// Prepares `sql` (a fixed string: never SQL built from data).
    static std::expected<Statement, Error> prepare(sqlite3* db, std::string_view sql,
                                                   std::string_view doing, Keep keep = Keep::No);
    Statement(Statement&& other) noexcept;
    Statement& operator=(Statement&& other) noexcept;
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;
    ~Statement();

    /// Binds are 1-based, as in sqlite; a failed bind is reported by the next step().
    Statement& bind(int index, std::int64_t value);
    Statement& bind(int index, std::string_view text);
    Statement& bind(int index, const std::optional<int>& value);
    Statement& bindNull(int index);

    /// SQLITE_ROW → true, SQLITE_DONE → false, anything else → Error.
    std::expected<bool, Error> step();
    /// Steps a statement that must not return rows.
    std::expected<void, Error> run();
    /// Ready to be bound and stepped again.
    void reset();

    std::int64_t columnInt(int col) const;
    std::optional<int> columnOptionalInt(int col) const;
    bool columnIsNull(int col) const;
    std::string columnText(int col) const;

private:
    Statement(sqlite3* db, sqlite3_stmt* stmt, std::string doing)
        : m_db(db), m_stmt(stmt), m_doing(std::move(doing)) {}
    void noteBind(int rc);

    sqlite3* m_db = nullptr;
    sqlite3_stmt* m_stmt = nullptr;
    std::string m_doing;
    int m_bindError = 0;     ///< first failed bind, reported by step()
};

/// A connection's kept statements (Database::statements()), one per SQL text, prepared with
/// SQLITE_PREPARE_PERSISTENT on first use. SQLite prepares a kept statement again by itself
/// when the schema changes; a table gone from under it is reported by its step().
class StatementCache {
public:
    explicit StatementCache(sqlite3* db) : m_db(db) {}
    StatementCache(const StatementCache&) = delete;
    StatementCache& operator=(const StatementCache&) = delete;

    /// The statement for `sql` (a fixed string: never SQL built from data), reset and with its
    /// bindings cleared. Valid until the Database closes; not for two uses at once.
    std::expected<Statement*, Error> get(std::string_view sql, std::string_view doing);
    /// Finalizes every kept statement (before the connection closes).
    void clear() noexcept { m_bySql.clear(); }

private:
    /// Looked up by the caller's string_view, with no string made at each tap.
    struct TextHash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
    };
    sqlite3* m_db = nullptr;
    std::unordered_map<std::string, Statement, TextHash, std::equal_to<>> m_bySql;
};

/// BEGIN IMMEDIATE … COMMIT. The destructor rolls back whatever was not committed and
/// never throws, so every early return leaves no half-written rows.
class Transaction {
public:
    static std::expected<Transaction, Error> begin(sqlite3* db, std::string_view doing);
    /// A deferred (read) transaction: one consistent snapshot for several queries. Inside an
    /// already open transaction it does nothing, as the caller's snapshot is used.
    static std::expected<Transaction, Error> beginRead(sqlite3* db, std::string_view doing);
    Transaction(Transaction&& other) noexcept;
    Transaction& operator=(Transaction&&) = delete;
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    ~Transaction();

    std::expected<void, Error> commit();

private:
    Transaction(sqlite3* db, std::string doing) : m_db(db), m_doing(std::move(doing)) {}
    void rollback() noexcept;

    sqlite3* m_db = nullptr;
    std::string m_doing;
    bool m_active = false;
};

} // namespace segue::store
