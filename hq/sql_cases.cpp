#include "hq/sql_cases.hpp"

#include "hq/sql_response.hpp"

#include "core/response_fields.hpp"

namespace segue::hq {
namespace {

constexpr const char* kCaseColumns =
    "c.id, c.response_id, c.store_id, c.device_id, c.created_at, c.local_date, c.due_at, c.status, "
    "c.first_moved_at, c.closed_at, c.root_cause, c.contact_sealed IS NOT NULL, c.contact_erased_at";

/// SELECT of a case and its response: the response's columns first (readResponse reads from 0).
const std::string& caseSelect() {
    static const std::string sql = "SELECT " + core::sqlColumnList(core::SqlTable::Hq, "r.") + ", r.received_at, " +
                                   kCaseColumns + " FROM cases c JOIN responses r ON r.id = c.response_id";
    return sql;
}

std::optional<Case> readCase(const SqlRows& s) {
    auto response = readResponse(s);
    if (!response) return std::nullopt;
    int i = static_cast<int>(core::sqlColumns(core::SqlTable::Hq).size()) + 1;
    Case c;
    c.id = s.integer(i++);
    c.responseId = s.text(i++);
    c.storeId = s.text(i++);
    c.deviceId = s.text(i++);
    c.createdAtMs = s.integer(i++);
    c.localDate = s.text(i++);
    c.dueAtMs = s.integer(i++);
    c.status = s.text(i++);
    c.firstMovedAtMs = s.optInteger(i++);
    c.closedAtMs = s.optInteger(i++);
    c.rootCause = s.optText(i++);
    c.hasContact = s.flag(i++);
    c.contactErasedAtMs = s.optInteger(i++);
    c.language = response->response.language;
    c.stars = response->response.stars;
    c.segue = response->response.segue;
    c.tags = std::move(response->response.tags);
    return c;
}

/// The WHERE conditions (each starting " AND ") over cases `c` that the filter's scope, store
/// and region keep.
std::string placeSql(const CaseFilter& f, SqlParams& params) {
    std::string sql;
    const char* inRegion = " AND c.store_id IN (SELECT store_id FROM store_info WHERE region_id = ?)";
    if (f.scope.kind == Scope::Kind::Region) {
        sql += inRegion;
        params.emplace_back(f.scope.id);
    } else if (f.scope.kind == Scope::Kind::Store) {
        sql += " AND c.store_id = ?";
        params.emplace_back(f.scope.id);
    }
    if (f.store) {
        sql += " AND c.store_id = ?";
        params.emplace_back(*f.store);
    }
    if (f.region) {
        sql += inRegion;
        params.emplace_back(*f.region);
    }
    return sql;
}

} // namespace

bool isCaseStatus(const std::string& s) {
    return s == "open" || s == "contacted" || s == "resolved" || s == "unreachable";
}

bool caseClosed(const std::string& status) { return status == "resolved" || status == "unreachable"; }

bool caseMoveAllowed(const std::string& from, const std::string& to) {
    if (from == "open") return to == "contacted" || to == "unreachable";
    if (from == "contacted") return to == "resolved" || to == "unreachable";
    return false;
}

SqlCases::SqlCases(SqlEngine& engine) : m_engine(engine) {}

template <typename OnRow>
Result<void> SqlCases::rows(const std::string& what, const std::string& sql, SqlParams params, OnRow&& onRow) {
    auto c = m_engine.connection();
    if (!c) return std::unexpected(c.error());
    auto r = (*c)->query(sql, std::move(params));
    if (!r) return std::unexpected(storageError(what, r.error()));
    for (;;) {
        auto more = (*r)->next();
        if (!more) return std::unexpected(storageError(what, more.error()));
        if (!*more) return {};
        if (!onRow(**r)) return std::unexpected(StorageError{StorageError::Kind::Io, what + ": unreadable row"});
    }
}

Result<std::vector<Case>> SqlCases::listCases(const CaseFilter& f) {
    SqlParams params;
    std::string sql = caseSelect() + " WHERE 1 = 1" + placeSql(f, params);
    switch (f.status) {
    case CaseFilter::Status::Open: sql += " AND c.status IN ('open', 'contacted')"; break;
    case CaseFilter::Status::Overdue:
        sql += " AND c.status = 'open' AND c.due_at < ?";
        params.emplace_back(f.nowMs);
        break;
    case CaseFilter::Status::Closed: sql += " AND c.status IN ('resolved', 'unreachable')"; break;
    case CaseFilter::Status::All: break;
    }
    if (f.from) {
        sql += " AND c.local_date >= ?";
        params.emplace_back(*f.from);
    }
    if (f.to) {
        sql += " AND c.local_date <= ?";
        params.emplace_back(*f.to);
    }
    sql += " ORDER BY c.created_at DESC, c.id DESC LIMIT ?";
    params.emplace_back(std::int64_t{f.limit});
    std::vector<Case> out;
    auto r = rows("listing cases", sql, std::move(params), [&](const SqlRows& s) {
        auto c = readCase(s);
        if (c) out.push_back(std::move(*c));
        return c.has_value();
    });
    if (!r) return std::unexpected(r.error());
    return out;
}

Result<std::optional<Case>> SqlCases::caseById(std::int64_t id) {
    std::optional<Case> out;
    auto r = rows("reading a case", caseSelect() + " WHERE c.id = ?", {id}, [&](const SqlRows& s) {
        out = readCase(s);
        return out.has_value();
    });
    if (!r) return std::unexpected(r.error());
    return out;
}

Result<std::vector<CaseEvent>> SqlCases::caseEvents(std::int64_t id) {
    std::vector<CaseEvent> out;
    auto r = rows("reading a case's history",
                  "SELECT at, actor, from_status, to_status, note, root_cause FROM case_events WHERE case_id = ? "
                  "ORDER BY at, id",
                  {id}, [&](const SqlRows& s) {
                      out.push_back({s.integer(0), s.text(1), s.text(2), s.text(3), s.text(4), s.optText(5)});
                      return true;
                  });
    if (!r) return std::unexpected(r.error());
    return out;
}

Result<std::optional<std::string>> SqlCases::sealedContact(std::int64_t id) {
    std::optional<std::string> out;
    auto r = rows("reading a sealed contact", "SELECT contact_sealed FROM cases WHERE id = ?", {id},
                  [&](const SqlRows& s) {
                      out = s.optText(0);
                      return true;
                  });
    if (!r) return std::unexpected(r.error());
    return out;
}

Result<bool> SqlCases::moveCase(std::int64_t id, const CaseEvent& e) {
    auto c = m_engine.connection();
    if (!c) return std::unexpected(c.error());
    SqlConnection& conn = **c;
    if (auto r = conn.begin(SqlConnection::Tx::Write); !r) return std::unexpected(storageError("moving a case", r.error()));
    auto done = [&]() -> SqlResult<bool> {
        const bool closes = caseClosed(e.toStatus);
        auto moved = conn.query("UPDATE cases SET status = ?, first_moved_at = COALESCE(first_moved_at, ?), "
                                "closed_at = CASE WHEN ? THEN CAST(? AS BIGINT) ELSE closed_at END, "
                                "root_cause = COALESCE(CAST(? AS TEXT), root_cause) "
                                "WHERE id = ? AND status = ? RETURNING id",
                                {e.toStatus, e.atMs, closes, e.atMs, sqlOptional(e.rootCause), id, e.fromStatus});
        if (!moved) return std::unexpected(moved.error());
        auto any = (*moved)->next();
        if (!any) return std::unexpected(any.error());
        if (!*any) return false;
        for (;;) {
            auto more = (*moved)->next();
            if (!more) return std::unexpected(more.error());
            if (!*more) break;
        }
        moved->reset();
        if (auto r = conn.send("INSERT INTO case_events (case_id, at, actor, from_status, to_status, note, root_cause) "
                               "VALUES (?, ?, ?, ?, ?, ?, ?)",
                               {id, e.atMs, e.actor, e.fromStatus, e.toStatus, e.note, sqlOptional(e.rootCause)});
            !r)
            return std::unexpected(r.error());
        return true;
    }();
    if (!done || !*done) {
        conn.rollback();
        if (!done) return std::unexpected(storageError("moving a case", done.error()));
        return false;
    }
    if (auto r = conn.commit(); !r) return std::unexpected(storageError("moving a case", r.error()));
    return true;
}

Result<std::int64_t> SqlCases::openCases(const std::string& storeId) {
    std::int64_t n = 0;
    auto r = rows("counting open cases", "SELECT COUNT(*) FROM cases WHERE store_id = ? AND status = 'open'", {storeId},
                  [&](const SqlRows& s) {
                      n = s.integer(0);
                      return true;
                  });
    if (!r) return std::unexpected(r.error());
    return n;
}

Result<std::int64_t> SqlCases::eraseContacts(std::int64_t closedBeforeMs, std::int64_t nowMs) {
    std::int64_t n = 0;
    auto r = rows("erasing sealed contacts",
                  "UPDATE cases SET contact_sealed = NULL, contact_erased_at = ? WHERE contact_sealed IS NOT NULL "
                  "AND closed_at IS NOT NULL AND closed_at <= ? RETURNING id",
                  {nowMs, closedBeforeMs}, [&](const SqlRows&) {
                      ++n;
                      return true;
                  });
    if (!r) return std::unexpected(r.error());
    return n;
}

Result<std::map<std::string, std::int64_t>> SqlCases::rootCauses(const CaseFilter& f, std::int64_t fromMs,
                                                                 std::int64_t toMs) {
    SqlParams params{fromMs, toMs};
    const std::string sql = "SELECT c.root_cause, COUNT(*) FROM cases c WHERE c.status = 'resolved' AND "
                            "c.root_cause IS NOT NULL AND c.closed_at >= ? AND c.closed_at <= ?" +
                            placeSql(f, params) + " GROUP BY c.root_cause";
    std::map<std::string, std::int64_t> out;
    auto r = rows("counting root causes", sql, std::move(params), [&](const SqlRows& s) {
        out[s.text(0)] = s.integer(1);
        return true;
    });
    if (!r) return std::unexpected(r.error());
    return out;
}

SqlResult<void> insertCases(SqlConnection& c, const std::vector<const core::Response*>& accepted,
                            const std::map<std::string, std::string>& contacts, std::int64_t slaMs) {
    for (const core::Response* r : accepted) {
        if (!r->callbackRequested) continue;
        const auto contact = contacts.find(r->id);
        if (contact == contacts.end()) continue;   // ingest refuses such a record before storage
        if (auto s = c.send("INSERT INTO cases (response_id, store_id, device_id, created_at, local_date, due_at, "
                            "contact_sealed) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (response_id) DO NOTHING",
                            {r->id, r->storeId, r->deviceId, r->createdAtMs, r->localDate, r->createdAtMs + slaMs,
                             contact->second},
                            Reuse::Often);
            !s)
            return s;
    }
    return {};
}

} // namespace segue::hq
