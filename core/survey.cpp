#include "core/survey.hpp"

#include <algorithm>
#include <cctype>
#include <regex>

#include <nlohmann/json.hpp>

namespace segue::core {

std::optional<int> segueIndex(std::string_view key) {
    for (int i = 0; i < kSegueCount; ++i)
        if (kSegueKeys[static_cast<std::size_t>(i)] == key) return i;
    return std::nullopt;
}

namespace {

using Problem = std::unexpected<SurveyProblem>;

Problem problem(std::string field, std::string message) { return Problem(SurveyProblem{std::move(field), std::move(message)}); }

bool plainTagId(const std::string& id) {
    if (id.empty() || id.size() > 64) return false;
    for (const unsigned char c : id)
        if (!std::isalnum(c) && c != '-' && c != '_' && c != '.') return false;
    return true;
}

/// A tag is a bare id, or {"id": ID, "labels": {LANGUAGE: TEXT, ...}}; `at` is its JSON path.
std::expected<void, SurveyProblem> parseTag(const nlohmann::json& t, const std::string& at, Survey& s) {
    const nlohmann::json* id = &t;
    if (t.is_object()) {
        if (!t.contains("id")) return problem(at + ".id", "survey: a tag object needs an \"id\"");
        id = &t["id"];
    }
    if (!id->is_string() || !plainTagId(id->get<std::string>()))
        return problem(t.is_object() ? at + ".id" : at, "survey: tag ids must be 1-64 of [A-Za-z0-9._-]");
    const std::string tagId = id->get<std::string>();
    if (std::find(s.tags.begin(), s.tags.end(), tagId) != s.tags.end())
        return problem(t.is_object() ? at + ".id" : at, "survey: tag listed twice: " + tagId);
    s.tags.push_back(tagId);
    if (!t.is_object() || !t.contains("labels")) return {};
    const auto& labels = t["labels"];
    if (!labels.is_object()) return problem(at + ".labels", "survey: \"labels\" of tag " + tagId + " must be an object");
    auto& out = s.tagLabels[tagId];
    for (const auto& [language, text] : labels.items()) {
        if (!text.is_string() || text.get<std::string>().empty() || text.get<std::string>().size() > 200)
            return problem(at + ".labels." + language,
                           "survey: label " + language + " of tag " + tagId + " must be 1-200 bytes of text");
        out[language] = text.get<std::string>();
    }
    return {};
}

/// Reads an integer setting in [min, max] when present.
std::optional<SurveyProblem> readSetting(const nlohmann::json& j, const char* key, int min, int max,
                                         std::optional<int>& out) {
    if (!j.contains(key)) return std::nullopt;
    if (!j[key].is_number_integer() || j[key].get<long long>() < min || j[key].get<long long>() > max)
        return SurveyProblem{"settings." + std::string(key), "survey: settings." + std::string(key) +
                                                                 " must be an integer " + std::to_string(min) + ".." +
                                                                 std::to_string(max)};
    out = j[key].get<int>();
    return std::nullopt;
}

std::optional<SurveyProblem> parseCallbackSettings(const nlohmann::json& j, SurveySettings& out) {
    std::optional<int> v;
    if (auto e = readSetting(j, "callback_max_stars", 0, 5, v)) return e;
    if (v) out.callbackMaxStars = *v;
    v.reset();
    if (auto e = readSetting(j, "contact_retention_days", 1, 3650, v)) return e;
    if (v) out.contactRetentionDays = *v;
    if (j.contains("callback_number_pattern")) {
        const auto& p = j["callback_number_pattern"];
        const std::string field = "settings.callback_number_pattern";
        if (!p.is_string() || p.get<std::string>().empty() || p.get<std::string>().size() > 200)
            return SurveyProblem{field, "survey: settings.callback_number_pattern must be a regular expression of 1-200 bytes"};
        try {
            std::regex re(p.get<std::string>(), std::regex::ECMAScript);
        } catch (const std::regex_error& e) {
            return SurveyProblem{field, "survey: settings.callback_number_pattern is not a valid regular expression (" +
                                            std::string(e.what()) + ")"};
        }
        out.callbackNumberPattern = p.get<std::string>();
    }
    return std::nullopt;
}

std::optional<SurveyProblem> parseSettings(const nlohmann::json& j, SurveySettings& out) {
    if (!j.is_object()) return SurveyProblem{"settings", "survey: \"settings\" must be an object"};
    for (const auto& [key, value] : j.items())
        if (key != "thank_you_s" && key != "inactivity_timeout_s" && key != "misuse_window_s" && key != "target_csat" &&
            key != "callback_max_stars" && key != "callback_number_pattern" && key != "contact_retention_days")
            return SurveyProblem{"settings." + key, "survey: unknown setting " + key};
    if (auto e = readSetting(j, "thank_you_s", 1, 60, out.thankYouS)) return e;
    if (auto e = readSetting(j, "inactivity_timeout_s", 5, 600, out.inactivityTimeoutS)) return e;
    if (auto e = readSetting(j, "misuse_window_s", 0, 60, out.misuseWindowS)) return e;
    if (j.contains("target_csat")) {
        if (!j["target_csat"].is_number() || !(j["target_csat"].get<double>() > 0) || j["target_csat"].get<double>() > 1)
            return SurveyProblem{"settings.target_csat", "survey: settings.target_csat must be a number in (0, 1]"};
        out.targetCsat = j["target_csat"].get<double>();
    }
    return parseCallbackSettings(j, out);
}

/// Parses "callback_consent": language -> non-empty text.
std::optional<SurveyProblem> parseConsent(const nlohmann::json& j, Survey& s) {
    if (!j.is_object())
        return SurveyProblem{"callback_consent", "survey: \"callback_consent\" must be an object language -> text"};
    for (const auto& [language, text] : j.items()) {
        if (!text.is_string() || text.get<std::string>().empty() || text.get<std::string>().size() > 600)
            return SurveyProblem{"callback_consent." + language,
                                 "survey: callback_consent." + language + " must be 1-600 bytes of text"};
        s.callbackConsent[language] = text.get<std::string>();
    }
    return std::nullopt;
}

/// "id", "version" and "languages".
std::expected<void, SurveyProblem> parseHead(const nlohmann::json& j, Survey& s) {
    if (!j.contains("id") || !j["id"].is_string() || j["id"].get<std::string>().empty())
        return problem("id", "survey: \"id\" must be a non-empty string");
    s.id = j["id"].get<std::string>();
    if (!j.contains("version") || !j["version"].is_number_integer() || j["version"].get<int>() < 1)
        return problem("version", "survey: \"version\" must be a positive integer");
    s.version = j["version"].get<int>();
    if (!j.contains("languages") || !j["languages"].is_array() || j["languages"].empty())
        return problem("languages", "survey: \"languages\" must be a non-empty array");
    for (std::size_t i = 0; i < j["languages"].size(); ++i) {
        const auto& l = j["languages"][i];
        if (!l.is_string()) return problem("languages[" + std::to_string(i) + "]", "survey: \"languages\" must hold strings");
        s.languages.push_back(l.get<std::string>());
    }
    return {};
}

/// "items", "reasons_max_stars" and "tags".
std::expected<void, SurveyProblem> parseQuestions(const nlohmann::json& j, Survey& s) {
    if (!j.contains("items") || !j["items"].is_array() || j["items"].empty())
        return problem("items", "survey: \"items\" must be a non-empty array of SEGUE keys");
    for (std::size_t i = 0; i < j["items"].size(); ++i) {
        const auto& it = j["items"][i];
        const std::string at = "items[" + std::to_string(i) + "]";
        const auto idx = it.is_string() ? segueIndex(it.get<std::string>()) : std::nullopt;
        if (!idx) return problem(at, "survey: unknown SEGUE item " + it.dump());
        for (int seen : s.items)
            if (seen == *idx) return problem(at, "survey: item listed twice " + it.dump());
        s.items.push_back(*idx);
    }
    if (j.contains("reasons_max_stars")) {
        if (!j["reasons_max_stars"].is_number_integer())
            return problem("reasons_max_stars", "survey: \"reasons_max_stars\" must be an integer 0..5");
        s.reasonsMaxStars = j["reasons_max_stars"].get<int>();
        if (s.reasonsMaxStars < 0 || s.reasonsMaxStars > 5)
            return problem("reasons_max_stars", "survey: \"reasons_max_stars\" must be an integer 0..5");
    }
    if (j.contains("tags")) {
        if (!j["tags"].is_array() || j["tags"].size() > 6)
            return problem("tags", "survey: \"tags\" must be an array of at most 6 tag ids");
        for (std::size_t i = 0; i < j["tags"].size(); ++i)
            if (auto tag = parseTag(j["tags"][i], "tags[" + std::to_string(i) + "]", s); !tag) return tag;
    }
    return {};
}

} // namespace

std::optional<std::string> tagWithoutLabel(const Survey& s, std::string_view language) {
    for (const auto& tag : s.tags) {
        const auto it = s.tagLabels.find(tag);
        if (it == s.tagLabels.end() || !it->second.contains(std::string(language))) return tag;
    }
    return std::nullopt;
}

std::optional<SurveyProblem> publishableProblem(const Survey& s) {
    for (const auto& language : s.languages)
        if (const auto tag = tagWithoutLabel(s, language)) {
            const auto at = std::find(s.tags.begin(), s.tags.end(), *tag) - s.tags.begin();
            return SurveyProblem{"tags[" + std::to_string(at) + "].labels." + language,
                                 "survey: tag " + *tag + " has no label in " + language};
        }
    if (!s.callbackConsent.empty())
        for (const auto& language : s.languages)
            if (!s.callbackConsent.contains(language))
                return SurveyProblem{"callback_consent." + language, "survey: callback_consent has no text in " + language};
    return std::nullopt;
}

std::optional<std::string> publishableError(const Survey& s) {
    if (auto p = publishableProblem(s)) return std::move(p->message);
    return std::nullopt;
}

bool callbackNumberMatches(const SurveySettings& settings, std::string_view digits) {
    if (digits.empty() || digits.size() > kCallbackMaxDigits) return false;
    for (const char c : digits)
        if (c < '0' || c > '9') return false;
    try {
        const std::regex re(settings.callbackNumberPattern, std::regex::ECMAScript);
        return std::regex_match(digits.begin(), digits.end(), re);
    } catch (const std::regex_error&) {
        return false;   // parseSurvey refuses such a pattern; a hand-built one matches nothing
    }
}

std::expected<Survey, SurveyProblem> checkSurvey(std::string_view text) {
    const auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) return problem("", "survey: not a JSON object");
    Survey s;
    if (auto head = parseHead(j, s); !head) return std::unexpected(std::move(head.error()));
    if (auto questions = parseQuestions(j, s); !questions) return std::unexpected(std::move(questions.error()));
    if (j.contains("settings")) {
        if (auto e = parseSettings(j["settings"], s.settings)) return std::unexpected(std::move(*e));
    }
    if (j.contains("callback_consent")) {
        if (auto e = parseConsent(j["callback_consent"], s)) return std::unexpected(std::move(*e));
    }
    return s;
}

std::expected<Survey, std::string> parseSurvey(std::string_view text) {
    auto s = checkSurvey(text);
    if (!s) return std::unexpected(std::move(s.error().message));
    return std::move(*s);
}

} // namespace segue::core
