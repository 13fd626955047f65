// The PostgreSQL 15 engine of HQ storage (`postgresql://…`), through libpq: `?` becomes `$n`,
// statements a caller does not read wait and go out together in one pipeline, a batch's rows go
// in as one array per column, and a small pool of connections serves the request threads.
#include "hq/pg_storage.hpp"

#include <charconv>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <unordered_map>
#include <utility>

#include <libpq-fe.h>
#include <spdlog/spdlog.h>

#include "hq/sql_storage.hpp"

namespace segue::hq {
namespace {

using Kind = StorageError::Kind;
using TextParams = std::vector<std::optional<std::string>>;

constexpr int kPoolSize = 8;
constexpr int kIngestAttempts = 3;
constexpr std::int64_t kMigrationLock = 0x5e60e;   // pg_advisory_xact_lock key: one migrator at a time

/// libpq's message text without its trailing newline.
std::string trimmed(std::string message) {
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
    return message;
}

const char* typeName(SqlType t) {
    switch (t) {
    case SqlType::Text: return "text";
    case SqlType::Uuid: return "uuid";
    case SqlType::Integer: return "int";
    case SqlType::SmallInt: return "smallint";
    case SqlType::BigInt: return "bigint";
    case SqlType::Boolean: return "boolean";
    case SqlType::Json: return "jsonb";
    }
    return "text";
}

std::optional<std::string> textOf(const SqlValue& v) {
    if (const auto* n = std::get_if<std::int64_t>(&v)) return std::to_string(*n);
    if (const auto* t = std::get_if<std::string>(&v)) return *t;
    if (const auto* b = std::get_if<bool>(&v)) return std::string(*b ? "true" : "false");
    return std::nullopt;
}

TextParams textParams(const SqlParams& params) {
    TextParams out;
    out.reserve(params.size());
    for (const auto& p : params) out.push_back(textOf(p));
    return out;
}

/// `?` placeholders as PostgreSQL's `$1, $2, …` (outside quoted text and names).
std::string numbered(std::string_view sql) {
    std::string out;
    out.reserve(sql.size() + 16);
    int n = 0;
    char quote = 0;
    for (const char ch : sql) {
        if (quote) {
            if (ch == quote) quote = 0;
            out += ch;
        } else if (ch == '\'' || ch == '"') {
            quote = ch;
            out += ch;
        } else if (ch == '?') {
            out += '$' + std::to_string(++n);
        } else {
            out += ch;
        }
    }
    return out;
}

/// Owns a PGresult; rows are read forward.
class PgRows final : public SqlRows {
public:
    explicit PgRows(PGresult* r) : m_r(r) {}
    ~PgRows() override { PQclear(m_r); }
    PgRows(const PgRows&) = delete;
    PgRows& operator=(const PgRows&) = delete;
    SqlResult<bool> next() override { return ++m_row < PQntuples(m_r); }
    bool isNull(int col) const override { return PQgetisnull(m_r, m_row, col) != 0; }
    std::string text(int col) const override {
        return std::string(PQgetvalue(m_r, m_row, col), static_cast<std::size_t>(PQgetlength(m_r, m_row, col)));
    }
    std::int64_t integer(int col) const override {
        const char* p = PQgetvalue(m_r, m_row, col);
        std::int64_t v = 0;
        std::from_chars(p, p + PQgetlength(m_r, m_row, col), v);
        return v;
    }
    bool flag(int col) const override { return PQgetvalue(m_r, m_row, col)[0] == 't'; }
    int rows() const { return PQntuples(m_r); }

private:
    PGresult* m_r;
    int m_row = -1;
};

/// A PostgreSQL array literal, {"a","b",NULL}: one parameter carries a whole column of a batch.
class ArrayLiteral {
public:
    void add(const std::optional<std::string>& v) {
        if (m_text.size() > 1) m_text += ',';
        if (!v) {
            m_text += "NULL";
            return;
        }
        m_text += '"';
        for (const char ch : *v) {
            if (ch == '"' || ch == '\\') m_text += '\\';
            m_text += ch;
        }
        m_text += '"';
    }
    std::string text() const { return m_text + "}"; }

private:
    std::string m_text = "{";
};

void ignoreNotice(void*, const char*) {}

class PgConnection final : public SqlConnection {
public:
    explicit PgConnection(PGconn* c) : m_conn(c) {}
    ~PgConnection() override { PQfinish(m_conn); }
    PgConnection(const PgConnection&) = delete;
    PgConnection& operator=(const PgConnection&) = delete;

    /// Fit to be lent again: open, idle, not in pipeline mode, nothing held back.
    bool reusable() const {
        return PQstatus(m_conn) == CONNECTION_OK && PQtransactionStatus(m_conn) == PQTRANS_IDLE &&
               PQpipelineStatus(m_conn) == PQ_PIPELINE_OFF && m_steps.empty();
    }
    /// The kind of the last failure (a deadlock is tried again).
    SqlError::Code lastFailure() const { return m_lastFailure; }

    SqlResult<void> script(std::string_view sql) override {
        if (auto r = flush(); !r) return std::unexpected(r.error());
        // Several statements in one constant text: the simple query protocol runs them all.
        auto r = checked(PQexec(m_conn, std::string(sql).c_str()));
        if (!r) return std::unexpected(r.error());
        return {};
    }

    SqlResult<void> send(std::string_view sql, SqlParams params, Reuse reuse) override {
        add(sql, textParams(params), reuse);
        if (m_inTx) return {};   // goes with the next query or the commit
        auto r = flush();
        if (!r) return std::unexpected(r.error());
        return {};
    }

    SqlResult<std::unique_ptr<SqlRows>> query(std::string_view sql, SqlParams params, Reuse reuse) override {
        add(sql, textParams(params), reuse);
        auto r = flush();
        if (!r) return std::unexpected(r.error());
        return std::unique_ptr<SqlRows>(std::move(*r));
    }

    SqlResult<void> prepare(std::string_view sql) override {
        auto name = preparedName(sql);
        if (!name) return std::unexpected(name.error());
        return {};
    }

    SqlResult<void> begin(Tx kind) override {
        add(kind == Tx::Write ? "BEGIN" : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", {}, Reuse::Once);
        m_inTx = true;
        return {};
    }

    SqlResult<void> commit() override {
        add("COMMIT", {}, Reuse::Once);
        m_inTx = false;
        auto r = flush();
        if (!r) {
            rollback();
            return std::unexpected(r.error());
        }
        return {};
    }

    void rollback() noexcept override {
        m_steps.clear();
        m_inTx = false;
        const auto state = PQtransactionStatus(m_conn);
        if (state == PQTRANS_INTRANS || state == PQTRANS_INERROR) PQclear(PQexec(m_conn, "ROLLBACK"));
    }

protected:
    /// One statement for the whole batch: each column as an array, unnested into rows.
    SqlResult<std::vector<std::string>> insertRows(const BulkInsert& spec, const std::vector<SqlParams>& rows,
                                                   const SqlParams& shared) override {
        std::vector<std::string> inserted;
        std::vector<ArrayLiteral> columns(spec.columns.size());
        for (const auto& row : rows)
            for (std::size_t c = 0; c < columns.size(); ++c) columns[c].add(textOf(row[c]));
        SqlParams params = shared;   // insertSql() names the shared values first
        for (const auto& column : columns) params.emplace_back(column.text());
        auto result = query(insertSql(spec), std::move(params), Reuse::Often);
        if (!result) return std::unexpected(result.error());
        for (;;) {
            auto more = (*result)->next();
            if (!more || !*more) break;
            inserted.push_back((*result)->text(0));
        }
        return inserted;
    }

private:
    struct Step {
        std::string sql;          ///< with $n placeholders; empty when prepared
        std::string prepared;     ///< the prepared statement's name, or empty
        TextParams params;
    };

    void add(std::string_view sql, TextParams params, Reuse reuse) {
        Step step;
        if (reuse == Reuse::Often) {
            // Named once per connection: parsing and planning a freshly written INSERT was the
            // largest part of PostgreSQL's work under a fleet (perf). Prepared at the next flush.
            step.prepared = std::string(sql);
        } else {
            step.sql = numbered(sql);
        }
        step.params = std::move(params);
        m_steps.push_back(std::move(step));
    }

    std::string insertSql(const BulkInsert& spec) const override {
        std::string sql = "INSERT INTO " + std::string(spec.table) + " (" + insertColumnList(spec) + ") SELECT u.*";
        for (const auto& c : spec.shared) sql += ", CAST(? AS " + std::string(typeName(c.type)) + ")";
        sql += " FROM unnest(";
        for (std::size_t i = 0; i < spec.columns.size(); ++i)
            sql += (i ? ", CAST(? AS " : "CAST(? AS ") + std::string(typeName(spec.columns[i].type)) + "[])";
        sql += ") AS u ON CONFLICT (" + std::string(spec.conflictColumn) + ") DO NOTHING RETURNING " +
               std::string(spec.returning.name) + "::text";
        return sql;
    }

    SqlError failure(PGresult* r) {
        SqlError e;
        std::string state;
        if (r) {
            const char* s = PQresultErrorField(r, PG_DIAG_SQLSTATE);
            state = s ? s : "";
            e.message = trimmed(PQresultErrorMessage(r));
        } else {
            e.message = trimmed(PQerrorMessage(m_conn));
        }
        if (e.message.empty()) e.message = "lost the connection to PostgreSQL";
        if (state == "23505" || state == "23514") e.code = SqlError::Code::Constraint;
        if (state == "40P01" || state == "40001") e.code = SqlError::Code::Retry;
        if (!state.empty()) e.message += " [" + state + "]";
        m_lastFailure = e.code;
        return e;
    }

    /// Checks a result's status; the error keeps SQLSTATE and PostgreSQL's own text.
    SqlResult<std::unique_ptr<PgRows>> checked(PGresult* r) {
        const auto status = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
        if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return std::make_unique<PgRows>(r);
        auto e = failure(r);
        PQclear(r);
        return std::unexpected(std::move(e));
    }

    /// The name `sql` (with `?` placeholders) is prepared under on this connection, preparing it
    /// the first time.
    SqlResult<std::string> preparedName(std::string_view sql) {
        const std::string key(sql);
        const auto it = m_prepared.find(key);
        if (it != m_prepared.end()) return it->second;
        std::string name = "segue_" + std::to_string(m_prepared.size() + 1);
        auto r = checked(PQprepare(m_conn, name.c_str(), numbered(sql).c_str(), 0, nullptr));
        if (!r) return std::unexpected(r.error());
        m_prepared.emplace(key, name);
        return name;
    }

    /// Sends what was held back and reads every answer: the last statement's rows, or the first
    /// error. One statement goes alone; several in libpq's pipeline mode, one round trip for all.
    /// After a failed statement PostgreSQL skips the rest of the pipeline.
    SqlResult<std::unique_ptr<PgRows>> flush() {
        std::vector<Step> steps = std::exchange(m_steps, {});
        if (steps.empty()) return std::unique_ptr<PgRows>();
        for (auto& step : steps) {
            if (step.prepared.empty()) continue;
            auto name = preparedName(step.prepared);
            if (!name) return std::unexpected(name.error());
            step.prepared = std::move(*name);
        }
        if (steps.size() == 1) return runOne(steps.front());
        return runPipeline(steps);
    }

    static std::vector<const char*> values(const TextParams& params) {
        std::vector<const char*> v;
        v.reserve(params.size());
        for (const auto& p : params) v.push_back(p ? p->c_str() : nullptr);
        return v;
    }

    SqlResult<std::unique_ptr<PgRows>> runOne(const Step& step) {
        const auto v = values(step.params);
        const int n = static_cast<int>(v.size());
        // Parameters travel apart from the SQL text (the extended protocol): data never becomes SQL.
        return checked(step.prepared.empty()
                           ? PQexecParams(m_conn, step.sql.c_str(), n, nullptr, v.data(), nullptr, nullptr, 0)
                           : PQexecPrepared(m_conn, step.prepared.c_str(), n, v.data(), nullptr, nullptr, 0));
    }

    SqlResult<std::unique_ptr<PgRows>> runPipeline(const std::vector<Step>& steps) {
        if (PQenterPipelineMode(m_conn) != 1) return std::unexpected(failure(nullptr));
        for (const auto& step : steps) {
            const auto v = values(step.params);
            const int n = static_cast<int>(v.size());
            const int sent = step.prepared.empty()
                                 ? PQsendQueryParams(m_conn, step.sql.c_str(), n, nullptr, v.data(), nullptr, nullptr, 0)
                                 : PQsendQueryPrepared(m_conn, step.prepared.c_str(), n, v.data(), nullptr, nullptr, 0);
            // Left in pipeline mode with answers owed: the pool closes it rather than reuse it.
            if (sent != 1) return std::unexpected(failure(nullptr));
        }
        if (PQpipelineSync(m_conn) != 1) return std::unexpected(failure(nullptr));

        std::unique_ptr<PgRows> last;
        std::size_t answered = 0;
        std::optional<SqlError> error;
        int emptyInARow = 0;
        for (;;) {
            PGresult* r = PQgetResult(m_conn);
            if (!r) {
                // One null ends each statement's answer; more in a row means the connection is gone.
                if (++emptyInARow > 2 || PQstatus(m_conn) == CONNECTION_BAD) return std::unexpected(failure(nullptr));
                continue;
            }
            emptyInARow = 0;
            const auto status = PQresultStatus(r);
            if (status == PGRES_PIPELINE_SYNC) {
                PQclear(r);
                break;
            }
            if (status == PGRES_PIPELINE_ABORTED) {
                PQclear(r);
                continue;
            }
            auto result = checked(r);
            if (result) {
                ++answered;
                last = std::move(*result);
            } else if (!error) {
                error = std::move(result.error());
            }
        }
        if (PQexitPipelineMode(m_conn) != 1 && !error) error = failure(nullptr);
        if (error) return std::unexpected(std::move(*error));
        if (answered != steps.size())
            return std::unexpected(SqlError{SqlError::Code::Other, "PostgreSQL answered " + std::to_string(answered) +
                                                                       " of " + std::to_string(steps.size()) +
                                                                       " statements"});
        return last;
    }

    PGconn* m_conn;
    std::vector<Step> m_steps;   ///< held back until the next query, commit or script
    bool m_inTx = false;
    std::unordered_map<std::string, std::string> m_prepared;   ///< SQL → prepared statement's name
    SqlError::Code m_lastFailure = SqlError::Code::Other;
};

/// A few connections shared by the request threads. A connection that broke is dropped and
/// replaced on the next acquire.
///
/// When PostgreSQL refuses a connection while the pool has others open (its max_connections, or
/// a role's CONNECTION LIMIT), the pool shrinks to what it has and requests wait for one of those
/// instead of failing; after kFullPoolRetry it tries its full size again.
class Pool {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr auto kFullPoolRetry = std::chrono::seconds(60);

    explicit Pool(std::string url) : m_url(std::move(url)) {}
    Pool(const Pool&) = delete;
    Pool& operator=(const Pool&) = delete;

    /// Wait::No fails instead of waiting for a connection held by someone else: for a caller that
    /// holds leases itself (warmUp), which would otherwise wait on itself once the pool shrank.
    Result<PgConnection*> acquire(SqlEngine::Wait wait) {
        std::unique_lock lock(m_mutex);
        for (;;) {
            if (m_ceiling < kPoolSize && Clock::now() >= m_fullAgainAt) m_ceiling = kPoolSize;
            const auto ready = [&] { return !m_idle.empty() || m_open < m_ceiling; };
            if (wait == SqlEngine::Wait::No && !ready())
                return std::unexpected(StorageError{
                    Kind::Io, "all " + std::to_string(m_open) + " connections PostgreSQL allowed are in use"});
            m_cv.wait(lock, ready);
            if (!m_idle.empty()) {
                PgConnection* c = m_idle.back().release();
                m_idle.pop_back();
                return c;
            }
            ++m_open;
            lock.unlock();
            auto c = connect();
            lock.lock();
            if (c) return c->release();
            --m_open;
            m_cv.notify_one();
            // With none open this is PostgreSQL down or the URL wrong: say so now.
            if (m_open == 0) return std::unexpected(StorageError{Kind::Io, "cannot connect to PostgreSQL: " + c.error()});
            if (m_ceiling > m_open)
                spdlog::warn("PostgreSQL refused a connection, so segue-hq shares the {} it has "
                             "(of {}) and tries for more in {} s: {}",
                             m_open, kPoolSize, kFullPoolRetry.count(), c.error());
            m_ceiling = m_open;
            m_fullAgainAt = Clock::now() + kFullPoolRetry;
            if (wait == SqlEngine::Wait::No)
                return std::unexpected(StorageError{Kind::Io, "cannot connect to PostgreSQL: " + c.error()});
        }
    }

    void release(PgConnection* raw) {
        std::unique_ptr<PgConnection> c(raw);
        // A broken connection, one left inside a transaction by a failed rollback, or one a failed
        // pipeline left owing answers, is not reused.
        const bool keep = c->reusable();
        std::lock_guard lock(m_mutex);
        if (keep) {
            m_idle.push_back(std::move(c));
        } else {
            c.reset();
            --m_open;
        }
        m_cv.notify_one();
    }

private:
    /// A new connection, or PostgreSQL's reason for refusing it.
    std::expected<std::unique_ptr<PgConnection>, std::string> connect() const {
        // Named in pg_stat_activity unless the URL names it otherwise.
        const char* const keys[] = {"dbname", "fallback_application_name", nullptr};
        const char* const values[] = {m_url.c_str(), "segue-hq", nullptr};
        PGconn* c = PQconnectdbParams(keys, values, 1);
        if (!c || PQstatus(c) != CONNECTION_OK) {
            std::string message = c ? trimmed(PQerrorMessage(c)) : "out of memory";
            PQfinish(c);
            return std::unexpected(std::move(message));
        }
        PQsetNoticeProcessor(c, ignoreNotice, nullptr);
        return std::make_unique<PgConnection>(c);
    }

    std::string m_url;
    std::mutex m_mutex;
    std::condition_variable m_cv;
    std::vector<std::unique_ptr<PgConnection>> m_idle;
    int m_open = 0;
    /// How many connections may be open: kPoolSize, or fewer since PostgreSQL refused one.
    int m_ceiling = kPoolSize;
    Clock::time_point m_fullAgainAt;
};

class PgEngine final : public SqlEngine {
public:
    explicit PgEngine(std::string url) : m_pool(std::move(url)) {}

    std::string_view migrationsDir() const override { return "postgresql"; }

    Result<SqlLease> connection(Purpose, Wait wait) override {
        auto c = m_pool.acquire(wait);
        if (!c) return std::unexpected(c.error());
        return lease(*c);
    }

    Result<std::vector<Outcome>> ingest(const IngestRequest& req, const IngestStep& step) override {
        auto got = m_pool.acquire(Wait::Yes);
        if (!got) return std::unexpected(got.error());
        const SqlLease held = lease(*got);
        PgConnection& c = **got;
        // Two transactions that insert overlapping ids wait on each other's unique keys; a deadlock
        // or serialization failure is tried again.
        for (int attempt = 1;; ++attempt) {
            (void)c.begin(SqlConnection::Tx::Write);
            auto out = step(c, req);
            if (out) {
                if (auto r = c.commit(); !r) out = std::unexpected(storageError("storing a batch", r.error()));
            }
            if (out) return out;
            c.rollback();
            if (attempt == kIngestAttempts || c.lastFailure() != SqlError::Code::Retry) return out;
        }
    }

    Result<int> warmUp(const std::function<Result<void>(SqlConnection&)>& prepare) override {
        // Holding each lease makes the next acquire open a new connection, up to the pool's size.
        std::vector<SqlLease> leases;
        for (int i = 0; i < kPoolSize; ++i) {
            auto c = m_pool.acquire(Wait::No);
            if (!c && i > 0)
                return std::unexpected(StorageError{c.error().kind, "opened " + std::to_string(i) + " of " +
                                                                      std::to_string(kPoolSize) + "; " +
                                                                      c.error().message});
            if (!c) return std::unexpected(c.error());
            leases.push_back(lease(*c));
            if (auto r = prepare(**c); !r) return std::unexpected(r.error());
        }
        return kPoolSize;
    }

    Result<void> migrate(const std::function<Result<void>(SqlConnection&)>& run) override {
        auto got = m_pool.acquire(Wait::Yes);
        if (!got) return std::unexpected(got.error());
        const SqlLease held = lease(*got);
        PgConnection& c = **got;
        (void)c.begin(SqlConnection::Tx::Write);
        auto locked = c.query("SELECT pg_advisory_xact_lock(?)", {kMigrationLock}, Reuse::Once);
        if (!locked) {
            c.rollback();
            return std::unexpected(storageError("migration lock", locked.error()));
        }
        locked->reset();
        auto done = run(c);
        if (done) {
            if (auto r = c.commit(); !r) done = std::unexpected(storageError("migration commit", r.error()));
        }
        if (!done) c.rollback();
        return done;
    }

private:
    SqlLease lease(PgConnection* c) {
        return SqlLease(*c, [this, c] { m_pool.release(c); });
    }

    Pool m_pool;
};

} // namespace

Result<std::unique_ptr<SqlEngine>> openPgEngine(const std::string& url) {
    return std::unique_ptr<SqlEngine>(std::make_unique<PgEngine>(url));
}

Result<std::unique_ptr<Storage>> openPgStorage(const std::string& url) {
    auto engine = openPgEngine(url);
    if (!engine) return std::unexpected(engine.error());
    return openSqlStorage(std::move(*engine));
}

} // namespace segue::hq
