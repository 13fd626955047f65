#include "hq/dashboard.hpp"

#include <cstdlib>
#include <map>

#include "core/scoring.hpp"
#include "core/time.hpp"
#include "hq/alerts.hpp"
#include "hq/views.hpp"

namespace segue::hq {
namespace {

nlohmann::json difference(const std::optional<double>& now, const std::optional<double>& before) {
    return now && before ? nlohmann::json(*now - *before) : nlohmann::json();
}

core::Tally sumWithin(const DayTallies& days, const Period& p) {
    core::Tally t;
    for (const auto& [date, day] : days)
        if (date >= p.from && date <= p.to) t.merge(day);
    return t;
}

std::string rangeLabel(const Period& p) { return p.from + "/" + p.to; }

nlohmann::json changeJson(const core::DayStats& now, const core::DayStats& before) {
    return {{"responses", now.responses - before.responses},
            {"csat", difference(now.csat, before.csat)},
            {"mean_stars", difference(now.meanStars, before.meanStars)}};
}

bool belowTarget(const core::DayStats& s, double target) { return s.responses > 0 && !core::meetsTarget(s, target); }

nlohmann::json periodJson(const Period& p) { return {{"from", p.from}, {"to", p.to}}; }

/// One entry per date of `p`, zero where there were no responses (as the daily API does).
nlohmann::json dailySeries(const DayTallies& days, const Period& p) {
    return dailyJson("", p.from, p.to, days, 0)["days"];
}

} // namespace

std::expected<Period, std::string> resolvePeriod(const std::optional<std::string>& preset,
                                                 const std::optional<std::string>& from,
                                                 const std::optional<std::string>& to, const std::string& today) {
    if (preset && (from || to)) return std::unexpected("give either period or from and to, not both");
    if (from || to) {
        if (!from || !to) return std::unexpected("from and to go together (YYYY-MM-DD)");
        if (!core::isIsoDate(*from) || !core::isIsoDate(*to)) return std::unexpected("from and to must be dates YYYY-MM-DD");
        const auto span = *core::daysFromIsoDate(*to) - *core::daysFromIsoDate(*from);
        if (span < 0) return std::unexpected("from is after to");
        if (span >= kMaxPeriodDays)
            return std::unexpected("at most " + std::to_string(kMaxPeriodDays) + " days per period");
        return Period{*from, *to};
    }
    const std::string name = preset.value_or("7d");
    int days = 0;
    if (name == "today") days = 1;
    else if (name == "7d") days = 7;
    else if (name == "30d") days = 30;
    else return std::unexpected("period must be today, 7d or 30d");
    return Period{core::addDays(today, -(days - 1)), today};
}

Period previousPeriod(const Period& p) {
    const auto length = static_cast<int>(*core::daysFromIsoDate(p.to) - *core::daysFromIsoDate(p.from) + 1);
    return Period{core::addDays(p.from, -length), core::addDays(p.from, -1)};
}

Result<nlohmann::json> overviewJson(Storage& storage, const Period& period, const std::string& today,
                                    const DashboardConfig& config) {
    const Period prev = previousPeriod(period);
    auto stores = storage.listStores();
    if (!stores) return std::unexpected(stores.error());

    // One read for the whole chain over both periods: the chain's figures are sums of the stores'.
    auto all = storage.dailyTalliesAll(prev.from, period.to);
    if (!all) return std::unexpected(all.error());

    std::map<std::string, core::Tally> chainByDate;
    core::Tally chainNow, chainBefore;
    nlohmann::json rows = nlohmann::json::array();
    const DayTallies none;
    for (const auto& store : *stores) {
        const auto found = all->find(store);
        const DayTallies& days = found == all->end() ? none : found->second;
        const core::Tally now = sumWithin(days, period);
        const core::Tally before = sumWithin(days, prev);
        for (const auto& [date, day] : days)
            if (date >= period.from) chainByDate[date].merge(day);
        chainNow.merge(now);
        chainBefore.merge(before);
        const auto sNow = core::summarize(now, rangeLabel(period));
        const auto sBefore = core::summarize(before, rangeLabel(prev));
        rows.push_back({{"store", store},
                        {"current", core::toJson(sNow)},
                        {"previous", core::toJson(sBefore)},
                        {"change", changeJson(sNow, sBefore)},
                        {"below_target", belowTarget(sNow, config.targetCsat)}});
    }
    DayTallies chainDays(chainByDate.begin(), chainByDate.end());
    const auto total = core::summarize(chainNow, rangeLabel(period));
    const auto before = core::summarize(chainBefore, rangeLabel(prev));
    return nlohmann::json{{"from", period.from},
                          {"to", period.to},
                          {"previous", periodJson(prev)},
                          {"today", today},
                          {"target_csat", config.targetCsat},
                          {"below_target", belowTarget(total, config.targetCsat)},
                          {"total", core::toJson(total)},
                          {"previous_total", core::toJson(before)},
                          {"change", changeJson(total, before)},
                          {"days", dailySeries(chainDays, period)},
                          {"stores", std::move(rows)}};
}

nlohmann::json fleetDeviceJson(const DeviceInfo& d, std::int64_t nowMs, const DashboardConfig& config) {
    nlohmann::json j = deviceJson(d);
    const std::int64_t since = d.lastSeenMs.value_or(d.createdAtMs);
    const std::int64_t silentMs = std::max<std::int64_t>(0, nowMs - since);
    const auto limitMs = static_cast<std::int64_t>(config.silentAfterHours * 3'600'000.0);
    j["silent_s"] = d.revoked ? nlohmann::json() : nlohmann::json(silentMs / 1000);
    j["silent"] = !d.revoked && silentMs > limitMs;
    j["clock_skewed"] = !d.revoked && d.clockOffsetMs && std::llabs(*d.clockOffsetMs) > config.maxClockOffsetMs;
    return j;
}

Result<nlohmann::json> storeSummaryJson(Storage& storage, const std::string& store, const Period& period,
                                        std::int64_t nowMs, const DashboardConfig& config) {
    const Period prev = previousPeriod(period);
    auto days = storage.dailyTallies(store, prev.from, period.to);
    if (!days) return std::unexpected(days.error());
    auto pending = storage.storePending(store);
    if (!pending) return std::unexpected(pending.error());
    auto devices = storage.listDevices();
    if (!devices) return std::unexpected(devices.error());
    const auto sNow = core::summarize(sumWithin(*days, period), rangeLabel(period), *pending);
    const auto sBefore = core::summarize(sumWithin(*days, prev), rangeLabel(prev));
    DayTallies current;
    for (const auto& d : *days)
        if (d.first >= period.from) current.push_back(d);
    nlohmann::json terminals = nlohmann::json::array();
    std::int64_t live = 0, silent = 0, skewed = 0;
    for (const auto& d : *devices) {
        if (d.storeId != store) continue;
        auto j = fleetDeviceJson(d, nowMs, config);
        live += !d.revoked;
        silent += j["silent"].get<bool>();
        skewed += j["clock_skewed"].get<bool>();
        terminals.push_back(std::move(j));
    }
    return nlohmann::json{{"store", store},
                          {"from", period.from},
                          {"to", period.to},
                          {"previous", periodJson(prev)},
                          {"target_csat", config.targetCsat},
                          {"below_target", belowTarget(sNow, config.targetCsat)},
                          {"total", core::toJson(sNow)},
                          {"previous_total", core::toJson(sBefore)},
                          {"change", changeJson(sNow, sBefore)},
                          {"days", dailySeries(current, period)},
                          {"terminals", {{"devices", live}, {"silent", silent}, {"clock_skewed", skewed}, {"pending", *pending}}},
                          {"devices", std::move(terminals)}};
}

Result<nlohmann::json> fleetJson(Storage& storage, std::int64_t nowMs, const DashboardConfig& config) {
    auto devices = storage.listDevices();
    if (!devices) return std::unexpected(devices.error());
    nlohmann::json list = nlohmann::json::array();
    std::int64_t silent = 0, skewed = 0, revoked = 0, pending = 0;
    for (const auto& d : *devices) {
        auto j = fleetDeviceJson(d, nowMs, config);
        silent += j["silent"].get<bool>();
        skewed += j["clock_skewed"].get<bool>();
        revoked += d.revoked;
        if (!d.revoked) pending += d.lastPending.value_or(0);
        list.push_back(std::move(j));
    }
    return nlohmann::json{{"now", core::formatUtc(nowMs)},
                          {"silent_after_hours", config.silentAfterHours},
                          {"max_clock_offset_ms", config.maxClockOffsetMs},
                          {"summary",
                           {{"devices", static_cast<std::int64_t>(devices->size())},
                            {"silent", silent},
                            {"clock_skewed", skewed},
                            {"revoked", revoked},
                            {"pending", pending}}},
                          {"devices", std::move(list)}};
}

Result<nlohmann::json> storesJson(Storage& storage, std::int64_t nowMs, const DashboardConfig& config) {
    auto stores = storage.listStores();
    if (!stores) return std::unexpected(stores.error());
    auto devices = storage.listDevices();
    if (!devices) return std::unexpected(devices.error());
    nlohmann::json list = nlohmann::json::array();
    for (const auto& s : *stores) {
        std::int64_t count = 0, silent = 0;
        for (const auto& d : *devices) {
            if (d.storeId != s || d.revoked) continue;
            ++count;
            silent += fleetDeviceJson(d, nowMs, config)["silent"].get<bool>();
        }
        list.push_back({{"id", s}, {"devices", count}, {"silent", silent}});
    }
    return nlohmann::json{{"stores", std::move(list)}};
}

nlohmann::json alertsJson(const std::vector<Alert>& alerts, const AlertConfig& config) {
    nlohmann::json rules = nlohmann::json::array();
    if (config.lowSatisfaction) rules.push_back(kRuleLowSatisfaction);
    if (config.lowRatings) rules.push_back(kRuleLowRatings);
    if (config.silentTerminal) rules.push_back(kRuleSilentTerminal);
    nlohmann::json list = nlohmann::json::array();
    for (const auto& a : alerts) {
        nlohmann::json j = alertPayload(a);
        j["id"] = a.id;
        j.erase("alert_id");
        j["state"] = alertStateName(a.state);
        j["attempts"] = a.attempts;
        j["next_attempt_at"] = a.state == AlertState::Pending ? nlohmann::json(core::formatUtc(a.nextAttemptAtMs))
                                                              : nlohmann::json();
        j["delivered_at"] = a.deliveredAtMs ? nlohmann::json(core::formatUtc(*a.deliveredAtMs)) : nlohmann::json();
        j["last_error"] = a.lastError;
        list.push_back(std::move(j));
    }
    return {{"enabled", config.anyRule()}, {"rules", std::move(rules)}, {"alerts", std::move(list)}};
}

} // namespace segue::hq
