#include "hq/sql_response.hpp"

#include <cassert>

#include "core/response_fields.hpp"

namespace segue::hq {

namespace {

/// A column's SqlType from the first word of its PostgreSQL type in the field table.
SqlType sqlTypeOf(std::string_view postgresqlType) {
    const auto word = postgresqlType.substr(0, postgresqlType.find(' '));
    if (word == "uuid") return SqlType::Uuid;
    if (word == "integer") return SqlType::Integer;
    if (word == "smallint") return SqlType::SmallInt;
    if (word == "bigint") return SqlType::BigInt;
    if (word == "boolean") return SqlType::Boolean;
    if (word == "jsonb") return SqlType::Json;
    assert(word == "text" && "a PostgreSQL type in core::kResponseFields that SqlType does not name");
    return SqlType::Text;
}

/// The column names, kept alive for responseColumns()' string_views.
const std::vector<std::string>& columnNames() {
    static const std::vector<std::string> names = core::sqlColumns(core::SqlTable::Hq);
    return names;
}

/// Appends one bindSqlValues() value as an SqlValue.
struct Binder {
    SqlParams& out;
    void operator()(std::string_view v) const { out.emplace_back(std::string(v)); }
    void operator()(std::int64_t v) const { out.emplace_back(v); }
    void operator()(bool v) const { out.emplace_back(v); }
    void operator()(const std::optional<std::int64_t>& v) const { out.push_back(sqlOptional(v)); }
    void operator()(const std::vector<std::string>&) const { out.emplace_back(core::tagsJson(r)); }
    const core::Response& r;
};

/// Reads one readSqlValues() column from the current row.
struct Reader {
    const SqlRows& s;
    bool operator()(int c, std::string& v) const {
        v = s.text(c);
        return true;
    }
    bool operator()(int c, std::int64_t& v) const {
        v = s.integer(c);
        return true;
    }
    bool operator()(int c, bool& v) const {
        v = s.flag(c);
        return true;
    }
    bool operator()(int c, std::optional<std::int64_t>& v) const {
        v = s.optInteger(c);
        return true;
    }
    bool operator()(int c, std::vector<std::string>& v) const {
        auto tags = core::tagsFromJson(s.text(c));
        if (!tags) return false;
        v = std::move(*tags);
        return true;
    }
};

} // namespace

const std::vector<SqlColumn>& responseColumns() {
    static const std::vector<SqlColumn> columns = [] {
        std::vector<SqlColumn> out;
        std::size_t i = 0;
        for (const auto& f : core::kResponseFields) {
            if (f.hqColumn.empty()) continue;   // not a column of HQ's table (yet)
            const std::size_t n = f.type == core::FieldType::Segue ? core::kSegueKeys.size() : 1;
            for (std::size_t k = 0; k < n; ++k, ++i) out.push_back({columnNames().at(i), sqlTypeOf(f.hqType.postgresql)});
        }
        assert(out.size() == columnNames().size());
        return out;
    }();
    return columns;
}

const std::vector<SqlColumn>& responseBatchColumns() {
    static const std::vector<SqlColumn> columns = {{"received_at", SqlType::BigInt}, {"batch_id", SqlType::Uuid}};
    return columns;
}

const std::string& responseSelectList() {
    static const std::string list = core::sqlColumnList(core::SqlTable::Hq) + ", received_at";
    return list;
}

SqlParams responseValues(const core::Response& r) {
    SqlParams v;
    v.reserve(columnNames().size());
    core::bindSqlValues(r, core::SqlTable::Hq, Binder{v, r});
    return v;
}

std::optional<StoredResponse> readResponse(const SqlRows& s) {
    StoredResponse out;
    if (!core::readSqlValues(out.response, core::SqlTable::Hq, Reader{s})) return std::nullopt;
    out.receivedAtMs = s.integer(static_cast<int>(columnNames().size()));
    return out;
}

} // namespace segue::hq
