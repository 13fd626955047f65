#include "hq/day_sums.hpp"

#include <algorithm>
#include <cassert>
#include <cstddef>

#include "core/survey.hpp"

namespace segue::hq {
namespace {

constexpr std::size_t kItems = core::kSegueCount;
constexpr std::size_t kFirstSegue = 5;
constexpr std::size_t kFirstHour = kFirstSegue + 2 * kItems;

std::array<std::string, kDayValueCount> makeColumns() {
    std::array<std::string, kDayValueCount> c{"counted", "star_sum", "satisfied", "partial", "misuse"};
    for (std::size_t i = 0; i < kItems; ++i) {
        const std::string item = "segue_" + std::string(core::kSegueKeys[i]);
        c[kFirstSegue + 2 * i] = item + "_sum";
        c[kFirstSegue + 2 * i + 1] = item + "_n";
    }
    for (std::size_t h = 0; h < 24; ++h) c[kFirstHour + h] = (h < 10 ? "h0" : "h") + std::to_string(h);
    return c;
}

} // namespace

const std::array<std::string, kDayValueCount>& dayValueColumns() {
    static const auto columns = makeColumns();
    return columns;
}

std::string dayColumnList() {
    std::string out;
    for (const auto& c : dayValueColumns()) out += (out.empty() ? "" : ", ") + c;
    return out;
}

std::string dayAddAssignments() {
    std::string out;
    for (const auto& c : dayValueColumns())
        out += (out.empty() ? "" : ", ") + c + " = day_tallies." + c + " + excluded." + c;
    return out;
}

std::array<std::int64_t, kDayValueCount> dayValues(const core::Tally& t) {
    std::array<std::int64_t, kDayValueCount> v{t.counted, t.starSum, t.satisfied, t.partial, t.misuse};
    for (std::size_t i = 0; i < kItems; ++i) {
        v[kFirstSegue + 2 * i] = t.segueSum[i];
        v[kFirstSegue + 2 * i + 1] = t.segueCount[i];
    }
    for (std::size_t h = 0; h < 24; ++h) v[kFirstHour + h] = t.byHour[h];
    return v;
}

core::Tally tallyFromDayValues(const std::array<std::int64_t, kDayValueCount>& v) {
    core::Tally t;
    t.counted = v[0];
    t.starSum = v[1];
    t.satisfied = v[2];
    t.partial = v[3];
    t.misuse = v[4];
    for (std::size_t i = 0; i < kItems; ++i) {
        t.segueSum[i] = v[kFirstSegue + 2 * i];
        t.segueCount[i] = v[kFirstSegue + 2 * i + 1];
    }
    for (std::size_t h = 0; h < 24; ++h) t.byHour[h] = v[kFirstHour + h];
    return t;
}

void sortDays(std::map<std::string, DayTallies>& days) {
    auto byDate = [](const auto& a, const auto& b) { return a.first < b.first; };
    for (auto& [store, list] : days)
        if (!std::is_sorted(list.begin(), list.end(), byDate)) std::sort(list.begin(), list.end(), byDate);
}

core::Tally* findDay(std::map<std::string, DayTallies>& days, const std::string& storeId, const std::string& date) {
    const auto store = days.find(storeId);
    if (store == days.end()) return nullptr;
    auto& list = store->second;
    const auto it = std::lower_bound(list.begin(), list.end(), date,
                                     [](const auto& e, const std::string& d) { return e.first < d; });
    return it != list.end() && it->first == date ? &it->second : nullptr;
}

std::map<DayKey, core::Tally> sumAccepted(const std::vector<core::Response>& records,
                                          const std::vector<Outcome>& outcomes) {
    assert(outcomes.size() == records.size());
    std::map<DayKey, core::Tally> out;
    for (std::size_t i = 0; i < records.size() && i < outcomes.size(); ++i)
        if (outcomes[i] == Outcome::Accepted) out[{records[i].storeId, records[i].localDate}].add(records[i]);
    return out;
}

} // namespace segue::hq
