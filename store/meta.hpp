// Small key/value settings kept in the database: the staff PIN hash, sync status, events.
#pragma once
#include <expected>
#include <optional>
#include <string>

#include "store/database.hpp"

namespace segue::store {

std::expected<std::optional<std::string>, Error> getMeta(Database& db, const std::string& key);
std::expected<void, Error> setMeta(Database& db, const std::string& key, const std::string& value);

/// Well-known keys.
inline constexpr const char* kMetaPinHash = "staff_pin_hash";        ///< Argon2id string
inline constexpr const char* kMetaRecovery = "db_recovery";          ///< JSON of the last OpenReport that recreated the file
inline constexpr const char* kMetaSyncStatus = "sync_status";        ///< JSON written by the sync worker
inline constexpr const char* kMetaOpenCallbacks = "open_callbacks";    ///< HQ's last count of the store's open callback requests
inline constexpr const char* kMetaPinLock = "staff_pin_lock";        ///< JSON: failed PIN attempts and the lock (store/pin_lock.hpp)

} // namespace segue::store
