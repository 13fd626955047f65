#include "hq/storage.hpp"

#include <unordered_map>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "hq/people.hpp"
#include "hq/pg_storage.hpp"
#include "hq/sqlite_storage.hpp"

namespace segue::hq {

Result<std::unique_ptr<Storage>> openStorage(std::string_view url) {
    if (url.starts_with("sqlite:")) {
        const std::string_view path = url.substr(7);
        if (path.empty()) return std::unexpected(StorageError{StorageError::Kind::Config, "sqlite: URL without a path"});
        return openSqliteStorage(std::string(path));
    }
    if (url.starts_with("postgresql://") || url.starts_with("postgres://")) return openPgStorage(std::string(url));
    return std::unexpected(StorageError{StorageError::Kind::Config,
                                        "unknown database URL (expected sqlite:PATH or postgresql://...): " +
                                            std::string(url.substr(0, 100))});
}

const char* alertStateName(AlertState s) {
    switch (s) {
    case AlertState::Pending: return "pending";
    case AlertState::Delivered: return "delivered";
    case AlertState::Failed: return "failed";
    }
    return "pending";
}

const char* scopeKindName(ScopeKind k) {
    switch (k) {
    case ScopeKind::Chain: return "chain";
    case ScopeKind::Region: return "region";
    case ScopeKind::Store: return "store";
    }
    return "chain";
}

std::string canonicalJson(const core::Response& r) {
    // nlohmann's object keeps keys sorted, so equal records always dump to equal text.
    return core::toJson(r).dump();
}

Result<std::vector<Outcome>> classifyAfterInsert(const std::vector<core::Response>& records,
                                                 const std::vector<std::string>& insertedIds,
                                                 const std::vector<core::Response>& stored) {
    const std::unordered_set<std::string> inserted(insertedIds.begin(), insertedIds.end());
    std::unordered_map<std::string, const core::Response*> byId;
    for (const auto& s : stored) byId.emplace(s.id, &s);
    std::vector<Outcome> out;
    out.reserve(records.size());
    for (const auto& r : records) {
        if (inserted.contains(r.id)) {
            out.push_back(Outcome::Accepted);
            continue;
        }
        const auto it = byId.find(r.id);
        // ON CONFLICT skipped the row, so a row with this id exists in this transaction's view.
        if (it == byId.end())
            return std::unexpected(StorageError{StorageError::Kind::Io,
                                                "response " + r.id + " was neither inserted nor found"});
        out.push_back(*it->second == r ? Outcome::Duplicate : Outcome::Conflict);
    }
    return out;
}

Result<std::optional<std::string>> Storage::storeRegion(const std::string& storeId) {
    StoreFilter filter;
    filter.scope = Scope::store(storeId);
    auto stores = people().storesIn(filter);
    if (!stores) return std::unexpected(stores.error());
    for (const auto& s : *stores)
        if (s.id == storeId) return s.region;
    return std::optional<std::string>();
}

} // namespace segue::hq
