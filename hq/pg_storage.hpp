// The PostgreSQL 15 back end of HQ storage (`postgresql://…`), through libpq.
#pragma once
#include <memory>
#include <string>

#include "hq/storage.hpp"

namespace segue::hq {

/// Connects with `url` (a libpq connection URI) and migrates the database. Keeps a small pool of
/// connections so request threads do not queue behind one another.
Result<std::unique_ptr<Storage>> openPgStorage(const std::string& url);

} // namespace segue::hq
