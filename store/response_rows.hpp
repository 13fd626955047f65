// Reading stored responses back into core::Response, shared by the export, the outbox and
// findResponse so that every reader reconstructs records the same way.
#pragma once
#include <cstdint>
#include <expected>
#include <string>

#include "core/response.hpp"
#include "core/response_fields.hpp"
#include "core/scoring.hpp"
#include "store/sqlite_support.hpp"

namespace segue::store::detail {

/// The responses columns in the order readResponse() expects, prefixed with "r." (from
/// core::kResponseFields).
inline const std::string kResponseColumns = core::sqlColumnList(core::SqlTable::Kiosk, "r.");

/// Reads the kResponseColumns of the current row, without tags.
core::Response readResponse(const Statement& st);

/// Prepares the statement loadTags() runs.
std::expected<Statement, Error> prepareTagQuery(sqlite3* db);

/// Fills r.tags in the order they were chosen.
std::expected<void, Error> loadTags(Statement& tagQuery, core::Response& r);

/// Raw sums over [from, to] inside the caller's transaction; dates already validated.
std::expected<core::Tally, Error> tallyRange(sqlite3* db, const std::string& from, const std::string& to);

/// Number of outbox rows still pending.
std::expected<std::int64_t, Error> pendingCount(sqlite3* db);

/// Invalid error unless `date` is a real "YYYY-MM-DD" date.
std::expected<void, Error> checkDate(const std::string& date, const char* what);

} // namespace segue::store::detail
