#include "hq/dashboard.hpp"

#include "hq/surveys.hpp"

#include <algorithm>
#include <cstdlib>
#include <map>

#include "core/scoring.hpp"
#include "core/time.hpp"
#include "hq/alerts.hpp"
#include "hq/surveys.hpp"
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

/// The ids of the stores of `scope`, ascending.
Result<std::vector<std::string>> storeIds(Storage& storage, const Scope& scope) {
    if (scope.kind == Scope::Kind::Chain) return storage.listStores();
    auto stores = storage.people().storesIn({scope, std::nullopt, std::nullopt});
    if (!stores) return std::unexpected(stores.error());
    std::vector<std::string> ids;
    for (const auto& st : *stores) ids.push_back(st.id);
    return ids;
}

/// Whether a device is silent as fleetDeviceJson says it, without making its JSON (a chain has
/// tens of thousands of devices).
bool deviceSilent(const DeviceInfo& d, std::int64_t nowMs, const DashboardConfig& config) {
    const std::int64_t since = d.lastSeenMs.value_or(d.createdAtMs);
    const std::int64_t silentMs = std::max<std::int64_t>(0, nowMs - since);
    const auto limitMs = static_cast<std::int64_t>(config.silentAfterHours * 3'600'000.0);
    return !d.revoked && silentMs > limitMs;
}

/// Live devices and silent ones per store.
std::map<std::string, std::pair<std::int64_t, std::int64_t>> terminalCounts(const std::vector<DeviceInfo>& devices,
                                                                            std::int64_t nowMs,
                                                                            const DashboardConfig& config) {
    std::map<std::string, std::pair<std::int64_t, std::int64_t>> out;
    for (const auto& d : devices) {
        if (d.revoked) continue;
        auto& [count, silent] = out[d.storeId];
        ++count;
        silent += deviceSilent(d, nowMs, config);
    }
    return out;
}

/// A store's or a region's figures over the period and the one before.
struct Figures {
    core::DayStats now, before;
};

Figures figures(const core::Tally& now, const core::Tally& before, const Period& period, const Period& prev) {
    return {core::summarize(now, rangeLabel(period)), core::summarize(before, rangeLabel(prev))};
}

void putFigures(nlohmann::json& row, const Figures& f, double target) {
    row["current"] = core::toJson(f.now);
    row["previous"] = core::toJson(f.before);
    row["change"] = changeJson(f.now, f.before);
    row["below_target"] = belowTarget(f.now, target);
}

/// The sort key of a row: nullopt sorts last whatever the order. The same quotients
/// core::summarize makes, without making the rest of a DayStats for every store.
std::optional<double> sortKey(const core::Tally& now, const core::Tally& before, const std::string& sort) {
    auto csat = [](const core::Tally& t) -> std::optional<double> {
        if (t.counted <= 0) return std::nullopt;
        return static_cast<double>(t.satisfied) / static_cast<double>(t.counted);
    };
    if (sort == "csat") return csat(now);
    if (sort == "mean_stars") {
        if (now.counted <= 0) return std::nullopt;
        return static_cast<double>(now.starSum) / static_cast<double>(now.counted);
    }
    if (sort == "responses") return static_cast<double>(now.counted);
    if (sort == "change") {
        const auto a = csat(now), b = csat(before);
        if (a && b) return *a - *b;
        return std::nullopt;
    }
    return 0.0;   // "store": by id alone
}

nlohmann::json headerJson(const Period& period, const DashboardConfig& config) {
    return {{"from", period.from},
            {"to", period.to},
            {"previous", periodJson(previousPeriod(period))},
            {"target_csat", config.targetCsat}};
}

nlohmann::json optionalJson(const std::optional<std::string>& v) { return v ? nlohmann::json(*v) : nlohmann::json(); }

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

namespace {

/// The overview's figures before they become JSON: per store (in the order of the ids) the
/// period's Tally and the one before's (with tags for the first kOverviewStores), the chain's
/// days of the period, and the chain's Tally of each period.
struct OverviewSums {
    std::vector<core::Tally> now, before;
    DayTallies days;
    core::Tally chainNow, chainBefore;
};

/// From the in-memory day sums (PeriodCache): nullopt when the periods span more dates than it keeps.
Result<std::optional<OverviewSums>> cachedOverview(Storage& storage, const std::vector<std::string>& stores,
                                                   const Period& period, const Period& prev) {
    auto detail = storage.people().chainDetail(stores, {{period.from, period.to}, {prev.from, prev.to}}, kOverviewStores);
    if (!detail) return std::unexpected(detail.error());
    if (!*detail) return std::optional<OverviewSums>();
    OverviewSums out;
    out.now = std::move((*detail)->stores[0]);
    out.before = std::move((*detail)->stores[1]);
    out.days = std::move((*detail)->days[0]);
    for (const auto& [date, day] : out.days) out.chainNow.merge(day);
    for (const auto& [date, day] : (*detail)->days[1]) out.chainBefore.merge(day);
    return std::optional<OverviewSums>(std::move(out));
}

/// From every day row of both periods (a period longer than the in-memory copy keeps).
Result<OverviewSums> readOverview(Storage& storage, const std::vector<std::string>& stores, const Period& period,
                                  const Period& prev) {
    auto all = storage.dailyTalliesAll(prev.from, period.to);
    if (!all) return std::unexpected(all.error());
    OverviewSums out;
    std::map<std::string, core::Tally> chainByDate;
    const DayTallies none;
    for (const auto& store : stores) {
        const auto found = all->find(store);
        const DayTallies& days = found == all->end() ? none : found->second;
        out.now.push_back(sumWithin(days, period));
        out.before.push_back(sumWithin(days, prev));
        for (const auto& [date, day] : days)
            if (date >= period.from) chainByDate[date].merge(day);
        out.chainNow.merge(out.now.back());
        out.chainBefore.merge(out.before.back());
    }
    out.days.assign(chainByDate.begin(), chainByDate.end());
    return out;
}

} // namespace

Result<nlohmann::json> overviewJson(Storage& storage, const Period& period, const std::string& today,
                                    const DashboardConfig& config, const Scope& scope) {
    const Period prev = previousPeriod(period);
    auto stores = storeIds(storage, scope);
    if (!stores) return std::unexpected(stores.error());

    // The chain's figures are sums of the stores': one read of both periods for the whole chain.
    auto cached = cachedOverview(storage, *stores, period, prev);
    if (!cached) return std::unexpected(cached.error());
    std::optional<OverviewSums> sums = std::move(*cached);
    if (!sums) {
        auto read = readOverview(storage, *stores, period, prev);
        if (!read) return std::unexpected(read.error());
        sums = std::move(*read);
    }

    nlohmann::json rows = nlohmann::json::array();
    std::int64_t withResponses = 0, storesBelow = 0;
    for (std::size_t i = 0; i < stores->size(); ++i) {
        const core::Tally& now = sums->now[i];
        withResponses += now.counted > 0;
        const bool below = now.counted > 0 && !core::meetsTarget(core::summarize(now, ""), config.targetCsat);
        storesBelow += below;
        if (rows.size() >= kOverviewStores) continue;
        const auto sNow = core::summarize(now, rangeLabel(period));
        const auto sBefore = core::summarize(sums->before[i], rangeLabel(prev));
        rows.push_back({{"store", (*stores)[i]},
                        {"current", core::toJson(sNow)},
                        {"previous", core::toJson(sBefore)},
                        {"change", changeJson(sNow, sBefore)},
                        {"below_target", below}});
    }
    const auto total = core::summarize(sums->chainNow, rangeLabel(period));
    const auto before = core::summarize(sums->chainBefore, rangeLabel(prev));
    return nlohmann::json{{"from", period.from},
                          {"to", period.to},
                          {"previous", periodJson(prev)},
                          {"today", today},
                          {"target_csat", config.targetCsat},
                          {"below_target", belowTarget(total, config.targetCsat)},
                          {"total", core::toJson(total)},
                          {"previous_total", core::toJson(before)},
                          {"change", changeJson(total, before)},
                          {"days", dailySeries(sums->days, period)},
                          {"stores_total", static_cast<std::int64_t>(stores->size())},
                          {"stores_with_responses", withResponses},
                          {"stores_below_target", storesBelow},
                          {"stores", std::move(rows)}};
}

Result<std::size_t> warmChainReads(Storage& storage, const std::string& today) {
    const auto period = resolvePeriod("30d", std::nullopt, std::nullopt, today);
    if (!period) return std::unexpected(StorageError{StorageError::Kind::Invalid, period.error()});
    const Period prev = previousPeriod(*period);
    auto stores = storage.listStores();
    if (!stores) return std::unexpected(stores.error());
    // A date at a time, newest first: each read holds a database connection (SQLite's only one)
    // for one date's rows, so every other request waits at most that long meanwhile.
    for (std::string date = period->to; date >= prev.from; date = core::addDays(date, -1))
        if (auto sums = storage.people().chainPeriodTallies({}, {{date, date}}); !sums) return std::unexpected(sums.error());
    auto sums = storage.people().chainPeriodTallies(*stores, {{period->from, period->to}, {prev.from, prev.to}});
    if (!sums) return std::unexpected(sums.error());
    return stores->size();
}

namespace {

/// The survey each store is assigned (the most specific assignment, else the built-in one),
/// with the assignments read once and each store's region once.
class AssignedSurveys {
public:
    static Result<AssignedSurveys> load(Storage& storage) {
        auto all = storage.surveyAssignments();
        if (!all) return std::unexpected(all.error());
        AssignedSurveys out;
        out.m_assignments = std::move(*all);
        return out;
    }
    Result<std::pair<std::string, int>> forStore(Storage& storage, const std::string& storeId) {
        if (const auto it = m_byStore.find(storeId); it != m_byStore.end()) return it->second;
        auto region = storage.storeRegion(storeId);
        if (!region) return std::unexpected(region.error());
        const auto chosen = resolveAssignment(m_assignments, storeId, *region);
        const auto& builtIn = builtInSurvey();
        std::pair<std::string, int> current = chosen ? std::pair{chosen->surveyId, chosen->version}
                                                     : std::pair{builtIn.id, builtIn.version};
        m_byStore.emplace(storeId, current);
        return current;
    }

private:
    std::vector<SurveyAssignment> m_assignments;
    std::map<std::string, std::pair<std::string, int>> m_byStore;
};

} // namespace

nlohmann::json fleetDeviceJson(const DeviceInfo& d, std::int64_t nowMs, const DashboardConfig& config) {
    nlohmann::json j = deviceJson(d);
    const std::int64_t since = d.lastSeenMs.value_or(d.createdAtMs);
    const std::int64_t silentMs = std::max<std::int64_t>(0, nowMs - since);
    j["silent_s"] = d.revoked ? nlohmann::json() : nlohmann::json(silentMs / 1000);
    j["silent"] = deviceSilent(d, nowMs, config);
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

Result<nlohmann::json> surveyVersionsJson(Storage& storage, const std::string& store, const Period& period) {
    auto versions = storage.versionTallies(store, period.from, period.to);
    if (!versions) return std::unexpected(versions.error());
    nlohmann::json out = nlohmann::json::array();
    for (const auto& v : *versions) {
        nlohmann::json j = core::toJson(core::summarize(v.tally, rangeLabel(period)));
        for (const char* key : {"date", "by_hour", "pending_sync"}) j.erase(key);
        j["survey_id"] = v.surveyId;
        j["version"] = v.version;
        out.push_back(std::move(j));
    }
    return out;
}

Result<nlohmann::json> fleetJson(Storage& storage, std::int64_t nowMs, const DashboardConfig& config,
                                 const Scope& scope) {
    auto devices = devicesInScope(storage, scope);
    if (!devices) return std::unexpected(devices.error());
    auto assigned = AssignedSurveys::load(storage);
    if (!assigned) return std::unexpected(assigned.error());
    nlohmann::json list = nlohmann::json::array();
    std::int64_t silent = 0, skewed = 0, revoked = 0, pending = 0, outdated = 0, configErrors = 0;
    for (const auto& d : *devices) {
        auto j = fleetDeviceJson(d, nowMs, config);
        auto current = assigned->forStore(storage, d.storeId);
        if (!current) return std::unexpected(current.error());
        // Whether the terminal runs its store's assigned version; null until it has said.
        j["assigned_survey"] = {{"id", current->first}, {"version", current->second}};
        j["survey_current"] = d.survey ? nlohmann::json(d.survey->surveyId == current->first &&
                                                        d.survey->surveyVersion == current->second)
                                       : nlohmann::json();
        silent += j["silent"].get<bool>();
        skewed += j["clock_skewed"].get<bool>();
        revoked += d.revoked;
        if (!d.revoked) {
            pending += d.lastPending.value_or(0);
            outdated += j["survey_current"].is_boolean() && !j["survey_current"].get<bool>();
            configErrors += d.survey && d.survey->configError.has_value();
        }
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
                            {"pending", pending},
                            {"survey_outdated", outdated},
                            {"config_errors", configErrors}}},
                          {"devices", std::move(list)}};
}

Result<nlohmann::json> storesJson(Storage& storage, std::int64_t nowMs, const DashboardConfig& config,
                                  const Scope& scope) {
    auto stores = storeIds(storage, scope);
    if (!stores) return std::unexpected(stores.error());
    auto devices = storage.listDeviceActivity();
    if (!devices) return std::unexpected(devices.error());
    const auto terminals = terminalCounts(*devices, nowMs, config);
    nlohmann::json list = nlohmann::json::array();
    for (const auto& s : *stores) {
        const auto t = terminals.find(s);
        list.push_back({{"id", s},
                        {"devices", t == terminals.end() ? 0 : t->second.first},
                        {"silent", t == terminals.end() ? 0 : t->second.second}});
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

Result<std::vector<DeviceInfo>> devicesInScope(Storage& storage, const Scope& scope) {
    auto devices = storage.listDevices();
    if (!devices || scope.kind == Scope::Kind::Chain) return devices;
    auto ids = storeIds(storage, scope);
    if (!ids) return std::unexpected(ids.error());
    std::erase_if(*devices, [&](const DeviceInfo& d) { return !std::binary_search(ids->begin(), ids->end(), d.storeId); });
    return devices;
}

std::optional<ExportFilter> scopeExport(ExportFilter filter, const Scope& scope) {
    if (scope.kind == Scope::Kind::Region) filter.regionId = scope.id;
    if (scope.kind == Scope::Kind::Store) {
        if (filter.storeId && *filter.storeId != scope.id) return std::nullopt;
        filter.storeId = scope.id;
    }
    return filter;
}

Result<std::vector<Alert>> alertsInScope(Storage& storage, std::vector<Alert> alerts, const Scope& scope) {
    if (scope.kind == Scope::Kind::Chain) return alerts;
    auto ids = storeIds(storage, scope);
    if (!ids) return std::unexpected(ids.error());
    std::erase_if(alerts, [&](const Alert& a) { return !std::binary_search(ids->begin(), ids->end(), a.storeId); });
    return alerts;
}

std::expected<StoreQuery, std::string> parseStoreQuery(const std::function<std::optional<std::string>(const char*)>& param,
                                                       const std::string& today) {
    StoreQuery q;
    auto period = resolvePeriod(param("period"), param("from"), param("to"), today);
    if (!period) return std::unexpected(period.error());
    q.period = *period;
    q.region = param("region");
    if (q.region && *q.region == "none") q.region = "";
    q.query = param("q");
    if (q.query && q.query->size() > 200) return std::unexpected("q has at most 200 characters");
    if (const auto sort = param("sort")) {
        if (*sort != "csat" && *sort != "mean_stars" && *sort != "responses" && *sort != "change" && *sort != "store")
            return std::unexpected("sort must be csat, mean_stars, responses, change or store");
        q.sort = *sort;
    }
    if (const auto order = param("order")) {
        if (*order != "asc" && *order != "desc") return std::unexpected("order must be asc or desc");
        q.descending = *order == "desc";
    }
    auto number = [&](const char* name, int min, int max) -> std::expected<std::optional<int>, std::string> {
        const auto v = param(name);
        if (!v) return std::nullopt;
        if (v->empty() || v->size() > 9 || v->find_first_not_of("0123456789") != std::string::npos ||
            std::stoi(*v) < min || std::stoi(*v) > max)
            return std::unexpected(std::string(name) + " must be " + std::to_string(min) + ".." + std::to_string(max));
        return std::stoi(*v);
    };
    auto limit = number("limit", 1, kMaxStoresPage);
    if (!limit) return std::unexpected(limit.error());
    q.limit = *limit;
    auto offset = number("offset", 0, 100'000'000);
    if (!offset) return std::unexpected(offset.error());
    q.offset = offset->value_or(0);
    return q;
}

Result<nlohmann::json> storeTableJson(Storage& storage, const Scope& scope, const StoreQuery& query,
                                      std::int64_t nowMs, const DashboardConfig& config) {
    const StoreFilter filter{scope, query.region, query.query};
    const Period prev = previousPeriod(query.period);
    auto stores = storage.people().storesIn(filter);
    if (!stores) return std::unexpected(stores.error());
    std::vector<std::string> ids;
    ids.reserve(stores->size());
    for (const auto& st : *stores) ids.push_back(st.id);
    auto sums = storage.people().chainPeriodTallies(ids, {{query.period.from, query.period.to}, {prev.from, prev.to}});
    if (!sums) return std::unexpected(sums.error());
    const auto& now = (*sums)[0];
    const auto& before = (*sums)[1];

    // Every store's sort key; the figures of the page's rows only.
    struct Row {
        std::size_t store;
        std::optional<double> key;
    };
    std::vector<Row> rows;
    rows.reserve(stores->size());
    for (std::size_t i = 0; i < stores->size(); ++i) rows.push_back({i, sortKey(now[i], before[i], query.sort)});
    std::sort(rows.begin(), rows.end(), [&](const Row& a, const Row& b) {
        if (a.key.has_value() != b.key.has_value()) return a.key.has_value();
        if (a.key && *a.key != *b.key) return query.descending ? *a.key > *b.key : *a.key < *b.key;
        const std::string& x = (*stores)[a.store].id;
        const std::string& y = (*stores)[b.store].id;
        return query.descending && query.sort == "store" ? x > y : x < y;
    });
    const std::size_t first = std::min(rows.size(), static_cast<std::size_t>(query.offset));
    const std::size_t last = query.limit ? std::min(rows.size(), first + static_cast<std::size_t>(*query.limit))
                                         : rows.size();

    auto devices = storage.listDeviceActivity();
    if (!devices) return std::unexpected(devices.error());
    const auto terminals = terminalCounts(*devices, nowMs, config);
    nlohmann::json list = nlohmann::json::array();
    for (std::size_t i = first; i < last; ++i) {
        const std::size_t s = rows[i].store;
        const StoreInfo& st = (*stores)[s];
        const auto t = terminals.find(st.id);
        nlohmann::json row = {{"id", st.id},
                              {"store", st.id},
                              {"name", optionalJson(st.name)},
                              {"region", optionalJson(st.region)},
                              {"devices", t == terminals.end() ? 0 : t->second.first},
                              {"silent", t == terminals.end() ? 0 : t->second.second}};
        putFigures(row, figures(now[s], before[s], query.period, prev), config.targetCsat);
        list.push_back(std::move(row));
    }
    nlohmann::json out = headerJson(query.period, config);
    out["total"] = static_cast<std::int64_t>(rows.size());
    out["offset"] = query.offset;
    out["limit"] = query.limit ? nlohmann::json(*query.limit) : nlohmann::json();
    out["stores"] = std::move(list);
    return out;
}

Result<nlohmann::json> regionsJson(Storage& storage, const Scope& scope, const Period& period,
                                   const DashboardConfig& config) {
    const StoreFilter filter{scope, std::nullopt, std::nullopt};
    const Period prev = previousPeriod(period);
    auto regions = storage.people().listRegions();
    if (!regions) return std::unexpected(regions.error());
    auto stores = storage.people().storesIn(filter);
    if (!stores) return std::unexpected(stores.error());
    std::vector<std::string> ids;
    ids.reserve(stores->size());
    for (const auto& st : *stores) ids.push_back(st.id);
    auto sums = storage.people().chainPeriodTallies(ids, {{period.from, period.to}, {prev.from, prev.to}});
    if (!sums) return std::unexpected(sums.error());
    const auto& now = (*sums)[0];
    const auto& before = (*sums)[1];

    struct Sums {
        core::Tally now, before;
        std::int64_t stores = 0, belowTarget = 0;
    };
    std::map<std::string, Sums> byRegion;   // "" : no region
    for (std::size_t i = 0; i < stores->size(); ++i) {
        Sums& sums = byRegion[(*stores)[i].region.value_or("")];
        ++sums.stores;
        sums.before.merge(before[i]);
        sums.belowTarget += now[i].counted > 0 && !core::meetsTarget(core::summarize(now[i], ""), config.targetCsat);
        sums.now.merge(now[i]);
    }
    nlohmann::json list = nlohmann::json::array();
    auto add = [&](nlohmann::json id, nlohmann::json name, const Sums& sums) {
        nlohmann::json row = {{"id", std::move(id)}, {"name", std::move(name)}, {"stores", sums.stores},
                              {"stores_below_target", sums.belowTarget}};
        putFigures(row, figures(sums.now, sums.before, period, prev), config.targetCsat);
        list.push_back(std::move(row));
    };
    const Sums empty;
    for (const auto& r : *regions) {
        const auto it = byRegion.find(r.id);
        // The whole chain sees its empty regions too; a scoped reader only the regions it reads.
        if (it != byRegion.end()) add(r.id, r.name, it->second);
        else if (scope.kind == Scope::Kind::Chain) add(r.id, r.name, empty);
    }
    if (const auto it = byRegion.find(""); it != byRegion.end()) add(nullptr, nullptr, it->second);
    nlohmann::json out = headerJson(period, config);
    out["regions"] = std::move(list);
    return out;
}

} // namespace segue::hq
