#include "hq/sql_people.hpp"

#include <algorithm>
#include <array>

#include "hq/day_sums.hpp"

namespace segue::hq {
namespace {

using Kind = StorageError::Kind;

constexpr const char* kUserColumns = "id, email, role, region_id, store_id, disabled, created_at, password_hash";

User readUser(const SqlRows& s, int first = 0) {
    User u;
    u.id = s.integer(first);
    u.email = s.text(first + 1);
    u.role = s.text(first + 2);
    u.region = s.optText(first + 3);
    u.store = s.optText(first + 4);
    u.disabled = s.flag(first + 5);
    u.createdAtMs = s.integer(first + 6);
    u.passwordHash = s.text(first + 7);
    return u;
}

/// `text` with LIKE's wildcards escaped (ESCAPE '!'), lower-cased, between two %.
std::string likePattern(const std::string& text) {
    std::string out = "%";
    for (const char c : text) {
        if (c == '%' || c == '_' || c == '!') out += '!';
        out += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    return out + "%";
}

/// The stores with their names and regions: `s` the store, `i` its name and region (or NULLs).
constexpr const char* kStoresJoin = " FROM stores s LEFT JOIN store_info i ON i.store_id = s.id";

/// The WHERE conditions (each starting " AND ") over kStoresJoin that `f` keeps.
std::string filterSql(const StoreFilter& f, SqlParams& params) {
    std::string sql;
    if (f.scope.kind == Scope::Kind::Region) {
        sql += " AND i.region_id = ?";
        params.emplace_back(f.scope.id);
    } else if (f.scope.kind == Scope::Kind::Store) {
        sql += " AND s.id = ?";
        params.emplace_back(f.scope.id);
    }
    if (f.region && f.region->empty()) {
        sql += " AND i.region_id IS NULL";
    } else if (f.region) {
        sql += " AND i.region_id = ?";
        params.emplace_back(*f.region);
    }
    if (f.query && !f.query->empty()) {
        sql += " AND (LOWER(s.id) LIKE ? ESCAPE '!' OR LOWER(COALESCE(i.name, '')) LIKE ? ESCAPE '!')";
        params.emplace_back(likePattern(*f.query));
        params.emplace_back(likePattern(*f.query));
    }
    return sql;
}

} // namespace

SqlPeople::SqlPeople(SqlEngine& engine) : m_engine(engine), m_cache(engine) {}

template <typename OnRow>
Result<void> SqlPeople::rows(const std::string& what, const std::string& sql, SqlParams params, OnRow&& onRow,
                             SqlEngine::Purpose purpose) {
    auto c = m_engine.connection(purpose);
    if (!c) return std::unexpected(c.error());
    auto r = (*c)->query(sql, std::move(params));
    if (!r) return std::unexpected(storageError(what, r.error()));
    for (;;) {
        auto more = (*r)->next();
        if (!more) return std::unexpected(storageError(what, more.error()));
        if (!*more) return {};
        onRow(**r);
    }
}

Result<std::int64_t> SqlPeople::count(const std::string& what, const std::string& sql, SqlParams params) {
    std::int64_t n = 0;
    auto r = rows(what, sql, std::move(params), [&](const SqlRows&) { ++n; });
    if (!r) return std::unexpected(r.error());
    return n;
}

Result<std::int64_t> SqlPeople::addUser(const NewUser& u) {
    if (auto ok = checkScopeIds(u.role, u.region, u.store); !ok) return std::unexpected(ok.error());
    std::int64_t id = 0;
    auto r = rows("adding a user",
                  "INSERT INTO users (email, role, region_id, store_id, password_hash, created_at) "
                  "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (email) DO NOTHING RETURNING id",
                  {u.email, u.role, sqlOptional(u.region), sqlOptional(u.store), u.passwordHash, u.createdAtMs},
                  [&](const SqlRows& s) { id = s.integer(0); });
    if (!r) return std::unexpected(r.error());
    if (id == 0) return std::unexpected(StorageError{Kind::Invalid, "a user with email " + u.email + " already exists"});
    return id;
}

Result<void> SqlPeople::checkScopeIds(const std::string& role, const std::optional<std::string>& region,
                                      const std::optional<std::string>& store) {
    if (!isUserRole(role))
        return std::unexpected(StorageError{Kind::Invalid, "role must be admin, region, store or viewer"});
    if ((role == "region") != region.has_value())
        return std::unexpected(StorageError{Kind::Invalid, "a region is given for the region role, and only for it"});
    if ((role == "store") != store.has_value())
        return std::unexpected(StorageError{Kind::Invalid, "a store is given for the store role, and only for it"});
    if (region) {
        auto known = regionExists(*region);
        if (!known) return std::unexpected(known.error());
        if (!*known) return std::unexpected(StorageError{Kind::Invalid, "no region " + *region});
    }
    if (store) {
        auto known = count("looking up a store", "SELECT 1 FROM stores WHERE id = ?", {*store});
        if (!known) return std::unexpected(known.error());
        if (*known == 0) return std::unexpected(StorageError{Kind::Invalid, "no store " + *store});
    }
    return {};
}

Result<std::vector<User>> SqlPeople::listUsers() {
    std::vector<User> out;
    auto r = rows("listing users", std::string("SELECT ") + kUserColumns + " FROM users", {},
                  [&](const SqlRows& s) {
                      out.push_back(readUser(s));
                      out.back().passwordHash.clear();
                  });
    if (!r) return std::unexpected(r.error());
    std::sort(out.begin(), out.end(), [](const User& a, const User& b) { return a.email < b.email; });
    return out;
}

Result<std::optional<User>> SqlPeople::userByEmail(const std::string& email) {
    std::optional<User> out;
    auto r = rows("looking up a user", std::string("SELECT ") + kUserColumns + " FROM users WHERE email = ?", {email},
                  [&](const SqlRows& s) { out = readUser(s); });
    if (!r) return std::unexpected(r.error());
    return out;
}

Result<bool> SqlPeople::changeUser(const std::string& what, const std::string& email, const std::string& set,
                                   SqlParams params) {
    auto c = m_engine.connection();
    if (!c) return std::unexpected(c.error());
    SqlConnection& conn = **c;
    if (auto b = conn.begin(SqlConnection::Tx::Write); !b) return std::unexpected(storageError(what, b.error()));
    auto done = [&]() -> SqlResult<bool> {
        params.emplace_back(email);
        auto r = conn.query("UPDATE users SET " + set + " WHERE email = ? RETURNING id", std::move(params));
        if (!r) return std::unexpected(r.error());
        auto more = (*r)->next();
        if (!more) return std::unexpected(more.error());
        if (!*more) return false;
        const std::int64_t id = (*r)->integer(0);
        while (true) {
            auto again = (*r)->next();
            if (!again) return std::unexpected(again.error());
            if (!*again) break;
        }
        r->reset();
        if (auto d = conn.send("DELETE FROM sessions WHERE user_id = ?", {id}); !d) return std::unexpected(d.error());
        if (auto cm = conn.commit(); !cm) return std::unexpected(cm.error());
        return true;
    }();
    if (done) {
        if (!*done) conn.rollback();
        return *done;
    }
    conn.rollback();
    return std::unexpected(storageError(what, done.error()));
}

Result<bool> SqlPeople::disableUser(const std::string& email) {
    return changeUser("disabling a user", email, "disabled = TRUE", {});
}

Result<bool> SqlPeople::enableUser(const std::string& email) {
    return changeUser("enabling a user", email, "disabled = FALSE", {});
}

Result<bool> SqlPeople::setPassword(const std::string& email, const std::string& passwordHash) {
    return changeUser("setting a password", email, "password_hash = ?", {passwordHash});
}

Result<bool> SqlPeople::setRole(const std::string& email, const std::string& role,
                                const std::optional<std::string>& region, const std::optional<std::string>& store) {
    if (auto ok = checkScopeIds(role, region, store); !ok) return std::unexpected(ok.error());
    return changeUser("changing a role", email, "role = ?, region_id = ?, store_id = ?",
                      {role, sqlOptional(region), sqlOptional(store)});
}

Result<void> SqlPeople::run(const std::string& what, const std::string& sql, SqlParams params) {
    return rows(what, sql, std::move(params), [](const SqlRows&) {});
}

Result<void> SqlPeople::addSession(const std::string& tokenHash, std::int64_t userId, const std::string& csrfHash,
                                   std::int64_t nowMs) {
    return run("adding a session",
               "INSERT INTO sessions (token_hash, user_id, csrf_hash, created_at, last_seen) VALUES (?, ?, ?, ?, ?)",
               {tokenHash, userId, csrfHash, nowMs, nowMs});
}

Result<std::optional<SessionInfo>> SqlPeople::sessionByTokenHash(const std::string& tokenHash) {
    std::optional<SessionInfo> out;
    auto r = rows("looking up a session",
                  "SELECT s.csrf_hash, s.created_at, s.last_seen, u.id, u.email, u.role, u.region_id, u.store_id, "
                  "u.disabled, u.created_at, '' FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?",
                  {tokenHash}, [&](const SqlRows& s) {
                      out = SessionInfo{readUser(s, 3), s.text(0), s.integer(1), s.integer(2)};
                  },
                  SqlEngine::Purpose::Auth);
    if (!r) return std::unexpected(r.error());
    return out;
}

Result<void> SqlPeople::touchSession(const std::string& tokenHash, std::int64_t nowMs) {
    return run("touching a session", "UPDATE sessions SET last_seen = ? WHERE token_hash = ? AND last_seen < ?",
               {nowMs, tokenHash, nowMs});
}

Result<void> SqlPeople::endSession(const std::string& tokenHash) {
    return run("ending a session", "DELETE FROM sessions WHERE token_hash = ?", {tokenHash});
}

Result<void> SqlPeople::addRegion(const std::string& id, const std::string& name, std::int64_t nowMs) {
    auto n = count("adding a region",
                   "INSERT INTO regions (id, name, created_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING RETURNING id",
                   {id, name, nowMs});
    if (!n) return std::unexpected(n.error());
    if (*n == 0) return std::unexpected(StorageError{Kind::Invalid, "a region with id " + id + " already exists"});
    return {};
}

Result<bool> SqlPeople::renameRegion(const std::string& id, const std::string& name) {
    auto n = count("renaming a region", "UPDATE regions SET name = ? WHERE id = ? RETURNING id", {name, id});
    if (!n) return std::unexpected(n.error());
    return *n > 0;
}

Result<std::vector<Region>> SqlPeople::listRegions() {
    std::vector<Region> out;
    auto r = rows("listing regions",
                  "SELECT r.id, r.name, (SELECT COUNT(*) FROM store_info i WHERE i.region_id = r.id) FROM regions r", {},
                  [&](const SqlRows& s) { out.push_back({s.text(0), s.text(1), s.integer(2)}); });
    if (!r) return std::unexpected(r.error());
    std::sort(out.begin(), out.end(), [](const Region& a, const Region& b) { return a.id < b.id; });
    return out;
}

Result<bool> SqlPeople::regionExists(const std::string& id) {
    auto n = count("looking up a region", "SELECT 1 FROM regions WHERE id = ?", {id});
    if (!n) return std::unexpected(n.error());
    return *n > 0;
}

Result<void> SqlPeople::setStore(const std::string& id, const std::optional<std::string>& name,
                                 const std::optional<std::string>& region, std::int64_t nowMs) {
    if (region && !region->empty()) {
        auto known = regionExists(*region);
        if (!known) return std::unexpected(known.error());
        if (!*known) return std::unexpected(StorageError{Kind::Invalid, "no region " + *region});
    }
    // NULL keeps a column; "" as the region clears it.
    const std::optional<std::string> regionValue = region && region->empty() ? std::nullopt : region;
    if (auto r = run("setting a store", "INSERT INTO stores (id, created_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING",
                     {id, nowMs});
        !r)
        return r;
    return run("setting a store",
               "INSERT INTO store_info (store_id, name, region_id) VALUES (?, ?, ?) ON CONFLICT (store_id) DO UPDATE SET "
               "name = COALESCE(CAST(? AS TEXT), store_info.name), "
               "region_id = CASE WHEN CAST(? AS TEXT) IS NULL THEN store_info.region_id ELSE excluded.region_id END",
               {id, sqlOptional(name), sqlOptional(regionValue), sqlOptional(name), sqlOptional(region)});
}

Result<std::vector<StoreInfo>> SqlPeople::storesIn(const StoreFilter& f) {
    SqlParams params;
    const std::string where = filterSql(f, params);
    std::vector<StoreInfo> out;
    auto r = rows("listing stores", std::string("SELECT s.id, i.name, i.region_id") + kStoresJoin + " WHERE 1 = 1" + where,
                  std::move(params),
                  [&](const SqlRows& s) { out.push_back({s.text(0), s.optText(1), s.optText(2)}); });
    if (!r) return std::unexpected(r.error());
    std::sort(out.begin(), out.end(), [](const StoreInfo& a, const StoreInfo& b) { return a.id < b.id; });
    return out;
}

Result<bool> SqlPeople::storeInScope(const std::string& store, const Scope& scope) {
    SqlParams params{store};
    const std::string where = filterSql({scope, std::nullopt, std::nullopt}, params);
    auto n = count("looking up a store", std::string("SELECT 1") + kStoresJoin + " WHERE s.id = ?" + where, std::move(params));
    if (!n) return std::unexpected(n.error());
    return *n > 0;
}

Result<std::map<std::string, core::Tally>> SqlPeople::periodTallies(const StoreFilter& f, const std::string& from,
                                                                   const std::string& to) {
    std::string sums;
    for (const auto& column : dayValueColumns()) sums += ", CAST(SUM(t." + column + ") AS BIGINT)";
    SqlParams params{from, to};
    const std::string where = filterSql(f, params);
    const bool join = where.size() > 0;
    std::map<std::string, core::Tally> out;
    std::array<std::int64_t, kDayValueCount> values{};
    auto r = rows("summing the period",
                  "SELECT t.store_id" + sums + " FROM day_tallies t" +
                      (join ? " JOIN stores s ON s.id = t.store_id LEFT JOIN store_info i ON i.store_id = s.id" : "") +
                      " WHERE t.local_date >= ? AND t.local_date <= ?" + where + " GROUP BY t.store_id",
                  std::move(params), [&](const SqlRows& s) {
                      for (int i = 0; i < kDayValueCount; ++i) values[static_cast<std::size_t>(i)] = s.integer(1 + i);
                      out.emplace(s.text(0), tallyFromDayValues(values));
                  });
    if (!r) return std::unexpected(r.error());
    return out;
}

Result<std::vector<std::vector<core::Tally>>> SqlPeople::chainPeriodTallies(
    const std::vector<std::string>& stores, const std::vector<std::pair<std::string, std::string>>& ranges) {
    auto cached = m_cache.sums(stores, ranges);
    if (!cached) return std::unexpected(cached.error());
    if (*cached) return std::move(**cached);
    std::vector<std::vector<core::Tally>> out;
    for (const auto& [from, to] : ranges) {
        auto sums = periodTallies({Scope::chain(), std::nullopt, std::nullopt}, from, to);
        if (!sums) return std::unexpected(sums.error());
        std::vector<core::Tally> tallies(stores.size());
        for (std::size_t s = 0; s < stores.size(); ++s)
            if (const auto it = sums->find(stores[s]); it != sums->end()) tallies[s] = it->second;
        out.push_back(std::move(tallies));
    }
    return out;
}

Result<std::optional<ChainDetail>> SqlPeople::chainDetail(
    const std::vector<std::string>& stores, const std::vector<std::pair<std::string, std::string>>& ranges,
    std::size_t tagged) {
    return m_cache.detail(stores, ranges, tagged);
}

Result<std::int64_t> SqlPeople::addScopedToken(const std::string& tokenHash, const std::string& role, const Scope& scope,
                                       std::int64_t createdAtMs) {
    if (role != "read") return std::unexpected(StorageError{Kind::Invalid, "token refused (role must be read)"});
    std::optional<std::string> region, store;
    if (scope.kind == Scope::Kind::Region) region = scope.id;
    if (scope.kind == Scope::Kind::Store) store = scope.id;
    if (region) {
        auto known = regionExists(*region);
        if (!known) return std::unexpected(known.error());
        if (!*known) return std::unexpected(StorageError{Kind::Invalid, "no region " + *region});
    }
    if (store) {
        auto known = storeInScope(*store, Scope::chain());
        if (!known) return std::unexpected(known.error());
        if (!*known) return std::unexpected(StorageError{Kind::Invalid, "no store " + *store});
    }
    // The token and its scope in one transaction: a token never exists without the scope it was given.
    auto c = m_engine.connection();
    if (!c) return std::unexpected(c.error());
    SqlConnection& conn = **c;
    if (auto b = conn.begin(SqlConnection::Tx::Write); !b) return std::unexpected(storageError("adding a token", b.error()));
    std::int64_t id = 0;
    auto done = [&]() -> SqlResult<void> {
        {
            auto r = conn.query("INSERT INTO tokens (token_hash, role, created_at) VALUES (?, ?, ?) RETURNING id",
                                {tokenHash, role, createdAtMs});
            if (!r) return std::unexpected(r.error());
            for (;;) {
                auto more = (*r)->next();
                if (!more) return std::unexpected(more.error());
                if (!*more) break;
                id = (*r)->integer(0);
            }
        }
        if (region || store)
            if (auto r = conn.send("INSERT INTO token_scopes (token_hash, region_id, store_id) VALUES (?, ?, ?)",
                                   {tokenHash, sqlOptional(region), sqlOptional(store)});
                !r)
                return r;
        return conn.commit();
    }();
    if (done) return id;
    conn.rollback();
    return std::unexpected(storageError("adding a token", done.error()));
}

Result<std::optional<ReadTokenInfo>> SqlPeople::readToken(const std::string& tokenHash) {
    std::optional<ReadTokenInfo> out;
    auto r = rows("looking up a token",
                  "SELECT t.role, x.region_id, x.store_id FROM tokens t LEFT JOIN token_scopes x ON x.token_hash = t.token_hash "
                  "WHERE t.token_hash = ? AND NOT t.revoked",
                  {tokenHash},
                  [&](const SqlRows& s) {
                      Scope scope;
                      if (!s.isNull(2)) scope = Scope::store(s.text(2));
                      else if (!s.isNull(1)) scope = Scope::region(s.text(1));
                      out = ReadTokenInfo{s.text(0), scope};
                  },
                  SqlEngine::Purpose::Auth);
    if (!r) return std::unexpected(r.error());
    return out;
}

Result<std::map<std::int64_t, Scope>> SqlPeople::tokenScopes() {
    std::map<std::int64_t, Scope> out;
    auto r = rows("listing token scopes",
                  "SELECT t.id, x.region_id, x.store_id FROM tokens t JOIN token_scopes x ON x.token_hash = t.token_hash", {},
                  [&](const SqlRows& s) {
                      if (!s.isNull(2)) out[s.integer(0)] = Scope::store(s.text(2));
                      else if (!s.isNull(1)) out[s.integer(0)] = Scope::region(s.text(1));
                  });
    if (!r) return std::unexpected(r.error());
    return out;
}

Result<void> SqlPeople::audit(const AuditEntry& e) {
    return run("writing the audit log",
               "INSERT INTO audit (at, actor, action, subject, address, details) VALUES (?, ?, ?, ?, ?, ?)",
               {e.atMs, e.actor, e.action, e.subject, e.address, e.details.empty() ? std::string("{}") : e.details});
}

Result<std::vector<AuditEntry>> SqlPeople::auditLog(std::int64_t fromMs, std::int64_t toMs, int limit) {
    std::vector<AuditEntry> out;
    auto r = rows("reading the audit log",
                  "SELECT id, at, actor, action, subject, address, details FROM audit WHERE at >= ? AND at <= ? "
                  "ORDER BY at DESC, id DESC LIMIT ?",
                  {fromMs, toMs, std::int64_t{limit}}, [&](const SqlRows& s) {
                      out.push_back({s.integer(0), s.integer(1), s.text(2), s.text(3), s.text(4), s.text(5), s.text(6)});
                  });
    if (!r) return std::unexpected(r.error());
    return out;
}

Result<std::int64_t> SqlPeople::countRecent(const std::string& action, const std::string& key, bool byAddress,
                                            std::int64_t sinceMs) {
    std::int64_t n = 0;
    auto r = rows("counting recent events",
                  std::string("SELECT COUNT(*) FROM audit WHERE action = ? AND ") + (byAddress ? "address" : "subject") +
                      " = ? AND at >= ?",
                  {action, key, sinceMs}, [&](const SqlRows& s) { n = s.integer(0); });
    if (!r) return std::unexpected(r.error());
    return n;
}

bool isUserRole(const std::string& role) {
    return role == "admin" || role == "region" || role == "store" || role == "viewer";
}

Scope scopeOf(const std::string& role, const std::optional<std::string>& region,
              const std::optional<std::string>& store) {
    // A scoped role without its id reads nothing: "" names no region or store.
    if (role == "region") return Scope::region(region.value_or(""));
    if (role == "store") return Scope::store(store.value_or(""));
    return Scope::chain();
}

} // namespace segue::hq
