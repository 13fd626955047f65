// Scoring: one implementation of the day's figures, used by the staff screen, the `stats` verb
// and HQ's daily API. Storage layers fill a Tally with SQL sums; summarize() turns it into
// the figures, so every front end divides the same way.
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "core/response.hpp"

namespace segue::core {

/// A counted response is "satisfied" at 4 or 5 stars; csat is their share. The one definition:
/// Tally::add uses isSatisfied(), SQL that sums it uses satisfiedSql() (tests/store checks the
/// terminal's migrations against it).
inline constexpr int kSatisfiedMinStars = 4;
constexpr bool isSatisfied(int stars) { return stars >= kSatisfiedMinStars; }
/// The rule as an SQL condition on a stars column: satisfiedSql("NEW.stars") is "NEW.stars >= 4".
std::string satisfiedSql(std::string_view starsColumn);

/// Additive raw counts over a set of responses. `counted` responses are those not flagged
/// misuse (complete and partial alike); every score is over counted responses only.
struct Tally {
    std::int64_t counted = 0;
    std::int64_t starSum = 0;
    std::int64_t satisfied = 0;                         ///< counted and isSatisfied()
    std::array<std::int64_t, kSegueCount> segueSum{};   ///< over counted, answered items
    std::array<std::int64_t, kSegueCount> segueCount{};
    std::int64_t partial = 0;                           ///< counted and not complete
    std::int64_t misuse = 0;                            ///< flagged misuse (not counted)
    std::array<std::int64_t, 24> byHour{};              ///< counted, by store-local hour
    std::map<std::string, std::int64_t> tags;           ///< reason tags of counted responses

    void add(const Response& r);
    void merge(const Tally& other);
    bool operator==(const Tally&) const = default;
};

/// The figures for a day (or a range), as the staff screen, `stats --json` and HQ show them.
struct DayStats {
    std::string date;
    std::int64_t responses = 0;                         ///< = Tally::counted
    std::optional<double> meanStars;
    std::optional<double> csat;                         ///< fraction 0..1 of 4–5 stars
    std::array<std::optional<double>, kSegueCount> segue{};
    std::int64_t partial = 0;
    std::int64_t misuse = 0;
    std::int64_t pendingSync = 0;
    std::array<std::int64_t, 24> byHour{};
    std::map<std::string, std::int64_t> tags;
};

DayStats summarize(const Tally& t, std::string date, std::int64_t pendingSync = 0);

/// The `stats --json` object: {"date","responses","mean_stars","csat","segue":{...},
/// "partial","misuse","pending_sync","by_hour":[24],"tags":{...}}; null for empty means.
nlohmann::json toJson(const DayStats& s);

/// True when csat meets the target (e.g. 0.9); false when there is nothing to score.
bool meetsTarget(const DayStats& s, double targetCsat);

} // namespace segue::core
