#include "core/scoring.hpp"

#include <nlohmann/json.hpp>

namespace segue::core {

std::string satisfiedSql(std::string_view starsColumn) {
    return std::string(starsColumn) + " >= " + std::to_string(kSatisfiedMinStars);
}

void Tally::add(const Response& r) {
    if (r.misuse) {
        ++misuse;
        return;
    }
    ++counted;
    starSum += r.stars;
    if (isSatisfied(r.stars)) ++satisfied;
    if (!r.complete) ++partial;
    for (std::size_t i = 0; i < r.segue.size(); ++i) {
        if (!r.segue[i]) continue;
        segueSum[i] += *r.segue[i];
        ++segueCount[i];
    }
    if (r.localHour >= 0 && r.localHour < 24) ++byHour[static_cast<std::size_t>(r.localHour)];
    for (const auto& t : r.tags) ++tags[t];
}

void Tally::merge(const Tally& o) {
    counted += o.counted;
    starSum += o.starSum;
    satisfied += o.satisfied;
    partial += o.partial;
    misuse += o.misuse;
    for (std::size_t i = 0; i < segueSum.size(); ++i) {
        segueSum[i] += o.segueSum[i];
        segueCount[i] += o.segueCount[i];
    }
    for (std::size_t h = 0; h < byHour.size(); ++h) byHour[h] += o.byHour[h];
    for (const auto& [tag, n] : o.tags) tags[tag] += n;
}

DayStats summarize(const Tally& t, std::string date, std::int64_t pendingSync) {
    DayStats s;
    s.date = std::move(date);
    s.responses = t.counted;
    if (t.counted > 0) {
        s.meanStars = static_cast<double>(t.starSum) / static_cast<double>(t.counted);
        s.csat = static_cast<double>(t.satisfied) / static_cast<double>(t.counted);
    }
    for (std::size_t i = 0; i < s.segue.size(); ++i)
        if (t.segueCount[i] > 0)
            s.segue[i] = static_cast<double>(t.segueSum[i]) / static_cast<double>(t.segueCount[i]);
    s.partial = t.partial;
    s.misuse = t.misuse;
    s.pendingSync = pendingSync;
    s.byHour = t.byHour;
    s.tags = t.tags;
    return s;
}

nlohmann::json toJson(const DayStats& s) {
    auto opt = [](const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(); };
    nlohmann::json segue = nlohmann::json::object();
    for (std::size_t i = 0; i < s.segue.size(); ++i) segue[std::string(kSegueKeys[i])] = opt(s.segue[i]);
    nlohmann::json tags = nlohmann::json::object();
    for (const auto& [tag, n] : s.tags) tags[tag] = n;
    return {
        {"date", s.date},
        {"responses", s.responses},
        {"mean_stars", opt(s.meanStars)},
        {"csat", opt(s.csat)},
        {"segue", segue},
        {"partial", s.partial},
        {"misuse", s.misuse},
        {"pending_sync", s.pendingSync},
        {"by_hour", s.byHour},
        {"tags", tags},
    };
}

bool meetsTarget(const DayStats& s, double targetCsat) {
    return s.csat && *s.csat + 1e-12 >= targetCsat;
}

} // namespace segue::core
