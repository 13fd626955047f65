// The per-(store, store-local date) sums HQ keeps beside the raw responses, so the read API adds
// up a few rows per day instead of every response. Both back ends keep them in the ingest
// transaction and read them back through these helpers, so they decide the same way.
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/scoring.hpp"
#include "hq/storage.hpp"

namespace segue::hq {

/// (store id, store-local date "YYYY-MM-DD").
using DayKey = std::pair<std::string, std::string>;

/// Value columns of the day_tallies table: counted, star_sum, satisfied, partial, misuse, a sum
/// and a count per SEGUE item, and the counted responses of each local hour 0..23.
inline constexpr int kDayValueCount = 5 + 2 * core::kSegueCount + 24;

/// The value column names of day_tallies, in the order dayValues() uses.
const std::array<std::string, kDayValueCount>& dayValueColumns();

/// "counted, star_sum, …, h23": dayValueColumns() as a column list.
std::string dayColumnList();

/// "counted = day_tallies.counted + excluded.counted, …": the DO UPDATE SET list of an upsert
/// that adds a row's values to the stored ones (the same text in SQLite and PostgreSQL).
std::string dayAddAssignments();

/// A Tally's values in dayValueColumns() order (its tags are kept apart, in day_tag_counts).
std::array<std::int64_t, kDayValueCount> dayValues(const core::Tally& t);

/// The Tally of values in dayValueColumns() order, without tags.
core::Tally tallyFromDayValues(const std::array<std::int64_t, kDayValueCount>& values);

/// Puts each store's days in ascending date order. The reads sort here rather than in SQL: a
/// few thousand wide rows sort faster in memory than in PostgreSQL's executor.
void sortDays(std::map<std::string, DayTallies>& days);

/// The Tally of `date` among `days[storeId]` (whose dates ascend), or nullptr: where a read puts
/// the tag counts it reads after the day rows.
core::Tally* findDay(std::map<std::string, DayTallies>& days, const std::string& storeId, const std::string& date);

/// The Tally (core::Tally::add: misuse counted apart, the rest over counted responses only) of
/// each (store, date) among the records the insert stored, i.e. whose outcome is Accepted:
/// duplicates and conflicts change no sum. Ordered by key, so that every transaction applies
/// its upserts, and takes their row locks, in one global order.
/// Precondition: outcomes.size() == records.size().
std::map<DayKey, core::Tally> sumAccepted(const std::vector<core::Response>& records,
                                          const std::vector<Outcome>& outcomes);

} // namespace segue::hq
