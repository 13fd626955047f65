#include "core/response_fields.hpp"

#include <nlohmann/json.hpp>

namespace segue::core {

std::optional<std::size_t> responseFieldIndex(std::string_view key) {
    for (std::size_t i = 0; i < kResponseFields.size(); ++i)
        if (kResponseFields[i].key == key) return i;
    return std::nullopt;
}

namespace {

/// The column names of one field: one, none (the terminal's tags) or one per SEGUE item.
void appendColumns(std::vector<std::string>& out, const ResponseField& f, std::string_view name) {
    if (name.empty()) return;
    if (f.type != FieldType::Segue) {
        out.emplace_back(name);
        return;
    }
    for (const auto item : kSegueKeys) out.push_back(std::string(name) + "_" + std::string(item));
}

} // namespace

std::vector<std::string> csvColumns() {
    std::vector<std::string> out;
    for (const auto& f : kResponseFields) appendColumns(out, f, f.key);
    return out;
}

std::vector<std::string> sqlColumns(SqlTable table) {
    std::vector<std::string> out;
    for (const auto& f : kResponseFields) appendColumns(out, f, table == SqlTable::Kiosk ? f.kioskColumn : f.hqColumn);
    return out;
}

std::string sqlColumnList(SqlTable table, std::string_view prefix) {
    std::string out;
    for (const auto& c : sqlColumns(table)) {
        if (!out.empty()) out += ", ";
        out += prefix;
        out += c;
    }
    return out;
}

std::string hqColumnDefinitions(bool postgresql) {
    std::string out;
    for (const auto& f : kResponseFields) {
        std::vector<std::string> names;
        appendColumns(names, f, f.hqColumn);
        for (const auto& name : names) {
            if (!out.empty()) out += ", ";
            out += name + " " + std::string(postgresql ? f.hqType.postgresql : f.hqType.sqlite);
        }
    }
    return out;
}

std::string tagsJson(const Response& r) { return nlohmann::json(r.tags).dump(); }

std::optional<std::vector<std::string>> tagsFromJson(std::string_view text) {
    const auto tags = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
    if (!tags.is_array()) return std::nullopt;
    std::vector<std::string> out;
    out.reserve(tags.size());
    for (const auto& t : tags) {
        if (!t.is_string()) return std::nullopt;
        out.push_back(t.get<std::string>());
    }
    return out;
}

} // namespace segue::core
