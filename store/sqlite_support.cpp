#include "store/sqlite_support.hpp"

#include <cassert>
#include <utility>

#include <sqlite3.h>

namespace segue::store {

Error sqlError(sqlite3* db, int rc, std::string_view doing) {
    std::string text;
    // The connection's message belongs to the last failing call; if that was not `rc`
    // (e.g. a bind error reported late) fall back to the generic text for the code.
    if (db != nullptr && (sqlite3_extended_errcode(db) & 0xff) == (rc & 0xff))
        text = sqlite3_errmsg(db);
    else
        text = sqlite3_errstr(rc);
    Error e;
    e.kind = classify(rc);
    e.message = std::string(doing) + ": " + text + " (sqlite code " + std::to_string(rc) + ")";
    return e;
}

std::expected<void, Error> execSql(sqlite3* db, const char* sql, std::string_view doing) {
    assert(db != nullptr);
    char* msg = nullptr;
    const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &msg);
    if (rc == SQLITE_OK) return {};
    Error e;
    e.kind = classify(rc);
    e.message = std::string(doing) + ": " + (msg != nullptr ? msg : sqlite3_errstr(rc)) +
                " (sqlite code " + std::to_string(rc) + ")";
    sqlite3_free(msg);
    return std::unexpected(std::move(e));
}

std::int64_t changedRows(sqlite3* db) { return sqlite3_changes64(db); }

std::expected<Statement, Error> Statement::prepare(sqlite3* db, std::string_view sql,
                                                   std::string_view doing, Keep keep) {
    assert(db != nullptr);
    sqlite3_stmt* stmt = nullptr;
    const char* tail = nullptr;
    const unsigned flags = keep == Keep::Yes ? SQLITE_PREPARE_PERSISTENT : 0;
    const int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), flags, &stmt, &tail);
    if (rc != SQLITE_OK) {
        sqlite3_finalize(stmt);
        return std::unexpected(sqlError(db, rc, doing));
    }
    // One statement per Statement: trailing SQL would be silently ignored.
    assert(tail == nullptr || std::string_view(tail).find_first_not_of(" \t\r\n;") == std::string_view::npos);
    return Statement(db, stmt, std::string(doing));
}

Statement::Statement(Statement&& other) noexcept
    : m_db(std::exchange(other.m_db, nullptr)),
      m_stmt(std::exchange(other.m_stmt, nullptr)),
      m_doing(std::move(other.m_doing)),
      m_bindError(other.m_bindError) {}

Statement& Statement::operator=(Statement&& other) noexcept {
    if (this != &other) {
        sqlite3_finalize(m_stmt);
        m_db = std::exchange(other.m_db, nullptr);
        m_stmt = std::exchange(other.m_stmt, nullptr);
        m_doing = std::move(other.m_doing);
        m_bindError = other.m_bindError;
    }
    return *this;
}

Statement::~Statement() {
    sqlite3_finalize(m_stmt);   // harmless on nullptr; its result repeats the last step's
}

void Statement::noteBind(int rc) {
    if (rc != SQLITE_OK && m_bindError == 0) m_bindError = rc;
}

Statement& Statement::bind(int index, std::int64_t value) {
    noteBind(sqlite3_bind_int64(m_stmt, index, value));
    return *this;
}

Statement& Statement::bind(int index, std::string_view text) {
    noteBind(sqlite3_bind_text64(m_stmt, index, text.data(), text.size(), SQLITE_TRANSIENT,
                                 SQLITE_UTF8));
    return *this;
}

Statement& Statement::bind(int index, const std::optional<int>& value) {
    if (value) return bind(index, static_cast<std::int64_t>(*value));
    return bindNull(index);
}

Statement& Statement::bindNull(int index) {
    noteBind(sqlite3_bind_null(m_stmt, index));
    return *this;
}

std::expected<bool, Error> Statement::step() {
    if (m_bindError != 0) {
        const int rc = m_bindError;
        return std::unexpected(sqlError(m_db, rc, m_doing + " (binding parameters)"));
    }
    const int rc = sqlite3_step(m_stmt);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    Error e = sqlError(m_db, rc, m_doing);
    sqlite3_reset(m_stmt);
    return std::unexpected(std::move(e));
}

std::expected<void, Error> Statement::run() {
    auto r = step();
    if (!r) return std::unexpected(std::move(r.error()));
    assert(!*r && "statement run() returned a row");
    return {};
}

void Statement::reset() {
    sqlite3_reset(m_stmt);   // the result repeats the last step's error, already reported
    sqlite3_clear_bindings(m_stmt);
    m_bindError = 0;
}

std::expected<Statement*, Error> StatementCache::get(std::string_view sql, std::string_view doing) {
    if (auto it = m_bySql.find(sql); it != m_bySql.end()) {
        it->second.reset();
        return &it->second;
    }
    auto st = Statement::prepare(m_db, sql, doing, Statement::Keep::Yes);
    if (!st) return std::unexpected(std::move(st.error()));
    return &m_bySql.emplace(std::string(sql), std::move(*st)).first->second;
}

std::int64_t Statement::columnInt(int col) const { return sqlite3_column_int64(m_stmt, col); }

std::optional<int> Statement::columnOptionalInt(int col) const {
    if (columnIsNull(col)) return std::nullopt;
    return sqlite3_column_int(m_stmt, col);
}

bool Statement::columnIsNull(int col) const {
    return sqlite3_column_type(m_stmt, col) == SQLITE_NULL;
}

std::string Statement::columnText(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(m_stmt, col));
    const int n = sqlite3_column_bytes(m_stmt, col);
    return p == nullptr ? std::string() : std::string(p, static_cast<std::size_t>(n));
}

std::expected<Transaction, Error> Transaction::begin(sqlite3* db, std::string_view doing) {
    assert(db != nullptr);
    Transaction t(db, std::string(doing));
    char* msg = nullptr;
    const int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, &msg);
    sqlite3_free(msg);
    if (rc != SQLITE_OK) return std::unexpected(sqlError(db, rc, t.m_doing + " (begin)"));
    t.m_active = true;
    return t;
}

std::expected<Transaction, Error> Transaction::beginRead(sqlite3* db, std::string_view doing) {
    assert(db != nullptr);
    Transaction t(db, std::string(doing));
    if (sqlite3_get_autocommit(db) == 0) return t;   // nested: the outer one owns the snapshot
    char* msg = nullptr;
    const int rc = sqlite3_exec(db, "BEGIN DEFERRED", nullptr, nullptr, &msg);
    sqlite3_free(msg);
    if (rc != SQLITE_OK) return std::unexpected(sqlError(db, rc, t.m_doing + " (begin)"));
    t.m_active = true;
    return t;
}

Transaction::Transaction(Transaction&& other) noexcept
    : m_db(std::exchange(other.m_db, nullptr)),
      m_doing(std::move(other.m_doing)),
      m_active(std::exchange(other.m_active, false)) {}

Transaction::~Transaction() { rollback(); }

std::expected<void, Error> Transaction::commit() {
    if (!m_active) return {};   // a nested read transaction
    const int rc = sqlite3_exec(m_db, "COMMIT", nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) {
        Error e = sqlError(m_db, rc, m_doing + " (commit)");
        rollback();   // a failed COMMIT can leave the transaction open (BUSY, FULL)
        return std::unexpected(std::move(e));
    }
    m_active = false;
    return {};
}

void Transaction::rollback() noexcept {
    if (!m_active) return;
    m_active = false;
    // sqlite may already have rolled back on its own (e.g. after SQLITE_FULL); then there is
    // nothing left to undo and ROLLBACK would only fail.
    if (sqlite3_get_autocommit(m_db) == 0)
        sqlite3_exec(m_db, "ROLLBACK", nullptr, nullptr, nullptr);
}

} // namespace segue::store
