// The numbered schema migrations compiled into the binary (store/migrations/NNNN_name.sql).
#pragma once
#include <string_view>
#include <vector>

namespace segue::store {

struct Migration {
    int version = 0;          ///< NNNN from the file name; PRAGMA user_version after it ran
    std::string_view name;    ///< file name, e.g. "0002_outbox.sql"
    std::string_view sql;     ///< the whole script, run in one transaction
};

/// All migrations, ascending and numbered 1..latestSchemaVersion() without gaps.
const std::vector<Migration>& migrations();

} // namespace segue::store
