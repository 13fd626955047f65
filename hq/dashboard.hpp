// The dashboard's read API: chain overview, one store's page, the fleet and the alert list.
// Every figure is computed here with core::summarize over SQL-summed Tallies, so the page only
// formats numbers and never computes one.
#pragma once
#include <cstdint>
#include <expected>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hq/config.hpp"
#include "hq/people.hpp"
#include "hq/storage.hpp"

namespace segue::hq {

/// An inclusive range of store-local dates.
struct Period {
    std::string from;
    std::string to;
};

/// Longest period the dashboard computes at once (its previous period is as long again).
inline constexpr std::int64_t kMaxPeriodDays = 366;

/// The period of a preset ("today", "7d", "30d": the last N days up to `today`) or of explicit
/// dates; the error is a sentence for a 400.
std::expected<Period, std::string> resolvePeriod(const std::optional<std::string>& preset,
                                                 const std::optional<std::string>& from,
                                                 const std::optional<std::string>& to, const std::string& today);

/// The period of equal length just before `p`.
Period previousPeriod(const Period& p);

/// The most store rows GET /api/v1/overview carries (issue 15: it no longer sends every store).
inline constexpr std::size_t kOverviewStores = 100;

/// GET /api/v1/overview:
/// {"from","to","previous":{"from","to"},"today","target_csat",
///  "total": stats, "previous_total": stats, "change": change, "days":[stats per date],
///  "stores_total","stores_with_responses","stores_below_target",
///  "stores":[{"store","current": stats,"previous": stats,"change": change,"below_target": bool}]}
/// where stats is core::toJson(DayStats) with "date" = "FROM/TO" for a range and change is
/// {"responses","csat","mean_stars"} (current − previous; null when either side has none).
/// Only the stores of `scope` count, in the rows, the counts and the totals. "stores" holds the
/// first kOverviewStores stores by id only (all of a small chain): a chain's store table pages
/// through GET /api/v1/stores; the three counts are over every store.
Result<nlohmann::json> overviewJson(Storage& storage, const Period& period, const std::string& today,
                                    const DashboardConfig& config, const Scope& scope = Scope::chain());

/// Reads the day sums of the dashboard's longest preset (the 30 days to `today`) and the 30
/// before into the chain-wide reads' in-memory copy (hq/period_cache.hpp), so that the first
/// /stores, /regions or /overview after a start finds them there; serve runs it on a thread of
/// its own. A date at a time: other requests wait at most one date's read for the connection.
/// Returns how many stores it read.
Result<std::size_t> warmChainReads(Storage& storage, const std::string& today);

/// GET /api/v1/stores/{store}/summary: {"store","from","to","previous":{…},"target_csat","below_target",
/// "total","previous_total","change","days":[…],"terminals":{"devices","silent","clock_skewed",
/// "pending"} (terminals not revoked; pending is what they reported last),"devices":[fleet rows]}.
Result<nlohmann::json> storeSummaryJson(Storage& storage, const std::string& store, const Period& period,
                                        std::int64_t nowMs, const DashboardConfig& config);

/// The `survey_versions` key GET /api/v1/stores/{store}/summary?by=survey_version adds: the
/// store's figures over `period` per survey version answered, by id then version:
/// [{"survey_id","version","responses","mean_stars","csat","segue":{…},"partial","misuse","tags":{…}}].
Result<nlohmann::json> surveyVersionsJson(Storage& storage, const std::string& store, const Period& period);

/// One fleet row: deviceJson plus "silent_s" (since last seen, or since enrolment when never
/// seen; null for a revoked one), "silent" and "clock_skewed" flags.
nlohmann::json fleetDeviceJson(const DeviceInfo& d, std::int64_t nowMs, const DashboardConfig& config);

/// GET /api/v1/fleet: {"now","silent_after_hours","max_clock_offset_ms","devices":[…],
/// "summary":{"devices","silent","clock_skewed","revoked","pending"}}.
/// Only the devices of the stores of `scope`.
Result<nlohmann::json> fleetJson(Storage& storage, std::int64_t nowMs, const DashboardConfig& config,
                                 const Scope& scope = Scope::chain());

/// The devices of the stores of `scope` (GET /api/v1/devices).
Result<std::vector<DeviceInfo>> devicesInScope(Storage& storage, const Scope& scope);

/// `filter` narrowed to `scope`: nullopt when it asks for a store outside it (nothing to export).
std::optional<ExportFilter> scopeExport(ExportFilter filter, const Scope& scope);

/// The alerts about the stores of `scope`.
Result<std::vector<Alert>> alertsInScope(Storage& storage, std::vector<Alert> alerts, const Scope& scope);

/// GET /api/v1/stores: {"stores":[{"id","devices","silent"}]} (every store of `scope`).
Result<nlohmann::json> storesJson(Storage& storage, std::int64_t nowMs, const DashboardConfig& config,
                                  const Scope& scope = Scope::chain());

/// What GET /api/v1/stores?from=&to=&region=&q=&sort=&order=&limit=&offset= asks for.
struct StoreQuery {
    Period period;
    std::optional<std::string> region;   ///< "" (or "none") : stores without a region
    std::optional<std::string> query;    ///< part of the id or name, case-insensitive
    std::string sort = "store";          ///< csat | mean_stars | responses | change | store
    bool descending = false;
    std::optional<int> limit;            ///< 1..kMaxStoresPage; none: every store (as before paging)
    int offset = 0;
};

/// The largest page of /stores.
inline constexpr int kMaxStoresPage = 500;

/// The StoreQuery of the request's parameters (by name; absent ones are nullopt); the error is a
/// sentence for a 400.
std::expected<StoreQuery, std::string> parseStoreQuery(const std::function<std::optional<std::string>(const char*)>& param,
                                                       const std::string& today);

/// GET /api/v1/stores with a query: {"from","to","previous":{…},"target_csat","total","offset","limit",
/// "stores":[{"id","name","region","devices","silent","store","current","previous","change",
/// "below_target"}]}: the stores of `scope` the query keeps, sorted (nulls last either way, then by
/// id) and paged on the server. "total" counts every kept store; "devices" and "silent" are as in
/// storesJson.
Result<nlohmann::json> storeTableJson(Storage& storage, const Scope& scope, const StoreQuery& query,
                                      std::int64_t nowMs, const DashboardConfig& config);

/// GET /api/v1/regions?from=&to=: {"from","to","previous","target_csat","regions":[{"id","name","stores",
/// "current","previous","change","below_target","stores_below_target"}]}, by id, with the stores without
/// a region last as {"id": null, "name": null} when there are any; only regions with stores of `scope`.
Result<nlohmann::json> regionsJson(Storage& storage, const Scope& scope, const Period& period,
                                   const DashboardConfig& config);

/// GET /api/v1/alerts: {"enabled","rules":[names],"alerts":[{"id","key","rule","store_id",
/// "device_id","day","raised_at","message","details","state","attempts","next_attempt_at",
/// "delivered_at","last_error"}]} newest first.
nlohmann::json alertsJson(const std::vector<Alert>& alerts, const AlertConfig& config);

} // namespace segue::hq
