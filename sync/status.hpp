// What the sync worker last saw: the staff screen's sync panel, `sync status`, and the JSON
// kept in store meta so another process (the CLI) can read it.
#pragma once
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>

#include "store/database.hpp"
#include "sync/transport.hpp"

namespace segue::sync {

enum class SyncState {
    Disabled,        ///< [sync] is off or has no server_url
    Idle,            ///< nothing pending, or waiting for the next response
    Syncing,         ///< a drain is running
    Retrying,        ///< a retryable failure; the next attempt is scheduled with backoff
    ConfigProblem,   ///< token or TLS refused: staff must fix the configuration
    Parked,          ///< HQ refuses the request as sent (protocol, other 4xx)
    Stopped,         ///< the worker has stopped
};

std::string_view stateName(SyncState s);
std::optional<SyncState> stateFromName(std::string_view name);

struct SyncStatus {
    SyncState state = SyncState::Idle;
    bool online = false;                            ///< HQ answered the last attempt over HTTP
    std::optional<std::int64_t> lastSuccessUtcMs;   ///< last batch HQ acknowledged
    std::optional<std::int64_t> lastAttemptUtcMs;
    std::string lastError;                          ///< plain words; empty after a success
    std::optional<SendError> lastErrorKind;
    std::optional<std::int64_t> lastErrorUtcMs;
    std::optional<std::int64_t> clockOffsetMs;      ///< terminal clock minus HQ clock
    std::int64_t pending = 0;
    std::int64_t synced = 0;
    std::int64_t rejected = 0;
    std::optional<std::int64_t> oldestPendingUtcMs; ///< created_at of the oldest pending response
    std::optional<std::int64_t> nextAttemptUtcMs;   ///< when the worker tries again on its own
    int batchLimit = 0;                             ///< records per batch (halved after a 413)

    /// Whole seconds since the oldest pending response was made, or nullopt when none is.
    std::optional<std::int64_t> oldestPendingAgeS(std::int64_t nowUtcMs) const;
    bool operator==(const SyncStatus&) const = default;
};

/// The persisted form: compact JSON with millisecond integers.
std::string encodeStatus(const SyncStatus& s);
/// Reads what encodeStatus wrote; unknown keys are ignored, a bad document is an error.
std::expected<SyncStatus, std::string> decodeStatus(std::string_view json);

/// Writes the status to store meta (kMetaSyncStatus).
std::expected<void, store::Error> saveStatus(store::Database& db, const SyncStatus& s);
/// The status last saved, or nullopt when none was (or it cannot be read: it is advisory).
std::expected<std::optional<SyncStatus>, store::Error> loadStatus(store::Database& db);

} // namespace segue::sync
