#include "hq/period_cache.hpp"

#include <algorithm>
#include <array>
#include <limits>

#include "core/time.hpp"
#include "hq/day_sums.hpp"

namespace segue::hq {
namespace {

constexpr auto kK = static_cast<std::size_t>(kDayValueCount);

} // namespace

PeriodCache::PeriodCache(SqlEngine& engine, std::size_t maxDates) : m_engine(engine), m_maxDates(maxDates) {}

std::int64_t PeriodCache::datesRead() const {
    std::lock_guard lock(m_mutex);
    return m_datesRead;
}

std::uint32_t PeriodCache::storeNumber(const std::string& id) {
    const auto [it, added] = m_numbers.try_emplace(id, static_cast<std::uint32_t>(m_ids.size()));
    if (added) m_ids.push_back(id);
    return it->second;
}

Result<std::optional<std::shared_ptr<const PeriodCache::Date>>> PeriodCache::readDate(SqlConnection& c,
                                                                                      const std::string& date,
                                                                                      std::int64_t changes) {
    using Out = std::optional<std::shared_ptr<const Date>>;
    auto rows = c.query("SELECT store_id, " + dayColumnList() + " FROM day_tallies WHERE local_date = ?", {date},
                        Reuse::Often);
    if (!rows) return std::unexpected(storageError("reading a date's sums", rows.error()));
    auto out = std::make_shared<Date>();
    out->changes = changes;
    std::vector<std::string> ids;
    bool fits = true;
    for (;;) {
        auto more = (*rows)->next();
        if (!more) return std::unexpected(storageError("reading a date's sums", more.error()));
        if (!*more) break;
        ids.push_back((*rows)->text(0));
        for (int i = 0; i < kDayValueCount; ++i) {
            const std::int64_t v = (*rows)->integer(1 + i);
            fits = fits && v >= 0 && v <= std::int64_t{std::numeric_limits<std::uint32_t>::max()};
            out->values.push_back(static_cast<std::uint32_t>(v));
        }
    }
    if (!fits) return Out();
    std::lock_guard lock(m_mutex);
    out->stores.reserve(ids.size());
    for (const auto& id : ids) out->stores.push_back(storeNumber(id));
    ++m_datesRead;
    return Out(std::move(out));
}

void PeriodCache::update(Range& range, const std::vector<std::shared_ptr<const Date>>& dates) {
    range.sums.resize(m_ids.size() * kK, 0);
    if (range.dates.size() != dates.size()) {
        std::fill(range.sums.begin(), range.sums.end(), 0);
        range.dates.assign(dates.size(), nullptr);
    }
    auto apply = [&](const Date& d, std::int64_t sign) {
        for (std::size_t r = 0; r < d.stores.size(); ++r) {
            std::int64_t* a = &range.sums[d.stores[r] * kK];
            const std::uint32_t* v = &d.values[r * kK];
            for (std::size_t k = 0; k < kK; ++k) a[k] += sign * static_cast<std::int64_t>(v[k]);
        }
    };
    for (std::size_t i = 0; i < dates.size(); ++i) {
        if (range.dates[i] == dates[i]) continue;
        if (range.dates[i]) apply(*range.dates[i], -1);
        apply(*dates[i], 1);
        range.dates[i] = dates[i];
    }
}

Result<std::optional<std::vector<std::vector<core::Tally>>>> PeriodCache::sums(
    const std::vector<std::string>& stores, const std::vector<std::pair<std::string, std::string>>& ranges) {
    using Sums = std::vector<std::vector<core::Tally>>;
    using Out = std::optional<Sums>;
    if (ranges.empty()) return Out(Sums());
    std::string lo = ranges.front().first, hi = ranges.front().second;
    for (const auto& [from, to] : ranges) {
        if (!core::isIsoDate(from) || !core::isIsoDate(to) || from > to)
            return std::unexpected(StorageError{StorageError::Kind::Invalid, "a range is two dates YYYY-MM-DD, from <= to"});
        lo = std::min(lo, from);
        hi = std::max(hi, to);
    }
    const std::int64_t span = *core::daysFromIsoDate(hi) - *core::daysFromIsoDate(lo) + 1;
    if (span > static_cast<std::int64_t>(m_maxDates)) return Out();
    std::vector<std::string> window;
    for (int i = 0; i < span; ++i) window.push_back(core::addDays(lo, i));

    auto lease = m_engine.connection();
    if (!lease) return std::unexpected(lease.error());
    SqlConnection& c = **lease;
    if (auto r = c.begin(SqlConnection::Tx::Snapshot); !r) return std::unexpected(storageError("summing periods", r.error()));
    static const auto kEmpty = std::make_shared<const Date>();
    std::vector<std::shared_ptr<const Date>> dates(window.size());
    // The counts and every date read again come from one snapshot, so each date's rows are the
    // ones its count describes.
    auto read = [&]() -> Result<bool> {
        std::map<std::string, std::int64_t> counts;
        {
            auto rows = c.query("SELECT local_date, CAST(SUM(changes) AS BIGINT) FROM day_totals "
                                "WHERE local_date >= ? AND local_date <= ? GROUP BY local_date",
                                {lo, hi}, Reuse::Often);
            if (!rows) return std::unexpected(storageError("reading the day change counts", rows.error()));
            for (;;) {
                auto more = (*rows)->next();
                if (!more) return std::unexpected(storageError("reading the day change counts", more.error()));
                if (!*more) break;
                counts[(*rows)->text(0)] = (*rows)->integer(1);
            }
        }
        std::vector<std::pair<std::size_t, std::int64_t>> stale;
        {
            std::lock_guard lock(m_mutex);
            for (std::size_t i = 0; i < window.size(); ++i) {
                const auto n = counts.find(window[i]);
                const std::int64_t changes = n == counts.end() ? 0 : n->second;
                const auto slot = m_dates.find(window[i]);
                if (changes == 0) dates[i] = kEmpty;
                else if (slot != m_dates.end() && slot->second.date->changes == changes) dates[i] = slot->second.date;
                else stale.emplace_back(i, changes);
            }
        }
        for (const auto& [i, changes] : stale) {
            auto d = readDate(c, window[i], changes);
            if (!d) return std::unexpected(d.error());
            if (!*d) return false;
            dates[i] = std::move(**d);
        }
        return true;
    }();
    if (!read) {
        c.rollback();
        return std::unexpected(read.error());
    }
    if (auto r = c.commit(); !r) return std::unexpected(storageError("summing periods", r.error()));
    if (!*read) return Out();

    std::lock_guard lock(m_mutex);
    ++m_clock;
    for (std::size_t i = 0; i < window.size(); ++i) {
        if (dates[i]->changes == 0) continue;
        Slot& slot = m_dates[window[i]];
        // Another read may have put in a newer copy meanwhile: the counts only grow.
        if (!slot.date || slot.date->changes < dates[i]->changes) slot.date = dates[i];
        slot.lastUse = m_clock;
    }
    auto oldest = [](const auto& a, const auto& b) { return a.second.lastUse < b.second.lastUse; };
    while (m_dates.size() > m_maxDates) m_dates.erase(std::min_element(m_dates.begin(), m_dates.end(), oldest));

    // Store numbers once for every range.
    std::vector<std::int64_t> numbers(stores.size(), -1);
    for (std::size_t s = 0; s < stores.size(); ++s)
        if (const auto it = m_numbers.find(stores[s]); it != m_numbers.end()) numbers[s] = it->second;
    Sums out;
    std::array<std::int64_t, kDayValueCount> values{};
    for (const auto& [from, to] : ranges) {
        std::vector<std::shared_ptr<const Date>> inRange;
        for (std::size_t i = 0; i < window.size(); ++i)
            if (window[i] >= from && window[i] <= to) inRange.push_back(dates[i]);
        Range& range = m_ranges[{from, to}];
        update(range, inRange);
        range.lastUse = m_clock;
        std::vector<core::Tally> tallies(stores.size());
        for (std::size_t s = 0; s < stores.size(); ++s) {
            if (numbers[s] < 0) continue;
            std::copy_n(&range.sums[static_cast<std::size_t>(numbers[s]) * kK], kK, values.begin());
            tallies[s] = tallyFromDayValues(values);
        }
        out.push_back(std::move(tallies));
    }
    while (m_ranges.size() > kCachedRanges) m_ranges.erase(std::min_element(m_ranges.begin(), m_ranges.end(), oldest));
    return Out(std::move(out));
}

} // namespace segue::hq
