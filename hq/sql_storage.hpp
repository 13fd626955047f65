// HQ storage written once: every Storage method as SQL over an SqlEngine (SQLite or PostgreSQL),
// the schema as numbered migration files per engine (hq/migrations/<engine>/NNNN_name.sql).
#pragma once
#include <memory>
#include <string_view>
#include <vector>

#include "hq/sql_connection.hpp"
#include "hq/storage.hpp"

namespace segue::hq {

/// A numbered migration compiled into the binary.
struct SqlMigration {
    int version = 0;          ///< NNNN of the file name
    std::string_view name;    ///< e.g. "0002_alerts.sql"
    std::string_view sql;
};

/// The migrations in hq/migrations/`dir`/, ascending, the last numbered kSchemaVersion.
const std::vector<SqlMigration>& sqlMigrations(std::string_view dir);

/// The low_ratings rule's count (Storage::countRatings) in the `?` form the engine runs. Parameters:
/// store, from ms, to ms, max stars, and on PostgreSQL also core::uuidV7Floor(from ms): the
/// bound on the id lets the planner skip the month partitions before the window (a terminal's
/// UUIDv7 is never older than its created_at), where created_at alone cannot (docs/scaling.md).
std::string_view countRatingsSql(bool postgres);

/// Migrates the engine's database to kSchemaVersion and serves Storage over it.
Result<std::unique_ptr<Storage>> openSqlStorage(std::unique_ptr<SqlEngine> engine);

} // namespace segue::hq
