#include "hq/pg_storage.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <numeric>
#include <set>
#include <string_view>
#include <unordered_map>
#include <utility>

#include <libpq-fe.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "hq/day_sums.hpp"
#include "hq/token.hpp"

namespace segue::hq {
namespace {

using Kind = StorageError::Kind;
using Params = std::vector<std::optional<std::string>>;

// Numbered migrations; entry i takes the schema from version i to i + 1. Dates are text in
// the "C" collation so that ranges and ordering are plain byte comparisons, as in SQLite.
constexpr const char* kMigrations[] = {
    R"sql(
CREATE TABLE stores (
  id         text PRIMARY KEY,
  created_at bigint NOT NULL
);
CREATE TABLE devices (
  id              text PRIMARY KEY,
  store_id        text NOT NULL REFERENCES stores(id),
  name            text NOT NULL,
  token_hash      text NOT NULL UNIQUE,
  revoked         boolean NOT NULL DEFAULT false,
  last_seen       bigint,
  last_pending    bigint,
  app_version     text,
  clock_offset_ms bigint,
  created_at      bigint NOT NULL
);
CREATE INDEX devices_store ON devices(store_id);
CREATE TABLE tokens (
  id         bigserial PRIMARY KEY,
  token_hash text NOT NULL UNIQUE,
  role       text NOT NULL CHECK (role IN ('read')),
  revoked    boolean NOT NULL DEFAULT false,
  created_at bigint NOT NULL
);
CREATE TABLE responses (
  id                  uuid PRIMARY KEY,
  store_id            text NOT NULL,
  device_id           text NOT NULL,
  survey_id           text NOT NULL,
  survey_version      integer NOT NULL,
  language            text NOT NULL,
  created_at          bigint NOT NULL,
  local_date          text COLLATE "C" NOT NULL,
  local_hour          smallint NOT NULL,
  utc_offset_min      smallint NOT NULL,
  stars               smallint NOT NULL,
  segue_satisfactory  smallint,
  segue_efficient     smallint,
  segue_genuine       smallint,
  segue_understanding smallint,
  segue_effective     smallint,
  tags                jsonb NOT NULL,
  complete            boolean NOT NULL,
  misuse              boolean NOT NULL,
  synthetic           boolean NOT NULL,
  duration_ms         bigint NOT NULL,
  received_at         bigint NOT NULL,
  batch_id            uuid NOT NULL
);
CREATE INDEX responses_store_date ON responses(store_id, local_date);
CREATE INDEX responses_date ON responses(local_date);
CREATE TABLE conflicts (
  id          bigserial PRIMARY KEY,
  response_id uuid NOT NULL,
  device_id   text NOT NULL,
  batch_id    uuid NOT NULL,
  record      text NOT NULL,
  record_hash text NOT NULL,
  received_at bigint NOT NULL,
  UNIQUE (response_id, record_hash)
);
CREATE INDEX conflicts_device ON conflicts(device_id);
CREATE TABLE rejections (
  id          bigserial PRIMARY KEY,
  response_id text NOT NULL,
  device_id   text NOT NULL,
  batch_id    uuid NOT NULL,
  reason      text NOT NULL,
  record      text NOT NULL,
  record_hash text NOT NULL,
  received_at bigint NOT NULL,
  UNIQUE (device_id, record_hash)
);
)sql",
    // 2: alerts raised by the rules, one per (rule, subject, day), with their webhook delivery state.
    R"sql(
CREATE TABLE alerts (
  id              bigserial PRIMARY KEY,
  rule            text NOT NULL,
  subject         text NOT NULL,
  store_id        text NOT NULL,
  device_id       text,
  day             text COLLATE "C" NOT NULL,
  raised_at       bigint NOT NULL,
  message         text NOT NULL,
  details         text NOT NULL,
  state           text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
  attempts        integer NOT NULL DEFAULT 0,
  next_attempt_at bigint NOT NULL,
  delivered_at    bigint,
  last_error      text NOT NULL DEFAULT '',
  UNIQUE (rule, subject, day)
);
CREATE INDEX alerts_due ON alerts(state, next_attempt_at);
CREATE INDEX responses_store_created ON responses(store_id, created_at);
)sql",
    // 3: per-(store, local date) sums of the responses, kept by ingest, so that reads add up a row
    // per day instead of every response; backfilled here from the responses already stored. The
    // sums follow core::Tally::add: misuse counted apart, everything else over non-misuse only.
    R"sql(
CREATE TABLE day_tallies (
  store_id   text NOT NULL,
  local_date text COLLATE "C" NOT NULL,
  counted bigint NOT NULL, star_sum bigint NOT NULL, satisfied bigint NOT NULL, partial bigint NOT NULL,
  misuse  bigint NOT NULL,
  segue_satisfactory_sum  bigint NOT NULL, segue_satisfactory_n  bigint NOT NULL,
  segue_efficient_sum     bigint NOT NULL, segue_efficient_n     bigint NOT NULL,
  segue_genuine_sum       bigint NOT NULL, segue_genuine_n       bigint NOT NULL,
  segue_understanding_sum bigint NOT NULL, segue_understanding_n bigint NOT NULL,
  segue_effective_sum     bigint NOT NULL, segue_effective_n     bigint NOT NULL,
  h00 bigint NOT NULL, h01 bigint NOT NULL, h02 bigint NOT NULL, h03 bigint NOT NULL, h04 bigint NOT NULL,
  h05 bigint NOT NULL, h06 bigint NOT NULL, h07 bigint NOT NULL, h08 bigint NOT NULL, h09 bigint NOT NULL,
  h10 bigint NOT NULL, h11 bigint NOT NULL, h12 bigint NOT NULL, h13 bigint NOT NULL, h14 bigint NOT NULL,
  h15 bigint NOT NULL, h16 bigint NOT NULL, h17 bigint NOT NULL, h18 bigint NOT NULL, h19 bigint NOT NULL,
  h20 bigint NOT NULL, h21 bigint NOT NULL, h22 bigint NOT NULL, h23 bigint NOT NULL,
  PRIMARY KEY (store_id, local_date)
);
CREATE INDEX day_tallies_date ON day_tallies(local_date);
CREATE TABLE day_tag_counts (
  store_id   text NOT NULL,
  local_date text COLLATE "C" NOT NULL,
  tag        text NOT NULL,
  n          bigint NOT NULL,
  PRIMARY KEY (store_id, local_date, tag)
);
CREATE INDEX day_tag_counts_date ON day_tag_counts(local_date);
INSERT INTO day_tallies
SELECT store_id, local_date,
       COUNT(*) FILTER (WHERE NOT misuse), COALESCE(SUM(stars) FILTER (WHERE NOT misuse), 0),
       COUNT(*) FILTER (WHERE NOT misuse AND stars >= 4), COUNT(*) FILTER (WHERE NOT misuse AND NOT complete),
       COUNT(*) FILTER (WHERE misuse),
       COALESCE(SUM(segue_satisfactory) FILTER (WHERE NOT misuse), 0), COUNT(segue_satisfactory) FILTER (WHERE NOT misuse),
       COALESCE(SUM(segue_efficient) FILTER (WHERE NOT misuse), 0), COUNT(segue_efficient) FILTER (WHERE NOT misuse),
       COALESCE(SUM(segue_genuine) FILTER (WHERE NOT misuse), 0), COUNT(segue_genuine) FILTER (WHERE NOT misuse),
       COALESCE(SUM(segue_understanding) FILTER (WHERE NOT misuse), 0), COUNT(segue_understanding) FILTER (WHERE NOT misuse),
       COALESCE(SUM(segue_effective) FILTER (WHERE NOT misuse), 0), COUNT(segue_effective) FILTER (WHERE NOT misuse),
       COUNT(*) FILTER (WHERE NOT misuse AND local_hour = 0), COUNT(*) FILTER (WHERE NOT misuse AND local_hour = 1),
       COUNT(*) FILTER (WHERE NOT misuse AND local_hour = 2), COUNT(*) FILTER (WHERE NOT misuse AND local_hour = 3),
       COUNT(*) FILTER (WHERE NOT misuse AND local_hour = 4), COUNT(*) FILTER (WHERE NOT misuse AND local_hour = 5),
       COUNT(*) FILTER (WHERE NOT misuse AND local_hour = 6), COUNT(*) FILTER (WHERE NOT misuse AND local_hour = 7),
       COUNT(*) FILTER (WHERE NOT misuse AND local_hour = 8), COUNT(*) FILTER (WHERE NOT misuse AND local_hour = 9),
       COUNT(*) FILTER (WHERE NOT misuse AND local_hour = 10), COUNT(*) FILTER (WHERE NOT misuse AND local_hour = 11),
       COUNT(*) FILTER (WHERE NOT misuse AND local_hour = 12), COUNT(*) FILTER (WHERE NOT misuse AND local_hour = 13),
       COUNT(*) FILTER (WHERE NOT misuse AND local_hour = 14), COUNT(*) FILTER (WHERE NOT misuse AND local_hour = 15),
       COUNT(*) FILTER (WHERE NOT misuse AND local_hour = 16), COUNT(*) FILTER (WHERE NOT misuse AND local_hour = 17),
       COUNT(*) FILTER (WHERE NOT misuse AND local_hour = 18), COUNT(*) FILTER (WHERE NOT misuse AND local_hour = 19),
       COUNT(*) FILTER (WHERE NOT misuse AND local_hour = 20), COUNT(*) FILTER (WHERE NOT misuse AND local_hour = 21),
       COUNT(*) FILTER (WHERE NOT misuse AND local_hour = 22), COUNT(*) FILTER (WHERE NOT misuse AND local_hour = 23)
FROM responses GROUP BY store_id, local_date;
INSERT INTO day_tag_counts
SELECT r.store_id, r.local_date, t.tag, COUNT(*) FROM responses r
CROSS JOIN LATERAL jsonb_array_elements_text(r.tags) AS t(tag)
WHERE NOT r.misuse GROUP BY r.store_id, r.local_date, t.tag;
ANALYZE day_tallies;
ANALYZE day_tag_counts;
)sql",
    // 4: reports read the day sums since version 3 and the export walks the ids, so nothing reads
    // these two any more; each cost every ingested record two more index entries.
    R"sql(
DROP INDEX IF EXISTS responses_store_date;
DROP INDEX IF EXISTS responses_date;
)sql",
};
static_assert(std::size(kMigrations) == kSchemaVersion);

constexpr const char* kAlertColumns =
    "id, rule, subject, store_id, device_id, day, raised_at, message, details, state, attempts, next_attempt_at, "
    "delivered_at, last_error";

constexpr const char* kResponseColumns =
    "id::text, store_id, device_id, survey_id, survey_version, language, created_at, local_date, local_hour, "
    "utc_offset_min, stars, segue_satisfactory, segue_efficient, segue_genuine, segue_understanding, "
    "segue_effective, tags::text, complete, misuse, synthetic, duration_ms, received_at";
constexpr const char* kInsertColumns =
    "id, store_id, device_id, survey_id, survey_version, language, created_at, local_date, local_hour, "
    "utc_offset_min, stars, segue_satisfactory, segue_efficient, segue_genuine, segue_understanding, "
    "segue_effective, tags, complete, misuse, synthetic, duration_ms, received_at, batch_id";
// Casts per inserted column, so every parameter has a definite type.
constexpr const char* kInsertCasts[] = {"uuid", "text", "text", "text", "int", "text", "bigint", "text",
                                        "smallint", "smallint", "smallint", "smallint", "smallint", "smallint",
                                        "smallint", "smallint", "jsonb", "boolean", "boolean", "boolean",
                                        "bigint", "bigint", "uuid"};
/// The per-record columns of kInsertColumns (all but received_at and batch_id, one per batch).
constexpr std::size_t kRecordColumns = std::size(kInsertCasts) - 2;
constexpr const char* kUpdateDevice = "segue_update_device";
constexpr const char* kUpdateDeviceSql = "UPDATE devices SET last_seen = $1, last_pending = $2, app_version = $3, "
                                         "clock_offset_ms = COALESCE($4::bigint, clock_offset_ms) WHERE id = $5";
constexpr const char* kInsertResponses = "segue_insert_responses";
/// A whole batch in one statement: each column as an array, unnested into rows.
std::string insertResponsesSql() {
    std::string sql = std::string("INSERT INTO responses (") + kInsertColumns + ") SELECT u.*, $" +
                      std::to_string(kRecordColumns + 1) + "::bigint, $" + std::to_string(kRecordColumns + 2) +
                      "::uuid FROM unnest(";
    for (std::size_t col = 0; col < kRecordColumns; ++col)
        sql += (col ? ", $" : "$") + std::to_string(col + 1) + "::" + kInsertCasts[col] + "[]";
    return sql + ") AS u ON CONFLICT (id) DO NOTHING RETURNING id::text";
}
constexpr std::size_t kIdsPerSelect = 1000;
constexpr std::size_t kDaysPerUpsert = 500;    // 43 parameters a row
constexpr std::size_t kTagsPerUpsert = 2000;   // 4 parameters a row
constexpr int kPoolSize = 8;
constexpr int kIngestAttempts = 3;
constexpr std::int64_t kMigrationLock = 0x5e60e;   // pg_advisory_xact_lock key: one migrator at a time
constexpr const char* kNilUuid = "00000000-0000-0000-0000-000000000000";

std::string num(std::int64_t v) { return std::to_string(v); }
std::string boolean(bool b) { return b ? "true" : "false"; }

/// Owns a PGresult.
class PgResult {
public:
    explicit PgResult(PGresult* r) : m_r(r) {}
    PgResult(PgResult&& o) noexcept : m_r(std::exchange(o.m_r, nullptr)) {}
    PgResult& operator=(PgResult&&) = delete;
    ~PgResult() { PQclear(m_r); }
    int rows() const { return PQntuples(m_r); }
    bool isNull(int row, int col) const { return PQgetisnull(m_r, row, col) != 0; }
    std::string text(int row, int col) const {
        return std::string(PQgetvalue(m_r, row, col), static_cast<std::size_t>(PQgetlength(m_r, row, col)));
    }
    std::int64_t integer(int row, int col) const {
        const char* p = PQgetvalue(m_r, row, col);
        std::int64_t v = 0;
        std::from_chars(p, p + PQgetlength(m_r, row, col), v);
        return v;
    }
    std::optional<std::int64_t> optInteger(int row, int col) const {
        return isNull(row, col) ? std::nullopt : std::optional<std::int64_t>(integer(row, col));
    }
    bool flag(int row, int col) const { return text(row, col) == "t"; }

private:
    PGresult* m_r;
};

struct PgError {
    std::string sqlState;
    std::string message;
};

/// libpq's message text without its trailing newline.
std::string trimmed(std::string message) {
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
    return message;
}

/// Checks a result's status; the error keeps SQLSTATE and PostgreSQL's own text.
std::expected<PgResult, PgError> checked(PGconn* conn, PGresult* r) {
    const auto status = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return PgResult(r);
    PgError e;
    if (r) {
        const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        e.sqlState = state ? state : "";
        e.message = PQresultErrorMessage(r);
    } else {
        e.message = PQerrorMessage(conn);
    }
    e.message = trimmed(std::move(e.message));
    PQclear(r);
    return std::unexpected(e);
}

/// libpq's view of the parameters: a C string each, null for SQL NULL.
std::vector<const char*> paramValues(const Params& params) {
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
    return values;
}

/// Runs one statement with text parameters and text results. Parameters travel apart from the
/// SQL text (the extended protocol), so data never becomes SQL.
std::expected<PgResult, PgError> query(PGconn* conn, const std::string& sql, const Params& params = {}) {
    const auto values = paramValues(params);
    return checked(conn, PQexecParams(conn, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(),
                                      nullptr, nullptr, 0));
}

/// Statements sent together and answered together: libpq's pipeline mode, one round trip for all
/// of them. Under a fleet the backends spent most of their time waiting for and answering the
/// next statement of a batch (perf: epoll_wait and send), so a batch's statements go in two
/// rounds instead of six. After a failed statement PostgreSQL skips the rest of the round.
class Pipeline {
public:
    explicit Pipeline(PGconn* c) : m_conn(c) {}
    void add(std::string sql, Params params = {}) { m_steps.push_back({std::move(sql), nullptr, std::move(params)}); }
    /// A statement prepared with Pool::Lease::prepare.
    void addPrepared(const char* name, Params params) { m_steps.push_back({{}, name, std::move(params)}); }

    /// Sends every statement, then reads every answer: their results in order, or the first error.
    std::expected<std::vector<PgResult>, PgError> run() {
        if (PQenterPipelineMode(m_conn) != 1) return std::unexpected(connectionError());
        for (const auto& step : m_steps) {
            const auto values = paramValues(step.params);
            const int n = static_cast<int>(values.size());
            const int sent = step.prepared
                                 ? PQsendQueryPrepared(m_conn, step.prepared, n, values.data(), nullptr, nullptr, 0)
                                 : PQsendQueryParams(m_conn, step.sql.c_str(), n, nullptr, values.data(), nullptr,
                                                     nullptr, 0);
            // Left in pipeline mode with answers owed: the pool closes it rather than reuse it.
            if (sent != 1) return std::unexpected(connectionError());
        }
        if (PQpipelineSync(m_conn) != 1) return std::unexpected(connectionError());

        std::vector<PgResult> results;
        std::optional<PgError> failure;
        int emptyInARow = 0;
        for (;;) {
            PGresult* r = PQgetResult(m_conn);
            if (!r) {
                // One null ends each statement's answer; more in a row means the connection is gone.
                if (++emptyInARow > 2 || PQstatus(m_conn) == CONNECTION_BAD) return std::unexpected(connectionError());
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
            auto checkedResult = checked(m_conn, r);
            if (checkedResult) results.push_back(std::move(*checkedResult));
            else if (!failure) failure = std::move(checkedResult.error());
        }
        if (PQexitPipelineMode(m_conn) != 1 && !failure) failure = connectionError();
        if (failure) return std::unexpected(std::move(*failure));
        if (results.size() != m_steps.size())
            return std::unexpected(PgError{"", "PostgreSQL answered " + std::to_string(results.size()) + " of " +
                                                   std::to_string(m_steps.size()) + " statements"});
        return results;
    }

private:
    PgError connectionError() const {
        std::string message = trimmed(PQerrorMessage(m_conn));
        return PgError{"", message.empty() ? "lost the connection to PostgreSQL" : message};
    }

    struct Step {
        std::string sql;
        const char* prepared;
        Params params;
    };
    PGconn* m_conn;
    std::vector<Step> m_steps;
};

/// A PostgreSQL array literal, {"a","b",NULL}: one parameter carries a whole column of a batch.
class ArrayLiteral {
public:
    void add(std::string_view v) {
        m_text += m_text.size() == 1 ? "\"" : ",\"";
        for (const char ch : v) {
            if (ch == '"' || ch == '\\') m_text += '\\';
            m_text += ch;
        }
        m_text += '"';
    }
    void addNull() { m_text += m_text.size() == 1 ? "NULL" : ",NULL"; }
    std::string text() const { return m_text + "}"; }

private:
    std::string m_text = "{";
};

StorageError ioError(const std::string& what, const PgError& e) {
    return {Kind::Io, what + ": " + e.message + (e.sqlState.empty() ? "" : " [" + e.sqlState + "]")};
}

std::optional<StoredResponse> readResponse(const PgResult& res, int row) {
    StoredResponse out;
    core::Response& r = out.response;
    r.id = res.text(row, 0);
    r.storeId = res.text(row, 1);
    r.deviceId = res.text(row, 2);
    r.surveyId = res.text(row, 3);
    r.surveyVersion = static_cast<int>(res.integer(row, 4));
    r.language = res.text(row, 5);
    r.createdAtMs = res.integer(row, 6);
    r.localDate = res.text(row, 7);
    r.localHour = static_cast<int>(res.integer(row, 8));
    r.utcOffsetMin = static_cast<int>(res.integer(row, 9));
    r.stars = static_cast<int>(res.integer(row, 10));
    for (int i = 0; i < core::kSegueCount; ++i)
        if (!res.isNull(row, 11 + i)) r.segue[static_cast<std::size_t>(i)] = static_cast<int>(res.integer(row, 11 + i));
    const auto tags = nlohmann::json::parse(res.text(row, 16), nullptr, false);
    if (!tags.is_array()) return std::nullopt;
    for (const auto& t : tags) {
        if (!t.is_string()) return std::nullopt;
        r.tags.push_back(t.get<std::string>());
    }
    r.complete = res.flag(row, 17);
    r.misuse = res.flag(row, 18);
    r.synthetic = res.flag(row, 19);
    r.durationMs = res.integer(row, 20);
    out.receivedAtMs = res.integer(row, 21);
    return out;
}

AlertState stateFromName(const std::string& s) {
    if (s == "delivered") return AlertState::Delivered;
    if (s == "failed") return AlertState::Failed;
    return AlertState::Pending;
}

/// Rows selected with kAlertColumns.
std::vector<Alert> readAlerts(const PgResult& res) {
    std::vector<Alert> out;
    for (int i = 0; i < res.rows(); ++i) {
        Alert a;
        a.id = res.integer(i, 0);
        a.rule = res.text(i, 1);
        a.subject = res.text(i, 2);
        a.storeId = res.text(i, 3);
        if (!res.isNull(i, 4)) a.deviceId = res.text(i, 4);
        a.day = res.text(i, 5);
        a.raisedAtMs = res.integer(i, 6);
        a.message = res.text(i, 7);
        a.details = res.text(i, 8);
        a.state = stateFromName(res.text(i, 9));
        a.attempts = static_cast<int>(res.integer(i, 10));
        a.nextAttemptAtMs = res.integer(i, 11);
        a.deliveredAtMs = res.optInteger(i, 12);
        a.lastError = res.text(i, 13);
        out.push_back(std::move(a));
    }
    return out;
}

void ignoreNotice(void*, const char*) {}

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
    ~Pool() {
        for (PGconn* c : m_idle) PQfinish(c);
    }
    Pool(const Pool&) = delete;
    Pool& operator=(const Pool&) = delete;

    class Lease {
    public:
        Lease(Pool& pool, PGconn* conn) : m_pool(&pool), m_conn(conn) {}
        Lease(Lease&& o) noexcept : m_pool(o.m_pool), m_conn(std::exchange(o.m_conn, nullptr)) {}
        Lease& operator=(Lease&&) = delete;
        ~Lease() {
            if (m_conn) m_pool->release(m_conn);
        }
        PGconn* get() const { return m_conn; }
        /// Prepares `name` on this connection unless done already. Outside a transaction only: a
        /// failed prepare would abort it.
        std::expected<void, PgError> prepare(const char* name, const std::string& sql) const {
            return m_pool->prepareOnce(m_conn, name, sql);
        }

    private:
        Pool* m_pool;
        PGconn* m_conn;
    };

    /// Wait::No fails instead of waiting for a connection held by someone else: for a caller that
    /// holds leases itself (warmUp), which would otherwise wait on itself once the pool shrank.
    enum class Wait { Yes, No };

    Result<Lease> acquire(Wait wait = Wait::Yes) {
        std::unique_lock lock(m_mutex);
        for (;;) {
            if (m_ceiling < kPoolSize && Clock::now() >= m_fullAgainAt) m_ceiling = kPoolSize;
            const auto ready = [&] { return !m_idle.empty() || m_open < m_ceiling; };
            if (wait == Wait::No && !ready())
                return std::unexpected(StorageError{
                    Kind::Io, "all " + std::to_string(m_open) + " connections PostgreSQL allowed are in use"});
            m_cv.wait(lock, ready);
            if (!m_idle.empty()) {
                PGconn* c = m_idle.back();
                m_idle.pop_back();
                return Lease(*this, c);
            }
            ++m_open;
            lock.unlock();
            auto c = connect();
            lock.lock();
            if (c) return Lease(*this, *c);
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
            if (wait == Wait::No)
                return std::unexpected(StorageError{Kind::Io, "cannot connect to PostgreSQL: " + c.error()});
        }
    }

private:
    std::expected<void, PgError> prepareOnce(PGconn* c, const char* name, const std::string& sql) {
        {
            std::lock_guard lock(m_mutex);
            if (m_prepared[c].contains(name)) return {};
        }
        auto r = checked(c, PQprepare(c, name, sql.c_str(), 0, nullptr));
        if (!r) return std::unexpected(r.error());
        std::lock_guard lock(m_mutex);
        m_prepared[c].insert(name);
        return {};
    }

    void release(PGconn* c) {
        std::lock_guard lock(m_mutex);
        // A broken connection, one left inside a transaction by a failed rollback, or one a failed
        // pipeline left owing answers, is not reused.
        if (PQstatus(c) != CONNECTION_OK || PQtransactionStatus(c) != PQTRANS_IDLE ||
            PQpipelineStatus(c) != PQ_PIPELINE_OFF) {
            m_prepared.erase(c);   // a new connection may get its address
            PQfinish(c);
            --m_open;
        } else {
            m_idle.push_back(c);
        }
        m_cv.notify_one();
    }

    /// A new connection, or PostgreSQL's reason for refusing it.
    std::expected<PGconn*, std::string> connect() const {
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
        return c;
    }

    std::string m_url;
    std::mutex m_mutex;
    std::condition_variable m_cv;
    std::vector<PGconn*> m_idle;
    int m_open = 0;
    /// How many connections may be open: kPoolSize, or fewer since PostgreSQL refused one.
    int m_ceiling = kPoolSize;
    Clock::time_point m_fullAgainAt;
    /// Statements prepared on each open connection (see Lease::prepare).
    std::unordered_map<PGconn*, std::set<std::string>> m_prepared;
};

/// Rolls back unless committed.
class Transaction {
public:
    explicit Transaction(PGconn* c) : m_conn(c) {}
    ~Transaction() {
        if (m_open) PQclear(PQexec(m_conn, "ROLLBACK"));
    }
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    std::expected<void, PgError> begin(const char* sql = "BEGIN") {
        auto r = query(m_conn, sql);
        if (!r) return std::unexpected(r.error());
        m_open = true;
        return {};
    }
    std::expected<void, PgError> commit() {
        auto r = query(m_conn, "COMMIT");
        if (!r) return std::unexpected(r.error());
        m_open = false;
        return {};
    }
    /// BEGIN went out in a pipeline: from here on a failure rolls back.
    void begunElsewhere() { m_open = true; }
    /// COMMIT went out in a pipeline and succeeded.
    void committedElsewhere() { m_open = false; }

private:
    PGconn* m_conn;
    bool m_open = false;
};

class PgStorage final : public Storage {
public:
    explicit PgStorage(std::string url) : m_pool(std::move(url)) {}

    Result<void> migrate() {
        auto lease = m_pool.acquire();
        if (!lease) return std::unexpected(lease.error());
        PGconn* c = lease->get();
        Transaction tx(c);
        if (auto r = tx.begin(); !r) return std::unexpected(ioError("migration", r.error()));
        if (auto r = query(c, "SELECT pg_advisory_xact_lock($1)", {num(kMigrationLock)}); !r)
            return std::unexpected(ioError("migration lock", r.error()));
        if (auto r = query(c, "CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)"); !r)
            return std::unexpected(ioError("creating schema_version", r.error()));
        auto version = readVersion(c);
        if (!version) return std::unexpected(version.error());
        if (*version > kSchemaVersion)
            return std::unexpected(StorageError{Kind::Schema, "the database has schema version " +
                                                                  std::to_string(*version) + ", this build knows " +
                                                                  std::to_string(kSchemaVersion)});
        for (int v = *version; v < kSchemaVersion; ++v) {
            // Several statements in one constant text: the simple query protocol runs them all.
            if (auto r = checked(c, PQexec(c, kMigrations[v])); !r)
                return std::unexpected(ioError("migration to version " + std::to_string(v + 1), r.error()));
        }
        if (*version < kSchemaVersion) {
            if (auto r = query(c, "DELETE FROM schema_version"); !r)
                return std::unexpected(ioError("recording schema version", r.error()));
            if (auto r = query(c, "INSERT INTO schema_version (version) VALUES ($1)", {num(kSchemaVersion)}); !r)
                return std::unexpected(ioError("recording schema version", r.error()));
        }
        if (auto r = tx.commit(); !r) return std::unexpected(ioError("migration commit", r.error()));
        return {};
    }

    int schemaVersion() override {
        auto lease = m_pool.acquire();
        if (!lease) return -1;
        return readVersion(lease->get()).value_or(-1);
    }

    Result<void> addDevice(const NewDevice& d) override {
        auto lease = m_pool.acquire();
        if (!lease) return std::unexpected(lease.error());
        PGconn* c = lease->get();
        Transaction tx(c);
        if (auto r = tx.begin(); !r) return std::unexpected(ioError("adding device", r.error()));
        if (auto r = query(c, "INSERT INTO stores (id, created_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
                           {d.storeId, num(d.createdAtMs)});
            !r)
            return std::unexpected(ioError("creating store", r.error()));
        if (auto r = query(c, "INSERT INTO devices (id, store_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
                           {d.id, d.storeId, d.name, d.tokenHash, num(d.createdAtMs)});
            !r) {
            if (r.error().sqlState == "23505")
                return std::unexpected(StorageError{Kind::Invalid, "a device with id " + d.id + " already exists"});
            return std::unexpected(ioError("adding device", r.error()));
        }
        if (auto r = tx.commit(); !r) return std::unexpected(ioError("adding device", r.error()));
        return {};
    }

    Result<std::vector<DeviceInfo>> listDevices() override {
        auto res = simple("listing devices",
                          "SELECT d.id, d.store_id, d.name, d.revoked, d.last_seen, d.last_pending, d.app_version, "
                          "d.clock_offset_ms, d.created_at, "
                          "(SELECT COUNT(*) FROM rejections r WHERE r.device_id = d.id) + "
                          "(SELECT COUNT(*) FROM conflicts c WHERE c.device_id = d.id) "
                          "FROM devices d ORDER BY d.store_id, d.id");
        if (!res) return std::unexpected(res.error());
        std::vector<DeviceInfo> out;
        for (int i = 0; i < res->rows(); ++i) {
            DeviceInfo d;
            d.id = res->text(i, 0);
            d.storeId = res->text(i, 1);
            d.name = res->text(i, 2);
            d.revoked = res->flag(i, 3);
            d.lastSeenMs = res->optInteger(i, 4);
            d.lastPending = res->optInteger(i, 5);
            if (!res->isNull(i, 6)) d.appVersion = res->text(i, 6);
            d.clockOffsetMs = res->optInteger(i, 7);
            d.createdAtMs = res->integer(i, 8);
            d.rejected = res->integer(i, 9);
            out.push_back(std::move(d));
        }
        return out;
    }

    Result<bool> revokeDevice(const std::string& id) override {
        auto res = simple("revoking device", "UPDATE devices SET revoked = true WHERE id = $1 RETURNING id", {id});
        if (!res) return std::unexpected(res.error());
        return res->rows() > 0;
    }

    Result<std::optional<DeviceAuth>> deviceByTokenHash(const std::string& hash) override {
        auto res = simple("looking up device token", "SELECT id, store_id, revoked FROM devices WHERE token_hash = $1",
                          {hash});
        if (!res) return std::unexpected(res.error());
        if (res->rows() == 0) return std::optional<DeviceAuth>();
        return DeviceAuth{res->text(0, 0), res->text(0, 1), res->flag(0, 2)};
    }

    Result<void> addToken(const std::string& hash, const std::string& role, std::int64_t createdAtMs) override {
        auto lease = m_pool.acquire();
        if (!lease) return std::unexpected(lease.error());
        auto res = query(lease->get(), "INSERT INTO tokens (token_hash, role, created_at) VALUES ($1, $2, $3)",
                         {hash, role, num(createdAtMs)});
        if (!res) {
            // 23514 check_violation (role), 23505 unique_violation (hash).
            if (res.error().sqlState == "23514" || res.error().sqlState == "23505")
                return std::unexpected(StorageError{Kind::Invalid, "token refused (role must be read): " + res.error().message});
            return std::unexpected(ioError("adding token", res.error()));
        }
        return {};
    }

    Result<std::optional<std::string>> tokenRole(const std::string& hash) override {
        auto res = simple("looking up token", "SELECT role FROM tokens WHERE token_hash = $1 AND NOT revoked", {hash});
        if (!res) return std::unexpected(res.error());
        if (res->rows() == 0) return std::optional<std::string>();
        return std::optional<std::string>(res->text(0, 0));
    }

    Result<int> warmUp() override {
        // Holding each lease makes the next acquire open a new connection, up to the pool's size.
        std::vector<Pool::Lease> leases;
        for (int i = 0; i < kPoolSize; ++i) {
            auto lease = m_pool.acquire(Pool::Wait::No);
            if (!lease && i > 0)
                return std::unexpected(StorageError{lease.error().kind, "opened " + std::to_string(i) + " of " +
                                                                          std::to_string(kPoolSize) + "; " +
                                                                          lease.error().message});
            if (!lease) return std::unexpected(lease.error());
            if (auto r = prepareIngest(*lease); !r) return std::unexpected(r.error());
            leases.push_back(std::move(*lease));
        }
        return kPoolSize;
    }

    Result<std::vector<Outcome>> ingest(const IngestRequest& req) override {
        auto lease = m_pool.acquire();
        if (!lease) return std::unexpected(lease.error());
        if (auto r = prepareIngest(*lease); !r) return std::unexpected(r.error());
        // Two transactions that insert overlapping ids wait on each other's unique keys; inserting
        // in id order keeps that a wait, and a deadlock or serialization failure is retried.
        for (int attempt = 1;; ++attempt) {
            PgError err;
            auto out = ingestOnce(lease->get(), req, err);
            if (out || attempt == kIngestAttempts || (err.sqlState != "40P01" && err.sqlState != "40001"))
                return out;
        }
    }

    Result<bool> storeExists(const std::string& storeId) override {
        auto res = simple("looking up store", "SELECT 1 FROM stores WHERE id = $1", {storeId});
        if (!res) return std::unexpected(res.error());
        return res->rows() > 0;
    }

    Result<DayTallies> dailyTallies(const std::string& storeId, const std::string& from,
                                    const std::string& to) override {
        auto days = readDaySums(&storeId, from, to);
        if (!days) return std::unexpected(days.error());
        const auto it = days->find(storeId);
        return it == days->end() ? DayTallies() : std::move(it->second);
    }

    Result<std::map<std::string, DayTallies>> dailyTalliesAll(const std::string& from, const std::string& to) override {
        return readDaySums(nullptr, from, to);
    }

    Result<std::int64_t> storePending(const std::string& storeId) override {
        auto res = simple("summing pending counts",
                          "SELECT COALESCE(SUM(last_pending), 0) FROM devices WHERE store_id = $1 AND NOT revoked",
                          {storeId});
        if (!res) return std::unexpected(res.error());
        return res->integer(0, 0);
    }

    Result<std::vector<StoredResponse>> exportPage(const ExportFilter& f, const std::string& afterId,
                                                   int limit) override {
        auto res = simple("reading responses",
                          std::string("SELECT ") + kResponseColumns +
                              " FROM responses WHERE id > $1::uuid AND ($2::text IS NULL OR local_date >= $2) AND "
                              "($3::text IS NULL OR local_date <= $3) AND ($4::text IS NULL OR store_id = $4) "
                              "ORDER BY id LIMIT $5",
                          {afterId.empty() ? std::string(kNilUuid) : afterId, f.from, f.to, f.storeId, num(limit)});
        if (!res) return std::unexpected(res.error());
        std::vector<StoredResponse> out;
        for (int i = 0; i < res->rows(); ++i) {
            auto r = readResponse(*res, i);
            if (!r) return std::unexpected(StorageError{Kind::Io, "stored tags of " + res->text(i, 0) + " are not a JSON array"});
            out.push_back(std::move(*r));
        }
        return out;
    }

    Result<std::vector<std::string>> listStores() override {
        auto res = simple("listing stores", "SELECT id FROM stores ORDER BY id COLLATE \"C\"");
        if (!res) return std::unexpected(res.error());
        std::vector<std::string> out;
        for (int i = 0; i < res->rows(); ++i) out.push_back(res->text(i, 0));
        return out;
    }

    Result<std::int64_t> countRatings(const std::string& storeId, std::int64_t fromMs, std::int64_t toMs,
                                      int maxStars) override {
        auto res = simple("counting ratings",
                          "SELECT COUNT(*) FROM responses WHERE store_id = $1 AND created_at >= $2 AND created_at <= $3 "
                          "AND NOT misuse AND stars <= $4",
                          {storeId, num(fromMs), num(toMs), num(maxStars)});
        if (!res) return std::unexpected(res.error());
        return res->integer(0, 0);
    }

    Result<bool> raiseAlert(const NewAlert& a) override {
        auto res = simple("raising an alert",
                          "INSERT INTO alerts (rule, subject, store_id, device_id, day, raised_at, message, details, "
                          "next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $6) "
                          "ON CONFLICT (rule, subject, day) DO NOTHING RETURNING id",
                          {a.rule, a.subject, a.storeId, a.deviceId, a.day, num(a.raisedAtMs), a.message, a.details});
        if (!res) return std::unexpected(res.error());
        return res->rows() > 0;
    }

    Result<std::vector<Alert>> dueAlerts(std::int64_t nowMs, int limit) override {
        auto res = simple("reading due alerts",
                          std::string("SELECT ") + kAlertColumns +
                              " FROM alerts WHERE state = 'pending' AND next_attempt_at <= $1 "
                              "ORDER BY next_attempt_at, id LIMIT $2",
                          {num(nowMs), num(limit)});
        if (!res) return std::unexpected(res.error());
        return readAlerts(*res);
    }

    Result<void> updateAlert(std::int64_t id, AlertState state, int attempts, std::int64_t nextAttemptAtMs,
                             std::optional<std::int64_t> deliveredAtMs, const std::string& lastError) override {
        auto res = simple("updating an alert",
                          "UPDATE alerts SET state = $1, attempts = $2, next_attempt_at = $3, delivered_at = $4, "
                          "last_error = $5 WHERE id = $6",
                          {std::string(alertStateName(state)), num(attempts), num(nextAttemptAtMs),
                           deliveredAtMs ? std::optional(num(*deliveredAtMs)) : std::nullopt, lastError, num(id)});
        if (!res) return std::unexpected(res.error());
        return {};
    }

    Result<std::vector<Alert>> recentAlerts(int limit) override {
        auto res = simple("listing alerts",
                          std::string("SELECT ") + kAlertColumns + " FROM alerts ORDER BY raised_at DESC, id DESC LIMIT $1",
                          {num(limit)});
        if (!res) return std::unexpected(res.error());
        return readAlerts(*res);
    }

    Result<Counts> counts() override {
        auto res = simple("counting rows", "SELECT (SELECT COUNT(*) FROM responses), (SELECT COUNT(*) FROM conflicts), "
                                           "(SELECT COUNT(*) FROM rejections)");
        if (!res) return std::unexpected(res.error());
        return Counts{res->integer(0, 0), res->integer(0, 1), res->integer(0, 2)};
    }

private:
    Result<PgResult> simple(const std::string& what, const std::string& sql, const Params& params = {}) {
        auto lease = m_pool.acquire();
        if (!lease) return std::unexpected(lease.error());
        auto res = query(lease->get(), sql, params);
        if (!res) return std::unexpected(ioError(what, res.error()));
        return std::move(*res);
    }

    /// The day sums in [from, to] of one store (`storeId`) or of all (nullptr), by store id. Both
    /// queries run in one read-only transaction, so the tags belong to the same days.
    Result<std::map<std::string, DayTallies>> readDaySums(const std::string* storeId, const std::string& from,
                                                          const std::string& to) {
        auto lease = m_pool.acquire();
        if (!lease) return std::unexpected(lease.error());
        PGconn* c = lease->get();
        const std::string where =
            std::string(" WHERE local_date >= $1 AND local_date <= $2") + (storeId ? " AND store_id = $3" : "");
        Params params = {from, to};
        if (storeId) params.push_back(*storeId);
        Transaction tx(c);
        if (auto r = tx.begin("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); !r)
            return std::unexpected(ioError("reading the day sums", r.error()));
        auto days = query(c, "SELECT store_id, local_date, " + dayColumnList() + " FROM day_tallies" + where, params);
        if (!days) return std::unexpected(ioError("reading the day sums", days.error()));
        std::map<std::string, DayTallies> out;
        std::array<std::int64_t, kDayValueCount> values{};
        for (int i = 0; i < days->rows(); ++i) {
            for (int k = 0; k < kDayValueCount; ++k) values[static_cast<std::size_t>(k)] = days->integer(i, 2 + k);
            out[days->text(i, 0)].emplace_back(days->text(i, 1), tallyFromDayValues(values));
        }
        sortDays(out);
        auto tags = query(c, "SELECT store_id, local_date, tag, n FROM day_tag_counts" + where, params);
        if (!tags) return std::unexpected(ioError("reading the tag counts", tags.error()));
        for (int i = 0; i < tags->rows(); ++i)
            if (auto* t = findDay(out, tags->text(i, 0), tags->text(i, 1)))
                t->tags[tags->text(i, 2)] = tags->integer(i, 3);
        if (auto r = tx.commit(); !r) return std::unexpected(ioError("reading the day sums", r.error()));
        return out;
    }

    /// Adds a batch's sums to day_tallies and day_tag_counts: multi-row upserts, in key order.
    /// The upserts that add a batch's sums, queued on `round`.
    static void addDaySums(Pipeline& round, const std::map<DayKey, core::Tally>& sums) {
        auto mark = [](std::string& sql, Params& params, std::string value, const char* type) {
            sql += (sql.back() == '(' ? "$" : ",$") + std::to_string(params.size() + 1) + "::" + type;
            params.push_back(std::move(value));
        };
        for (auto day = sums.begin(); day != sums.end();) {
            std::string sql = "INSERT INTO day_tallies (store_id, local_date, " + dayColumnList() + ") VALUES ";
            Params params;
            for (std::size_t k = 0; k < kDaysPerUpsert && day != sums.end(); ++k, ++day) {
                sql += k ? ",(" : "(";
                mark(sql, params, day->first.first, "text");
                mark(sql, params, day->first.second, "text");
                for (const auto v : dayValues(day->second)) mark(sql, params, num(v), "bigint");
                sql += ')';
            }
            sql += " ON CONFLICT (store_id, local_date) DO UPDATE SET " + dayAddAssignments();
            round.add(std::move(sql), std::move(params));
        }
        std::string sql;
        Params params;
        std::size_t rows = 0;
        auto flush = [&] {
            if (rows == 0) return;
            sql += " ON CONFLICT (store_id, local_date, tag) DO UPDATE SET n = day_tag_counts.n + excluded.n";
            round.add(std::exchange(sql, {}), std::exchange(params, {}));
            rows = 0;
        };
        for (const auto& [key, t] : sums)
            for (const auto& [tag, n] : t.tags) {
                sql += rows ? ",(" : "INSERT INTO day_tag_counts (store_id, local_date, tag, n) VALUES (";
                mark(sql, params, key.first, "text");
                mark(sql, params, key.second, "text");
                mark(sql, params, tag, "text");
                mark(sql, params, num(n), "bigint");
                sql += ')';
                if (++rows == kTagsPerUpsert) flush();
            }
        flush();
    }

    static Result<int> readVersion(PGconn* c) {
        auto res = query(c, "SELECT COALESCE(MAX(version), 0) FROM schema_version");
        if (!res) return std::unexpected(ioError("reading schema version", res.error()));
        return static_cast<int>(res->integer(0, 0));
    }

    /// Prepared once per connection: parsing and planning a freshly written 50-row INSERT was the
    /// largest part of PostgreSQL's work under a fleet (perf).
    static Result<void> prepareIngest(const Pool::Lease& lease) {
        if (auto r = lease.prepare(kUpdateDevice, kUpdateDeviceSql); !r)
            return std::unexpected(ioError("preparing the device update", r.error()));
        if (auto r = lease.prepare(kInsertResponses, insertResponsesSql()); !r)
            return std::unexpected(ioError("preparing the response insert", r.error()));
        return {};
    }

    static Result<std::vector<Outcome>> ingestOnce(PGconn* c, const IngestRequest& req, PgError& err) {
        auto fail = [&](const std::string& what, const PgError& e) {
            err = e;
            return std::unexpected(ioError(what, e));
        };
        // First round: BEGIN, the device's status, refused records, the insert of the records.
        Transaction tx(c);
        Pipeline first(c);
        first.add("BEGIN");
        first.addPrepared(kUpdateDevice, {num(req.receivedAtMs), num(req.pending), req.appVersion,
                                          req.clockOffsetMs ? std::optional(num(*req.clockOffsetMs)) : std::nullopt,
                                          req.deviceId});
        for (const auto& r : req.refused)
            first.add("INSERT INTO rejections (response_id, device_id, batch_id, reason, record, record_hash, "
                      "received_at) VALUES ($1, $2, $3::uuid, $4, $5, $6, $7) "
                      "ON CONFLICT (device_id, record_hash) DO NOTHING",
                      {r.id, req.deviceId, req.batchId, r.reason, r.json, sha256Hex(r.json), num(req.receivedAtMs)});
        std::vector<std::size_t> order(req.records.size());
        std::iota(order.begin(), order.end(), std::size_t{0});
        std::sort(order.begin(), order.end(),
                  [&](std::size_t a, std::size_t b) { return req.records[a].id < req.records[b].id; });
        std::vector<std::string> inserted;
        if (!order.empty()) {
            // One array per column, the records in id order.
            std::array<ArrayLiteral, kRecordColumns> columns;
            for (const std::size_t i : order) {
                const auto& r = req.records[i];
                std::size_t col = 0;
                for (const std::string& v : {r.id, r.storeId, r.deviceId, r.surveyId, num(r.surveyVersion), r.language,
                                             num(r.createdAtMs), r.localDate, num(r.localHour), num(r.utcOffsetMin),
                                             num(r.stars)})
                    columns[col++].add(v);
                for (const auto& v : r.segue) v ? columns[col++].add(num(*v)) : columns[col++].addNull();
                for (const std::string& v : {nlohmann::json(r.tags).dump(), boolean(r.complete), boolean(r.misuse),
                                             boolean(r.synthetic), num(r.durationMs)})
                    columns[col++].add(v);
            }
            Params params;
            for (const auto& column : columns) params.push_back(column.text());
            params.push_back(num(req.receivedAtMs));
            params.push_back(req.batchId);
            first.addPrepared(kInsertResponses, std::move(params));
        }
        tx.begunElsewhere();
        auto firstDone = first.run();
        if (!firstDone) return fail("storing a batch", firstDone.error());
        if (!order.empty()) {
            const PgResult& q = firstDone->back();
            for (int i = 0; i < q.rows(); ++i) inserted.push_back(q.text(i, 0));
        }
        std::vector<std::string> others;
        {
            std::vector<std::string> sortedInserted = inserted;
            std::sort(sortedInserted.begin(), sortedInserted.end());
            for (const auto& r : req.records)
                if (!std::binary_search(sortedInserted.begin(), sortedInserted.end(), r.id)) others.push_back(r.id);
        }
        std::vector<core::Response> stored;
        for (std::size_t first = 0; first < others.size(); first += kIdsPerSelect) {
            const std::size_t n = std::min(kIdsPerSelect, others.size() - first);
            std::string sql = std::string("SELECT ") + kResponseColumns + " FROM responses WHERE id IN (";
            Params params;
            for (std::size_t k = 0; k < n; ++k) {
                sql += (k ? ",$" : "$") + std::to_string(k + 1) + "::uuid";
                params.push_back(others[first + k]);
            }
            sql += ')';
            auto q = query(c, sql, params);
            if (!q) return fail("reading stored responses", q.error());
            for (int i = 0; i < q->rows(); ++i) {
                auto r = readResponse(*q, i);
                if (!r) return std::unexpected(StorageError{Kind::Io, "stored tags of " + q->text(i, 0) + " are not a JSON array"});
                stored.push_back(std::move(r->response));
            }
        }
        auto outcomes = classifyAfterInsert(req.records, inserted, stored);
        if (!outcomes) return outcomes;

        // Second round: conflicts kept, the day sums, COMMIT.
        Pipeline second(c);
        auto keep = [&](const core::Response& r) {
            const std::string json = canonicalJson(r);
            second.add("INSERT INTO conflicts (response_id, device_id, batch_id, record, record_hash, received_at) "
                       "VALUES ($1::uuid, $2, $3::uuid, $4, $5, $6) ON CONFLICT (response_id, record_hash) DO NOTHING",
                       {r.id, req.deviceId, req.batchId, json, sha256Hex(json), num(req.receivedAtMs)});
        };
        for (std::size_t i = 0; i < req.records.size(); ++i)
            if ((*outcomes)[i] == Outcome::Conflict) keep(req.records[i]);
        for (const auto& cr : req.conflicts) keep(cr);
        // Last, so that the rows every batch of the store's day adds to stay locked only briefly.
        addDaySums(second, sumAccepted(req.records, *outcomes));
        second.add("COMMIT");
        if (auto r = second.run(); !r) return fail("storing a batch", r.error());
        tx.committedElsewhere();
        return outcomes;
    }

    Pool m_pool;
};

} // namespace

Result<std::unique_ptr<Storage>> openPgStorage(const std::string& url) {
    auto storage = std::make_unique<PgStorage>(url);
    if (auto m = storage->migrate(); !m) return std::unexpected(m.error());
    return std::unique_ptr<Storage>(std::move(storage));
}

} // namespace segue::hq
