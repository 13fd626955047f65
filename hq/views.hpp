// JSON shapes of HQ's read API, shared by the HTTP routes and the CLI so both print the same.
#pragma once
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/scoring.hpp"
#include "hq/people.hpp"
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

/// {"id","email","role","region","store","disabled","created_at"} (region and store null when none).
nlohmann::json userJson(const User& u);

/// {"entries":[{"id","at"(RFC 3339),"actor","action","subject","address","details"(object)}]}.
nlohmann::json auditJson(const std::vector<AuditEntry>& entries);

/// The UTC ms range of the audit filters `from`/`to` (dates, inclusive, UTC): everything when
/// absent. The error is a sentence for a 400 or a usage error.
std::expected<std::pair<std::int64_t, std::int64_t>, std::string> auditRange(const std::optional<std::string>& from,
                                                                             const std::optional<std::string>& to);

} // namespace segue::hq
