// JSON shapes of HQ's read API, shared by the HTTP routes and the CLI so both print the same.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/scoring.hpp"
#include "hq/storage.hpp"

namespace segue::hq {

/// {"id","store_id","name","last_seen"(RFC 3339|null),"last_pending","app_version",
///  "clock_offset_ms","revoked","rejected","created_at"}
nlohmann::json deviceJson(const DeviceInfo& d);

/// {"store","from","to","days":[core::toJson(DayStats)...]} with one entry per date in
/// [from, to] (dates without responses have zero counts). Each day's "pending_sync" is the sum
/// of the backlog the store's devices reported last (`pending`): HQ cannot know per day what
/// is still on the terminals, only how much is.
nlohmann::json dailyJson(const std::string& store, const std::string& from, const std::string& to,
                         const std::vector<std::pair<std::string, core::Tally>>& tallies, std::int64_t pending);

} // namespace segue::hq
