// Everything the customer and staff read, by key, from assets/translations/<lang>.json.
#pragma once
#include <expected>
#include <initializer_list>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace segue::app {

class Strings {
public:
    /// Loads translations/<lang>.json from the embedded assets, one file per language; the
    /// first language is the fallback for a key another language lacks.
    static std::expected<Strings, std::string> loadEmbedded(const std::vector<std::string>& languages);
    /// Same from (language, JSON text) pairs. Every value must be a string.
    static std::expected<Strings, std::string> fromJson(
        const std::vector<std::pair<std::string, std::string>>& languageAndJson);

    /// The text for `key` in `lang`, else in the fallback language, else the key itself
    /// (a visible sign of a missing string; the key test keeps that from shipping).
    std::string_view get(std::string_view lang, std::string_view key) const;
    bool has(std::string_view lang, std::string_view key) const;

    const std::vector<std::string>& languages() const { return m_languages; }
    std::vector<std::string> keys(std::string_view lang) const;
    /// Every value in every language (the font atlas is built from these).
    std::vector<std::string_view> allTexts() const;

    /// Records each key asked for, so a test can find keys no screen uses.
    void setTracking(bool on) const { m_tracking = on; }
    const std::set<std::string, std::less<>>& usedKeys() const { return m_used; }

private:
    using Table = std::map<std::string, std::string, std::less<>>;
    std::vector<std::string> m_languages;
    std::map<std::string, Table, std::less<>> m_tables;
    mutable bool m_tracking = false;
    mutable std::set<std::string, std::less<>> m_used;
};

/// Replaces each "{name}" in `pattern` with its value.
std::string formatText(std::string_view pattern,
                       std::initializer_list<std::pair<std::string_view, std::string>> values);

} // namespace segue::app
