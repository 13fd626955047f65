#include "hq/period_cache.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <tuple>

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

std::uint32_t PeriodCache::tagNumber(const std::string& tag) {
    const auto [it, added] = m_tagNumbers.try_emplace(tag, static_cast<std::uint32_t>(m_tags.size()));
    if (added) m_tags.push_back(tag);
    return it->second;
}

std::int64_t PeriodCache::rowsRead() const {
    std::lock_guard lock(m_mutex);
    return m_rowsRead;
}

Result<bool> PeriodCache::readRows(SqlConnection& c, const std::string& where, const SqlParams& params, Date& out,
                                   std::vector<std::string>& ids,
                                   std::vector<std::pair<std::string, std::string>>& tagNames) {
    auto fitsIn = [](std::int64_t v) { return v >= 0 && v <= std::int64_t{std::numeric_limits<std::uint32_t>::max()}; };
    bool fits = true;
    {
        auto rows = c.query("SELECT store_id, " + dayColumnList() + " FROM day_tallies" + where, params, Reuse::Often);
        if (!rows) return std::unexpected(storageError("reading a date's sums", rows.error()));
        for (;;) {
            auto more = (*rows)->next();
            if (!more) return std::unexpected(storageError("reading a date's sums", more.error()));
            if (!*more) break;
            ids.push_back((*rows)->text(0));
            for (int i = 0; i < kDayValueCount; ++i) {
                const std::int64_t v = (*rows)->integer(1 + i);
                fits = fits && fitsIn(v);
                out.values.push_back(static_cast<std::uint32_t>(v));
            }
        }
    }
    auto rows = c.query("SELECT store_id, tag, n FROM day_tag_counts" + where, params, Reuse::Often);
    if (!rows) return std::unexpected(storageError("reading a date's tag counts", rows.error()));
    for (;;) {
        auto more = (*rows)->next();
        if (!more) return std::unexpected(storageError("reading a date's tag counts", more.error()));
        if (!*more) break;
        const std::int64_t n = (*rows)->integer(2);
        fits = fits && fitsIn(n);
        tagNames.emplace_back((*rows)->text(0), (*rows)->text(1));
        out.tags.push_back({0, 0, static_cast<std::uint32_t>(n)});
    }
    return fits;
}

Result<std::optional<std::shared_ptr<const PeriodCache::Date>>> PeriodCache::readDate(SqlConnection& c,
                                                                                      const std::string& date,
                                                                                      std::int64_t changes,
                                                                                      const Date* old) {
    using Out = std::optional<std::shared_ptr<const Date>>;
    // Each store's change count on the date: which rows moved since `old`.
    std::vector<std::pair<std::string, std::int64_t>> counted;
    {
        auto rows = c.query("SELECT store_id, changes FROM day_changes WHERE local_date = ?", {date}, Reuse::Often);
        if (!rows) return std::unexpected(storageError("reading a date's change counts", rows.error()));
        for (;;) {
            auto more = (*rows)->next();
            if (!more) return std::unexpected(storageError("reading a date's change counts", more.error()));
            if (!*more) break;
            counted.emplace_back((*rows)->text(0), (*rows)->integer(1));
        }
    }
    std::vector<std::pair<std::uint32_t, std::int64_t>> versions;   // by store number
    std::vector<std::string> changedIds;
    std::vector<std::uint32_t> changed;                             // ascending
    {
        std::lock_guard lock(m_mutex);
        for (const auto& [id, n] : counted) versions.emplace_back(storeNumber(id), n);
        std::sort(versions.begin(), versions.end());
        if (old) {
            for (const auto& [number, n] : versions) {
                const auto it = std::lower_bound(old->stores.begin(), old->stores.end(), number);
                const bool same = it != old->stores.end() && *it == number &&
                                  old->versions[static_cast<std::size_t>(it - old->stores.begin())] == n;
                if (!same) {
                    changed.push_back(number);
                    changedIds.push_back(m_ids[number]);
                }
            }
        }
    }
    // A few stores' rows are read one by one; many (or no older copy) the whole date at once.
    const bool some = old && changed.size() <= std::max<std::size_t>(32, versions.size() / 64);
    Date fresh;
    std::vector<std::string> ids;
    std::vector<std::pair<std::string, std::string>> tagNames;
    bool fits = true;
    if (some) {
        for (const auto& id : changedIds) {
            auto r = readRows(c, " WHERE local_date = ? AND store_id = ?", {date, id}, fresh, ids, tagNames);
            if (!r) return std::unexpected(r.error());
            fits = fits && *r;
        }
    } else {
        auto r = readRows(c, " WHERE local_date = ?", {date}, fresh, ids, tagNames);
        if (!r) return std::unexpected(r.error());
        fits = *r;
    }
    if (!fits) return Out();

    std::lock_guard lock(m_mutex);
    ++m_datesRead;
    m_rowsRead += static_cast<std::int64_t>(ids.size());
    auto versionOf = [&](std::uint32_t number) -> std::int64_t {
        const auto it = std::lower_bound(versions.begin(), versions.end(), std::pair<std::uint32_t, std::int64_t>(number, 0));
        return it != versions.end() && it->first == number ? it->second : 0;
    };
    // The rows read, by store number, then the older copy's unchanged rows merged in.
    std::vector<std::pair<std::uint32_t, std::size_t>> order;   // (store, row of `fresh`)
    for (std::size_t r = 0; r < ids.size(); ++r) order.emplace_back(storeNumber(ids[r]), r);
    std::sort(order.begin(), order.end());
    auto out = std::make_shared<Date>();
    out->changes = changes;
    auto put = [&](std::uint32_t store, std::int64_t version, const std::uint32_t* values) {
        out->stores.push_back(store);
        out->versions.push_back(version);
        out->values.insert(out->values.end(), values, values + kK);
    };
    std::size_t f = 0, o = 0;
    const std::size_t oldRows = some ? old->stores.size() : 0;
    while (f < order.size() || o < oldRows) {
        if (o < oldRows && std::binary_search(changed.begin(), changed.end(), old->stores[o])) {
            ++o;   // read again (or gone)
        } else if (o < oldRows && (f == order.size() || old->stores[o] < order[f].first)) {
            put(old->stores[o], old->versions[o], &old->values[o * kK]);
            ++o;
        } else {
            put(order[f].first, versionOf(order[f].first), &fresh.values[order[f].second * kK]);
            ++f;
        }
    }
    for (std::size_t i = 0; i < tagNames.size(); ++i) {
        fresh.tags[i].store = storeNumber(tagNames[i].first);
        fresh.tags[i].tag = tagNumber(tagNames[i].second);
        out->tags.push_back(fresh.tags[i]);
    }
    if (some)
        for (const TagCount& t : old->tags)
            if (!std::binary_search(changed.begin(), changed.end(), t.store)) out->tags.push_back(t);
    std::stable_sort(out->tags.begin(), out->tags.end(), [](const TagCount& a, const TagCount& b) { return a.store < b.store; });
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

Result<std::optional<PeriodCache::Window>> PeriodCache::load(
    const std::vector<std::pair<std::string, std::string>>& ranges) {
    using Out = std::optional<Window>;
    Window w;
    if (ranges.empty()) return Out(std::move(w));
    std::string lo = ranges.front().first, hi = ranges.front().second;
    for (const auto& [from, to] : ranges) {
        if (!core::isIsoDate(from) || !core::isIsoDate(to) || from > to)
            return std::unexpected(StorageError{StorageError::Kind::Invalid, "a range is two dates YYYY-MM-DD, from <= to"});
        lo = std::min(lo, from);
        hi = std::max(hi, to);
    }
    const std::int64_t span = *core::daysFromIsoDate(hi) - *core::daysFromIsoDate(lo) + 1;
    if (span > static_cast<std::int64_t>(m_maxDates)) return Out();
    for (int i = 0; i < span; ++i) w.names.push_back(core::addDays(lo, i));

    // One load at a time: a read that comes while another (serve's warm-up) reads dates waits
    // and then finds them, instead of reading the same dates beside it.
    std::lock_guard loading(m_loadMutex);
    auto lease = m_engine.connection();
    if (!lease) return std::unexpected(lease.error());
    SqlConnection& c = **lease;
    if (auto r = c.begin(SqlConnection::Tx::Snapshot); !r) return std::unexpected(storageError("summing periods", r.error()));
    static const auto kEmpty = std::make_shared<const Date>();
    w.dates.assign(w.names.size(), nullptr);
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
        std::vector<std::tuple<std::size_t, std::int64_t, std::shared_ptr<const Date>>> stale;
        {
            std::lock_guard lock(m_mutex);
            for (std::size_t i = 0; i < w.names.size(); ++i) {
                const auto n = counts.find(w.names[i]);
                const std::int64_t changes = n == counts.end() ? 0 : n->second;
                const auto slot = m_dates.find(w.names[i]);
                if (changes == 0) w.dates[i] = kEmpty;
                else if (slot != m_dates.end() && slot->second.date->changes == changes) w.dates[i] = slot->second.date;
                else stale.emplace_back(i, changes, slot == m_dates.end() ? nullptr : slot->second.date);
            }
        }
        for (const auto& [i, changes, old] : stale) {
            auto d = readDate(c, w.names[i], changes, old.get());
            if (!d) return std::unexpected(d.error());
            if (!*d) return false;
            w.dates[i] = std::move(**d);
        }
        return true;
    }();
    if (!read) {
        c.rollback();
        return std::unexpected(read.error());
    }
    if (auto r = c.commit(); !r) return std::unexpected(storageError("summing periods", r.error()));
    if (!*read) return Out();
    return Out(std::move(w));
}

void PeriodCache::keep(const Window& w) {
    ++m_clock;
    for (std::size_t i = 0; i < w.names.size(); ++i) {
        if (w.dates[i]->changes == 0) continue;
        Slot& slot = m_dates[w.names[i]];
        // Another read may have put in a newer copy meanwhile: the counts only grow.
        if (!slot.date || slot.date->changes < w.dates[i]->changes) slot.date = w.dates[i];
        slot.lastUse = m_clock;
    }
    auto oldest = [](const auto& a, const auto& b) { return a.second.lastUse < b.second.lastUse; };
    while (m_dates.size() > m_maxDates) m_dates.erase(std::min_element(m_dates.begin(), m_dates.end(), oldest));
}

std::vector<std::vector<core::Tally>> PeriodCache::rangeSums(
    const Window& w, const std::vector<std::string>& stores,
    const std::vector<std::pair<std::string, std::string>>& ranges) {
    // Store numbers once for every range.
    std::vector<std::int64_t> numbers(stores.size(), -1);
    for (std::size_t s = 0; s < stores.size(); ++s)
        if (const auto it = m_numbers.find(stores[s]); it != m_numbers.end()) numbers[s] = it->second;
    std::vector<std::vector<core::Tally>> out;
    std::array<std::int64_t, kDayValueCount> values{};
    for (const auto& [from, to] : ranges) {
        std::vector<std::shared_ptr<const Date>> inRange;
        for (std::size_t i = 0; i < w.names.size(); ++i)
            if (w.names[i] >= from && w.names[i] <= to) inRange.push_back(w.dates[i]);
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
    auto oldest = [](const auto& a, const auto& b) { return a.second.lastUse < b.second.lastUse; };
    while (m_ranges.size() > kCachedRanges) m_ranges.erase(std::min_element(m_ranges.begin(), m_ranges.end(), oldest));
    return out;
}

Result<std::optional<std::vector<std::vector<core::Tally>>>> PeriodCache::sums(
    const std::vector<std::string>& stores, const std::vector<std::pair<std::string, std::string>>& ranges) {
    using Out = std::optional<std::vector<std::vector<core::Tally>>>;
    auto w = load(ranges);
    if (!w) return std::unexpected(w.error());
    if (!*w) return Out();
    std::lock_guard lock(m_mutex);
    keep(**w);
    return Out(rangeSums(**w, stores, ranges));
}

Result<std::optional<ChainDetail>> PeriodCache::detail(
    const std::vector<std::string>& stores, const std::vector<std::pair<std::string, std::string>>& ranges,
    std::size_t tagged) {
    using Out = std::optional<ChainDetail>;
    auto loaded = load(ranges);
    if (!loaded) return std::unexpected(loaded.error());
    if (!*loaded) return Out();
    const Window& w = **loaded;
    std::lock_guard lock(m_mutex);
    keep(w);
    ChainDetail out;
    out.stores = rangeSums(w, stores, ranges);

    // Which store numbers count, and the tagged stores' numbers.
    std::vector<char> counts(m_ids.size(), 0);
    std::vector<std::pair<std::size_t, std::uint32_t>> taggedNumbers;   // (index in stores, number)
    for (std::size_t s = 0; s < stores.size(); ++s) {
        const auto it = m_numbers.find(stores[s]);
        if (it == m_numbers.end()) continue;
        counts[it->second] = 1;
        if (s < tagged) taggedNumbers.emplace_back(s, it->second);
    }
    // Each date's sum over the stores, once, whichever ranges hold it.
    std::vector<std::optional<core::Tally>> byDate(w.names.size());
    auto dateSum = [&](std::size_t i) -> const std::optional<core::Tally>& {
        if (byDate[i] || w.dates[i]->stores.empty()) return byDate[i];
        const Date& d = *w.dates[i];
        std::array<std::int64_t, kDayValueCount> sum{};
        for (std::size_t r = 0; r < d.stores.size(); ++r) {
            if (!counts[d.stores[r]]) continue;
            const std::uint32_t* v = &d.values[r * kK];
            for (std::size_t k = 0; k < kK; ++k) sum[k] += v[k];
        }
        core::Tally t = tallyFromDayValues(sum);
        for (const TagCount& tc : d.tags)
            if (counts[tc.store]) t.tags[m_tags[tc.tag]] += tc.n;
        byDate[i] = std::move(t);
        return byDate[i];
    };
    for (std::size_t r = 0; r < ranges.size(); ++r) {
        const auto& [from, to] = ranges[r];
        DayTallies days;
        for (std::size_t i = 0; i < w.names.size(); ++i) {
            if (w.names[i] < from || w.names[i] > to) continue;
            if (const auto& t = dateSum(i)) days.emplace_back(w.names[i], *t);
            const auto& tags = w.dates[i]->tags;
            for (const auto& [s, number] : taggedNumbers) {
                auto [a, b] = std::equal_range(tags.begin(), tags.end(), TagCount{number, 0, 0},
                                               [](const TagCount& x, const TagCount& y) { return x.store < y.store; });
                for (; a != b; ++a) out.stores[r][s].tags[m_tags[a->tag]] += a->n;
            }
        }
        out.days.push_back(std::move(days));
    }
    return Out(std::move(out));
}

} // namespace segue::hq
