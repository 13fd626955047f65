// Checkpoints off the customer's path: the WAL copied into the database file between
// customers (the kiosk on its attract screen, the sync worker after a drain), never in a tap.
#pragma once
#include <expected>

#include "store/database.hpp"

namespace segue::store {

/// What a checkpoint found and did.
struct CheckpointReport {
    int walFrames = 0;       ///< frames in the WAL when it ran
    int copiedFrames = 0;    ///< of those, now in the database file
    bool busy = false;       ///< another connection was checkpointing; nothing was done
    bool rewound = false;    ///< the WAL was rewound: the next commit writes from its start
    bool complete() const { return !busy && copiedFrames == walFrames; }
};

/// A PASSIVE checkpoint: copies what it can without waiting for readers or writers and
/// syncs the database file. Cheap when there is nothing to copy.
std::expected<CheckpointReport, Error> checkpointPassive(Database& db);

/// Between customers, on a connection opened with Checkpoints::Deferred: a PASSIVE checkpoint,
/// then, when every frame made it, one small write that rewinds the WAL (and cuts the file back
/// to kWalSizeLimitBytes). The first commit after a checkpoint otherwise does the rewind
/// itself: a new WAL header, written and synced before its own frames, i.e. a customer's tap
/// paying two syncs instead of one. Never waits on another connection's write lock.
std::expected<CheckpointReport, Error> checkpointBetweenCustomers(Database& db);

/// A TRUNCATE checkpoint: every frame copied into the database file and the WAL cut to zero
/// bytes, so no old frame keeps a deleted sealed contact. Waits for readers (busy timeout);
/// report.busy when they kept it from finishing.
std::expected<CheckpointReport, Error> checkpointTruncate(Database& db);

} // namespace segue::store
