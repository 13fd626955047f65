#include "app/strings.hpp"

#include <nlohmann/json.hpp>

#include "assets/assets.hpp"

namespace segue::app {

std::expected<Strings, std::string> Strings::fromJson(
    const std::vector<std::pair<std::string, std::string>>& languageAndJson) {
    if (languageAndJson.empty()) return std::unexpected("no translation files");
    Strings s;
    for (const auto& [lang, text] : languageAndJson) {
        const auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
        if (j.is_discarded() || !j.is_object())
            return std::unexpected("translations/" + lang + ".json: not a JSON object");
        Table table;
        for (const auto& [key, value] : j.items()) {
            if (!value.is_string())
                return std::unexpected("translations/" + lang + ".json: \"" + key + "\" is not a string");
            table.emplace(key, value.get<std::string>());
        }
        s.m_languages.push_back(lang);
        s.m_tables.emplace(lang, std::move(table));
    }
    return s;
}

std::expected<Strings, std::string> Strings::loadEmbedded(const std::vector<std::string>& languages) {
    std::vector<std::pair<std::string, std::string>> files;
    for (const auto& lang : languages) {
        const auto text = assets::find("translations/" + lang + ".json");
        if (!text) return std::unexpected("no embedded translations/" + lang + ".json");
        files.emplace_back(lang, std::string(*text));
    }
    return fromJson(files);
}

std::string_view Strings::get(std::string_view lang, std::string_view key) const {
    if (m_tracking) m_used.emplace(key);
    if (const auto t = m_tables.find(lang); t != m_tables.end())
        if (const auto v = t->second.find(key); v != t->second.end()) return v->second;
    if (!m_languages.empty()) {
        const auto& fallback = m_tables.find(m_languages.front())->second;
        if (const auto v = fallback.find(key); v != fallback.end()) return v->second;
    }
    return key;
}

bool Strings::has(std::string_view lang, std::string_view key) const {
    const auto t = m_tables.find(lang);
    return t != m_tables.end() && t->second.find(key) != t->second.end();
}

std::vector<std::string> Strings::keys(std::string_view lang) const {
    std::vector<std::string> out;
    if (const auto t = m_tables.find(lang); t != m_tables.end())
        for (const auto& kv : t->second) out.push_back(kv.first);
    return out;
}

std::vector<std::string_view> Strings::allTexts() const {
    std::vector<std::string_view> out;
    for (const auto& [lang, table] : m_tables)
        for (const auto& kv : table) out.push_back(kv.second);
    return out;
}

std::string formatText(std::string_view pattern,
                       std::initializer_list<std::pair<std::string_view, std::string>> values) {
    std::string out(pattern);
    for (const auto& [name, value] : values) {
        const std::string token = "{" + std::string(name) + "}";
        for (std::size_t pos = out.find(token); pos != std::string::npos;
             pos = out.find(token, pos + value.size()))
            out.replace(pos, token.size(), value);
    }
    return out;
}

} // namespace segue::app
