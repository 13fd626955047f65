#include "store/responses.hpp"

#include <map>
#include <string_view>
#include <utility>

#include <sqlite3.h>

#include "core/time.hpp"
#include "store/response_rows.hpp"
#include "store/sqlite_support.hpp"

namespace segue::store {

namespace detail {

core::Response readResponse(const Statement& st) {
    core::Response r;
    struct Read {
        const Statement& st;
        bool operator()(int col, std::string& out) const { out = st.columnText(col); return true; }
        bool operator()(int col, std::int64_t& out) const { out = st.columnInt(col); return true; }
        bool operator()(int col, bool& out) const { out = st.columnInt(col) != 0; return true; }
        bool operator()(int col, std::optional<std::int64_t>& out) const {
            out = st.columnIsNull(col) ? std::nullopt : std::optional<std::int64_t>(st.columnInt(col));
            return true;
        }
        bool operator()(int, std::vector<std::string>&) const { return false; }   // not a column here
    };
    core::readSqlValues(r, core::SqlTable::Kiosk, Read{st});
    return r;
}

std::expected<Statement, Error> prepareTagQuery(sqlite3* db) {
    return Statement::prepare(db,
                              "SELECT tag FROM response_tags WHERE response_id = ?1 ORDER BY position",
                              "reading reason tags");
}

std::expected<void, Error> loadTags(Statement& tagQuery, core::Response& r) {
    tagQuery.reset();
    tagQuery.bind(1, r.id);
    for (;;) {
        auto row = tagQuery.step();
        if (!row) return std::unexpected(std::move(row.error()));
        if (!*row) return {};
        r.tags.push_back(tagQuery.columnText(0));
    }
}

std::expected<void, Error> checkDate(const std::string& date, const char* what) {
    if (core::isIsoDate(date)) return {};
    Error e;
    e.kind = ErrorKind::Invalid;
    e.message = std::string(what) + " '" + date + "' is not a YYYY-MM-DD date";
    return std::unexpected(std::move(e));
}

namespace {

// Sums per date and hour kept by the triggers of migration 0005: a range reads at most 24 rows
// a day, however many responses the terminal holds. The SEGUE columns are named after
// core::kSegueKeys (a missing one fails to prepare, in every stats test).
std::string tallySql() {
    std::string sql = "SELECT local_date, local_hour, counted, star_sum, satisfied";
    for (const auto key : core::kSegueKeys) sql += ", " + std::string(key) + "_sum, " + std::string(key) + "_n";
    return sql + ", partial, misuse FROM day_hour_tallies WHERE local_date BETWEEN ?1 AND ?2";
}

constexpr const char* kTagTallySql =
    "SELECT local_date, tag, n FROM day_tag_counts WHERE local_date BETWEEN ?1 AND ?2";

/// Per-date tallies over [from, to]; the caller holds a read transaction.
std::expected<std::map<std::string, core::Tally>, Error>
tallyByDate(sqlite3* db, const std::string& from, const std::string& to) {
    std::map<std::string, core::Tally> out;
    static const std::string kTallySql = tallySql();
    auto sums = Statement::prepare(db, kTallySql, "computing scores for " + from + ".." + to);
    if (!sums) return std::unexpected(std::move(sums.error()));
    sums->bind(1, from).bind(2, to);
    for (;;) {
        auto row = sums->step();
        if (!row) return std::unexpected(std::move(row.error()));
        if (!*row) break;
        core::Tally& t = out[sums->columnText(0)];
        const auto hour = sums->columnInt(1);
        const std::int64_t counted = sums->columnInt(2);
        t.counted += counted;
        t.starSum += sums->columnInt(3);
        t.satisfied += sums->columnInt(4);
        for (int i = 0; i < core::kSegueCount; ++i) {
            t.segueSum[static_cast<std::size_t>(i)] += sums->columnInt(5 + 2 * i);
            t.segueCount[static_cast<std::size_t>(i)] += sums->columnInt(6 + 2 * i);
        }
        constexpr int kAfterSegue = 5 + 2 * core::kSegueCount;
        t.partial += sums->columnInt(kAfterSegue);
        t.misuse += sums->columnInt(kAfterSegue + 1);
        // The schema's CHECK keeps local_hour in 0..23.
        if (hour >= 0 && hour < 24) t.byHour[static_cast<std::size_t>(hour)] += counted;
    }

    auto tags = Statement::prepare(db, kTagTallySql, "counting reason tags for " + from + ".." + to);
    if (!tags) return std::unexpected(std::move(tags.error()));
    tags->bind(1, from).bind(2, to);
    for (;;) {
        auto row = tags->step();
        if (!row) return std::unexpected(std::move(row.error()));
        if (!*row) break;
        out[tags->columnText(0)].tags[tags->columnText(1)] += tags->columnInt(2);
    }
    return out;
}

} // namespace

std::expected<core::Tally, Error> tallyRange(sqlite3* db, const std::string& from, const std::string& to) {
    auto byDate = tallyByDate(db, from, to);
    if (!byDate) return std::unexpected(std::move(byDate.error()));
    core::Tally total;
    for (const auto& [date, t] : *byDate) total.merge(t);
    return total;
}

} // namespace detail

namespace {

/// The inserts of one response, kept on the connection (Database::statements()): compiling them
/// and the triggers behind them cost a tap more than its own rows did.
struct Inserter {
    Statement& response;
    Statement& tag;
    Statement& outbox;
    Statement& contact;

    static std::expected<Inserter, Error> prepare(Database& db) {
        static const std::string kInsert = [] {
            const auto columns = core::sqlColumns(core::SqlTable::Kiosk);
            std::string sql = "INSERT INTO responses (" + core::sqlColumnList(core::SqlTable::Kiosk) + ") VALUES (";
            for (std::size_t i = 1; i <= columns.size(); ++i) sql += (i > 1 ? ", ?" : "?") + std::to_string(i);
            return sql + ")";
        }();
        auto& kept = db.statements();
        auto response = kept.get(kInsert, "saving responses");
        if (!response) return std::unexpected(std::move(response.error()));
        auto tag = kept.get("INSERT INTO response_tags (response_id, position, tag) VALUES (?1, ?2, ?3)",
                            "saving reason tags");
        if (!tag) return std::unexpected(std::move(tag.error()));
        auto outbox = kept.get("INSERT INTO outbox (response_id, state) VALUES (?1, 'pending')",
                               "saving the outbox row");
        if (!outbox) return std::unexpected(std::move(outbox.error()));
        auto contact = kept.get("INSERT INTO callback_contacts (response_id, sealed) VALUES (?1, ?2)",
                                "saving the sealed callback contact");
        if (!contact) return std::unexpected(std::move(contact.error()));
        return Inserter{**response, **tag, **outbox, **contact};
    }

    std::expected<void, Error> insert(const core::Response& r, const std::string* sealed) {
        const std::string what = "saving response " + r.id;
        response.reset();
        struct Bind {
            Statement& st;
            int index = 1;
            void operator()(std::string_view v) { st.bind(index++, v); }
            void operator()(std::int64_t v) { st.bind(index++, v); }
            void operator()(bool v) { st.bind(index++, std::int64_t{v ? 1 : 0}); }
            void operator()(const std::optional<std::int64_t>& v) {
                if (v) st.bind(index++, *v);
                else st.bindNull(index++);
            }
            void operator()(const std::vector<std::string>&) {}   // tags: the table response_tags
        };
        core::bindSqlValues(r, core::SqlTable::Kiosk, Bind{response});
        if (auto done = response.run(); !done) return withContext(std::move(done.error()), what);

        for (std::size_t i = 0; i < r.tags.size(); ++i) {
            tag.reset();
            tag.bind(1, r.id).bind(2, static_cast<std::int64_t>(i)).bind(3, r.tags[i]);
            if (auto done = tag.run(); !done)
                return withContext(std::move(done.error()), what + " (tag '" + r.tags[i] + "')");
        }
        outbox.reset();
        outbox.bind(1, r.id);
        if (auto done = outbox.run(); !done) return withContext(std::move(done.error()), what + " (outbox)");
        if (sealed) {
            contact.reset();
            contact.bind(1, r.id).bind(2, *sealed);
            if (auto done = contact.run(); !done)
                return withContext(std::move(done.error()), what + " (sealed callback contact)");
        }
        return {};
    }

    static std::unexpected<Error> withContext(Error e, const std::string& what) {
        e.message = what + ": " + e.message;
        return std::unexpected(std::move(e));
    }
};

std::expected<void, Error> checkResponse(const core::Response& r, const std::string* sealed = nullptr) {
    std::optional<std::string> why = core::validate(r);
    if (!why && r.callbackRequested && (!sealed || sealed->empty()))
        why = "callback_requested without a sealed contact";
    if (!why && !r.callbackRequested && sealed) why = "a sealed contact without callback_requested";
    if (why) {
        Error e;
        e.kind = ErrorKind::Invalid;
        e.message = "response '" + r.id + "' was not saved: " + *why;
        return std::unexpected(std::move(e));
    }
    return {};
}

const std::string* contactFor(const std::map<std::string, std::string>& sealed, const std::string& id) {
    const auto it = sealed.find(id);
    return it == sealed.end() ? nullptr : &it->second;
}

} // namespace

std::expected<void, Error> saveResponse(Database& db, const core::Response& r) {
    return saveResponse(db, r, std::nullopt);
}

std::expected<void, Error> saveResponse(Database& db, const core::Response& r,
                                        const std::optional<std::string>& sealedContact) {
    const std::string* sealed = sealedContact ? &*sealedContact : nullptr;
    if (auto ok = checkResponse(r, sealed); !ok) return ok;
    auto tx = Transaction::begin(db.handle(), "saving response " + r.id);
    if (!tx) return std::unexpected(std::move(tx.error()));
    auto ins = Inserter::prepare(db);
    if (!ins) return std::unexpected(std::move(ins.error()));
    if (auto done = ins->insert(r, sealed); !done) return done;
    return tx->commit();
}

std::expected<void, Error> saveResponses(Database& db, const std::vector<core::Response>& rs) {
    return saveResponses(db, rs, {});
}

std::expected<void, Error> saveResponses(Database& db, const std::vector<core::Response>& rs,
                                         const std::map<std::string, std::string>& sealedContacts) {
    if (rs.empty()) return {};
    for (const auto& r : rs)
        if (auto ok = checkResponse(r, contactFor(sealedContacts, r.id)); !ok) return ok;
    auto tx = Transaction::begin(db.handle(), "saving " + std::to_string(rs.size()) + " responses");
    if (!tx) return std::unexpected(std::move(tx.error()));
    auto ins = Inserter::prepare(db);
    if (!ins) return std::unexpected(std::move(ins.error()));
    for (const auto& r : rs)
        if (auto done = ins->insert(r, contactFor(sealedContacts, r.id)); !done) return done;
    return tx->commit();
}

std::expected<void, Error> forEachResponse(Database& db, const DateRange& range,
                                           const std::function<bool(const core::Response&)>& fn) {
    if (range.from)
        if (auto ok = detail::checkDate(*range.from, "from date"); !ok) return ok;
    if (range.to)
        if (auto ok = detail::checkDate(*range.to, "to date"); !ok) return ok;

    // A local date is created_at plus an offset of at most a day either way (the table's CHECK),
    // so the dates bound created_at too: the walk stays within responses_by_created, already in
    // the output's order, and local_date picks the exact rows. Fixed texts rather than
    // "(?1 IS NULL OR ...)", which would hide the index.
    constexpr std::int64_t kDayMs = 86'400'000;
    const std::string select = std::string("SELECT ") + detail::kResponseColumns + " FROM responses r";
    const std::string order = " ORDER BY r.created_at_ms, r.id";
    std::string sql;
    if (range.from && range.to)
        sql = select + " WHERE r.created_at_ms >= ?3 AND r.created_at_ms < ?4 AND r.local_date BETWEEN ?1 AND ?2" + order;
    else if (range.from)
        sql = select + " WHERE r.created_at_ms >= ?3 AND r.local_date >= ?1" + order;
    else if (range.to)
        sql = select + " WHERE r.created_at_ms < ?4 AND r.local_date <= ?2" + order;
    else
        sql = select + order;

    auto tx = Transaction::beginRead(db.handle(), "reading responses");
    if (!tx) return std::unexpected(std::move(tx.error()));
    auto st = Statement::prepare(db.handle(), sql, "reading responses");
    if (!st) return std::unexpected(std::move(st.error()));
    if (range.from) {
        st->bind(1, *range.from);
        st->bind(3, (*core::daysFromIsoDate(*range.from) - 1) * kDayMs);
    }
    if (range.to) {
        st->bind(2, *range.to);
        st->bind(4, (*core::daysFromIsoDate(*range.to) + 2) * kDayMs);
    }
    auto tags = detail::prepareTagQuery(db.handle());
    if (!tags) return std::unexpected(std::move(tags.error()));
    for (;;) {
        auto row = st->step();
        if (!row) return std::unexpected(std::move(row.error()));
        if (!*row) break;
        core::Response r = detail::readResponse(*st);
        if (auto ok = detail::loadTags(*tags, r); !ok) return ok;
        if (!fn(r)) break;
    }
    return tx->commit();
}

std::expected<std::optional<core::Response>, Error> findResponse(Database& db, const std::string& id) {
    auto tx = Transaction::beginRead(db.handle(), "reading response " + id);
    if (!tx) return std::unexpected(std::move(tx.error()));
    auto st = Statement::prepare(
        db.handle(), std::string("SELECT ") + detail::kResponseColumns + " FROM responses r WHERE r.id = ?1",
        "reading response " + id);
    if (!st) return std::unexpected(std::move(st.error()));
    st->bind(1, id);
    auto row = st->step();
    if (!row) return std::unexpected(std::move(row.error()));
    if (!*row) return std::optional<core::Response>();
    core::Response r = detail::readResponse(*st);
    auto tags = detail::prepareTagQuery(db.handle());
    if (!tags) return std::unexpected(std::move(tags.error()));
    if (auto ok = detail::loadTags(*tags, r); !ok) return std::unexpected(std::move(ok.error()));
    if (auto ok = tx->commit(); !ok) return std::unexpected(std::move(ok.error()));
    return std::optional<core::Response>(std::move(r));
}

std::expected<core::Tally, Error> tally(Database& db, const std::string& from, const std::string& to) {
    if (auto ok = detail::checkDate(from, "from date"); !ok) return std::unexpected(std::move(ok.error()));
    if (auto ok = detail::checkDate(to, "to date"); !ok) return std::unexpected(std::move(ok.error()));
    auto tx = Transaction::beginRead(db.handle(), "computing scores");
    if (!tx) return std::unexpected(std::move(tx.error()));
    auto t = detail::tallyRange(db.handle(), from, to);
    if (!t) return t;
    if (auto ok = tx->commit(); !ok) return std::unexpected(std::move(ok.error()));
    return t;
}

std::expected<std::vector<std::pair<std::string, core::Tally>>, Error>
dailyTallies(Database& db, const std::string& from, const std::string& to) {
    if (auto ok = detail::checkDate(from, "from date"); !ok) return std::unexpected(std::move(ok.error()));
    if (auto ok = detail::checkDate(to, "to date"); !ok) return std::unexpected(std::move(ok.error()));
    auto tx = Transaction::beginRead(db.handle(), "computing daily scores");
    if (!tx) return std::unexpected(std::move(tx.error()));
    auto byDate = detail::tallyByDate(db.handle(), from, to);
    if (!byDate) return std::unexpected(std::move(byDate.error()));
    if (auto ok = tx->commit(); !ok) return std::unexpected(std::move(ok.error()));
    std::vector<std::pair<std::string, core::Tally>> out;
    out.reserve(byDate->size());
    for (auto& [date, t] : *byDate) out.emplace_back(date, std::move(t));
    return out;
}

} // namespace segue::store
