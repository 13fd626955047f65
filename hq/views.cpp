#include "hq/views.hpp"

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

} // namespace segue::hq
