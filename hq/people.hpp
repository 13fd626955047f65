// The people of a chain in HQ's storage: accounts with a role and a scope, their sessions,
// regions and the stores' names and regions, scoped read tokens, and the audit log. One SQL
// implementation (hq/sql_people.cpp) serves it on both engines.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/scoring.hpp"
#include "hq/storage.hpp"

namespace segue::hq {

/// What a principal may read: the whole chain, one region's stores, or one store.
struct Scope {
    enum class Kind { Chain, Region, Store };
    Kind kind = Kind::Chain;
    std::string id;   ///< the region or store id; empty for Chain

    static Scope chain() { return {}; }
    static Scope region(std::string id) { return {Kind::Region, std::move(id)}; }
    static Scope store(std::string id) { return {Kind::Store, std::move(id)}; }
    bool operator==(const Scope&) const = default;
};

/// Per range: each store's Tally (as PeopleStorage::chainPeriodTallies, tags only where asked
/// for), and each date with rows as one Tally over all the stores asked about, tags included.
struct ChainDetail {
    std::vector<std::vector<core::Tally>> stores;
    std::vector<DayTallies> days;
};

/// "admin" | "region" | "store" | "viewer".
bool isUserRole(const std::string& role);

/// A user to create; only the Argon2id hash of the password is kept.
struct NewUser {
    std::string email;                  ///< stored lower-case
    std::string role;
    std::optional<std::string> region;  ///< role "region" only
    std::optional<std::string> store;   ///< role "store" only
    std::string passwordHash;           ///< crypto_pwhash_str
    std::int64_t createdAtMs = 0;
};

struct User {
    std::int64_t id = 0;
    std::string email;
    std::string role;
    std::optional<std::string> region;
    std::optional<std::string> store;
    bool disabled = false;
    std::int64_t createdAtMs = 0;
    std::string passwordHash;
};

/// The scope a role with these ids reads.
Scope scopeOf(const std::string& role, const std::optional<std::string>& region,
              const std::optional<std::string>& store);

/// A live session and its user, as a request finds it.
struct SessionInfo {
    User user;
    std::string csrfHash;
    std::int64_t createdAtMs = 0;
    std::int64_t lastSeenMs = 0;
};

struct Region {
    std::string id;
    std::string name;
    std::int64_t stores = 0;   ///< stores in it
};

struct StoreInfo {
    std::string id;
    std::optional<std::string> name;
    std::optional<std::string> region;
};

/// A live read token and its scope.
struct ReadTokenInfo {
    std::string role;
    Scope scope;
};

/// One line of the audit log.
struct AuditEntry {
    std::int64_t id = 0;
    std::int64_t atMs = 0;
    std::string actor;     ///< an email, "cli", or "token"
    std::string action;    ///< e.g. "login", "login_failed", "user_add", "region_add", "store_set"
    std::string subject;   ///< what it was done to (an email, a region or store id)
    std::string address;   ///< the client's address; empty from the CLI
    std::string details;   ///< JSON object text
};

/// Store ids to keep: `scope`, narrowed to `region` when set ("" means stores without one), and
/// to ids or names containing `query` (case-insensitive) when set.
struct StoreFilter {
    Scope scope;
    std::optional<std::string> region;
    std::optional<std::string> query;
};

/// Every method is safe to call from many threads at once and never throws.
class PeopleStorage {
public:
    virtual ~PeopleStorage() = default;

    /// An email in use, or a region or store that does not exist, is an Invalid error.
    virtual Result<std::int64_t> addUser(const NewUser& user) = 0;
    /// Every user, by email (password hashes left empty).
    virtual Result<std::vector<User>> listUsers() = 0;
    virtual Result<std::optional<User>> userByEmail(const std::string& email) = 0;
    /// Disables the user and ends their sessions; false when no such user.
    virtual Result<bool> disableUser(const std::string& email) = 0;
    /// Lets a disabled user sign in again (with the password they had); false when no such user.
    /// Their old sessions stay ended: disabling ended them.
    virtual Result<bool> enableUser(const std::string& email) = 0;
    /// Replaces the password hash, re-enables nothing, and ends the user's sessions.
    virtual Result<bool> setPassword(const std::string& email, const std::string& passwordHash) = 0;
    /// Changes a user's role and scope (the same rules as addUser).
    virtual Result<bool> setRole(const std::string& email, const std::string& role,
                                 const std::optional<std::string>& region, const std::optional<std::string>& store) = 0;

    virtual Result<void> addSession(const std::string& tokenHash, std::int64_t userId, const std::string& csrfHash,
                                    std::int64_t nowMs) = 0;
    /// The session and its user whatever their state (the caller decides on expiry and disabling).
    virtual Result<std::optional<SessionInfo>> sessionByTokenHash(const std::string& tokenHash) = 0;
    virtual Result<void> touchSession(const std::string& tokenHash, std::int64_t nowMs) = 0;
    virtual Result<void> endSession(const std::string& tokenHash) = 0;

    /// An id in use is an Invalid error.
    virtual Result<void> addRegion(const std::string& id, const std::string& name, std::int64_t nowMs) = 0;
    virtual Result<bool> renameRegion(const std::string& id, const std::string& name) = 0;
    /// Every region with its store count, by id.
    virtual Result<std::vector<Region>> listRegions() = 0;
    virtual Result<bool> regionExists(const std::string& id) = 0;

    /// Names a store and/or moves it (`region` = "" takes it out of any region). The store is
    /// created if new; an unknown region is an Invalid error.
    virtual Result<void> setStore(const std::string& id, const std::optional<std::string>& name,
                                  const std::optional<std::string>& region, std::int64_t nowMs) = 0;
    /// The stores `filter` keeps, by id.
    virtual Result<std::vector<StoreInfo>> storesIn(const StoreFilter& filter) = 0;
    /// Whether `store` exists and lies in `scope`.
    virtual Result<bool> storeInScope(const std::string& store, const Scope& scope) = 0;
    /// Each kept store's Tally (without tags) summed over [from, to]; stores without responses
    /// are absent. One GROUP BY over the day sums.
    virtual Result<std::map<std::string, core::Tally>> periodTallies(const StoreFilter& filter,
                                                                     const std::string& from,
                                                                     const std::string& to) = 0;
    /// For each range [from, to] (ISO dates, from <= to) the Tally (without tags) of each of
    /// `stores`, in that order (empty for a store without responses there): the figures of
    /// periodTallies, read in one snapshot through an in-memory copy of recent dates' sums that
    /// re-reads only the dates whose sums changed (hq/period_cache.hpp). Ranges spanning more
    /// dates than the copy keeps are summed in SQL.
    virtual Result<std::vector<std::vector<core::Tally>>> chainPeriodTallies(
        const std::vector<std::string>& stores, const std::vector<std::pair<std::string, std::string>>& ranges) = 0;
    /// What GET /api/v1/overview needs, through the same in-memory copy and from one snapshot:
    /// chainPeriodTallies' figures, with tags for the first `tagged` stores, and per range each
    /// date's sum over all of `stores`. nullopt when the ranges span more dates than the copy
    /// keeps: the caller sums the day rows then.
    virtual Result<std::optional<ChainDetail>> chainDetail(const std::vector<std::string>& stores,
                                                           const std::vector<std::pair<std::string, std::string>>& ranges,
                                                           std::size_t tagged) = 0;

    /// A read token limited to `scope` (Chain: the whole chain, as `Storage::addToken`).
    /// Returns the token's id (as Storage::addToken does).
    virtual Result<std::int64_t> addScopedToken(const std::string& tokenHash, const std::string& role, const Scope& scope,
                                        std::int64_t createdAtMs) = 0;
    /// The scope of each scoped token, by token id (tokens of the whole chain are absent).
    virtual Result<std::map<std::int64_t, Scope>> tokenScopes() = 0;
    /// The role and scope of a live (not revoked) token, or nullopt.
    virtual Result<std::optional<ReadTokenInfo>> readToken(const std::string& tokenHash) = 0;

    virtual Result<void> audit(const AuditEntry& entry) = 0;
    /// Entries in [fromMs, toMs], newest first, at most `limit`.
    virtual Result<std::vector<AuditEntry>> auditLog(std::int64_t fromMs, std::int64_t toMs, int limit) = 0;
    /// How many entries of `action` with subject `key` (byAddress: with address `key`) were
    /// recorded at or after `sinceMs` (login throttling counts its failures here).
    virtual Result<std::int64_t> countRecent(const std::string& action, const std::string& key, bool byAddress,
                                             std::int64_t sinceMs) = 0;
};

} // namespace segue::hq
