#include "hq/views.hpp"

#include <limits>

#include "core/time.hpp"

namespace segue::hq {
namespace {

template <typename T>
nlohmann::json orNull(const std::optional<T>& v) {
    return v ? nlohmann::json(*v) : nlohmann::json();
}

} // namespace

nlohmann::json deviceJson(const DeviceInfo& d) {
    return {
        {"id", d.id},
        {"store_id", d.storeId},
        {"name", d.name},
        {"last_seen", d.lastSeenMs ? nlohmann::json(core::formatUtc(*d.lastSeenMs)) : nlohmann::json()},
        {"last_pending", orNull(d.lastPending)},
        {"app_version", orNull(d.appVersion)},
        {"clock_offset_ms", orNull(d.clockOffsetMs)},
        {"revoked", d.revoked},
        {"rejected", d.rejected},
        {"created_at", core::formatUtc(d.createdAtMs)},
        {"applied_survey", d.survey ? nlohmann::json{{"id", d.survey->surveyId}, {"version", d.survey->surveyVersion}}
                                    : nlohmann::json()},
        {"config_error", d.survey ? orNull(d.survey->configError) : nlohmann::json()},
        {"config_reported_at", d.survey ? nlohmann::json(core::formatUtc(d.survey->reportedAtMs)) : nlohmann::json()},
    };
}

nlohmann::json dailyJson(const std::string& store, const std::string& from, const std::string& to,
                         const std::vector<std::pair<std::string, core::Tally>>& tallies, std::int64_t pending) {
    nlohmann::json days = nlohmann::json::array();
    const auto first = core::daysFromIsoDate(from);
    const auto last = core::daysFromIsoDate(to);
    auto next = tallies.begin();
    for (auto day = first.value_or(0); first && last && day <= *last; ++day) {
        const std::string date = core::isoDateFromDays(day);
        core::Tally t;
        while (next != tallies.end() && next->first < date) ++next;
        if (next != tallies.end() && next->first == date) t = next->second;
        days.push_back(core::toJson(core::summarize(t, date, pending)));
    }
    return {{"store", store}, {"from", from}, {"to", to}, {"days", std::move(days)}};
}

nlohmann::json userJson(const User& u) {
    return {{"id", u.id},
            {"email", u.email},
            {"role", u.role},
            {"region", orNull(u.region)},
            {"store", orNull(u.store)},
            {"disabled", u.disabled},
            {"created_at", core::formatUtc(u.createdAtMs)}};
}

nlohmann::json auditJson(const std::vector<AuditEntry>& entries) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& e : entries) {
        auto details = nlohmann::json::parse(e.details, nullptr, false);
        list.push_back({{"id", e.id},
                        {"at", core::formatUtc(e.atMs)},
                        {"actor", e.actor},
                        {"action", e.action},
                        {"subject", e.subject},
                        {"address", e.address},
                        {"details", details.is_discarded() ? nlohmann::json(e.details) : details}});
    }
    return {{"entries", std::move(list)}};
}

std::expected<std::pair<std::int64_t, std::int64_t>, std::string> auditRange(const std::optional<std::string>& from,
                                                                             const std::optional<std::string>& to) {
    constexpr std::int64_t kDayMs = 86'400'000;
    std::pair<std::int64_t, std::int64_t> out{0, std::numeric_limits<std::int64_t>::max()};
    if (from) {
        const auto d = core::daysFromIsoDate(*from);
        if (!d) return std::unexpected("from must be a date YYYY-MM-DD");
        out.first = *d * kDayMs;
    }
    if (to) {
        const auto d = core::daysFromIsoDate(*to);
        if (!d) return std::unexpected("to must be a date YYYY-MM-DD");
        out.second = (*d + 1) * kDayMs - 1;
    }
    if (out.first > out.second) return std::unexpected("from is after to");
    return out;
}

} // namespace segue::hq
