// PeopleStorage written once as SQL over an SqlEngine (SQLite or PostgreSQL); its tables are
// migration 5 of each engine.
#pragma once
#include "hq/people.hpp"
#include "hq/period_cache.hpp"
#include "hq/sql_connection.hpp"

namespace segue::hq {

class SqlPeople final : public PeopleStorage {
public:
    explicit SqlPeople(SqlEngine& engine);

    Result<std::int64_t> addUser(const NewUser& user) override;
    Result<std::vector<User>> listUsers() override;
    Result<std::optional<User>> userByEmail(const std::string& email) override;
    Result<bool> disableUser(const std::string& email) override;
    Result<bool> enableUser(const std::string& email) override;
    Result<bool> setPassword(const std::string& email, const std::string& passwordHash) override;
    Result<bool> setRole(const std::string& email, const std::string& role, const std::optional<std::string>& region,
                         const std::optional<std::string>& store) override;
    Result<void> addSession(const std::string& tokenHash, std::int64_t userId, const std::string& csrfHash,
                            std::int64_t nowMs) override;
    Result<std::optional<SessionInfo>> sessionByTokenHash(const std::string& tokenHash) override;
    Result<void> touchSession(const std::string& tokenHash, std::int64_t nowMs) override;
    Result<void> endSession(const std::string& tokenHash) override;
    Result<void> addRegion(const std::string& id, const std::string& name, std::int64_t nowMs) override;
    Result<bool> renameRegion(const std::string& id, const std::string& name) override;
    Result<std::vector<Region>> listRegions() override;
    Result<bool> regionExists(const std::string& id) override;
    Result<void> setStore(const std::string& id, const std::optional<std::string>& name,
                          const std::optional<std::string>& region, std::int64_t nowMs) override;
    Result<std::vector<StoreInfo>> storesIn(const StoreFilter& filter) override;
    Result<bool> storeInScope(const std::string& store, const Scope& scope) override;
    Result<std::map<std::string, core::Tally>> periodTallies(const StoreFilter& filter, const std::string& from,
                                                             const std::string& to) override;
    Result<std::vector<std::vector<core::Tally>>> chainPeriodTallies(
        const std::vector<std::string>& stores, const std::vector<std::pair<std::string, std::string>>& ranges) override;
    Result<std::optional<ChainDetail>> chainDetail(const std::vector<std::string>& stores,
                                                   const std::vector<std::pair<std::string, std::string>>& ranges,
                                                   std::size_t tagged) override;
    /// The in-memory day sums chainPeriodTallies reads through (tests look at what it read).
    const PeriodCache& periodCache() const { return m_cache; }
    Result<std::int64_t> addScopedToken(const std::string& tokenHash, const std::string& role, const Scope& scope,
                                std::int64_t createdAtMs) override;
    Result<std::optional<ReadTokenInfo>> readToken(const std::string& tokenHash) override;
    Result<std::map<std::int64_t, Scope>> tokenScopes() override;
    Result<void> audit(const AuditEntry& entry) override;
    Result<std::vector<AuditEntry>> auditLog(std::int64_t fromMs, std::int64_t toMs, int limit) override;
    Result<std::int64_t> countRecent(const std::string& action, const std::string& key, bool byAddress,
                                     std::int64_t sinceMs) override;

private:
    /// Runs `sql` on a lent connection and calls `onRow` for each row it returns.
    template <typename OnRow>
    Result<void> rows(const std::string& what, const std::string& sql, SqlParams params, OnRow&& onRow,
                      SqlEngine::Purpose purpose = SqlEngine::Purpose::General);
    /// Runs `sql`, reading and dropping whatever it returns.
    Result<void> run(const std::string& what, const std::string& sql, SqlParams params);
    /// How many rows `sql` returns.
    Result<std::int64_t> count(const std::string& what, const std::string& sql, SqlParams params);
    /// The role/region/store rules of a user: Invalid errors with a sentence.
    Result<void> checkScopeIds(const std::string& role, const std::optional<std::string>& region,
                               const std::optional<std::string>& store);
    /// UPDATE users SET `set` for `email` and end its sessions, in one transaction.
    Result<bool> changeUser(const std::string& what, const std::string& email, const std::string& set,
                            SqlParams params);

    SqlEngine& m_engine;
    PeriodCache m_cache;
};

} // namespace segue::hq
