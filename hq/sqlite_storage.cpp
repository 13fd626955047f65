#include "hq/sqlite_storage.hpp"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <unordered_map>

#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include "hq/day_sums.hpp"
#include "hq/token.hpp"

namespace segue::hq {
namespace {

using Kind = StorageError::Kind;

// Numbered migrations; entry i takes the schema from version i to i + 1.
constexpr const char* kMigrations[] = {
    R"sql(
CREATE TABLE stores (
  id         TEXT PRIMARY KEY,
  created_at INTEGER NOT NULL
);
CREATE TABLE devices (
  id              TEXT PRIMARY KEY,
  store_id        TEXT NOT NULL REFERENCES stores(id),
  name            TEXT NOT NULL,
  token_hash      TEXT NOT NULL UNIQUE,
  revoked         INTEGER NOT NULL DEFAULT 0,
  last_seen       INTEGER,
  last_pending    INTEGER,
  app_version     TEXT,
  clock_offset_ms INTEGER,
  created_at      INTEGER NOT NULL
);
CREATE INDEX devices_store ON devices(store_id);
CREATE TABLE tokens (
  id         INTEGER PRIMARY KEY,
  token_hash TEXT NOT NULL UNIQUE,
  role       TEXT NOT NULL CHECK (role IN ('read')),
  revoked    INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL
);
CREATE TABLE responses (
  id                  TEXT PRIMARY KEY,
  store_id            TEXT NOT NULL,
  device_id           TEXT NOT NULL,
  survey_id           TEXT NOT NULL,
  survey_version      INTEGER NOT NULL,
  language            TEXT NOT NULL,
  created_at          INTEGER NOT NULL,
  local_date          TEXT NOT NULL,
  local_hour          INTEGER NOT NULL,
  utc_offset_min      INTEGER NOT NULL,
  stars               INTEGER NOT NULL,
  segue_satisfactory  INTEGER,
  segue_efficient     INTEGER,
  segue_genuine       INTEGER,
  segue_understanding INTEGER,
  segue_effective     INTEGER,
  tags                TEXT NOT NULL,
  complete            INTEGER NOT NULL,
  misuse              INTEGER NOT NULL,
  synthetic           INTEGER NOT NULL,
  duration_ms         INTEGER NOT NULL,
  received_at         INTEGER NOT NULL,
  batch_id            TEXT NOT NULL
);
CREATE INDEX responses_store_date ON responses(store_id, local_date);
CREATE INDEX responses_date ON responses(local_date);
CREATE TABLE conflicts (
  id          INTEGER PRIMARY KEY,
  response_id TEXT NOT NULL,
  device_id   TEXT NOT NULL,
  batch_id    TEXT NOT NULL,
  record      TEXT NOT NULL,
  record_hash TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  UNIQUE (response_id, record_hash)
);
CREATE INDEX conflicts_device ON conflicts(device_id);
CREATE TABLE rejections (
  id          INTEGER PRIMARY KEY,
  response_id TEXT NOT NULL,
  device_id   TEXT NOT NULL,
  batch_id    TEXT NOT NULL,
  reason      TEXT NOT NULL,
  record      TEXT NOT NULL,
  record_hash TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  UNIQUE (device_id, record_hash)
);
)sql",
    // 2: alerts raised by the rules, one per (rule, subject, day), with their webhook delivery state.
    R"sql(
CREATE TABLE alerts (
  id              INTEGER PRIMARY KEY,
  rule            TEXT NOT NULL,
  subject         TEXT NOT NULL,
  store_id        TEXT NOT NULL,
  device_id       TEXT,
  day             TEXT NOT NULL,
  raised_at       INTEGER NOT NULL,
  message         TEXT NOT NULL,
  details         TEXT NOT NULL,
  state           TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  delivered_at    INTEGER,
  last_error      TEXT NOT NULL DEFAULT '',
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
  store_id   TEXT NOT NULL,
  local_date TEXT NOT NULL,
  counted INTEGER NOT NULL, star_sum INTEGER NOT NULL, satisfied INTEGER NOT NULL, partial INTEGER NOT NULL,
  misuse  INTEGER NOT NULL,
  segue_satisfactory_sum  INTEGER NOT NULL, segue_satisfactory_n  INTEGER NOT NULL,
  segue_efficient_sum     INTEGER NOT NULL, segue_efficient_n     INTEGER NOT NULL,
  segue_genuine_sum       INTEGER NOT NULL, segue_genuine_n       INTEGER NOT NULL,
  segue_understanding_sum INTEGER NOT NULL, segue_understanding_n INTEGER NOT NULL,
  segue_effective_sum     INTEGER NOT NULL, segue_effective_n     INTEGER NOT NULL,
  h00 INTEGER NOT NULL, h01 INTEGER NOT NULL, h02 INTEGER NOT NULL, h03 INTEGER NOT NULL, h04 INTEGER NOT NULL,
  h05 INTEGER NOT NULL, h06 INTEGER NOT NULL, h07 INTEGER NOT NULL, h08 INTEGER NOT NULL, h09 INTEGER NOT NULL,
  h10 INTEGER NOT NULL, h11 INTEGER NOT NULL, h12 INTEGER NOT NULL, h13 INTEGER NOT NULL, h14 INTEGER NOT NULL,
  h15 INTEGER NOT NULL, h16 INTEGER NOT NULL, h17 INTEGER NOT NULL, h18 INTEGER NOT NULL, h19 INTEGER NOT NULL,
  h20 INTEGER NOT NULL, h21 INTEGER NOT NULL, h22 INTEGER NOT NULL, h23 INTEGER NOT NULL,
  PRIMARY KEY (store_id, local_date)
) WITHOUT ROWID;
CREATE INDEX day_tallies_date ON day_tallies(local_date);
CREATE TABLE day_tag_counts (
  store_id   TEXT NOT NULL,
  local_date TEXT NOT NULL,
  tag        TEXT NOT NULL,
  n          INTEGER NOT NULL,
  PRIMARY KEY (store_id, local_date, tag)
) WITHOUT ROWID;
CREATE INDEX day_tag_counts_date ON day_tag_counts(local_date);
INSERT INTO day_tallies
SELECT store_id, local_date,
       SUM(misuse = 0), SUM(CASE WHEN misuse = 0 THEN stars ELSE 0 END), SUM(misuse = 0 AND stars >= 4),
       SUM(misuse = 0 AND complete = 0), SUM(misuse != 0),
       COALESCE(SUM(CASE WHEN misuse = 0 THEN segue_satisfactory END), 0), COUNT(CASE WHEN misuse = 0 THEN segue_satisfactory END),
       COALESCE(SUM(CASE WHEN misuse = 0 THEN segue_efficient END), 0), COUNT(CASE WHEN misuse = 0 THEN segue_efficient END),
       COALESCE(SUM(CASE WHEN misuse = 0 THEN segue_genuine END), 0), COUNT(CASE WHEN misuse = 0 THEN segue_genuine END),
       COALESCE(SUM(CASE WHEN misuse = 0 THEN segue_understanding END), 0), COUNT(CASE WHEN misuse = 0 THEN segue_understanding END),
       COALESCE(SUM(CASE WHEN misuse = 0 THEN segue_effective END), 0), COUNT(CASE WHEN misuse = 0 THEN segue_effective END),
       SUM(misuse = 0 AND local_hour = 0), SUM(misuse = 0 AND local_hour = 1), SUM(misuse = 0 AND local_hour = 2),
       SUM(misuse = 0 AND local_hour = 3), SUM(misuse = 0 AND local_hour = 4), SUM(misuse = 0 AND local_hour = 5),
       SUM(misuse = 0 AND local_hour = 6), SUM(misuse = 0 AND local_hour = 7), SUM(misuse = 0 AND local_hour = 8),
       SUM(misuse = 0 AND local_hour = 9), SUM(misuse = 0 AND local_hour = 10), SUM(misuse = 0 AND local_hour = 11),
       SUM(misuse = 0 AND local_hour = 12), SUM(misuse = 0 AND local_hour = 13), SUM(misuse = 0 AND local_hour = 14),
       SUM(misuse = 0 AND local_hour = 15), SUM(misuse = 0 AND local_hour = 16), SUM(misuse = 0 AND local_hour = 17),
       SUM(misuse = 0 AND local_hour = 18), SUM(misuse = 0 AND local_hour = 19), SUM(misuse = 0 AND local_hour = 20),
       SUM(misuse = 0 AND local_hour = 21), SUM(misuse = 0 AND local_hour = 22), SUM(misuse = 0 AND local_hour = 23)
FROM responses GROUP BY store_id, local_date;
INSERT INTO day_tag_counts
SELECT r.store_id, r.local_date, t.value, COUNT(*) FROM responses r, json_each(r.tags) t
WHERE r.misuse = 0 GROUP BY r.store_id, r.local_date, t.value;
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
    "id, store_id, device_id, survey_id, survey_version, language, created_at, local_date, local_hour, "
    "utc_offset_min, stars, segue_satisfactory, segue_efficient, segue_genuine, segue_understanding, "
    "segue_effective, tags, complete, misuse, synthetic, duration_ms, received_at";
constexpr int kInsertColumns = 23;   // kResponseColumns + batch_id
/// Batches written in one transaction at most (group commit), and records in it at most.
constexpr std::size_t kGroupBatches = 64;
constexpr std::size_t kGroupRecords = 20'000;
constexpr std::size_t kIdsPerSelect = 500;

StorageError sqlError(sqlite3* db, const std::string& what) {
    return {Kind::Io, what + ": " + (db ? sqlite3_errmsg(db) : "out of memory")};
}

/// A prepared statement; finalized on destruction.
class Stmt {
public:
    Stmt(sqlite3* db, const std::string& sql, unsigned flags = 0) {
        m_prepared = sqlite3_prepare_v3(db, sql.c_str(), static_cast<int>(sql.size()), flags, &m_stmt, nullptr);
        m_rc = m_prepared;
    }
    Stmt(const Stmt&) = delete;
    Stmt& operator=(const Stmt&) = delete;
    ~Stmt() { sqlite3_finalize(m_stmt); }

    bool ok() const { return m_rc == SQLITE_OK; }
    bool prepared() const { return m_prepared == SQLITE_OK; }
    // Binding errors (range, memory) resurface as the step's result, so they are kept and checked.
    void bind(int i, const std::string& v) { keep(sqlite3_bind_text(m_stmt, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT)); }
    void bind(int i, std::int64_t v) { keep(sqlite3_bind_int64(m_stmt, i, v)); }
    void bind(int i, const std::optional<std::int64_t>& v) { v ? bind(i, *v) : bindNull(i); }
    void bind(int i, const std::optional<std::string>& v) { v ? bind(i, *v) : bindNull(i); }
    void bindNull(int i) { keep(sqlite3_bind_null(m_stmt, i)); }
    /// SQLITE_ROW or SQLITE_DONE on success; anything else is an error.
    int step() { return m_rc != SQLITE_OK ? m_rc : sqlite3_step(m_stmt); }
    void reset() {
        sqlite3_reset(m_stmt);
        sqlite3_clear_bindings(m_stmt);
        m_rc = m_prepared;
    }
    std::int64_t integer(int col) const { return sqlite3_column_int64(m_stmt, col); }
    bool isNull(int col) const { return sqlite3_column_type(m_stmt, col) == SQLITE_NULL; }
    std::string text(int col) const {
        const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(m_stmt, col));
        return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(m_stmt, col))) : std::string();
    }
    std::optional<std::int64_t> optInteger(int col) const {
        return isNull(col) ? std::nullopt : std::optional<std::int64_t>(integer(col));
    }

private:
    void keep(int rc) {
        if (rc != SQLITE_OK && m_rc == SQLITE_OK) m_rc = rc;
    }
    sqlite3_stmt* m_stmt = nullptr;
    int m_prepared = SQLITE_OK;
    int m_rc = SQLITE_OK;
};

std::string placeholders(std::size_t rows, int columns) {
    std::string row = "(";
    for (int c = 0; c < columns; ++c) row += c ? ",?" : "?";
    row += ")";
    std::string out;
    for (std::size_t r = 0; r < rows; ++r) {
        if (r) out += ',';
        out += row;
    }
    return out;
}

std::string tagsJson(const core::Response& r) { return nlohmann::json(r.tags).dump(); }

/// A row selected with kResponseColumns.
std::optional<StoredResponse> readResponse(const Stmt& s) {
    StoredResponse out;
    core::Response& r = out.response;
    r.id = s.text(0);
    r.storeId = s.text(1);
    r.deviceId = s.text(2);
    r.surveyId = s.text(3);
    r.surveyVersion = static_cast<int>(s.integer(4));
    r.language = s.text(5);
    r.createdAtMs = s.integer(6);
    r.localDate = s.text(7);
    r.localHour = static_cast<int>(s.integer(8));
    r.utcOffsetMin = static_cast<int>(s.integer(9));
    r.stars = static_cast<int>(s.integer(10));
    for (int i = 0; i < core::kSegueCount; ++i)
        if (!s.isNull(11 + i)) r.segue[static_cast<std::size_t>(i)] = static_cast<int>(s.integer(11 + i));
    const auto tags = nlohmann::json::parse(s.text(16), nullptr, false);
    if (!tags.is_array()) return std::nullopt;
    for (const auto& t : tags) {
        if (!t.is_string()) return std::nullopt;
        r.tags.push_back(t.get<std::string>());
    }
    r.complete = s.integer(17) != 0;
    r.misuse = s.integer(18) != 0;
    r.synthetic = s.integer(19) != 0;
    r.durationMs = s.integer(20);
    out.receivedAtMs = s.integer(21);
    return out;
}

AlertState stateFromName(const std::string& s) {
    if (s == "delivered") return AlertState::Delivered;
    if (s == "failed") return AlertState::Failed;
    return AlertState::Pending;
}

/// A row selected with kAlertColumns.
Alert readAlert(const Stmt& s) {
    Alert a;
    a.id = s.integer(0);
    a.rule = s.text(1);
    a.subject = s.text(2);
    a.storeId = s.text(3);
    if (!s.isNull(4)) a.deviceId = s.text(4);
    a.day = s.text(5);
    a.raisedAtMs = s.integer(6);
    a.message = s.text(7);
    a.details = s.text(8);
    a.state = stateFromName(s.text(9));
    a.attempts = static_cast<int>(s.integer(10));
    a.nextAttemptAtMs = s.integer(11);
    a.deliveredAtMs = s.optInteger(12);
    a.lastError = s.text(13);
    return a;
}

class SqliteStorage final : public Storage {
public:
    explicit SqliteStorage(sqlite3* db) : m_db(db) {}
    ~SqliteStorage() override {
        m_cache.clear();
        m_deviceByToken.reset();
        m_tokenRole.reset();
        sqlite3_close_v2(m_authDb);
        sqlite3_close_v2(m_db);
    }

    /// A second connection for the token lookups every request starts with. On the main one they
    /// queued behind the writer (its mutex is not fair): at 33 000 responses/s from 200
    /// terminals a lookup waited 27 ms at the median and 125 ms at p99. In WAL mode a reader
    /// never waits for the writer, and it still sees every commit, the CLI's revocations too.
    Result<void> openAuthReader(const std::filesystem::path& file) {
        const int rc = sqlite3_open_v2(file.c_str(), &m_authDb, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
        if (rc != SQLITE_OK) return std::unexpected(sqlError(m_authDb, "opening the token reader"));
        if (sqlite3_busy_timeout(m_authDb, 10'000) != SQLITE_OK ||
            sqlite3_exec(m_authDb, "PRAGMA query_only=1", nullptr, nullptr, nullptr) != SQLITE_OK)
            return std::unexpected(sqlError(m_authDb, "setting up the token reader"));
        m_deviceByToken = std::make_unique<Stmt>(m_authDb, "SELECT id, store_id, revoked FROM devices WHERE token_hash = ?",
                                                 SQLITE_PREPARE_PERSISTENT);
        m_tokenRole = std::make_unique<Stmt>(m_authDb, "SELECT role FROM tokens WHERE token_hash = ? AND revoked = 0",
                                             SQLITE_PREPARE_PERSISTENT);
        if (!m_deviceByToken->prepared() || !m_tokenRole->prepared())
            return std::unexpected(sqlError(m_authDb, "preparing the token lookups"));
        return {};
    }
    SqliteStorage(const SqliteStorage&) = delete;
    SqliteStorage& operator=(const SqliteStorage&) = delete;

    Result<void> migrate() {
        std::lock_guard lock(m_mutex);
        if (auto r = exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"); !r) return r;
        auto version = readVersion();
        if (!version) return std::unexpected(version.error());
        if (*version > kSchemaVersion)
            return std::unexpected(StorageError{Kind::Schema, "the database has schema version " +
                                                                  std::to_string(*version) + ", this build knows " +
                                                                  std::to_string(kSchemaVersion)});
        for (int v = *version; v < kSchemaVersion; ++v) {
            if (auto r = exec("BEGIN IMMEDIATE"); !r) return r;
            auto step = exec(kMigrations[v]);
            if (step) step = exec("DELETE FROM schema_version");
            if (step) {
                Stmt s(m_db, "INSERT INTO schema_version (version) VALUES (?)");
                s.bind(1, std::int64_t{v + 1});
                if (s.step() != SQLITE_DONE) step = std::unexpected(sqlError(m_db, "recording schema version"));
            }
            if (step) step = exec("COMMIT");
            if (!step) {
                (void)exec("ROLLBACK");
                return std::unexpected(StorageError{step.error().kind, "migration to version " + std::to_string(v + 1) +
                                                                            " failed: " + step.error().message});
            }
        }
        return {};
    }

    int schemaVersion() override {
        std::lock_guard lock(m_mutex);
        return readVersion().value_or(-1);
    }

    Result<void> addDevice(const NewDevice& d) override {
        std::lock_guard lock(m_mutex);
        Transaction tx(*this);
        if (auto r = tx.begin(); !r) return r;
        {
            Stmt s(m_db, "INSERT INTO stores (id, created_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING");
            s.bind(1, d.storeId);
            s.bind(2, d.createdAtMs);
            if (s.step() != SQLITE_DONE) return std::unexpected(sqlError(m_db, "creating store"));
        }
        {
            Stmt s(m_db, "INSERT INTO devices (id, store_id, name, token_hash, created_at) VALUES (?, ?, ?, ?, ?)");
            s.bind(1, d.id);
            s.bind(2, d.storeId);
            s.bind(3, d.name);
            s.bind(4, d.tokenHash);
            s.bind(5, d.createdAtMs);
            const int rc = s.step();
            if ((rc & 0xff) == SQLITE_CONSTRAINT)
                return std::unexpected(StorageError{Kind::Invalid, "a device with id " + d.id + " already exists"});
            if (rc != SQLITE_DONE) return std::unexpected(sqlError(m_db, "adding device"));
        }
        return tx.commit();
    }

    Result<std::vector<DeviceInfo>> listDevices() override {
        std::lock_guard lock(m_mutex);
        Stmt s(m_db,
               "SELECT d.id, d.store_id, d.name, d.revoked, d.last_seen, d.last_pending, d.app_version, "
               "d.clock_offset_ms, d.created_at, "
               "(SELECT COUNT(*) FROM rejections r WHERE r.device_id = d.id) + "
               "(SELECT COUNT(*) FROM conflicts c WHERE c.device_id = d.id) "
               "FROM devices d ORDER BY d.store_id, d.id");
        std::vector<DeviceInfo> out;
        int rc;
        while ((rc = s.step()) == SQLITE_ROW) {
            DeviceInfo d;
            d.id = s.text(0);
            d.storeId = s.text(1);
            d.name = s.text(2);
            d.revoked = s.integer(3) != 0;
            d.lastSeenMs = s.optInteger(4);
            d.lastPending = s.optInteger(5);
            if (!s.isNull(6)) d.appVersion = s.text(6);
            d.clockOffsetMs = s.optInteger(7);
            d.createdAtMs = s.integer(8);
            d.rejected = s.integer(9);
            out.push_back(std::move(d));
        }
        if (rc != SQLITE_DONE) return std::unexpected(sqlError(m_db, "listing devices"));
        return out;
    }

    Result<bool> revokeDevice(const std::string& id) override {
        std::lock_guard lock(m_mutex);
        Stmt s(m_db, "UPDATE devices SET revoked = 1 WHERE id = ?");
        s.bind(1, id);
        if (s.step() != SQLITE_DONE) return std::unexpected(sqlError(m_db, "revoking device"));
        return sqlite3_changes(m_db) > 0;
    }

    Result<std::optional<DeviceAuth>> deviceByTokenHash(const std::string& hash) override {
        std::lock_guard lock(m_authMutex);
        const Lease s(*m_deviceByToken);   // reset when done: no read stays open between lookups
        s->bind(1, hash);
        const int rc = s->step();
        if (rc == SQLITE_DONE) return std::optional<DeviceAuth>();
        if (rc != SQLITE_ROW) return std::unexpected(sqlError(m_authDb, "looking up device token"));
        return DeviceAuth{s->text(0), s->text(1), s->integer(2) != 0};
    }

    Result<void> addToken(const std::string& hash, const std::string& role, std::int64_t createdAtMs) override {
        std::lock_guard lock(m_mutex);
        Stmt s(m_db, "INSERT INTO tokens (token_hash, role, created_at) VALUES (?, ?, ?)");
        s.bind(1, hash);
        s.bind(2, role);
        s.bind(3, createdAtMs);
        const int rc = s.step();
        if ((rc & 0xff) == SQLITE_CONSTRAINT)
            return std::unexpected(StorageError{Kind::Invalid, "token refused (role must be read): " +
                                                                   std::string(sqlite3_errmsg(m_db))});
        if (rc != SQLITE_DONE) return std::unexpected(sqlError(m_db, "adding token"));
        return {};
    }

    Result<std::optional<std::string>> tokenRole(const std::string& hash) override {
        std::lock_guard lock(m_authMutex);
        const Lease s(*m_tokenRole);
        s->bind(1, hash);
        const int rc = s->step();
        if (rc == SQLITE_DONE) return std::optional<std::string>();
        if (rc != SQLITE_ROW) return std::unexpected(sqlError(m_authDb, "looking up token"));
        return std::optional<std::string>(s->text(0));
    }

    Result<std::vector<Outcome>> ingest(const IngestRequest& req) override {
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
            try {
                writeGroup(group);
            } catch (const std::exception& e) {   // out of memory: the group's transaction rolled back
                for (auto* w : group) w->result = std::unexpected(StorageError{Kind::Io, e.what()});
            }
            queue.lock();
            for (auto* w : group) w->done = true;
            m_writing = false;
            m_queueCv.notify_all();
        }
    }

    Result<bool> storeExists(const std::string& storeId) override {
        std::lock_guard lock(m_mutex);
        Stmt s(m_db, "SELECT 1 FROM stores WHERE id = ?");
        s.bind(1, storeId);
        const int rc = s.step();
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) return std::unexpected(sqlError(m_db, "looking up store"));
        return rc == SQLITE_ROW;
    }

    Result<DayTallies> dailyTallies(const std::string& storeId, const std::string& from,
                                    const std::string& to) override {
        std::lock_guard lock(m_mutex);
        auto days = readDaySums(&storeId, from, to);
        if (!days) return std::unexpected(days.error());
        const auto it = days->find(storeId);
        return it == days->end() ? DayTallies() : std::move(it->second);
    }

    Result<std::map<std::string, DayTallies>> dailyTalliesAll(const std::string& from, const std::string& to) override {
        std::lock_guard lock(m_mutex);
        return readDaySums(nullptr, from, to);
    }

    Result<std::int64_t> storePending(const std::string& storeId) override {
        std::lock_guard lock(m_mutex);
        Stmt s(m_db, "SELECT COALESCE(SUM(last_pending), 0) FROM devices WHERE store_id = ? AND revoked = 0");
        s.bind(1, storeId);
        if (s.step() != SQLITE_ROW) return std::unexpected(sqlError(m_db, "summing pending counts"));
        return s.integer(0);
    }

    Result<std::vector<StoredResponse>> exportPage(const ExportFilter& f, const std::string& afterId,
                                                   int limit) override {
        std::lock_guard lock(m_mutex);
        Stmt s(m_db, std::string("SELECT ") + kResponseColumns +
                         " FROM responses WHERE id > ?1 AND (?2 IS NULL OR local_date >= ?2) AND "
                         "(?3 IS NULL OR local_date <= ?3) AND (?4 IS NULL OR store_id = ?4) ORDER BY id LIMIT ?5");
        s.bind(1, afterId);
        s.bind(2, f.from);
        s.bind(3, f.to);
        s.bind(4, f.storeId);
        s.bind(5, std::int64_t{limit});
        std::vector<StoredResponse> out;
        int rc;
        while ((rc = s.step()) == SQLITE_ROW) {
            auto r = readResponse(s);
            if (!r) return std::unexpected(StorageError{Kind::Io, "stored tags of " + s.text(0) + " are not a JSON array"});
            out.push_back(std::move(*r));
        }
        if (rc != SQLITE_DONE) return std::unexpected(sqlError(m_db, "reading responses"));
        return out;
    }

    Result<std::vector<std::string>> listStores() override {
        std::lock_guard lock(m_mutex);
        Stmt s(m_db, "SELECT id FROM stores ORDER BY id");
        std::vector<std::string> out;
        int rc;
        while ((rc = s.step()) == SQLITE_ROW) out.push_back(s.text(0));
        if (rc != SQLITE_DONE) return std::unexpected(sqlError(m_db, "listing stores"));
        return out;
    }

    Result<std::int64_t> countRatings(const std::string& storeId, std::int64_t fromMs, std::int64_t toMs,
                                      int maxStars) override {
        std::lock_guard lock(m_mutex);
        Stmt s(m_db, "SELECT COUNT(*) FROM responses WHERE store_id = ? AND created_at >= ? AND created_at <= ? "
                     "AND misuse = 0 AND stars <= ?");
        s.bind(1, storeId);
        s.bind(2, fromMs);
        s.bind(3, toMs);
        s.bind(4, std::int64_t{maxStars});
        if (s.step() != SQLITE_ROW) return std::unexpected(sqlError(m_db, "counting ratings"));
        return s.integer(0);
    }

    Result<bool> raiseAlert(const NewAlert& a) override {
        std::lock_guard lock(m_mutex);
        Stmt s(m_db, "INSERT INTO alerts (rule, subject, store_id, device_id, day, raised_at, message, details, "
                     "next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (rule, subject, day) DO NOTHING");
        s.bind(1, a.rule);
        s.bind(2, a.subject);
        s.bind(3, a.storeId);
        s.bind(4, a.deviceId);
        s.bind(5, a.day);
        s.bind(6, a.raisedAtMs);
        s.bind(7, a.message);
        s.bind(8, a.details);
        s.bind(9, a.raisedAtMs);
        if (s.step() != SQLITE_DONE) return std::unexpected(sqlError(m_db, "raising an alert"));
        return sqlite3_changes(m_db) > 0;
    }

    Result<std::vector<Alert>> dueAlerts(std::int64_t nowMs, int limit) override {
        std::lock_guard lock(m_mutex);
        Stmt s(m_db, std::string("SELECT ") + kAlertColumns +
                         " FROM alerts WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?");
        s.bind(1, nowMs);
        s.bind(2, std::int64_t{limit});
        return readAlerts(s, "reading due alerts");
    }

    Result<void> updateAlert(std::int64_t id, AlertState state, int attempts, std::int64_t nextAttemptAtMs,
                             std::optional<std::int64_t> deliveredAtMs, const std::string& lastError) override {
        std::lock_guard lock(m_mutex);
        Stmt s(m_db, "UPDATE alerts SET state = ?, attempts = ?, next_attempt_at = ?, delivered_at = ?, last_error = ? "
                     "WHERE id = ?");
        s.bind(1, std::string(alertStateName(state)));
        s.bind(2, std::int64_t{attempts});
        s.bind(3, nextAttemptAtMs);
        s.bind(4, deliveredAtMs);
        s.bind(5, lastError);
        s.bind(6, id);
        if (s.step() != SQLITE_DONE) return std::unexpected(sqlError(m_db, "updating an alert"));
        return {};
    }

    Result<std::vector<Alert>> recentAlerts(int limit) override {
        std::lock_guard lock(m_mutex);
        Stmt s(m_db, std::string("SELECT ") + kAlertColumns + " FROM alerts ORDER BY raised_at DESC, id DESC LIMIT ?");
        s.bind(1, std::int64_t{limit});
        return readAlerts(s, "listing alerts");
    }

    Result<Counts> counts() override {
        std::lock_guard lock(m_mutex);
        Stmt s(m_db, "SELECT (SELECT COUNT(*) FROM responses), (SELECT COUNT(*) FROM conflicts), "
                     "(SELECT COUNT(*) FROM rejections)");
        if (s.step() != SQLITE_ROW) return std::unexpected(sqlError(m_db, "counting rows"));
        return Counts{s.integer(0), s.integer(1), s.integer(2)};
    }

private:
    /// Rolls back unless committed; never throws.
    class Transaction {
    public:
        explicit Transaction(SqliteStorage& s) : m_s(s) {}
        ~Transaction() {
            if (m_open) (void)m_s.exec("ROLLBACK");
        }
        Result<void> begin() {
            auto r = m_s.exec("BEGIN IMMEDIATE");
            m_open = r.has_value();
            return r;
        }
        Result<void> commit() {
            auto r = m_s.exec("COMMIT");
            if (r) m_open = false;
            return r;
        }

    private:
        SqliteStorage& m_s;
        bool m_open = false;
    };

    Result<void> exec(const char* sql) {
        char* err = nullptr;
        if (sqlite3_exec(m_db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
            std::string message = err ? err : sqlite3_errmsg(m_db);
            sqlite3_free(err);
            return std::unexpected(StorageError{Kind::Io, message});
        }
        return {};
    }

    Result<int> readVersion() {
        Stmt s(m_db, "SELECT COALESCE(MAX(version), 0) FROM schema_version");
        if (s.step() != SQLITE_ROW) return std::unexpected(sqlError(m_db, "reading schema version"));
        return static_cast<int>(s.integer(0));
    }

    Result<std::vector<Alert>> readAlerts(Stmt& s, const char* what) {
        std::vector<Alert> out;
        int rc;
        while ((rc = s.step()) == SQLITE_ROW) out.push_back(readAlert(s));
        if (rc != SQLITE_DONE) return std::unexpected(sqlError(m_db, what));
        return out;
    }

    /// A batch waiting for its group to be written, and what became of it.
    struct Waiter {
        const IngestRequest* req;
        Result<std::vector<Outcome>> result;
        bool done;
    };

    /// Writes a group of batches in one transaction, setting each waiter's result.
    void writeGroup(const std::vector<Waiter*>& group) {
        std::lock_guard lock(m_mutex);
        auto failAll = [&](const StorageError& e) {
            for (auto* w : group) w->result = std::unexpected(e);
        };
        Transaction tx(*this);
        if (auto r = tx.begin(); !r) return failAll(r.error());
        for (auto* w : group) {
            if (auto r = exec("SAVEPOINT batch"); !r) return failAll(r.error());
            w->result = ingestOne(*w->req);
            if (!w->result) {
                // Some errors (a full disk, I/O) end the whole transaction: then none of the group
                // is stored, and each batch must hear so.
                if (sqlite3_get_autocommit(m_db)) return failAll(w->result.error());
                if (auto r = exec("ROLLBACK TO batch"); !r) return failAll(r.error());
            }
            if (auto r = exec("RELEASE batch"); !r) return failAll(r.error());
        }
        if (auto r = tx.commit(); !r) return failAll(r.error());
    }

    /// One batch, inside writeGroup's transaction (see Storage::ingest).
    Result<std::vector<Outcome>> ingestOne(const IngestRequest& req) {
        {
            const auto s = cached("UPDATE devices SET last_seen = ?, last_pending = ?, app_version = ?, "
                                  "clock_offset_ms = COALESCE(?, clock_offset_ms) WHERE id = ?");
            s->bind(1, req.receivedAtMs);
            s->bind(2, req.pending);
            s->bind(3, req.appVersion);
            s->bind(4, req.clockOffsetMs);
            s->bind(5, req.deviceId);
            if (s->step() != SQLITE_DONE) return std::unexpected(sqlError(m_db, "updating device status"));
        }
        if (!req.refused.empty()) {
            Stmt s(m_db, "INSERT INTO rejections (response_id, device_id, batch_id, reason, record, record_hash, "
                         "received_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (device_id, record_hash) DO NOTHING");
            for (const auto& r : req.refused) {
                s.reset();
                s.bind(1, r.id);
                s.bind(2, req.deviceId);
                s.bind(3, req.batchId);
                s.bind(4, r.reason);
                s.bind(5, r.json);
                s.bind(6, sha256Hex(r.json));
                s.bind(7, req.receivedAtMs);
                if (s.step() != SQLITE_DONE) return std::unexpected(sqlError(m_db, "storing a refused record"));
            }
        }
        std::vector<std::string> inserted;
        {
            const auto s = cached(std::string("INSERT INTO responses (") + kResponseColumns + ", batch_id) VALUES " +
                                  placeholders(1, kInsertColumns) + " ON CONFLICT (id) DO NOTHING");
            for (const auto& r : req.records) {
                s->reset();
                int p = 1;
                s->bind(p++, r.id);
                s->bind(p++, r.storeId);
                s->bind(p++, r.deviceId);
                s->bind(p++, r.surveyId);
                s->bind(p++, std::int64_t{r.surveyVersion});
                s->bind(p++, r.language);
                s->bind(p++, r.createdAtMs);
                s->bind(p++, r.localDate);
                s->bind(p++, std::int64_t{r.localHour});
                s->bind(p++, std::int64_t{r.utcOffsetMin});
                s->bind(p++, std::int64_t{r.stars});
                for (const auto& v : r.segue)
                    s->bind(p++, v ? std::optional<std::int64_t>(*v) : std::nullopt);
                s->bind(p++, tagsJson(r));
                s->bind(p++, std::int64_t{r.complete});
                s->bind(p++, std::int64_t{r.misuse});
                s->bind(p++, std::int64_t{r.synthetic});
                s->bind(p++, r.durationMs);
                s->bind(p++, req.receivedAtMs);
                s->bind(p++, req.batchId);
                if (s->step() != SQLITE_DONE) return std::unexpected(sqlError(m_db, "inserting responses"));
                if (sqlite3_changes(m_db) == 1) inserted.push_back(r.id);   // 0: the id was there already
            }
        }
        std::vector<std::string> others;
        {
            std::vector<std::string> sortedInserted = inserted;
            std::sort(sortedInserted.begin(), sortedInserted.end());
            for (const auto& r : req.records)
                if (!std::binary_search(sortedInserted.begin(), sortedInserted.end(), r.id)) others.push_back(r.id);
        }
        auto stored = loadByIds(others);
        if (!stored) return std::unexpected(stored.error());
        auto outcomes = classifyAfterInsert(req.records, inserted, *stored);
        if (!outcomes) return outcomes;
        {
            Stmt s(m_db, "INSERT INTO conflicts (response_id, device_id, batch_id, record, record_hash, received_at) "
                         "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (response_id, record_hash) DO NOTHING");
            auto keep = [&](const core::Response& r) -> Result<void> {
                const std::string json = canonicalJson(r);
                s.reset();
                s.bind(1, r.id);
                s.bind(2, req.deviceId);
                s.bind(3, req.batchId);
                s.bind(4, json);
                s.bind(5, sha256Hex(json));
                s.bind(6, req.receivedAtMs);
                if (s.step() != SQLITE_DONE) return std::unexpected(sqlError(m_db, "storing a conflict"));
                return {};
            };
            for (std::size_t i = 0; i < req.records.size(); ++i)
                if ((*outcomes)[i] == Outcome::Conflict)
                    if (auto r = keep(req.records[i]); !r) return std::unexpected(r.error());
            for (const auto& c : req.conflicts)
                if (auto r = keep(c); !r) return std::unexpected(r.error());
        }
        if (auto r = addDaySums(sumAccepted(req.records, *outcomes)); !r) return std::unexpected(r.error());
        return outcomes;
    }

    /// A statement prepared once and kept (SQLITE_PREPARE_PERSISTENT); reset when the lease ends,
    /// so no kept statement holds a read open between uses. Callers hold the mutex of its connection.
    class Lease {
    public:
        explicit Lease(Stmt& s) : m_s(s) {}
        Lease(const Lease&) = delete;
        Lease& operator=(const Lease&) = delete;
        ~Lease() { m_s.reset(); }
        Stmt* operator->() const { return &m_s; }
        Stmt& operator*() const { return m_s; }

    private:
        Stmt& m_s;
    };
    Lease cached(const std::string& sql) {
        auto& slot = m_cache[sql];
        if (!slot || !slot->prepared()) slot = std::make_unique<Stmt>(m_db, sql, SQLITE_PREPARE_PERSISTENT);
        return Lease(*slot);
    }

    /// Adds a batch's sums to day_tallies and day_tag_counts, one upsert per key, in key order.
    Result<void> addDaySums(const std::map<DayKey, core::Tally>& sums) {
        if (sums.empty()) return {};
        std::string marks;
        for (int i = 0; i < kDayValueCount; ++i) marks += ", ?";
        const auto dayStmt = cached("INSERT INTO day_tallies (store_id, local_date, " + dayColumnList() +
                                    ") VALUES (?, ?" + marks + ") ON CONFLICT (store_id, local_date) DO UPDATE SET " +
                                    dayAddAssignments());
        const auto tagStmt = cached("INSERT INTO day_tag_counts (store_id, local_date, tag, n) VALUES (?, ?, ?, ?) "
                                    "ON CONFLICT (store_id, local_date, tag) DO UPDATE SET n = day_tag_counts.n + "
                                    "excluded.n");
        Stmt& day = *dayStmt;
        Stmt& tag = *tagStmt;
        for (const auto& [key, t] : sums) {
            day.reset();
            day.bind(1, key.first);
            day.bind(2, key.second);
            const auto values = dayValues(t);
            for (int i = 0; i < kDayValueCount; ++i) day.bind(3 + i, values[static_cast<std::size_t>(i)]);
            if (day.step() != SQLITE_DONE) return std::unexpected(sqlError(m_db, "adding to the day sums"));
            for (const auto& [name, n] : t.tags) {
                tag.reset();
                tag.bind(1, key.first);
                tag.bind(2, key.second);
                tag.bind(3, name);
                tag.bind(4, n);
                if (tag.step() != SQLITE_DONE) return std::unexpected(sqlError(m_db, "adding to the tag counts"));
            }
        }
        return {};
    }

    /// The day sums in [from, to] of one store (`storeId`) or of all (nullptr), by store id.
    Result<std::map<std::string, DayTallies>> readDaySums(const std::string* storeId, const std::string& from,
                                                          const std::string& to) {
        const std::string where = std::string(" WHERE local_date >= ?1 AND local_date <= ?2") +
                                  (storeId ? " AND store_id = ?3" : "");
        auto bindRange = [&](Stmt& s) {
            s.bind(1, from);
            s.bind(2, to);
            if (storeId) s.bind(3, *storeId);
        };
        std::map<std::string, DayTallies> out;
        {
            Stmt s(m_db, "SELECT store_id, local_date, " + dayColumnList() + " FROM day_tallies" + where +
                             " ORDER BY store_id, local_date");
            bindRange(s);
            std::array<std::int64_t, kDayValueCount> values{};
            int rc;
            while ((rc = s.step()) == SQLITE_ROW) {
                for (int i = 0; i < kDayValueCount; ++i) values[static_cast<std::size_t>(i)] = s.integer(2 + i);
                out[s.text(0)].emplace_back(s.text(1), tallyFromDayValues(values));
            }
            if (rc != SQLITE_DONE) return std::unexpected(sqlError(m_db, "reading the day sums"));
        }
        {
            Stmt s(m_db, "SELECT store_id, local_date, tag, n FROM day_tag_counts" + where);
            bindRange(s);
            int rc;
            while ((rc = s.step()) == SQLITE_ROW)
                if (auto* t = findDay(out, s.text(0), s.text(1))) t->tags[s.text(2)] = s.integer(3);
            if (rc != SQLITE_DONE) return std::unexpected(sqlError(m_db, "reading the tag counts"));
        }
        return out;
    }

    Result<std::vector<core::Response>> loadByIds(const std::vector<std::string>& ids) {
        std::vector<core::Response> out;
        for (std::size_t first = 0; first < ids.size(); first += kIdsPerSelect) {
            const std::size_t n = std::min(kIdsPerSelect, ids.size() - first);
            std::string marks;
            for (std::size_t i = 0; i < n; ++i) marks += i ? ",?" : "?";
            Stmt s(m_db, std::string("SELECT ") + kResponseColumns + " FROM responses WHERE id IN (" + marks + ")");
            for (std::size_t i = 0; i < n; ++i) s.bind(static_cast<int>(i + 1), ids[first + i]);
            int rc;
            while ((rc = s.step()) == SQLITE_ROW) {
                auto r = readResponse(s);
                if (!r) return std::unexpected(StorageError{Kind::Io, "stored tags of " + s.text(0) + " are not a JSON array"});
                out.push_back(std::move(r->response));
            }
            if (rc != SQLITE_DONE) return std::unexpected(sqlError(m_db, "reading stored responses"));
        }
        return out;
    }

    sqlite3* m_db;
    std::mutex m_mutex;   ///< the connection: one user at a time
    sqlite3* m_authDb = nullptr;   ///< see openAuthReader
    std::mutex m_authMutex;        ///< m_authDb and its two statements
    std::unique_ptr<Stmt> m_deviceByToken, m_tokenRole;
    std::unordered_map<std::string, std::unique_ptr<Stmt>> m_cache;
    std::mutex m_queueMutex;
    std::condition_variable m_queueCv;
    std::deque<Waiter*> m_queue;   ///< batches waiting for the next group
    bool m_writing = false;        ///< a group is being written
};

} // namespace

Result<std::unique_ptr<Storage>> openSqliteStorage(const std::filesystem::path& file) {
    sqlite3* db = nullptr;
    const int rc = sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                   nullptr);
    if (rc != SQLITE_OK) {
        StorageError e{Kind::Io, "cannot open " + file.string() + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc))};
        sqlite3_close_v2(db);
        return std::unexpected(e);
    }
    auto storage = std::make_unique<SqliteStorage>(db);
    // The CLI and a running server may share the file: wait for the other's write to finish.
    if (sqlite3_busy_timeout(db, 10'000) != SQLITE_OK) return std::unexpected(sqlError(db, "setting busy timeout"));
    // A group of batches touches more pages than SQLite's default 2 MiB cache holds (it then spills
    // to the WAL mid-transaction), and checkpoints every 4 MiB of WAL copied the same hot index
    // pages over and over: 64 MiB of cache and a checkpoint every ~40 MiB (perf, 200 terminals).
    for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON",
                               "PRAGMA cache_size=-65536", "PRAGMA wal_autocheckpoint=10000"}) {
        char* err = nullptr;
        if (sqlite3_exec(db, pragma, nullptr, nullptr, &err) != SQLITE_OK) {
            StorageError e{Kind::Io, file.string() + ": " + pragma + ": " + (err ? err : sqlite3_errmsg(db))};
            sqlite3_free(err);
            return std::unexpected(e);
        }
    }
    if (auto m = storage->migrate(); !m) return std::unexpected(m.error());
    if (auto r = storage->openAuthReader(file); !r) return std::unexpected(r.error());
    return std::unique_ptr<Storage>(std::move(storage));
}

} // namespace segue::hq
