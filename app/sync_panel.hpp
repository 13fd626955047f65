// What the staff screen's sync panel shows. A plain struct the wiring fills from the sync
// worker's status, so the screen never touches the worker or its thread.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "sync/transport.hpp"

namespace segue::app {

struct SyncPanelVM {
    bool enabled = false;                          ///< [sync] enabled in the config
    bool online = false;                           ///< the last attempt reached HQ
    bool syncing = false;                          ///< a batch is in flight right now
    std::optional<std::int64_t> lastSuccessUtcMs;  ///< last batch HQ acknowledged
    std::int64_t pending = 0;                      ///< responses not yet acknowledged by HQ
    std::optional<std::int64_t> oldestPendingUtcMs;
    std::int64_t rejected = 0;                     ///< refused by HQ (kept, never resent)
    std::string lastError;                         ///< empty when the last attempt succeeded (English, for the log)
    std::optional<sync::SendError> lastErrorKind = {};///< what the screen says, in its own language
    std::optional<std::int64_t> nextAttemptUtcMs;  ///< when the worker will try again
};

} // namespace segue::app
