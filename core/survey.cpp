#include "core/survey.hpp"

#include <nlohmann/json.hpp>

namespace segue::core {

std::optional<int> segueIndex(std::string_view key) {
    for (int i = 0; i < kSegueCount; ++i)
        if (kSegueKeys[static_cast<std::size_t>(i)] == key) return i;
    return std::nullopt;
}

std::expected<Survey, std::string> parseSurvey(std::string_view text) {
    const auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) return std::unexpected("survey: not a JSON object");
    Survey s;
    if (!j.contains("id") || !j["id"].is_string() || j["id"].get<std::string>().empty())
        return std::unexpected("survey: \"id\" must be a non-empty string");
    s.id = j["id"].get<std::string>();
    if (!j.contains("version") || !j["version"].is_number_integer() || j["version"].get<int>() < 1)
        return std::unexpected("survey: \"version\" must be a positive integer");
    s.version = j["version"].get<int>();
    if (!j.contains("languages") || !j["languages"].is_array() || j["languages"].empty())
        return std::unexpected("survey: \"languages\" must be a non-empty array");
    for (const auto& l : j["languages"]) {
        if (!l.is_string()) return std::unexpected("survey: \"languages\" must hold strings");
        s.languages.push_back(l.get<std::string>());
    }
    if (!j.contains("items") || !j["items"].is_array() || j["items"].empty())
        return std::unexpected("survey: \"items\" must be a non-empty array of SEGUE keys");
    for (const auto& it : j["items"]) {
        const auto idx = it.is_string() ? segueIndex(it.get<std::string>()) : std::nullopt;
        if (!idx) return std::unexpected("survey: unknown SEGUE item " + it.dump());
        for (int seen : s.items)
            if (seen == *idx) return std::unexpected("survey: item listed twice " + it.dump());
        s.items.push_back(*idx);
    }
    if (j.contains("reasons_max_stars")) {
        if (!j["reasons_max_stars"].is_number_integer())
            return std::unexpected("survey: \"reasons_max_stars\" must be an integer 0..5");
        s.reasonsMaxStars = j["reasons_max_stars"].get<int>();
        if (s.reasonsMaxStars < 0 || s.reasonsMaxStars > 5)
            return std::unexpected("survey: \"reasons_max_stars\" must be an integer 0..5");
    }
    if (j.contains("tags")) {
        if (!j["tags"].is_array() || j["tags"].size() > 6)
            return std::unexpected("survey: \"tags\" must be an array of at most 6 tag ids");
        for (const auto& t : j["tags"]) {
            if (!t.is_string() || t.get<std::string>().empty())
                return std::unexpected("survey: tag ids must be non-empty strings");
            s.tags.push_back(t.get<std::string>());
        }
    }
    return s;
}

} // namespace segue::core
