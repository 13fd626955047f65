#include "hq/sql_storage.hpp"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <chrono>
#include <map>
#include <mutex>
#include <numeric>
#include <tuple>
#include <regex>
#include <unordered_map>

#include "core/response_fields.hpp"
#include "core/survey.hpp"
#include "core/time.hpp"
#include "core/uuid.hpp"
#include "hq/day_sums.hpp"
#include "hq/sql_cases.hpp"
#include "hq/sql_people.hpp"
#include "hq/sql_response.hpp"
#include "hq/token.hpp"

namespace segue::hq::embedded {
const std::vector<std::pair<std::string_view, std::string_view>>& embeddedFiles();
} // namespace segue::hq::embedded

namespace segue::hq {
namespace {

using Kind = StorageError::Kind;

constexpr const char* kAlertColumns =
    "id, rule, subject, store_id, device_id, day, raised_at, message, details, state, attempts, next_attempt_at, "
    "delivered_at, last_error";
constexpr std::size_t kIdsPerSelect = 500;
constexpr std::size_t kDaysPerUpsert = 500;    // 43 parameters a row
constexpr std::size_t kTagsPerUpsert = 2000;   // 4 parameters a row
/// Multi-row statements up to this many rows are kept prepared: a batch touches a day or two.
constexpr std::size_t kPreparedRows = 8;
/// What export paging starts after: no UUID sorts before it.
constexpr const char* kNilUuid = "00000000-0000-0000-0000-000000000000";

template <typename T>
Result<T> fail(const std::string& what, const SqlError& e) {
    return std::unexpected(storageError(what, e));
}

AlertState stateFromName(const std::string& s) {
    if (s == "delivered") return AlertState::Delivered;
    if (s == "failed") return AlertState::Failed;
    return AlertState::Pending;
}

/// A row selected with kAlertColumns.
Alert readAlert(const SqlRows& s) {
    Alert a;
    a.id = s.integer(0);
    a.rule = s.text(1);
    a.subject = s.text(2);
    a.storeId = s.text(3);
    a.deviceId = s.optText(4);
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

/// "(?, ?, ?)" repeated `rows` times, comma-separated.
std::string valueRows(std::size_t rows, std::size_t columns) {
    std::string row = "(";
    for (std::size_t c = 0; c < columns; ++c) row += c ? ", ?" : "?";
    row += ')';
    std::string out;
    for (std::size_t r = 0; r < rows; ++r) out += (r ? ", " : "") + row;
    return out;
}

Reuse reuseFor(std::size_t rows) { return rows <= kPreparedRows ? Reuse::Often : Reuse::Once; }

class SqlStorage final : public Storage {
public:
    explicit SqlStorage(std::unique_ptr<SqlEngine> engine)
        : m_engine(std::move(engine)), m_people(*m_engine), m_cases(*m_engine) {}

    PeopleStorage& people() override { return m_people; }
    CaseStorage& cases() override { return m_cases; }

    Result<void> migrate() {
        const auto& steps = sqlMigrations(m_engine->migrationsDir());
        return m_engine->migrate([&](SqlConnection& c) -> Result<void> {
            if (auto r = c.script("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"); !r)
                return fail<void>("creating schema_version", r.error());
            auto version = readVersion(c);
            if (!version) return std::unexpected(version.error());
            if (*version > kSchemaVersion)
                return std::unexpected(StorageError{Kind::Schema, "the database has schema version " +
                                                                      std::to_string(*version) + ", this build knows " +
                                                                      std::to_string(kSchemaVersion)});
            if (*version == kSchemaVersion) return {};
            for (const auto& m : steps) {
                if (m.version <= *version) continue;
                auto sql = withoutColumnsPresent(c, m.sql);
                if (!sql) return std::unexpected(sql.error());
                if (auto r = c.script(*sql); !r)
                    return fail<void>("migration to version " + std::to_string(m.version) + " failed", r.error());
            }
            if (auto r = c.send("DELETE FROM schema_version", {}); !r) return fail<void>("recording schema version", r.error());
            if (auto r = c.send("INSERT INTO schema_version (version) VALUES (?)", {std::int64_t{kSchemaVersion}}); !r)
                return fail<void>("recording schema version", r.error());
            return {};
        });
    }

    /// `sql` without its "ALTER TABLE t ADD COLUMN c …;" statements whose column exists already:
    /// neither engine has ADD COLUMN IF NOT EXISTS in both dialects, and a migration must be safe
    /// to run again over tables it made (the tests that rewind the recorded version do).
    Result<std::string> withoutColumnsPresent(SqlConnection& c, std::string_view sql) {
        static const std::regex added(R"(ALTER TABLE (\w+) ADD COLUMN (\w+)[^;]*;)", std::regex::icase);
        const bool sqlite = m_engine->migrationsDir() == "sqlite";
        std::string text(sql), out;
        auto from = text.cbegin();
        for (std::sregex_iterator it(text.begin(), text.end(), added), end; it != end; ++it) {
            const auto& m = *it;
            auto rows = c.query(sqlite ? "SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = ?"
                                       : "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = "
                                         "current_schema() AND table_name = ? AND column_name = ?",
                                {m[1].str(), m[2].str()});
            auto n = collect<std::int64_t>(rows, "looking for column " + m[2].str(),
                                           [](const SqlRows& s) { return s.integer(0); });
            if (!n) return std::unexpected(n.error());
            out.append(from, m[0].first);
            if (n->empty() || n->front() == 0) out += m[0].str();
            from = m[0].second;
        }
        out.append(from, text.cend());
        return out;
    }

    int schemaVersion() override {
        auto c = m_engine->connection();
        if (!c) return -1;
        return readVersion(**c).value_or(-1);
    }

    Result<int> warmUp() override {
        return m_engine->warmUp([](SqlConnection& c) -> Result<void> {
            if (auto r = c.prepare(updateDeviceSql()); !r) return fail<void>("preparing the device update", r.error());
            if (auto r = c.prepareInsert(responseInsert()); !r)
                return fail<void>("preparing the response insert", r.error());
            return {};
        });
    }

    Result<void> addDevice(const NewDevice& d) override {
        auto c = m_engine->connection();
        if (!c) return std::unexpected(c.error());
        SqlConnection& conn = **c;
        if (auto r = conn.begin(SqlConnection::Tx::Write); !r) return fail<void>("adding device", r.error());
        auto done = [&]() -> SqlResult<void> {
            if (auto r = insertDevice(conn, d); !r) return r;
            return conn.commit();
        }();
        if (done) return {};
        conn.rollback();
        if (done.error().code == SqlError::Code::Constraint)
            return std::unexpected(StorageError{Kind::Invalid, "a device with id " + d.id + " already exists"});
        return fail<void>("adding device", done.error());
    }

    Result<std::vector<DeviceInfo>> listDeviceActivity() override {
        auto c = m_engine->connection();
        if (!c) return std::unexpected(c.error());
        auto rows = (*c)->query("SELECT id, store_id, revoked, last_seen, created_at FROM devices", {}, Reuse::Often);
        return collect<DeviceInfo>(rows, "listing devices", [](const SqlRows& s) {
            DeviceInfo d;
            d.id = s.text(0);
            d.storeId = s.text(1);
            d.revoked = s.flag(2);
            d.lastSeenMs = s.optInteger(3);
            d.createdAtMs = s.integer(4);
            return d;
        });
    }

    Result<std::vector<DeviceInfo>> listDevices() override {
        auto c = m_engine->connection();
        if (!c) return std::unexpected(c.error());
        auto rows = (*c)->query("SELECT d.id, d.store_id, d.name, d.revoked, d.last_seen, d.last_pending, d.app_version, "
                                "d.clock_offset_ms, d.created_at, "
                                "(SELECT COUNT(*) FROM rejections r WHERE r.device_id = d.id) + "
                                "(SELECT COUNT(*) FROM conflicts c WHERE c.device_id = d.id) + "
                                "(SELECT COALESCE(SUM(f.dropped), 0) FROM refusal_days f WHERE f.device_id = d.id), "
                                "s.survey_id, s.survey_version, s.config_error, s.reported_at "
                                "FROM devices d LEFT JOIN device_surveys s ON s.device_id = d.id ORDER BY d.store_id, d.id",
                                {});
        return collect<DeviceInfo>(rows, "listing devices", [](const SqlRows& s) {
            DeviceInfo d;
            d.id = s.text(0);
            d.storeId = s.text(1);
            d.name = s.text(2);
            d.revoked = s.flag(3);
            d.lastSeenMs = s.optInteger(4);
            d.lastPending = s.optInteger(5);
            d.appVersion = s.optText(6);
            d.clockOffsetMs = s.optInteger(7);
            d.createdAtMs = s.integer(8);
            d.rejected = s.integer(9);
            if (const auto surveyId = s.optText(10))
                d.survey = DeviceSurveyReport{*surveyId, static_cast<int>(s.integer(11)), s.optText(12), s.integer(13)};
            return d;
        });
    }

    Result<bool> revokeDevice(const std::string& id) override {
        return anyRow("revoking device", "UPDATE devices SET revoked = TRUE WHERE id = ? RETURNING id", {id});
    }

    Result<std::optional<DeviceAuth>> deviceByTokenHash(const std::string& hash) override {
        auto c = m_engine->connection(SqlEngine::Purpose::Auth);
        if (!c) return std::unexpected(c.error());
        auto rows = (*c)->query("SELECT id, store_id, revoked FROM devices WHERE token_hash = ?", {hash}, Reuse::Often);
        auto all = collect<DeviceAuth>(rows, "looking up device token", [](const SqlRows& s) {
            return DeviceAuth{s.text(0), s.text(1), s.flag(2)};
        });
        if (!all) return std::unexpected(all.error());
        if (all->empty()) return std::optional<DeviceAuth>();
        return std::optional<DeviceAuth>(std::move(all->front()));
    }

    Result<std::int64_t> addToken(const std::string& hash, const std::string& role, std::int64_t createdAtMs) override {
        auto c = m_engine->connection();
        if (!c) return std::unexpected(c.error());
        auto rows = (*c)->query("INSERT INTO tokens (token_hash, role, created_at) VALUES (?, ?, ?) RETURNING id",
                                {hash, role, createdAtMs});
        // SQLite refuses the row when it is stepped, PostgreSQL when it is sent.
        auto first = rows ? (*rows)->next() : SqlResult<bool>(std::unexpected(rows.error()));
        if (first && *first) return (*rows)->integer(0);
        if (!first && first.error().code == SqlError::Code::Constraint)
            return std::unexpected(StorageError{Kind::Invalid, "token refused (role must be read): " + first.error().message});
        return fail<std::int64_t>("adding token", first ? SqlError{SqlError::Code::Other, "no id returned"} : first.error());
    }

    Result<std::optional<std::string>> tokenRole(const std::string& hash) override {
        std::vector<std::pair<std::int64_t, std::string>> found;
        {
            auto c = m_engine->connection(SqlEngine::Purpose::Auth);
            if (!c) return std::unexpected(c.error());
            auto rows = (*c)->query("SELECT id, role FROM tokens WHERE token_hash = ? AND NOT revoked", {hash},
                                    Reuse::Often);
            auto all = collect<std::pair<std::int64_t, std::string>>(
                rows, "looking up token", [](const SqlRows& s) { return std::pair(s.integer(0), s.text(1)); });
            if (!all) return std::unexpected(all.error());
            found = std::move(*all);
        }
        if (found.empty()) return std::optional<std::string>();
        noteTokenUse(found.front().first);
        return std::optional<std::string>(std::move(found.front().second));
    }

    Result<std::vector<TokenInfo>> listTokens() override {
        auto c = m_engine->connection();
        if (!c) return std::unexpected(c.error());
        auto rows = (*c)->query("SELECT t.id, t.role, t.created_at, u.last_used_at, t.revoked FROM tokens t "
                                "LEFT JOIN token_use u ON u.token_id = t.id ORDER BY t.id",
                                {});
        return collect<TokenInfo>(rows, "listing tokens", [](const SqlRows& s) {
            return TokenInfo{s.integer(0), s.text(1), s.integer(2), s.optInteger(3), s.flag(4)};
        });
    }

    Result<bool> revokeToken(std::int64_t id) override {
        return anyRow("revoking token", "UPDATE tokens SET revoked = TRUE WHERE id = ? RETURNING id", {id});
    }

    Result<std::vector<Outcome>> ingest(const IngestRequest& req) override {
        return m_engine->ingest(req, [](SqlConnection& c, const IngestRequest& r) { return ingestBatch(c, r); });
    }

    Result<bool> storeExists(const std::string& storeId) override {
        return anyRow("looking up store", "SELECT 1 FROM stores WHERE id = ?", {storeId});
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
        return oneInteger("summing pending counts",
                          "SELECT COALESCE(SUM(last_pending), 0) FROM devices WHERE store_id = ? AND NOT revoked",
                          {storeId});
    }

    Result<std::vector<StoredResponse>> exportPage(const ExportFilter& f, const std::string& afterId,
                                                   int limit) override {
        auto c = m_engine->connection();
        if (!c) return std::unexpected(c.error());
        auto rows = (*c)->query("SELECT " + responseSelectList() +
                                    " FROM responses WHERE id > ? AND (CAST(? AS TEXT) IS NULL OR local_date >= ?) AND "
                                    "(CAST(? AS TEXT) IS NULL OR local_date <= ?) AND "
                                    "(CAST(? AS TEXT) IS NULL OR store_id = ?) AND "
                                    "(CAST(? AS TEXT) IS NULL OR store_id IN (SELECT store_id FROM store_info WHERE region_id = ?)) "
                                    "ORDER BY id LIMIT ?",
                                {afterId.empty() ? std::string(kNilUuid) : afterId, sqlOptional(f.from),
                                 sqlOptional(f.from), sqlOptional(f.to), sqlOptional(f.to), sqlOptional(f.storeId),
                                 sqlOptional(f.storeId), sqlOptional(f.regionId), sqlOptional(f.regionId),
                                 std::int64_t{limit}},
                                Reuse::Often);
        return readResponses(rows);
    }

    Result<std::vector<std::string>> listStores() override {
        auto c = m_engine->connection();
        if (!c) return std::unexpected(c.error());
        auto rows = (*c)->query("SELECT id FROM stores", {});
        auto out = collect<std::string>(rows, "listing stores", [](const SqlRows& s) { return s.text(0); });
        if (out) std::sort(out->begin(), out->end());   // byte order, whatever the engine's collation
        return out;
    }

    Result<std::int64_t> countRatings(const std::string& storeId, std::int64_t fromMs, std::int64_t toMs,
                                      int maxStars) override {
        SqlParams params = {storeId, fromMs, toMs, std::int64_t{maxStars}};
        if (postgres()) params.emplace_back(core::uuidV7Floor(std::max<std::int64_t>(0, fromMs)));
        return oneInteger("counting ratings", std::string(countRatingsSql(postgres())), std::move(params));
    }

    Result<bool> raiseAlert(const NewAlert& a) override {
        return anyRow("raising an alert",
                      "INSERT INTO alerts (rule, subject, store_id, device_id, day, raised_at, message, details, "
                      "next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                      "ON CONFLICT (rule, subject, day) DO NOTHING RETURNING id",
                      {a.rule, a.subject, a.storeId, sqlOptional(a.deviceId), a.day, a.raisedAtMs, a.message,
                       a.details, a.raisedAtMs});
    }

    Result<std::vector<Alert>> dueAlerts(std::int64_t nowMs, int limit) override {
        auto c = m_engine->connection();
        if (!c) return std::unexpected(c.error());
        auto rows = (*c)->query(std::string("SELECT ") + kAlertColumns +
                                    " FROM alerts WHERE state = 'pending' AND next_attempt_at <= ? "
                                    "ORDER BY next_attempt_at, id LIMIT ?",
                                {nowMs, std::int64_t{limit}});
        return collect<Alert>(rows, "reading due alerts", readAlert);
    }

    Result<bool> claimAlert(std::int64_t id, std::int64_t expectedNextAttemptAtMs, std::int64_t leaseUntilMs) override {
        // A compare-and-set on the row: PostgreSQL makes a second, concurrent UPDATE wait for the
        // first and re-check its WHERE on the new row, so only one matches; SQLite has one writer.
        return anyRow("claiming an alert",
                      "UPDATE alerts SET next_attempt_at = ? WHERE id = ? AND state = 'pending' "
                      "AND next_attempt_at = ? RETURNING id",
                      {leaseUntilMs, id, expectedNextAttemptAtMs});
    }

    Result<void> updateAlert(std::int64_t id, AlertState state, int attempts, std::int64_t nextAttemptAtMs,
                             std::optional<std::int64_t> deliveredAtMs, const std::string& lastError) override {
        auto c = m_engine->connection();
        if (!c) return std::unexpected(c.error());
        auto r = (*c)->query("UPDATE alerts SET state = ?, attempts = ?, next_attempt_at = ?, delivered_at = ?, "
                             "last_error = ? WHERE id = ?",
                             {std::string(alertStateName(state)), std::int64_t{attempts}, nextAttemptAtMs,
                              sqlOptional(deliveredAtMs), lastError, id});
        if (r) r = drain(std::move(*r));
        if (!r) return fail<void>("updating an alert", r.error());
        return {};
    }

    Result<std::vector<Alert>> recentAlerts(int limit) override {
        auto c = m_engine->connection();
        if (!c) return std::unexpected(c.error());
        auto rows = (*c)->query(std::string("SELECT ") + kAlertColumns +
                                    " FROM alerts ORDER BY raised_at DESC, id DESC LIMIT ?",
                                {std::int64_t{limit}});
        return collect<Alert>(rows, "listing alerts", readAlert);
    }

    Result<void> addDeviceWithCode(const NewDevice& d, const NewEnrolmentCode& code) override {
        auto c = m_engine->connection();
        if (!c) return std::unexpected(c.error());
        SqlConnection& conn = **c;
        if (auto r = conn.begin(SqlConnection::Tx::Write); !r) return fail<void>("adding device", r.error());
        auto done = [&]() -> SqlResult<void> {
            if (auto r = insertDevice(conn, d); !r) return r;
            if (auto r = conn.send("INSERT INTO enrolment_codes (code_hash, device_id, created_at, expires_at) "
                                   "VALUES (?, ?, ?, ?)",
                                   {code.codeHash, d.id, code.createdAtMs, code.expiresAtMs});
                !r)
                return r;
            return conn.commit();
        }();
        if (done) return {};
        conn.rollback();
        if (done.error().code == SqlError::Code::Constraint)
            return std::unexpected(StorageError{Kind::Invalid, "a device with id " + d.id + " already exists"});
        return fail<void>("adding device", done.error());
    }

    Result<std::string> databaseKey(const std::string& name, const std::string& candidate, std::int64_t nowMs) override {
        auto c = m_engine->connection();
        if (!c) return std::unexpected(c.error());
        SqlConnection& conn = **c;
        auto read = [&]() { return queryAll<std::string>(conn, "SELECT value FROM database_keys WHERE name = ?", {name},
                                                         [](const SqlRows& s) { return s.text(0); }); };
        // Read first: the insert takes SQLite's write lock even when it conflicts.
        auto stored = read();
        if (stored && stored->empty()) {
            if (auto r = conn.send("INSERT INTO database_keys (name, value, created_at) VALUES (?, ?, ?) "
                                   "ON CONFLICT (name) DO NOTHING",
                                   {name, candidate, nowMs});
                !r)
                return fail<std::string>("storing the database key " + name, r.error());
            stored = read();
        }
        if (!stored) return fail<std::string>("reading the database key " + name, stored.error());
        if (stored->empty()) return std::unexpected(StorageError{Kind::Io, "the database key " + name + " was not stored"});
        return stored->front();
    }

    Result<std::optional<DeviceAuth>> redeemEnrolmentCode(const std::string& codeHash, const std::string& legacyHash,
                                                          const std::string& newTokenHash,
                                                          std::int64_t nowMs) override {
        using Out = std::optional<DeviceAuth>;
        auto c = m_engine->connection();
        if (!c) return std::unexpected(c.error());
        SqlConnection& conn = **c;
        if (auto r = conn.begin(SqlConnection::Tx::Write); !r) return fail<Out>("using an enrolment code", r.error());
        auto done = [&]() -> SqlResult<Out> {
            // The one statement that decides: of concurrent uses, only one finds the row unused.
            auto device = queryAll<std::string>(conn,
                                                "UPDATE enrolment_codes SET used_at = ? WHERE code_hash IN (?, ?) AND "
                                                "used_at IS NULL AND expires_at > ? RETURNING device_id",
                                                {nowMs, codeHash, legacyHash, nowMs}, [](const SqlRows& s) { return s.text(0); });
            if (!device) return std::unexpected(device.error());
            if (device->empty()) return Out();
            auto store = queryAll<std::string>(conn,
                                               "UPDATE devices SET token_hash = ? WHERE id = ? AND NOT revoked "
                                               "RETURNING store_id",
                                               {newTokenHash, device->front()}, [](const SqlRows& s) { return s.text(0); });
            if (!store) return std::unexpected(store.error());
            if (store->empty()) return Out();
            return Out(DeviceAuth{device->front(), store->front(), false});
        }();
        if (!done || !*done) {
            conn.rollback();
            if (!done) return fail<Out>("using an enrolment code", done.error());
            return Out();
        }
        if (auto r = conn.commit(); !r) return fail<Out>("using an enrolment code", r.error());
        return std::move(*done);
    }

    Result<CodeReissue> reissueEnrolmentCode(const std::string& deviceId, const NewEnrolmentCode& code) override {
        auto c = m_engine->connection();
        if (!c) return std::unexpected(c.error());
        SqlConnection& conn = **c;
        if (auto r = conn.begin(SqlConnection::Tx::Write); !r) return fail<CodeReissue>("issuing an enrolment code", r.error());
        auto done = [&]() -> SqlResult<CodeReissue> {
            auto revoked = queryAll<bool>(conn, "SELECT revoked FROM devices WHERE id = ?", {deviceId},
                                          [](const SqlRows& s) { return s.flag(0); });
            if (!revoked) return std::unexpected(revoked.error());
            if (revoked->empty()) return CodeReissue::NoDevice;
            if (revoked->front()) return CodeReissue::Revoked;
            auto codes = queryAll<std::pair<std::int64_t, std::int64_t>>(
                conn, "SELECT COUNT(*), COUNT(used_at) FROM enrolment_codes WHERE device_id = ?", {deviceId},
                [](const SqlRows& s) { return std::pair{s.integer(0), s.integer(1)}; });
            if (!codes) return std::unexpected(codes.error());
            if (codes->front().first == 0 || codes->front().second > 0) return CodeReissue::Enrolled;
            if (auto r = endUnusedCodes(conn, deviceId, code.createdAtMs); !r) return std::unexpected(r.error());
            if (auto r = conn.send("INSERT INTO enrolment_codes (code_hash, device_id, created_at, expires_at) "
                                   "VALUES (?, ?, ?, ?)",
                                   {code.codeHash, deviceId, code.createdAtMs, code.expiresAtMs});
                !r)
                return std::unexpected(r.error());
            return CodeReissue::Issued;
        }();
        if (!done || *done != CodeReissue::Issued) {
            conn.rollback();
            if (!done) return fail<CodeReissue>("issuing an enrolment code", done.error());
            return *done;
        }
        if (auto r = conn.commit(); !r) return fail<CodeReissue>("issuing an enrolment code", r.error());
        return CodeReissue::Issued;
    }

    Result<std::int64_t> revokeEnrolmentCodes(const std::string& deviceId, std::int64_t nowMs) override {
        auto c = m_engine->connection();
        if (!c) return std::unexpected(c.error());
        auto ended = endUnusedCodes(**c, deviceId, nowMs);
        if (!ended) return fail<std::int64_t>("revoking enrolment codes", ended.error());
        return *ended;
    }

    Result<std::vector<VersionTally>> versionTallies(const std::string& storeId, const std::string& from,
                                                     const std::string& to) override {
        // Grouped down to what Tally::add looks at, so that only distinct combinations travel.
        std::string sql = "SELECT survey_id, survey_version, misuse, complete, stars, tags, COUNT(*)";
        for (const auto key : core::kSegueKeys) {
            const std::string column = "segue_" + std::string(key);
            sql += ", COALESCE(SUM(" + column + "), 0), COUNT(" + column + ")";
        }
        sql += " FROM responses WHERE store_id = ? AND local_date >= ? AND local_date <= ? "
               "GROUP BY survey_id, survey_version, misuse, complete, stars, tags";
        auto c = m_engine->connection();
        if (!c) return std::unexpected(c.error());
        auto rows = (*c)->query(sql, {storeId, from, to});
        std::map<std::pair<std::string, std::int64_t>, core::Tally> byVersion;
        auto read = collect<int>(rows, "reading figures by survey version", [&](const SqlRows& s) {
            core::Tally& t = byVersion[{s.text(0), s.integer(1)}];
            const std::int64_t n = s.integer(6);
            if (s.flag(2)) {
                t.misuse += n;
                return 0;
            }
            const std::int64_t stars = s.integer(4);
            t.counted += n;
            t.starSum += stars * n;
            if (core::isSatisfied(static_cast<int>(stars))) t.satisfied += n;
            if (!s.flag(3)) t.partial += n;
            for (std::size_t i = 0; i < core::kSegueKeys.size(); ++i) {
                t.segueSum[i] += s.integer(7 + 2 * static_cast<int>(i));
                t.segueCount[i] += s.integer(8 + 2 * static_cast<int>(i));
            }
            if (const auto tags = core::tagsFromJson(s.text(5)))
                for (const auto& tag : *tags) t.tags[tag] += n;
            return 0;
        });
        if (!read) return std::unexpected(read.error());
        std::vector<VersionTally> out;
        for (auto& [key, tally] : byVersion) out.push_back({key.first, static_cast<int>(key.second), std::move(tally)});
        return out;
    }

    Result<int> publishSurvey(const std::string& surveyId, int floorVersion,
                              const std::function<std::string(int)>& definitionAt, ScopeKind scope,
                              const std::string& scopeId, std::int64_t nowMs) override {
        // Two publishers may pick the same next version; the primary key refuses the second,
        // which then tries again with the version after.
        constexpr int kAttempts = 8;
        for (int attempt = 1;; ++attempt) {
            auto c = m_engine->connection();
            if (!c) return std::unexpected(c.error());
            SqlConnection& conn = **c;
            if (auto r = conn.begin(SqlConnection::Tx::Write); !r) return fail<int>("publishing a survey", r.error());
            auto done = [&]() -> SqlResult<int> {
                auto top = queryAll<std::int64_t>(conn, "SELECT COALESCE(MAX(version), 0) FROM survey_versions WHERE survey_id = ?",
                                                  {surveyId}, [](const SqlRows& s) { return s.integer(0); });
                if (!top) return std::unexpected(top.error());
                const int version = std::max(static_cast<int>(top->at(0)), floorVersion) + 1;
                if (auto r = conn.send("INSERT INTO survey_versions (survey_id, version, definition, published_at) "
                                       "VALUES (?, ?, ?, ?)",
                                       {surveyId, std::int64_t{version}, definitionAt(version), nowMs});
                    !r)
                    return std::unexpected(r.error());
                if (auto r = upsertAssignment(conn, {scope, scopeId, surveyId, version, nowMs}); !r)
                    return std::unexpected(r.error());
                if (auto r = conn.commit(); !r) return std::unexpected(r.error());
                return version;
            }();
            if (done) return *done;
            conn.rollback();
            const bool again = done.error().code == SqlError::Code::Constraint || done.error().code == SqlError::Code::Retry;
            if (!again || attempt == kAttempts) return fail<int>("publishing a survey", done.error());
        }
    }

    Result<void> assignSurvey(const SurveyAssignment& a) override {
        auto c = m_engine->connection();
        if (!c) return std::unexpected(c.error());
        SqlConnection& conn = **c;
        if (auto r = conn.begin(SqlConnection::Tx::Write); !r) return fail<void>("assigning a survey", r.error());
        auto done = upsertAssignment(conn, a);
        if (done) done = conn.commit();
        if (done) return {};
        conn.rollback();
        return fail<void>("assigning a survey", done.error());
    }

    Result<std::vector<SurveyVersion>> listSurveyVersions() override {
        auto c = m_engine->connection();
        if (!c) return std::unexpected(c.error());
        auto rows = (*c)->query("SELECT survey_id, version, definition, published_at FROM survey_versions "
                                "ORDER BY survey_id, version",
                                {});
        return collect<SurveyVersion>(rows, "listing survey versions", readSurveyVersion);
    }

    Result<std::optional<SurveyVersion>> surveyVersion(const std::string& surveyId, int version) override {
        auto c = m_engine->connection();
        if (!c) return std::unexpected(c.error());
        auto rows = (*c)->query("SELECT survey_id, version, definition, published_at FROM survey_versions "
                                "WHERE survey_id = ? AND version = ?",
                                {surveyId, std::int64_t{version}}, Reuse::Often);
        auto all = collect<SurveyVersion>(rows, "reading a survey version", readSurveyVersion);
        if (!all) return std::unexpected(all.error());
        if (all->empty()) return std::optional<SurveyVersion>();
        return std::optional<SurveyVersion>(std::move(all->front()));
    }

    Result<std::vector<SurveyAssignment>> surveyAssignments() override {
        auto c = m_engine->connection();
        if (!c) return std::unexpected(c.error());
        auto rows = (*c)->query("SELECT scope_kind, scope_id, survey_id, version, assigned_at FROM survey_assignments "
                                "ORDER BY scope_kind, scope_id",
                                {}, Reuse::Often);
        return collect<SurveyAssignment>(rows, "reading survey assignments", [](const SqlRows& s) {
            const std::string kind = s.text(0);
            return SurveyAssignment{kind == "store" ? ScopeKind::Store : kind == "region" ? ScopeKind::Region
                                                                                            : ScopeKind::Chain,
                                    s.text(1), s.text(2), static_cast<int>(s.integer(3)), s.integer(4)};
        });
    }

    Result<Counts> counts() override {
        auto c = m_engine->connection();
        if (!c) return std::unexpected(c.error());
        auto rows = (*c)->query("SELECT (SELECT COUNT(*) FROM responses), (SELECT COUNT(*) FROM conflicts), "
                                "(SELECT COUNT(*) FROM rejections)",
                                {});
        auto all = collect<Counts>(rows, "counting rows", [](const SqlRows& s) {
            return Counts{s.integer(0), s.integer(1), s.integer(2)};
        });
        if (!all) return std::unexpected(all.error());
        return all->at(0);
    }

    Result<PartitionPass> maintainPartitions(std::int64_t nowMs, std::optional<int> keepMonths) override {
        PartitionPass pass;
        if (!postgres()) return pass;
        auto c = m_engine->connection();
        if (!c) return std::unexpected(c.error());
        auto partitioned = queryAll<bool>(**c, "SELECT segue_responses_partitioned()", {},
                                          [](const SqlRows& s) { return s.flag(0); });
        if (!partitioned) return fail<PartitionPass>("reading the responses layout", partitioned.error());
        pass.partitioned = partitioned->at(0);
        if (!pass.partitioned) return pass;
        // Each call is a statement (and a transaction) of its own: the advisory lock it takes
        // is held only while it runs.
        auto made = queryAll<std::int64_t>(**c, "SELECT segue_ensure_response_months(?, 1, ?)",
                                           {nowMs, std::int64_t{kPartitionMonthsAhead}},
                                           [](const SqlRows& s) { return s.integer(0); });
        if (!made) return fail<PartitionPass>("creating month partitions of responses", made.error());
        pass.created = static_cast<int>(made->at(0));
        if (keepMonths) {
            auto dropped = queryAll<std::string>(**c, "SELECT segue_drop_response_months(?, ?)",
                                                 {nowMs, std::int64_t{*keepMonths}},
                                                 [](const SqlRows& s) { return s.text(0); });
            if (!dropped) return fail<PartitionPass>("dropping old month partitions of responses", dropped.error());
            pass.dropped = std::move(*dropped);
        }
        auto rows = queryAll<std::int64_t>(**c, "SELECT COUNT(*) FROM responses_default", {},
                                           [](const SqlRows& s) { return s.integer(0); });
        if (!rows) return fail<PartitionPass>("counting rows in the default partition", rows.error());
        pass.defaultRows = rows->at(0);
        return pass;
    }

    Result<std::optional<std::int64_t>> defaultPartitionRows() override {
        using Out = std::optional<std::int64_t>;
        if (!postgres()) return Out();
        auto c = m_engine->connection();
        if (!c) return std::unexpected(c.error());
        // Two statements: before the migration there is no responses_default to name.
        auto partitioned = queryAll<bool>(**c, "SELECT segue_responses_partitioned()", {},
                                          [](const SqlRows& s) { return s.flag(0); });
        if (!partitioned) return fail<Out>("reading the responses layout", partitioned.error());
        if (!partitioned->at(0)) return Out();
        auto rows = queryAll<std::int64_t>(**c, "SELECT COUNT(*) FROM responses_default", {},
                                           [](const SqlRows& s) { return s.integer(0); });
        if (!rows) return fail<Out>("counting rows in the default partition", rows.error());
        return Out(rows->at(0));
    }

    Result<MigrationStep> migrateResponsesStep(std::int64_t nowMs, int rows) override {
        if (!postgres()) return Storage::migrateResponsesStep(nowMs, rows);
        auto c = m_engine->connection();
        if (!c) return std::unexpected(c.error());
        SqlConnection& conn = **c;
        if (auto r = conn.begin(SqlConnection::Tx::Write); !r) return fail<MigrationStep>("migrating responses", r.error());
        auto done = migrationStepIn(conn, nowMs, rows);
        if (!done) {
            conn.rollback();
            return fail<MigrationStep>("migrating responses", done.error());
        }
        if (auto r = conn.commit(); !r) return fail<MigrationStep>("migrating responses", r.error());
        if (done->finished && done->total > 0)
            if (auto r = conn.script("ANALYZE responses"); !r) return fail<MigrationStep>("analyzing responses", r.error());
        return *done;
    }

    Result<std::shared_ptr<void>> tryOperationLock(OperationLock kind) override {
        if (!postgres()) return Storage::tryOperationLock(kind);
        auto c = m_engine->connection();
        if (!c) return std::unexpected(c.error());
        const bool shared = kind == OperationLock::Serve;
        auto got = queryAll<bool>(**c, shared ? "SELECT pg_try_advisory_lock_shared(?)" : "SELECT pg_try_advisory_lock(?)",
                                  {kOperationLock}, [](const SqlRows& s) { return s.flag(0); });
        if (!got) return fail<std::shared_ptr<void>>("taking the operation lock", got.error());
        if (!got->at(0)) return std::shared_ptr<void>();
        // A session lock: let go before the connection goes back to the pool.
        struct Held {
            SqlLease lease;
            bool shared;
            ~Held() {
                auto r = lease->query(shared ? "SELECT pg_advisory_unlock_shared(?)" : "SELECT pg_advisory_unlock(?)",
                                      {kOperationLock});
                if (r) (void)(*r)->next();
            }
        };
        return std::shared_ptr<void>(new Held{std::move(*c), shared});
    }

private:
    /// The advisory lock key serve shares and migrate holds alone.
    static constexpr std::int64_t kOperationLock = 388623;

    bool postgres() const { return m_engine->migrationsDir() == "postgresql"; }

    /// migrateResponsesStep inside its transaction.
    static SqlResult<MigrationStep> migrationStepIn(SqlConnection& c, std::int64_t nowMs, int rows) {
        MigrationStep step;
        auto state = queryAll<std::pair<bool, bool>>(
            c, "SELECT segue_responses_partitioned(), to_regclass('responses_unpartitioned') IS NOT NULL", {},
            [](const SqlRows& s) { return std::pair(s.flag(0), s.flag(1)); });
        if (!state) return std::unexpected(state.error());
        const auto [partitioned, old] = state->at(0);
        step.underWay = old;
        if (partitioned && !old) {
            step.finished = true;
            return step;
        }
        if (rows <= 0 && !old) return step;
        if (!partitioned) {
            auto made = queryAll<bool>(c, "SELECT true FROM segue_partition_responses(?, ?, ?)",
                                       {nowMs, std::int64_t{kMigrateMonthsBack}, std::int64_t{kPartitionMonthsAhead}},
                                       [](const SqlRows& s) { return s.flag(0); });
            if (!made) return std::unexpected(made.error());
            auto total = queryAll<std::int64_t>(c,
                                                "INSERT INTO responses_migration (last_id, copied, total, started_at) "
                                                "SELECT NULL, 0, COUNT(*), ? FROM responses_unpartitioned RETURNING total",
                                                {nowMs}, [](const SqlRows& s) { return s.integer(0); });
            if (!total) return std::unexpected(total.error());
            step.total = total->at(0);
            step.underWay = true;
            return step;
        }
        auto progress = queryAll<std::tuple<std::optional<std::string>, std::int64_t, std::int64_t>>(
            c, "SELECT CAST(last_id AS TEXT), copied, total FROM responses_migration", {},
            [](const SqlRows& s) { return std::tuple(s.optText(0), s.integer(1), s.integer(2)); });
        if (!progress) return std::unexpected(progress.error());
        if (progress->empty()) return std::unexpected(SqlError{SqlError::Code::Other, "responses_migration has no row"});
        const auto& [lastId, copied, total] = progress->at(0);
        if (rows <= 0) {
            step.copied = copied;
            step.total = total;
            return step;
        }
        // The batch is read once (a CTE referenced twice is computed once) and inserted with
        // ON CONFLICT DO NOTHING: a row is never copied twice even if the keyset were replayed.
        auto batch = queryAll<std::pair<std::optional<std::string>, std::int64_t>>(
            c,
            "WITH batch AS (SELECT * FROM responses_unpartitioned WHERE id > CAST(? AS uuid) ORDER BY id LIMIT ?), "
            "copied AS (INSERT INTO responses SELECT * FROM batch ON CONFLICT (id) DO NOTHING RETURNING 1) "
            "SELECT (SELECT CAST(id AS TEXT) FROM batch ORDER BY id DESC LIMIT 1), (SELECT COUNT(*) FROM copied)",
            {lastId.value_or(kNilUuid), std::int64_t{rows}},
            [](const SqlRows& s) { return std::pair(s.optText(0), s.integer(1)); });
        if (!batch) return std::unexpected(batch.error());
        const auto& [last, n] = batch->at(0);
        step.total = total;
        if (last) {
            if (auto r = c.send("UPDATE responses_migration SET last_id = CAST(? AS uuid), copied = copied + ?", {*last, n});
                !r)
                return std::unexpected(r.error());
            step.copied = copied + n;
            return step;
        }
        // Nothing after the last copied id: every row is in the partitioned table.
        if (auto r = c.script("DROP TABLE responses_unpartitioned; DELETE FROM responses_migration"); !r)
            return std::unexpected(r.error());
        step.copied = copied;
        step.finished = true;
        step.underWay = false;
        return step;
    }

    /// Writes a token's last use, at most once a minute per token and never waiting for a busy
    /// writer (it is tried again on a later request): a read request costs no write of its own.
    void noteTokenUse(std::int64_t id) {
        const std::int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count();
        {
            std::lock_guard lock(m_useMutex);
            auto& last = m_useWritten[id];
            if (last != 0 && now - last < kTokenUseWriteEveryMs) return;
            last = now;
        }
        auto c = m_engine->connection(SqlEngine::Purpose::General, SqlEngine::Wait::No);
        const bool written = c && (*c)->send("INSERT INTO token_use (token_id, last_used_at) VALUES (?, ?) "
                                             "ON CONFLICT (token_id) DO UPDATE SET last_used_at = excluded.last_used_at",
                                             {id, now})
                                      .has_value();
        if (!written) {
            std::lock_guard lock(m_useMutex);
            m_useWritten[id] = 0;
        }
    }

    /// Reads every row of `rows` with `read`.
    template <typename T, typename Read>
    static Result<std::vector<T>> collect(SqlResult<std::unique_ptr<SqlRows>>& rows, const std::string& what,
                                          Read&& read) {
        if (!rows) return fail<std::vector<T>>(what, rows.error());
        std::vector<T> out;
        for (;;) {
            auto more = (*rows)->next();
            if (!more) return fail<std::vector<T>>(what, more.error());
            if (!*more) return out;
            out.push_back(read(**rows));
        }
    }

    /// Every row of a query on a connection already in a transaction.
    template <typename T, typename Read>
    static SqlResult<std::vector<T>> queryAll(SqlConnection& c, std::string_view sql, SqlParams params, Read&& read) {
        auto rows = c.query(sql, std::move(params));
        if (!rows) return std::unexpected(rows.error());
        std::vector<T> out;
        for (;;) {
            auto more = (*rows)->next();
            if (!more) return std::unexpected(more.error());
            if (!*more) return out;
            out.push_back(read(**rows));
        }
    }

    /// Ends the device's unused, unexpired codes at `nowMs`; how many it ended.
    static SqlResult<std::int64_t> endUnusedCodes(SqlConnection& c, const std::string& deviceId, std::int64_t nowMs) {
        auto ended = queryAll<std::string>(c,
                                           "UPDATE enrolment_codes SET expires_at = ? WHERE device_id = ? AND "
                                           "used_at IS NULL AND expires_at > ? RETURNING code_hash",
                                           {nowMs, deviceId, nowMs}, [](const SqlRows& s) { return s.text(0); });
        if (!ended) return std::unexpected(ended.error());
        return static_cast<std::int64_t>(ended->size());
    }

    static SurveyVersion readSurveyVersion(const SqlRows& s) {
        return SurveyVersion{s.text(0), static_cast<int>(s.integer(1)), s.text(2), s.integer(3)};
    }

    static SqlResult<void> upsertAssignment(SqlConnection& c, const SurveyAssignment& a) {
        return c.send("INSERT INTO survey_assignments (scope_kind, scope_id, survey_id, version, assigned_at) "
                      "VALUES (?, ?, ?, ?, ?) ON CONFLICT (scope_kind, scope_id) DO UPDATE SET "
                      "survey_id = excluded.survey_id, version = excluded.version, assigned_at = excluded.assigned_at",
                      {std::string(scopeKindName(a.scopeKind)), a.scopeId, a.surveyId, std::int64_t{a.version},
                       a.assignedAtMs});
    }

    /// The store (created if new) and the device row.
    static SqlResult<void> insertDevice(SqlConnection& conn, const NewDevice& d) {
        if (auto r = conn.send("INSERT INTO stores (id, created_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING",
                               {d.storeId, d.createdAtMs});
            !r)
            return r;
        return conn.send("INSERT INTO devices (id, store_id, name, token_hash, created_at) VALUES (?, ?, ?, ?, ?)",
                         {d.id, d.storeId, d.name, d.tokenHash, d.createdAtMs});
    }

    /// Steps through a result nobody reads (an INSERT … RETURNING run for its effect).
    static SqlResult<std::unique_ptr<SqlRows>> drain(std::unique_ptr<SqlRows> rows) {
        for (;;) {
            auto more = rows->next();
            if (!more) return std::unexpected(more.error());
            if (!*more) return rows;
        }
    }

    /// Whether the statement returned any row.
    Result<bool> anyRow(const std::string& what, const std::string& sql, SqlParams params) {
        auto c = m_engine->connection();
        if (!c) return std::unexpected(c.error());
        auto rows = (*c)->query(sql, std::move(params));
        if (!rows) return fail<bool>(what, rows.error());
        auto more = (*rows)->next();
        if (!more) return fail<bool>(what, more.error());
        const bool any = *more;
        if (auto r = drain(std::move(*rows)); !r) return fail<bool>(what, r.error());
        return any;
    }

    /// The first column of the one row the statement returns.
    Result<std::int64_t> oneInteger(const std::string& what, const std::string& sql, SqlParams params) {
        auto c = m_engine->connection();
        if (!c) return std::unexpected(c.error());
        auto rows = (*c)->query(sql, std::move(params));
        auto all = collect<std::int64_t>(rows, what, [](const SqlRows& s) { return s.integer(0); });
        if (!all) return std::unexpected(all.error());
        if (all->empty()) return std::unexpected(StorageError{Kind::Io, what + ": no row"});
        return all->front();
    }

    static Result<std::vector<StoredResponse>> readResponses(SqlResult<std::unique_ptr<SqlRows>>& rows) {
        if (!rows) return fail<std::vector<StoredResponse>>("reading responses", rows.error());
        std::vector<StoredResponse> out;
        for (;;) {
            auto more = (*rows)->next();
            if (!more) return fail<std::vector<StoredResponse>>("reading responses", more.error());
            if (!*more) return out;
            auto r = readResponse(**rows);
            if (!r)
                return std::unexpected(
                    StorageError{Kind::Io, "stored tags of " + (*rows)->text(0) + " are not a JSON array"});
            out.push_back(std::move(*r));
        }
    }

    static Result<int> readVersion(SqlConnection& c) {
        auto rows = c.query("SELECT COALESCE(MAX(version), 0) FROM schema_version", {});
        auto all = collect<int>(rows, "reading schema version",
                                [](const SqlRows& s) { return static_cast<int>(s.integer(0)); });
        if (!all) return std::unexpected(all.error());
        return all->empty() ? 0 : all->front();
    }

    static const std::string& updateDeviceSql() {
        static const std::string sql = "UPDATE devices SET last_seen = ?, last_pending = ?, app_version = ?, "
                                       "clock_offset_ms = COALESCE(CAST(? AS BIGINT), clock_offset_ms) WHERE id = ?";
        return sql;
    }

    static const std::string& deviceSurveySql() {
        static const std::string sql =
            "INSERT INTO device_surveys (device_id, survey_id, survey_version, config_error, reported_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (device_id) DO UPDATE SET survey_id = excluded.survey_id, "
            "survey_version = excluded.survey_version, config_error = excluded.config_error, "
            "reported_at = excluded.reported_at";
        return sql;
    }

    static const BulkInsert& responseInsert() {
        static const BulkInsert spec{"responses", responseColumns(), responseBatchColumns(), "id",
                                     {"id", SqlType::Uuid}};
        return spec;
    }

    /// What is kept of a refused or conflicting record: its first kKeptRecordBytes, cut before a
    /// character that would not fit whole (so the text stays UTF-8 if it was).
    static std::string keptPart(const std::string& json) {
        if (json.size() <= kKeptRecordBytes) return json;
        std::size_t n = kKeptRecordBytes;
        while (n > 0 && (static_cast<unsigned char>(json[n]) & 0xC0) == 0x80) --n;
        return json.substr(0, n);
    }

    /// The refused and conflicting records a device may still keep today (kKeptRefusalsPerDay),
    /// read when a batch first has one to keep; past it a record is only counted.
    class RefusalBudget {
    public:
        RefusalBudget(const IngestRequest& req, std::string day) : m_req(req), m_day(std::move(day)) {}

        /// Runs `insert` (… RETURNING id) if the budget allows, and notes the full length of a
        /// record that was cut in `lengths` ("table (id column"); counts the record either way.
        SqlResult<void> keep(SqlConnection& c, std::string_view insert, SqlParams params, std::string_view lengths,
                             std::size_t fullBytes) {
            if (!m_left) {
                // An upsert, not a SELECT: on PostgreSQL it locks the device's day until the commit,
                // so two batches of one device cannot both spend the last of it.
                auto rows = c.query("INSERT INTO refusal_days (device_id, day, kept, dropped) VALUES (?, ?, 0, 0) "
                                    "ON CONFLICT (device_id, day) DO UPDATE SET kept = refusal_days.kept RETURNING kept",
                                    {m_req.deviceId, m_day}, Reuse::Often);
                if (!rows) return std::unexpected(rows.error());
                auto more = (*rows)->next();
                if (!more) return std::unexpected(more.error());
                m_left = kKeptRefusalsPerDay - (*more ? (*rows)->integer(0) : 0);
            }
            if (*m_left <= 0) {
                ++m_dropped;
                return {};
            }
            auto rows = c.query(insert, std::move(params), Reuse::Often);
            if (!rows) return std::unexpected(rows.error());
            auto inserted = (*rows)->next();   // no row: the same record is kept already
            if (!inserted) return std::unexpected(inserted.error());
            if (!*inserted) return {};
            --*m_left;
            ++m_kept;
            if (fullBytes <= kKeptRecordBytes) return {};
            return c.send("INSERT INTO " + std::string(lengths) + ", record_bytes) VALUES (?, ?)",
                          {(*rows)->integer(0), static_cast<std::int64_t>(fullBytes)}, Reuse::Often);
        }

        /// Adds what this batch kept and dropped to the device's day.
        SqlResult<void> record(SqlConnection& c) {
            if (m_kept == 0 && m_dropped == 0) return {};
            return c.send("UPDATE refusal_days SET kept = kept + ?, dropped = dropped + ? WHERE device_id = ? AND day = ?",
                          {m_kept, m_dropped, m_req.deviceId, m_day}, Reuse::Often);
        }

    private:
        const IngestRequest& m_req;
        std::string m_day;
        std::optional<std::int64_t> m_left;
        std::int64_t m_kept = 0, m_dropped = 0;
    };

    /// One batch, inside the write transaction the engine opened (see Storage::ingest).
    static Result<std::vector<Outcome>> ingestBatch(SqlConnection& c, const IngestRequest& req) {
        if (auto r = c.send(updateDeviceSql(),
                            {req.receivedAtMs, req.pending, req.appVersion, sqlOptional(req.clockOffsetMs), req.deviceId},
                            Reuse::Often);
            !r)
            return fail<std::vector<Outcome>>("updating device status", r.error());
        if (req.survey) {
            const DeviceSurveyReport& sv = *req.survey;
            if (auto r = c.send(deviceSurveySql(),
                                {req.deviceId, sv.surveyId, std::int64_t{sv.surveyVersion},
                                 sqlOptional(sv.configError), sv.reportedAtMs},
                                Reuse::Often);
                !r)
                return fail<std::vector<Outcome>>("recording the device's survey", r.error());
        }
        RefusalBudget budget{req, core::localDate(req.receivedAtMs, 0)};
        for (const auto& r : req.refused)
            if (auto s = budget.keep(c,
                                     "INSERT INTO rejections (response_id, device_id, batch_id, reason, record, "
                                     "record_hash, received_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
                                     "ON CONFLICT (device_id, record_hash) DO NOTHING RETURNING id",
                                     {r.id, req.deviceId, req.batchId, r.reason, keptPart(r.json), sha256Hex(r.json),
                                      req.receivedAtMs},
                                     "rejection_lengths (rejection_id", r.json.size());
                !s)
                return fail<std::vector<Outcome>>("storing a refused record", s.error());
        // In id order: two transactions inserting overlapping ids then wait on each other's keys in
        // one order, never in a cycle.
        std::vector<std::size_t> order(req.records.size());
        std::iota(order.begin(), order.end(), std::size_t{0});
        std::sort(order.begin(), order.end(),
                  [&](std::size_t a, std::size_t b) { return req.records[a].id < req.records[b].id; });
        std::vector<SqlParams> rows;
        rows.reserve(order.size());
        for (const std::size_t i : order) rows.push_back(responseValues(req.records[i]));
        auto inserted = c.insertMany(responseInsert(), rows, {req.receivedAtMs, req.batchId});
        if (!inserted) return fail<std::vector<Outcome>>("inserting responses", inserted.error());

        std::vector<std::string> others;
        {
            std::vector<std::string> sortedInserted = *inserted;
            std::sort(sortedInserted.begin(), sortedInserted.end());
            for (const auto& r : req.records)
                if (!std::binary_search(sortedInserted.begin(), sortedInserted.end(), r.id)) others.push_back(r.id);
        }
        auto stored = loadByIds(c, others);
        if (!stored) return std::unexpected(stored.error());
        auto outcomes = classifyAfterInsert(req.records, *inserted, *stored);
        if (!outcomes) return outcomes;

        auto keep = [&](const core::Response& r) {
            const std::string json = canonicalJson(r);
            return budget.keep(c,
                               "INSERT INTO conflicts (response_id, device_id, batch_id, record, record_hash, "
                               "received_at) VALUES (?, ?, ?, ?, ?, ?) "
                               "ON CONFLICT (response_id, record_hash) DO NOTHING RETURNING id",
                               {r.id, req.deviceId, req.batchId, keptPart(json), sha256Hex(json), req.receivedAtMs},
                               "conflict_lengths (conflict_id", json.size());
        };
        for (std::size_t i = 0; i < req.records.size(); ++i)
            if ((*outcomes)[i] == Outcome::Conflict)
                if (auto r = keep(req.records[i]); !r) return fail<std::vector<Outcome>>("storing a conflict", r.error());
        for (const auto& cr : req.conflicts)
            if (auto r = keep(cr); !r) return fail<std::vector<Outcome>>("storing a conflict", r.error());
        if (auto r = budget.record(c); !r) return fail<std::vector<Outcome>>("counting refused records", r.error());
        if (!req.callbackContacts.empty()) {
            std::vector<const core::Response*> accepted;
            for (std::size_t i = 0; i < req.records.size(); ++i)
                if ((*outcomes)[i] == Outcome::Accepted) accepted.push_back(&req.records[i]);
            if (auto r = insertCases(c, accepted, req.callbackContacts, req.caseSlaMs); !r)
                return fail<std::vector<Outcome>>("opening callback cases", r.error());
        }
        // Last, so that the rows every batch of the store's day adds to stay locked only briefly.
        if (auto r = addDaySums(c, sumAccepted(req.records, *outcomes)); !r)
            return fail<std::vector<Outcome>>("adding to the day sums", r.error());
        return outcomes;
    }

    static Result<std::vector<core::Response>> loadByIds(SqlConnection& c, const std::vector<std::string>& ids) {
        std::vector<core::Response> out;
        for (std::size_t first = 0; first < ids.size(); first += kIdsPerSelect) {
            const std::size_t n = std::min(kIdsPerSelect, ids.size() - first);
            std::string marks;
            for (std::size_t i = 0; i < n; ++i) marks += i ? ", ?" : "?";
            SqlParams params(ids.begin() + static_cast<std::ptrdiff_t>(first),
                             ids.begin() + static_cast<std::ptrdiff_t>(first + n));
            auto rows = c.query("SELECT " + responseSelectList() + " FROM responses WHERE id IN (" + marks + ")",
                                std::move(params), reuseFor(n));
            auto page = readResponses(rows);
            if (!page) return std::unexpected(page.error());
            for (auto& r : *page) out.push_back(std::move(r.response));
        }
        return out;
    }

    /// Adds a batch's sums to day_tallies and day_tag_counts: multi-row upserts, in key order.
    static SqlResult<void> addDaySums(SqlConnection& c, const std::map<DayKey, core::Tally>& sums) {
        for (auto day = sums.begin(); day != sums.end();) {
            SqlParams params;
            std::size_t rows = 0;
            for (; rows < kDaysPerUpsert && day != sums.end(); ++rows, ++day) {
                params.emplace_back(day->first.first);
                params.emplace_back(day->first.second);
                for (const auto v : dayValues(day->second)) params.emplace_back(v);
            }
            if (auto r = c.send("INSERT INTO day_tallies (store_id, local_date, " + dayColumnList() + ") VALUES " +
                                    valueRows(rows, 2 + kDayValueCount) +
                                    " ON CONFLICT (store_id, local_date) DO UPDATE SET " + dayAddAssignments(),
                                std::move(params), reuseFor(rows));
                !r)
                return r;
        }
        SqlParams params;
        std::size_t rows = 0;
        auto flush = [&]() -> SqlResult<void> {
            if (rows == 0) return {};
            auto r = c.send("INSERT INTO day_tag_counts (store_id, local_date, tag, n) VALUES " + valueRows(rows, 4) +
                                " ON CONFLICT (store_id, local_date, tag) DO UPDATE SET n = day_tag_counts.n + excluded.n",
                            std::exchange(params, {}), reuseFor(rows));
            rows = 0;
            return r;
        };
        for (const auto& [key, t] : sums)
            for (const auto& [tag, n] : t.tags) {
                params.emplace_back(key.first);
                params.emplace_back(key.second);
                params.emplace_back(tag);
                params.emplace_back(n);
                if (++rows == kTagsPerUpsert)
                    if (auto r = flush(); !r) return r;
            }
        return flush();
    }

    /// The day sums in [from, to] of one store (`storeId`) or of all (nullptr), by store id. Both
    /// queries read one snapshot, so the tags belong to the same days.
    Result<std::map<std::string, DayTallies>> readDaySums(const std::string* storeId, const std::string& from,
                                                          const std::string& to) {
        auto c = m_engine->connection();
        if (!c) return std::unexpected(c.error());
        SqlConnection& conn = **c;
        const std::string where = std::string(" WHERE local_date >= ? AND local_date <= ?") +
                                  (storeId ? " AND store_id = ?" : "");
        SqlParams params = {from, to};
        if (storeId) params.emplace_back(*storeId);
        if (auto r = conn.begin(SqlConnection::Tx::Snapshot); !r)
            return fail<std::map<std::string, DayTallies>>("reading the day sums", r.error());
        auto out = readDaySumsIn(conn, where, params);
        if (!out) {
            conn.rollback();
            return out;
        }
        if (auto r = conn.commit(); !r) return fail<std::map<std::string, DayTallies>>("reading the day sums", r.error());
        return out;
    }

    static Result<std::map<std::string, DayTallies>> readDaySumsIn(SqlConnection& c, const std::string& where,
                                                                   const SqlParams& params) {
        using Out = std::map<std::string, DayTallies>;
        Out out;
        {
            auto rows = c.query("SELECT store_id, local_date, " + dayColumnList() + " FROM day_tallies" + where, params,
                                Reuse::Often);
            if (!rows) return fail<Out>("reading the day sums", rows.error());
            std::array<std::int64_t, kDayValueCount> values{};
            for (;;) {
                auto more = (*rows)->next();
                if (!more) return fail<Out>("reading the day sums", more.error());
                if (!*more) break;
                for (int i = 0; i < kDayValueCount; ++i) values[static_cast<std::size_t>(i)] = (*rows)->integer(2 + i);
                out[(*rows)->text(0)].emplace_back((*rows)->text(1), tallyFromDayValues(values));
            }
        }
        sortDays(out);
        auto rows = c.query("SELECT store_id, local_date, tag, n FROM day_tag_counts" + where, params, Reuse::Often);
        if (!rows) return fail<Out>("reading the tag counts", rows.error());
        for (;;) {
            auto more = (*rows)->next();
            if (!more) return fail<Out>("reading the tag counts", more.error());
            if (!*more) break;
            if (auto* t = findDay(out, (*rows)->text(0), (*rows)->text(1))) t->tags[(*rows)->text(2)] = (*rows)->integer(3);
        }
        return out;
    }

    std::unique_ptr<SqlEngine> m_engine;
    std::mutex m_useMutex;
    std::unordered_map<std::int64_t, std::int64_t> m_useWritten;   ///< token id → when its use was last written
    SqlPeople m_people;
    SqlCases m_cases;
};

std::vector<SqlMigration> parseMigrations(std::string_view dir) {
    const std::string prefix = "migrations/" + std::string(dir) + "/";
    std::vector<SqlMigration> out;
    for (const auto& [path, text] : embedded::embeddedFiles()) {
        if (!path.starts_with(prefix)) continue;
        const std::string_view name = path.substr(prefix.size());
        int version = 0;
        const auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), version);
        // A misnamed migration is a build mistake, not a runtime condition.
        assert(ec == std::errc() && end - name.data() == 4 && *end == '_' && name.ends_with(".sql"));
        (void)end;
        (void)ec;
        out.push_back({version, name, text});
    }
    std::sort(out.begin(), out.end(), [](const SqlMigration& a, const SqlMigration& b) { return a.version < b.version; });
    // Ascending without repeats, the last one kSchemaVersion. Gaps are allowed: branches number
    // their migrations in ranges of their own, closed up when they merge.
    for (std::size_t i = 1; i < out.size(); ++i)
        assert(out[i - 1].version < out[i].version && "migrations must have distinct numbers");
    assert(!out.empty() && out.back().version == kSchemaVersion && "the last migration is kSchemaVersion");
    return out;
}

} // namespace

std::string_view countRatingsSql(bool postgres) {
    static constexpr std::string_view kSqlite =
        "SELECT COUNT(*) FROM responses WHERE store_id = ? AND created_at >= ? AND created_at <= ? "
        "AND NOT misuse AND stars <= ?";
    static constexpr std::string_view kPostgres =
        "SELECT COUNT(*) FROM responses WHERE store_id = ? AND created_at >= ? AND created_at <= ? "
        "AND NOT misuse AND stars <= ? AND id >= CAST(? AS uuid)";
    return postgres ? kPostgres : kSqlite;
}

const std::vector<SqlMigration>& sqlMigrations(std::string_view dir) {
    static const std::vector<SqlMigration> sqlite = parseMigrations("sqlite");
    static const std::vector<SqlMigration> pg = parseMigrations("postgresql");
    return dir == "sqlite" ? sqlite : pg;
}

std::string insertColumnList(const BulkInsert& spec) {
    std::string out;
    for (const auto* list : {&spec.columns, &spec.shared})
        for (const auto& c : *list) out += (out.empty() ? "" : ", ") + std::string(c.name);
    return out;
}

StorageError storageError(const std::string& what, const SqlError& e) { return {Kind::Io, what + ": " + e.message}; }

Result<std::unique_ptr<Storage>> openSqlStorage(std::unique_ptr<SqlEngine> engine) {
    auto storage = std::make_unique<SqlStorage>(std::move(engine));
    if (auto m = storage->migrate(); !m) return std::unexpected(m.error());
    return std::unique_ptr<Storage>(std::move(storage));
}

} // namespace segue::hq
