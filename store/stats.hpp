// The day's figures for the staff screen and `segue-kiosk stats --json`: one implementation.
#pragma once
#include <expected>
#include <string>
#include <vector>

#include "core/scoring.hpp"
#include "store/database.hpp"

namespace segue::store {

/// Figures for one store-local date, with the outbox's pending count.
std::expected<core::DayStats, Error> dayStats(Database& db, const std::string& date);

/// One DayStats per date of the `days` days ending at `lastDate` (inclusive), oldest first;
/// days without responses are present with zero counts (trend lines).
std::expected<std::vector<core::DayStats>, Error> trend(Database& db, const std::string& lastDate, int days);

} // namespace segue::store
