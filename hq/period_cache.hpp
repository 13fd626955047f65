// Recent dates' per-store day sums kept in memory, so that the chain-wide reads (/stores,
// /regions) add up memory instead of summing every store-day row of two periods on each request.
// Every read checks each date of its window against the database in one small query: day_totals
// (migration 12) counts the changes to each date's day_tallies rows, by trigger, so a date whose
// count moved since it was read (new responses, late offline ones, another HQ node's ingest, a
// hand edit) is read again, in the same snapshot as the counts; the other dates are reused.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/scoring.hpp"
#include "hq/sql_connection.hpp"

namespace segue::hq {

/// How many dates the cache keeps at most: a 31-day period and the one before it. At 10 000
/// stores with responses every day that is about 110 MB (43 four-byte sums a store-date).
inline constexpr std::size_t kCachedDates = 62;
/// How many ranges' running sums the cache keeps (a dashboard asks for a period and the one before).
inline constexpr std::size_t kCachedRanges = 6;

class PeriodCache {
public:
    explicit PeriodCache(SqlEngine& engine, std::size_t maxDates = kCachedDates);

    /// For each range [from, to] (ISO dates, from <= to), the Tally without tags of each of
    /// `stores` (in that order) summed over it; an empty Tally for a store without rows there.
    /// nullopt when the ranges span more dates than the cache keeps, or a stored sum does not fit
    /// its four bytes: the caller sums in SQL then. Safe to call from many threads.
    Result<std::optional<std::vector<std::vector<core::Tally>>>> sums(
        const std::vector<std::string>& stores, const std::vector<std::pair<std::string, std::string>>& ranges);

    /// Dates read from the database since the start (tests: a reused date is not read again).
    std::int64_t datesRead() const;

private:
    /// One date's rows: store numbers and their sums, dayValueColumns() order, kDayValueCount each.
    struct Date {
        std::int64_t changes = 0;
        std::vector<std::uint32_t> stores;
        std::vector<std::uint32_t> values;
    };
    struct Slot {
        std::shared_ptr<const Date> date;
        std::uint64_t lastUse = 0;
    };
    /// A range's sums of every store, kept up to date by subtracting the rows of a date that
    /// changed and adding its new rows: a read after an ingest touches one date, not the range.
    struct Range {
        std::vector<std::shared_ptr<const Date>> dates;   ///< what `sums` holds, one a date of the range
        std::vector<std::int64_t> sums;                   ///< kDayValueCount per store number
        std::uint64_t lastUse = 0;
    };
    /// Brings `range` to `dates` (m_mutex held).
    void update(Range& range, const std::vector<std::shared_ptr<const Date>>& dates);

    /// Reads one date's rows on `c` (inside the caller's snapshot); nullopt when a sum is too large.
    Result<std::optional<std::shared_ptr<const Date>>> readDate(SqlConnection& c, const std::string& date,
                                                                std::int64_t changes);
    std::uint32_t storeNumber(const std::string& id);   ///< m_mutex held

    SqlEngine& m_engine;
    const std::size_t m_maxDates;
    mutable std::mutex m_mutex;
    std::map<std::string, Slot> m_dates;
    std::map<std::pair<std::string, std::string>, Range> m_ranges;
    std::unordered_map<std::string, std::uint32_t> m_numbers;
    std::vector<std::string> m_ids;
    std::uint64_t m_clock = 0;
    std::int64_t m_datesRead = 0;
};

} // namespace segue::hq
