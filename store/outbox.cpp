#include "store/outbox.hpp"

#include <utility>

#include <sqlite3.h>

#include "core/response.hpp"
#include "store/response_rows.hpp"
#include "store/sqlite_support.hpp"

namespace segue::store {

namespace {

Error invalid(std::string message) {
    Error e;
    e.kind = ErrorKind::Invalid;
    e.message = std::move(message);
    return e;
}

/// Reads the trigger-maintained count (migration 0004), not COUNT(*) over the outbox.
std::expected<std::int64_t, Error> countState(sqlite3* db, const char* state) {
    auto st = Statement::prepare(db, "SELECT n FROM outbox_counts WHERE state = ?1",
                                 std::string("counting ") + state + " outbox rows");
    if (!st) return std::unexpected(std::move(st.error()));
    st->bind(1, std::string_view(state));
    auto row = st->step();
    if (!row) return std::unexpected(std::move(row.error()));
    return *row ? st->columnInt(0) : 0;
}

} // namespace

namespace detail {

std::expected<std::int64_t, Error> pendingCount(sqlite3* db) { return countState(db, "pending"); }

} // namespace detail

std::expected<std::vector<core::Response>, Error> pendingBatch(Database& db, int limit,
                                                               const std::string& afterId) {
    if (limit < 0) return std::unexpected(invalid("a batch limit of " + std::to_string(limit) + " is negative"));
    std::vector<core::Response> out;
    if (limit == 0) return out;
    auto tx = Transaction::beginRead(db.handle(), "reading pending responses");
    if (!tx) return std::unexpected(std::move(tx.error()));
    auto st = Statement::prepare(db.handle(),
                                 std::string("SELECT ") + detail::kResponseColumns +
                                     " FROM outbox o JOIN responses r ON r.id = o.response_id"
                                     " WHERE o.state = 'pending' AND o.response_id > ?2"
                                     " ORDER BY o.response_id LIMIT ?1",
                                 "reading pending responses");
    if (!st) return std::unexpected(std::move(st.error()));
    st->bind(1, std::int64_t{limit}).bind(2, afterId);
    auto tags = detail::prepareTagQuery(db.handle());
    if (!tags) return std::unexpected(std::move(tags.error()));
    for (;;) {
        auto row = st->step();
        if (!row) return std::unexpected(std::move(row.error()));
        if (!*row) break;
        core::Response r = detail::readResponse(*st);
        if (auto ok = detail::loadTags(*tags, r); !ok) return std::unexpected(std::move(ok.error()));
        out.push_back(std::move(r));
    }
    if (auto ok = tx->commit(); !ok) return std::unexpected(std::move(ok.error()));
    return out;
}

namespace {

/// The UPDATE of markSynced, inside the caller's transaction: one statement for the whole ack
/// (the ids as a JSON array), not one per response.
std::expected<void, Error> updateSynced(Database& db, const std::vector<std::string>& ids,
                                        std::int64_t syncedAtUtcMs, const std::string& doing) {
    if (ids.empty()) return {};
    std::string list = "[";
    for (const auto& id : ids) {
        if (list.size() > 1) list += ',';
        core::appendJsonString(list, id, core::BadUtf8::Replace);
    }
    list += ']';
    // A response acked twice keeps the time of its first ack.
    auto st = Statement::prepare(db.handle(),
                                 "UPDATE outbox SET state = 'synced', reason = NULL, attempts = attempts + 1,"
                                 " synced_at_ms = CASE WHEN state = 'synced' THEN synced_at_ms ELSE ?2 END"
                                 " WHERE response_id IN (SELECT value FROM json_each(?1))",
                                 doing);
    if (!st) return std::unexpected(std::move(st.error()));
    st->bind(1, list).bind(2, syncedAtUtcMs);
    if (auto ok = st->run(); !ok) return ok;
    if (changedRows(db.handle()) == static_cast<std::int64_t>(ids.size())) return {};
    // Fewer rows than ids: an id listed twice, or one this terminal does not hold. The latter
    // means the caller mixed up batches; the caller's transaction is rolled back so the mistake
    // cannot hide a real pending row.
    auto unknown = Statement::prepare(db.handle(),
                                      "SELECT value FROM json_each(?1)"
                                      " WHERE value NOT IN (SELECT response_id FROM outbox) LIMIT 1",
                                      doing);
    if (!unknown) return std::unexpected(std::move(unknown.error()));
    unknown->bind(1, list);
    auto row = unknown->step();
    if (!row) return std::unexpected(std::move(row.error()));
    if (*row) return std::unexpected(invalid(doing + ": no outbox row for response '" + unknown->columnText(0) + "'"));
    return {};
}

/// The UPDATEs of markRejected, inside the caller's transaction.
std::expected<void, Error> updateRejected(Database& db, const std::vector<Rejection>& rejected,
                                          const std::string& doing) {
    auto st = Statement::prepare(db.handle(),
                                 "UPDATE outbox SET state = 'rejected', reason = ?2, attempts = attempts + 1,"
                                 " synced_at_ms = NULL WHERE response_id = ?1",
                                 doing);
    if (!st) return std::unexpected(std::move(st.error()));
    for (const auto& r : rejected) {
        st->reset();
        st->bind(1, r.id).bind(2, r.reason);
        if (auto ok = st->run(); !ok) return ok;
        if (changedRows(db.handle()) != 1)
            return std::unexpected(invalid(doing + ": no outbox row for response '" + r.id + "'"));
    }
    return {};
}

/// Deletes the sealed callback contacts of the synced ids: HQ holds them now.
std::expected<std::int64_t, Error> eraseContacts(Database& db, const std::vector<std::string>& ids,
                                                 const std::string& doing) {
    if (ids.empty()) return 0;
    std::string list = "[";
    for (const auto& id : ids) {
        if (list.size() > 1) list += ',';
        core::appendJsonString(list, id, core::BadUtf8::Replace);
    }
    list += ']';
    auto st = Statement::prepare(db.handle(),
                                 "DELETE FROM callback_contacts WHERE response_id IN (SELECT value FROM json_each(?1))",
                                 doing);
    if (!st) return std::unexpected(std::move(st.error()));
    st->bind(1, list);
    if (auto ok = st->run(); !ok) return std::unexpected(std::move(ok.error()));
    return changedRows(db.handle());
}

} // namespace

std::expected<void, Error> markSynced(Database& db, const std::vector<std::string>& ids,
                                      std::int64_t syncedAtUtcMs) {
    if (auto ok = applyAck(db, ids, syncedAtUtcMs, {}); !ok) return std::unexpected(std::move(ok.error()));
    return {};
}

std::expected<void, Error> markRejected(Database& db, const std::vector<Rejection>& rejected) {
    if (auto ok = applyAck(db, {}, 0, rejected); !ok) return std::unexpected(std::move(ok.error()));
    return {};
}

std::expected<std::int64_t, Error> applyAck(Database& db, const std::vector<std::string>& synced,
                                             std::int64_t syncedAtUtcMs, const std::vector<Rejection>& rejected) {
    if (synced.empty() && rejected.empty()) return 0;
    const std::string doing = "applying HQ's ack (" + std::to_string(synced.size()) + " synced, " +
                              std::to_string(rejected.size()) + " rejected)";
    // A power cut that loses this transaction only makes the terminal send these records again,
    // and HQ answers them as duplicates; so it is not synced to disk on its own (one fdatasync
    // less per batch). The next customer's commit (synchronous=FULL) or checkpoint carries it.
    if (auto ok = execSql(db.handle(), "PRAGMA synchronous = NORMAL", doing); !ok) return std::unexpected(std::move(ok.error()));
    struct Restore {
        sqlite3* db;
        ~Restore() { sqlite3_exec(db, "PRAGMA synchronous = FULL", nullptr, nullptr, nullptr); }
    } restore{db.handle()};
    auto tx = Transaction::begin(db.handle(), doing);
    if (!tx) return std::unexpected(std::move(tx.error()));
    if (auto ok = updateSynced(db, synced, syncedAtUtcMs, doing); !ok) return std::unexpected(std::move(ok.error()));
    if (auto ok = updateRejected(db, rejected, doing); !ok) return std::unexpected(std::move(ok.error()));
    auto erased = eraseContacts(db, synced, doing);
    if (!erased) return std::unexpected(std::move(erased.error()));
    if (auto ok = tx->commit(); !ok) return std::unexpected(std::move(ok.error()));
    return *erased;
}

std::expected<std::map<std::string, std::string>, Error> sealedContacts(Database& db,
                                                                       const std::vector<core::Response>& rows) {
    std::map<std::string, std::string> out;
    auto st = Statement::prepare(db.handle(), "SELECT sealed FROM callback_contacts WHERE response_id = ?1",
                                 "reading sealed callback contacts");
    if (!st) return std::unexpected(std::move(st.error()));
    for (const auto& r : rows) {
        if (!r.callbackRequested) continue;
        st->reset();
        st->bind(1, r.id);
        auto row = st->step();
        if (!row) return std::unexpected(std::move(row.error()));
        if (*row) out.emplace(r.id, st->columnText(0));
    }
    return out;
}

std::expected<OutboxCounts, Error> outboxCounts(Database& db) {
    auto tx = Transaction::beginRead(db.handle(), "counting the outbox");
    if (!tx) return std::unexpected(std::move(tx.error()));
    OutboxCounts c;
    auto pending = countState(db.handle(), "pending");
    if (!pending) return std::unexpected(std::move(pending.error()));
    auto synced = countState(db.handle(), "synced");
    if (!synced) return std::unexpected(std::move(synced.error()));
    auto rejected = countState(db.handle(), "rejected");
    if (!rejected) return std::unexpected(std::move(rejected.error()));
    c.pending = *pending;
    c.synced = *synced;
    c.rejected = *rejected;

    // The first one in send order (time-ordered ids), found through the index.
    auto st = Statement::prepare(db.handle(),
                                 "SELECT r.created_at_ms FROM outbox o JOIN responses r ON r.id = o.response_id"
                                 " WHERE o.state = 'pending' ORDER BY o.response_id LIMIT 1",
                                 "finding the oldest pending response");
    if (!st) return std::unexpected(std::move(st.error()));
    auto row = st->step();
    if (!row) return std::unexpected(std::move(row.error()));
    if (*row) c.oldestPendingUtcMs = st->columnInt(0);
    if (auto ok = tx->commit(); !ok) return std::unexpected(std::move(ok.error()));
    return c;
}

std::expected<std::vector<Rejection>, Error> rejectedList(Database& db, int limit) {
    if (limit < 0) return std::unexpected(invalid("a list limit of " + std::to_string(limit) + " is negative"));
    std::vector<Rejection> out;
    auto st = Statement::prepare(db.handle(),
                                 "SELECT response_id, COALESCE(reason, '') FROM outbox"
                                 " WHERE state = 'rejected' ORDER BY response_id LIMIT ?1",
                                 "listing rejected responses");
    if (!st) return std::unexpected(std::move(st.error()));
    st->bind(1, std::int64_t{limit});
    for (;;) {
        auto row = st->step();
        if (!row) return std::unexpected(std::move(row.error()));
        if (!*row) break;
        out.push_back({st->columnText(0), st->columnText(1)});
    }
    return out;
}

} // namespace segue::store
