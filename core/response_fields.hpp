// The response record's fields, declared once: JSON key, CSV column, SQL column and type, and
// the member of core::Response that holds each. The JSON writer and reader, the batch reader's
// fast path, CSV and the terminal's store iterate this table; HQ's storage can (sqlColumns,
// bindSqlValues, readSqlValues). A new field is one line here plus a migration per schema.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/response.hpp"

namespace segue::core {

enum class FieldType {
    Text,        ///< std::string
    Int,         ///< int
    Int64,       ///< std::int64_t
    Bool,        ///< bool: JSON true/false, CSV "true"/"false", SQL 0/1 (PostgreSQL boolean)
    Timestamp,   ///< std::int64_t ms since the epoch, UTC: RFC 3339 text in JSON and CSV, integer in SQL
    Segue,       ///< Response::segue: a JSON object {item: 1..5|null}; one CSV and SQL column per item
    Tags,        ///< Response::tags: a JSON array; CSV joined by '|'; HQ a JSON text column; the
                 ///< terminal keeps them in the table response_tags
};

/// A column's type and constraints in each SQL dialect, as HQ's schema declares it.
struct SqlTypes {
    std::string_view sqlite;
    std::string_view postgresql;
};

struct ResponseField {
    std::string_view key;          ///< JSON key and CSV column (Segue: a column "segue_<item>" per item)
    FieldType type;
    bool required;                 ///< fromJson refuses a record without it
    std::string_view kioskColumn;  ///< the terminal's responses column; empty: not a column there
    std::string_view hqColumn;     ///< HQ's responses column (Segue: "<it>_<item>" per item)
    SqlTypes hqType;               ///< HQ's column type (Segue: each item column's)
    std::string Response::* text = nullptr;    ///< Text
    int Response::* small = nullptr;           ///< Int
    std::int64_t Response::* large = nullptr;  ///< Int64, Timestamp
    bool Response::* flag = nullptr;           ///< Bool
};

namespace field_detail {
constexpr SqlTypes kText{"TEXT NOT NULL", "text NOT NULL"};
constexpr SqlTypes kInt{"INTEGER NOT NULL", "integer NOT NULL"};
constexpr SqlTypes kSmall{"INTEGER NOT NULL", "smallint NOT NULL"};
constexpr SqlTypes kBig{"INTEGER NOT NULL", "bigint NOT NULL"};
constexpr SqlTypes kBool{"INTEGER NOT NULL", "boolean NOT NULL"};
constexpr ResponseField text(std::string_view key, std::string Response::* m, SqlTypes t = kText) {
    return {key, FieldType::Text, true, key, key, t, m};
}
constexpr ResponseField small(std::string_view key, int Response::* m, SqlTypes t) {
    return {key, FieldType::Int, true, key, key, t, nullptr, m};
}
constexpr ResponseField flag(std::string_view key, bool Response::* m, bool required) {
    return {key, FieldType::Bool, required, key, key, kBool, nullptr, nullptr, nullptr, m};
}
} // namespace field_detail

/// The fields in record order: the order of fromJson's checks, of the CSV columns and of
/// sqlColumns(). (JSON objects are written with their keys in byte order, as nlohmann dumps.)
inline constexpr std::array<ResponseField, 18> kResponseFields = [] {
    using namespace field_detail;
    using R = Response;
    return std::array<ResponseField, 18>{{
        text("id", &R::id, {"TEXT PRIMARY KEY", "uuid PRIMARY KEY"}),
        text("store_id", &R::storeId),
        text("device_id", &R::deviceId),
        text("survey_id", &R::surveyId),
        small("survey_version", &R::surveyVersion, kInt),
        text("language", &R::language),
        {"created_at", FieldType::Timestamp, true, "created_at_ms", "created_at", kBig, nullptr, nullptr, &R::createdAtMs},
        text("local_date", &R::localDate, {"TEXT NOT NULL", "text COLLATE \"C\" NOT NULL"}),
        small("local_hour", &R::localHour, kSmall),
        small("utc_offset_min", &R::utcOffsetMin, kSmall),
        small("stars", &R::stars, kSmall),
        {"segue", FieldType::Segue, true, "segue", "segue", {"INTEGER", "smallint"}},
        {"tags", FieldType::Tags, true, "", "tags", {"TEXT NOT NULL", "jsonb NOT NULL"}},
        flag("complete", &R::complete, true),
        flag("misuse", &R::misuse, true),
        flag("synthetic", &R::synthetic, false),
        {"duration_ms", FieldType::Int64, false, "duration_ms", "duration_ms", kBig, nullptr, nullptr, &R::durationMs},
        // Added after the first schemas (issue 17): the terminal's column comes with its migration
        // 0008, HQ's with its migration 0011; the default lets both migrations add it to old rows.
        {"callback_requested", FieldType::Bool, false, "callback_requested", "callback_requested",
         {"INTEGER NOT NULL DEFAULT 0", "boolean NOT NULL DEFAULT false"}, nullptr, nullptr, nullptr, &R::callbackRequested},
    }};
}();

/// Index of a field in kResponseFields by JSON key, or nullopt.
std::optional<std::size_t> responseFieldIndex(std::string_view key);

/// The CSV columns of a response, in kResponseFields order (SEGUE items expanded).
std::vector<std::string> csvColumns();

/// Which responses table: the terminal's (tags in response_tags) or HQ's (tags as JSON text).
enum class SqlTable { Kiosk, Hq };

/// A field's column name in `table`; empty when it is no column there.
constexpr std::string_view sqlColumnName(const ResponseField& f, SqlTable table) {
    return table == SqlTable::Kiosk ? f.kioskColumn : f.hqColumn;
}

/// The SQL columns of a response in `table`, in the order bindSqlValues and readSqlValues use.
std::vector<std::string> sqlColumns(SqlTable table);
/// sqlColumns(table) joined by ", ", each prefixed with `prefix` (e.g. "r.").
std::string sqlColumnList(SqlTable table, std::string_view prefix = {});
/// `CREATE TABLE` column definitions of HQ's responses table for a dialect, e.g.
/// "id TEXT PRIMARY KEY, store_id TEXT NOT NULL, …" (received_at and batch_id are HQ's own).
std::string hqColumnDefinitions(bool postgresql);

/// The tags as a compact JSON array (HQ's tags column).
std::string tagsJson(const Response& r);
/// Parses tagsJson()'s text; nullopt when it is not an array of strings.
std::optional<std::vector<std::string>> tagsFromJson(std::string_view text);

/// Calls bind(value) once per column of sqlColumns(table), in that order, with value a
/// std::string_view (text), std::int64_t (integers and timestamps), bool,
/// std::optional<std::int64_t> (a SEGUE item; nullopt is NULL) or, for HQ's tags column,
/// const std::vector<std::string>& (the binder stores tagsJson() in its dialect's type).
template <typename Bind>
void bindSqlValues(const Response& r, SqlTable table, Bind&& bind) {
    for (const ResponseField& f : kResponseFields) {
        if (f.type != FieldType::Tags && sqlColumnName(f, table).empty()) continue;
        switch (f.type) {
        case FieldType::Text: bind(std::string_view(r.*f.text)); break;
        case FieldType::Int: bind(std::int64_t{r.*f.small}); break;
        case FieldType::Int64:
        case FieldType::Timestamp: bind(std::int64_t{r.*f.large}); break;
        case FieldType::Bool: bind(bool{r.*f.flag}); break;
        case FieldType::Segue:
            for (const auto& item : r.segue)
                bind(item ? std::optional<std::int64_t>(*item) : std::optional<std::int64_t>());
            break;
        case FieldType::Tags:
            if (table == SqlTable::Hq) bind(static_cast<const std::vector<std::string>&>(r.tags));
            break;
        }
    }
}

/// Fills `r` from the columns of sqlColumns(table), in that order, 0-based: calls
/// read(column, out) with out a std::string&, std::int64_t&, bool&, std::optional<std::int64_t>&
/// (a SEGUE item) or, for HQ's tags column, std::vector<std::string>&; read returns false when
/// the value cannot be read, and so does this (r then holds what was read so far).
template <typename Read>
bool readSqlValues(Response& r, SqlTable table, Read&& read) {
    int column = 0;
    for (const ResponseField& f : kResponseFields) {
        if (f.type != FieldType::Tags && sqlColumnName(f, table).empty()) continue;
        switch (f.type) {
        case FieldType::Text:
            if (!read(column++, r.*f.text)) return false;
            break;
        case FieldType::Int: {
            std::int64_t v = 0;
            if (!read(column++, v)) return false;
            r.*f.small = static_cast<int>(v);
            break;
        }
        case FieldType::Int64:
        case FieldType::Timestamp:
            if (!read(column++, r.*f.large)) return false;
            break;
        case FieldType::Bool:
            if (!read(column++, r.*f.flag)) return false;
            break;
        case FieldType::Segue:
            for (auto& item : r.segue) {
                std::optional<std::int64_t> v;
                if (!read(column++, v)) return false;
                item = v ? std::optional<int>(static_cast<int>(*v)) : std::nullopt;
            }
            break;
        case FieldType::Tags:
            if (table == SqlTable::Hq && !read(column++, r.tags)) return false;
            break;
        }
    }
    return true;
}

} // namespace segue::core
