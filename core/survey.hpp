// The survey definition: which SEGUE items are asked, which reason tags exist. Data, not code:
// the default lives in assets/survey/default.json, the words in assets/translations.
#pragma once
#include <array>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace segue::core {

/// The five SEGUE dimensions, in the order they are asked and stored.
inline constexpr std::array<std::string_view, 5> kSegueKeys = {
    "satisfactory", "efficient", "genuine", "understanding", "effective"};
inline constexpr int kSegueCount = 5;

/// Index of a SEGUE key, or nullopt for an unknown key.
std::optional<int> segueIndex(std::string_view key);

struct Survey {
    std::string id;                      ///< e.g. "segue-default"
    int version = 1;
    std::vector<std::string> languages;  ///< e.g. {"zh-CN", "en"}; first is the fallback
    std::vector<int> items;              ///< indices into kSegueKeys, in the order asked
    int reasonsMaxStars = 3;             ///< the reasons screen follows ratings of 1..this
    std::vector<std::string> tags;       ///< reason tag ids (max 6 shown)
};

/// Parses and validates a survey definition (JSON text). The error names the bad field.
std::expected<Survey, std::string> parseSurvey(std::string_view json);

} // namespace segue::core
