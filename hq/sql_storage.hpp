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

/// Migrates the engine's database to kSchemaVersion and serves Storage over it.
Result<std::unique_ptr<Storage>> openSqlStorage(std::unique_ptr<SqlEngine> engine);

} // namespace segue::hq
