#include "store/stats.hpp"

#include <utility>

#include "core/time.hpp"
#include "store/response_rows.hpp"
#include "store/responses.hpp"
#include "store/sqlite_support.hpp"

namespace segue::store {

namespace {
constexpr int kMaxTrendDays = 3660;   ///< ten years: more is a caller mistake, not a chart
}

std::expected<core::DayStats, Error> dayStats(Database& db, const std::string& date) {
    if (auto ok = detail::checkDate(date, "date"); !ok) return std::unexpected(std::move(ok.error()));
    // One snapshot, so the pending count belongs to the same moment as the scores.
    auto tx = Transaction::beginRead(db.handle(), "computing the day's figures");
    if (!tx) return std::unexpected(std::move(tx.error()));
    auto t = detail::tallyRange(db.handle(), date, date);
    if (!t) return std::unexpected(std::move(t.error()));
    auto pending = detail::pendingCount(db.handle());
    if (!pending) return std::unexpected(std::move(pending.error()));
    if (auto ok = tx->commit(); !ok) return std::unexpected(std::move(ok.error()));
    return core::summarize(*t, date, *pending);
}

std::expected<std::vector<core::DayStats>, Error> trend(Database& db, const std::string& lastDate, int days) {
    if (auto ok = detail::checkDate(lastDate, "last date"); !ok) return std::unexpected(std::move(ok.error()));
    if (days < 1 || days > kMaxTrendDays) {
        Error e;
        e.kind = ErrorKind::Invalid;
        e.message = "a trend of " + std::to_string(days) + " days is outside 1.." + std::to_string(kMaxTrendDays);
        return std::unexpected(std::move(e));
    }
    const std::string first = core::addDays(lastDate, -(days - 1));
    auto daily = dailyTallies(db, first, lastDate);
    if (!daily) return std::unexpected(std::move(daily.error()));

    // Trend points carry the day's scores; the pending count is a property of now, not of a day.
    std::vector<core::DayStats> out;
    out.reserve(static_cast<std::size_t>(days));
    auto next = daily->begin();
    for (int i = 0; i < days; ++i) {
        std::string date = core::addDays(first, i);
        if (next != daily->end() && next->first == date) {
            out.push_back(core::summarize(next->second, std::move(date), 0));
            ++next;
        } else {
            out.push_back(core::summarize(core::Tally{}, std::move(date), 0));
        }
    }
    return out;
}

} // namespace segue::store
