// The outbox: which responses still have to reach HQ. A response is "synced" only when HQ listed
// it as accepted or duplicate; rejected ones stay, with the reason, and are never resent.
#pragma once
#include <cstdint>
#include <expected>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/response.hpp"
#include "store/database.hpp"

namespace segue::store {

struct OutboxCounts {
    std::int64_t pending = 0;
    std::int64_t synced = 0;
    std::int64_t rejected = 0;
    std::optional<std::int64_t> oldestPendingUtcMs;   ///< createdAt of the oldest pending
};

/// Up to `limit` pending responses, oldest first (by id, which is time-ordered); with `afterId`,
/// only those after it (the next batch while the one ending there is still in flight).
std::expected<std::vector<core::Response>, Error> pendingBatch(Database& db, int limit,
                                                               const std::string& afterId = {});
std::expected<void, Error> markSynced(Database& db, const std::vector<std::string>& ids,
                                      std::int64_t syncedAtUtcMs);
struct Rejection { std::string id; std::string reason; };
std::expected<void, Error> markRejected(Database& db, const std::vector<Rejection>& rejected);
/// Applies one HQ ack in a single transaction: `synced` ids become synced, `rejected` ones keep
/// HQ's reason, and the sealed callback contacts of the synced ones are deleted (HQ holds them).
/// All of it is recorded or none; an id with no outbox row changes nothing. Returns how many
/// sealed contacts were deleted (the caller then truncates the WAL that still holds them).
std::expected<std::int64_t, Error> applyAck(Database& db, const std::vector<std::string>& synced,
                                    std::int64_t syncedAtUtcMs, const std::vector<Rejection>& rejected);
std::expected<OutboxCounts, Error> outboxCounts(Database& db);
/// The sealed callback contacts (standard base64) of those of `rows` that asked for a callback,
/// by response id: what a batch carries as "callback_contact".
std::expected<std::map<std::string, std::string>, Error> sealedContacts(Database& db,
                                                                       const std::vector<core::Response>& rows);
std::expected<std::vector<Rejection>, Error> rejectedList(Database& db, int limit);

} // namespace segue::store
