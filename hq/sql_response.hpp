// The one place a response meets HQ's SQL: the responses columns, the values a record inserts and
// how a selected row becomes a record again, all driven by core::kResponseFields (a new field is
// a line there plus a migration per engine). Both engines use it through hq/sql_storage.cpp.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "hq/sql_connection.hpp"
#include "hq/storage.hpp"

namespace segue::hq {

/// The per-record columns of `responses`, in responseValues() order.
const std::vector<SqlColumn>& responseColumns();
/// The columns one batch shares: received_at, batch_id.
const std::vector<SqlColumn>& responseBatchColumns();
/// "id, store_id, …, duration_ms, received_at": what readResponse() reads, in its order.
const std::string& responseSelectList();

/// A record's values for responseColumns().
SqlParams responseValues(const core::Response& r);

/// The current row of a query selecting responseSelectList(); nullopt when its stored tags are
/// not a JSON array of strings.
std::optional<StoredResponse> readResponse(const SqlRows& row);

} // namespace segue::hq
