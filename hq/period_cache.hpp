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
#include "hq/people.hpp"
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

    /// What the overview needs, from one snapshot: sums() of `stores`, except that the first
    /// `tagged` stores' Tallies carry their tags too; and per range, the sum over every one of
    /// `stores` of each date with rows (ascending, tags included). nullopt as for sums().
    Result<std::optional<ChainDetail>> detail(const std::vector<std::string>& stores,
                                         const std::vector<std::pair<std::string, std::string>>& ranges,
                                         std::size_t tagged);

    /// Dates read from the database since the start (tests: a reused date is not read again).
    std::int64_t datesRead() const;
    /// Day rows read from the database since the start (tests: a write to one store of a date
    /// reads that store's row again, not the date's).
    std::int64_t rowsRead() const;

private:
    /// A reason tag's count of one store on one date (store and tag by number).
    struct TagCount {
        std::uint32_t store = 0, tag = 0, n = 0;
    };
    /// One date's rows by ascending store number: the store, its change count (day_changes,
    /// migration 15) and its sums, dayValueColumns() order, kDayValueCount each; and its tag
    /// counts, by store number. day_tag_counts changes only in the transaction that changes the
    /// same (store, date)'s day_tallies row, so the change counts cover both.
    struct Date {
        std::int64_t changes = 0;
        std::vector<std::uint32_t> stores;
        std::vector<std::int64_t> versions;
        std::vector<std::uint32_t> values;
        std::vector<TagCount> tags;
    };
    /// The dates of a window, oldest first, and the ranges' dates among them.
    struct Window {
        std::vector<std::string> names;
        std::vector<std::shared_ptr<const Date>> dates;
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
    /// The dates `ranges` span, each reused or read again, from one snapshot; nullopt as for sums().
    Result<std::optional<Window>> load(const std::vector<std::pair<std::string, std::string>>& ranges);
    /// Keeps `w`'s dates for later reads and drops the least recently used beyond m_maxDates (m_mutex held).
    void keep(const Window& w);
    /// Each range's running sums brought to `w`, then copied out per store (m_mutex held).
    std::vector<std::vector<core::Tally>> rangeSums(const Window& w, const std::vector<std::string>& stores,
                                                    const std::vector<std::pair<std::string, std::string>>& ranges);
    /// Brings `range` to `dates` (m_mutex held).
    void update(Range& range, const std::vector<std::shared_ptr<const Date>>& dates);

    /// Reads one date's rows on `c` (inside the caller's snapshot): only the stores whose change
    /// count moved since `old` (an older copy of the date, or nullptr) when they are few, else
    /// all of them; nullopt when a sum is too large.
    Result<std::optional<std::shared_ptr<const Date>>> readDate(SqlConnection& c, const std::string& date,
                                                                std::int64_t changes, const Date* old);
    /// Reads the day sums and tag counts of `where` (params: the date, then maybe a store) into `out`
    /// (unsorted, store numbers not yet given); false when a value does not fit four bytes.
    Result<bool> readRows(SqlConnection& c, const std::string& where, const SqlParams& params, Date& out,
                          std::vector<std::string>& ids, std::vector<std::pair<std::string, std::string>>& tagNames);
    std::uint32_t storeNumber(const std::string& id);   ///< m_mutex held
    std::uint32_t tagNumber(const std::string& tag);    ///< m_mutex held

    SqlEngine& m_engine;
    const std::size_t m_maxDates;
    mutable std::mutex m_mutex;
    std::mutex m_loadMutex;   ///< held by load(), outside m_mutex
    std::map<std::string, Slot> m_dates;
    std::map<std::pair<std::string, std::string>, Range> m_ranges;
    std::unordered_map<std::string, std::uint32_t> m_numbers;
    std::vector<std::string> m_ids;
    std::unordered_map<std::string, std::uint32_t> m_tagNumbers;
    std::vector<std::string> m_tags;
    std::uint64_t m_clock = 0;
    std::int64_t m_datesRead = 0;
    std::int64_t m_rowsRead = 0;
};

} // namespace segue::hq
