// The SQLite back end of HQ storage (`sqlite:PATH`): one file, WAL, synchronous=FULL.
#pragma once
#include <filesystem>
#include <memory>

#include "hq/storage.hpp"

namespace segue::hq {

/// Opens (creating if needed) and migrates the file. One connection, serialized by a mutex:
/// SQLite takes one writer at a time anyway, and batches are single transactions.
Result<std::unique_ptr<Storage>> openSqliteStorage(const std::filesystem::path& file);

} // namespace segue::hq
