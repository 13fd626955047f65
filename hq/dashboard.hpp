// The dashboard's read API: chain overview, one store's page, the fleet and the alert list.
// Every figure is computed here with core::summarize over SQL-summed Tallies, so the page only
// formats numbers and never computes one.
#pragma once
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hq/config.hpp"
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

/// GET /api/v1/overview:
/// {"from","to","previous":{"from","to"},"today","target_csat",
///  "total": stats, "previous_total": stats, "change": change, "days":[stats per date],
///  "stores":[{"store","current": stats,"previous": stats,"change": change,"below_target": bool}]}
/// where stats is core::toJson(DayStats) with "date" = "FROM/TO" for a range and change is
/// {"responses","csat","mean_stars"} (current − previous; null when either side has none).
Result<nlohmann::json> overviewJson(Storage& storage, const Period& period, const std::string& today,
                                    const DashboardConfig& config);

/// GET /api/v1/stores/{store}/summary: {"store","from","to","previous":{…},"target_csat","below_target",
/// "total","previous_total","change","days":[…],"terminals":{"devices","silent","clock_skewed",
/// "pending"} (terminals not revoked; pending is what they reported last),"devices":[fleet rows]}.
Result<nlohmann::json> storeSummaryJson(Storage& storage, const std::string& store, const Period& period,
                                        std::int64_t nowMs, const DashboardConfig& config);

/// One fleet row: deviceJson plus "silent_s" (since last seen, or since enrolment when never
/// seen; null for a revoked one), "silent" and "clock_skewed" flags.
nlohmann::json fleetDeviceJson(const DeviceInfo& d, std::int64_t nowMs, const DashboardConfig& config);

/// GET /api/v1/fleet: {"now","silent_after_hours","max_clock_offset_ms","devices":[…],
/// "summary":{"devices","silent","clock_skewed","revoked","pending"}}.
Result<nlohmann::json> fleetJson(Storage& storage, std::int64_t nowMs, const DashboardConfig& config);

/// GET /api/v1/stores: {"stores":[{"id","devices","silent"}]}.
Result<nlohmann::json> storesJson(Storage& storage, std::int64_t nowMs, const DashboardConfig& config);

/// GET /api/v1/alerts: {"enabled","rules":[names],"alerts":[{"id","key","rule","store_id",
/// "device_id","day","raised_at","message","details","state","attempts","next_attempt_at",
/// "delivered_at","last_error"}]} newest first.
nlohmann::json alertsJson(const std::vector<Alert>& alerts, const AlertConfig& config);

} // namespace segue::hq
