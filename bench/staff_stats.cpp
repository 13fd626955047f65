// Benchmark 4: the staff screen's figures (store::dayStats for today, store::trend over 30 days)
// on a terminal database of a million responses over two years, against the least SQLite can do
// to touch the same rows: a COUNT(*) over the same dates.
#include <filesystem>
#include <string>

#include <sqlite3.h>

#include "bench/commands.hpp"
#include "bench/support.hpp"
#include "core/time.hpp"
#include "store/database.hpp"
#include "store/meta.hpp"
#include "store/responses.hpp"
#include "store/stats.hpp"

namespace segue::bench {
namespace {

constexpr const char* kDatasetKey = "bench_dataset";

std::string signature(const TrafficOptions& o) {
    return "traffic v1 count=" + std::to_string(o.count) + " days=" + std::to_string(o.days) +
           " last=" + o.lastDate + " seed=" + std::to_string(o.seed) + " schema=" +
           std::to_string(store::latestSchemaVersion());
}

void removeDb(const std::filesystem::path& p) {
    std::error_code ec;
    for (const char* s : {"", "-wal", "-shm"}) std::filesystem::remove(p.string() + s, ec);
}

/// Fills `path` with the traffic unless it already holds exactly this dataset.
/// Returns the insert rate in responses/s, or 0 when the file was reused.
double ensureDataset(const std::filesystem::path& path, const TrafficOptions& to, std::int64_t batch) {
    const std::string sig = signature(to);
    if (std::filesystem::exists(path)) {
        auto db = store::Database::open(path, false);
        if (db) {
            auto have = store::getMeta(*db, kDatasetKey);
            if (have && *have && **have == sig) return 0;
        }
    }
    removeDb(path);
    auto db = store::Database::open(path);
    if (!db) fail("creating " + path.string() + ": " + db.error().message);
    Traffic traffic(to);
    std::vector<core::Response> pending;
    const double t0 = monoMs();
    std::int64_t written = 0;
    for (;;) {
        auto day = traffic.nextDay();
        const bool done = day.empty();
        for (auto& r : day) pending.push_back(std::move(r));
        if (static_cast<std::int64_t>(pending.size()) >= batch || (done && !pending.empty())) {
            if (auto ok = store::saveResponses(*db, pending); !ok) fail("saving responses: " + ok.error().message);
            written += static_cast<std::int64_t>(pending.size());
            pending.clear();
        }
        if (done) break;
    }
    const double seconds = (monoMs() - t0) / 1000;
    if (auto ok = db->exec("PRAGMA wal_checkpoint(TRUNCATE)"); !ok) fail("checkpoint: " + ok.error().message);
    if (auto ok = store::setMeta(*db, kDatasetKey, sig); !ok) fail("marking the dataset: " + ok.error().message);
    return static_cast<double>(written) / seconds;
}

/// COUNT(*) of the rows in [from, to]: the floor under any computation over them.
class RawCount {
public:
    explicit RawCount(sqlite3* db) {
        if (sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM responses WHERE local_date BETWEEN ?1 AND ?2", -1,
                               &m_st, nullptr) != SQLITE_OK)
            fail(std::string("preparing the baseline: ") + sqlite3_errmsg(db));
    }
    ~RawCount() { sqlite3_finalize(m_st); }
    RawCount(const RawCount&) = delete;
    RawCount& operator=(const RawCount&) = delete;

    std::int64_t run(const std::string& from, const std::string& to) {
        sqlite3_reset(m_st);
        sqlite3_bind_text(m_st, 1, from.data(), static_cast<int>(from.size()), SQLITE_TRANSIENT);
        sqlite3_bind_text(m_st, 2, to.data(), static_cast<int>(to.size()), SQLITE_TRANSIENT);
        if (sqlite3_step(m_st) != SQLITE_ROW) fail("baseline count failed");
        return sqlite3_column_int64(m_st, 0);
    }

private:
    sqlite3_stmt* m_st = nullptr;
};

} // namespace

int runStaffStats(const Args& args) {
    args.allowOnly({"db", "count", "days", "repeats", "batch"});
    TrafficOptions to;
    to.count = args.integer("count", 1'000'000);
    to.days = static_cast<int>(args.integer("days", 730));
    const std::filesystem::path path = args.text("db", "stats.sqlite");
    const int repeats = static_cast<int>(args.integer("repeats", 200));
    const double insertRate = ensureDataset(path, to, args.integer("batch", 2'000));

    const double openT0 = monoMs();
    auto db = store::Database::open(path, false);
    if (!db) fail("opening " + path.string() + ": " + db.error().message);
    const double openMs = monoMs() - openT0;
    const std::string today = to.lastDate;
    const std::string monthAgo = core::addDays(today, -29);

    // First calls on a fresh connection: the staff screen's first open after start.
    double t0 = monoMs();
    auto first = store::dayStats(*db, today);
    if (!first) fail("dayStats: " + first.error().message);
    const double firstDayMs = monoMs() - t0;
    t0 = monoMs();
    auto firstTrend = store::trend(*db, today, 30);
    if (!firstTrend) fail("trend: " + firstTrend.error().message);
    const double firstTrendMs = monoMs() - t0;

    RawCount raw(db->handle());
    const std::int64_t todayRows = raw.run(today, today);
    const std::int64_t monthRows = raw.run(monthAgo, today);
    if (todayRows == 0 || first->responses + first->misuse == 0) fail("the dataset has nothing on " + today);

    Samples day, trend, rawDay, rawMonth;
    for (int i = 0; i < repeats; ++i) {
        t0 = monoMs();
        raw.run(today, today);
        rawDay.add(monoMs() - t0);

        t0 = monoMs();
        auto s = store::dayStats(*db, today);
        day.add(monoMs() - t0);
        if (!s || s->responses != first->responses) fail("dayStats changed between runs");

        t0 = monoMs();
        raw.run(monthAgo, today);
        rawMonth.add(monoMs() - t0);

        t0 = monoMs();
        auto t = store::trend(*db, today, 30);
        trend.add(monoMs() - t0);
        if (!t || t->size() != 30) fail("trend returned the wrong number of days");
    }

    nlohmann::json common = {{"responses_in_db", to.count}, {"days_in_db", to.days}, {"open_ms", openMs},
                             {"repeats", repeats}};
    if (insertRate > 0) common["insert_rate_per_s"] = insertRate;   // 0: last run's file was reused
    Row d;
    d.name = "staff_stats_today";
    d.value = day.median();
    d.baseline = rawDay.median();
    d.unit = "ms";
    d.goal = "<= 5 ms";
    d.met = d.value <= 5;
    d.details = common;
    d.details["p99_ms"] = day.percentile(99);
    d.details["first_call_ms"] = firstDayMs;
    d.details["rows_that_day"] = todayRows;
    emit(d);

    Row t;
    t.name = "staff_stats_trend_30d";
    t.value = trend.median();
    t.baseline = rawMonth.median();
    t.unit = "ms";
    t.goal = "<= 50 ms";
    t.met = t.value <= 50;
    t.details = common;
    t.details["p99_ms"] = trend.percentile(99);
    t.details["first_call_ms"] = firstTrendMs;
    t.details["rows_in_30_days"] = monthRows;
    emit(t);
    return 0;
}

} // namespace segue::bench
