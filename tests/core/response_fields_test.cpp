// The field table (core/response_fields.hpp): the columns it gives, and a record through its
// SQL visitors unchanged.
#include <catch2/catch.hpp>

#include <variant>

#include "core/response_fields.hpp"
#include "core/scoring.hpp"
#include "test_support.hpp"

using namespace segue::core;

TEST_CASE("fields: the CSV and SQL column lists are today's") {
    const std::vector<std::string> csv = {
        "id", "store_id", "device_id", "survey_id", "survey_version", "language", "created_at", "local_date",
        "local_hour", "utc_offset_min", "stars", "segue_satisfactory", "segue_efficient", "segue_genuine",
        "segue_understanding", "segue_effective", "tags", "complete", "misuse", "synthetic", "duration_ms",
        "callback_requested"};
    CHECK(csvColumns() == csv);
    CHECK(sqlColumnList(SqlTable::Kiosk, "r.") ==
          "r.id, r.store_id, r.device_id, r.survey_id, r.survey_version, r.language, r.created_at_ms, "
          "r.local_date, r.local_hour, r.utc_offset_min, r.stars, r.segue_satisfactory, "
          "r.segue_efficient, r.segue_genuine, r.segue_understanding, r.segue_effective, r.complete, "
          "r.misuse, r.synthetic, r.duration_ms, r.callback_requested");
    // HQ's kResponseColumns without received_at (HQ's own).
    CHECK(sqlColumnList(SqlTable::Hq) ==
          "id, store_id, device_id, survey_id, survey_version, language, created_at, local_date, local_hour, "
          "utc_offset_min, stars, segue_satisfactory, segue_efficient, segue_genuine, segue_understanding, "
          "segue_effective, tags, complete, misuse, synthetic, duration_ms");
    // HQ's schema (hq/sqlite_storage.cpp, hq/pg_storage.cpp) as the table declares it.
    CHECK(hqColumnDefinitions(false) ==
          "id TEXT PRIMARY KEY, store_id TEXT NOT NULL, device_id TEXT NOT NULL, survey_id TEXT NOT NULL, "
          "survey_version INTEGER NOT NULL, language TEXT NOT NULL, created_at INTEGER NOT NULL, "
          "local_date TEXT NOT NULL, local_hour INTEGER NOT NULL, utc_offset_min INTEGER NOT NULL, "
          "stars INTEGER NOT NULL, segue_satisfactory INTEGER, segue_efficient INTEGER, segue_genuine INTEGER, "
          "segue_understanding INTEGER, segue_effective INTEGER, tags TEXT NOT NULL, complete INTEGER NOT NULL, "
          "misuse INTEGER NOT NULL, synthetic INTEGER NOT NULL, duration_ms INTEGER NOT NULL");
    CHECK(hqColumnDefinitions(true) ==
          "id uuid PRIMARY KEY, store_id text NOT NULL, device_id text NOT NULL, survey_id text NOT NULL, "
          "survey_version integer NOT NULL, language text NOT NULL, created_at bigint NOT NULL, "
          "local_date text COLLATE \"C\" NOT NULL, local_hour smallint NOT NULL, utc_offset_min smallint NOT NULL, "
          "stars smallint NOT NULL, segue_satisfactory smallint, segue_efficient smallint, segue_genuine smallint, "
          "segue_understanding smallint, segue_effective smallint, tags jsonb NOT NULL, complete boolean NOT NULL, "
          "misuse boolean NOT NULL, synthetic boolean NOT NULL, duration_ms bigint NOT NULL");
    CHECK(responseFieldIndex("stars") == 10u);
    CHECK_FALSE(responseFieldIndex("received_at").has_value());
}

TEST_CASE("fields: every field names the member its type needs") {
    for (const auto& f : kResponseFields) {
        INFO(f.key);
        CHECK((f.text != nullptr) == (f.type == FieldType::Text));
        CHECK((f.small != nullptr) == (f.type == FieldType::Int));
        CHECK((f.large != nullptr) == (f.type == FieldType::Int64 || f.type == FieldType::Timestamp));
        CHECK((f.flag != nullptr) == (f.type == FieldType::Bool));
        // callback_requested's HQ column comes with HQ's migration on the cases branch (issue 17).
        if (f.key != "callback_requested") CHECK_FALSE(f.hqColumn.empty());
        CHECK_FALSE((f.kioskColumn.empty() && f.type != FieldType::Tags));
    }
}

namespace {

using Value = std::variant<std::string, std::int64_t, bool, std::optional<std::int64_t>, std::vector<std::string>>;

/// A row as the SQL visitors see it: bound values in column order, read back by column.
std::vector<Value> bindAll(const Response& r, SqlTable table) {
    std::vector<Value> row;
    bindSqlValues(r, table, [&](const auto& v) {
        if constexpr (std::is_same_v<std::decay_t<decltype(v)>, std::string_view>) row.emplace_back(std::string(v));
        else row.emplace_back(v);
    });
    return row;
}

bool readAll(Response& r, SqlTable table, const std::vector<Value>& row) {
    return readSqlValues(r, table, [&](int column, auto& out) {
        using T = std::decay_t<decltype(out)>;
        if (column < 0 || static_cast<std::size_t>(column) >= row.size()) return false;
        const T* v = std::get_if<T>(&row[static_cast<std::size_t>(column)]);
        if (!v) return false;
        out = *v;
        return true;
    });
}

} // namespace

TEST_CASE("fields: a record bound to SQL values and read back is unchanged, in both tables") {
    const Response r = segue::test::sampleResponse();
    for (const auto table : {SqlTable::Kiosk, SqlTable::Hq}) {
        const auto row = bindAll(r, table);
        REQUIRE(row.size() == sqlColumns(table).size());
        Response back;
        REQUIRE(readAll(back, table, row));
        Response expected = r;
        if (table == SqlTable::Kiosk) expected.tags.clear();   // kept in response_tags there
        CHECK(back == expected);
    }
    // The values are the columns' own: the stars column holds the stars, an unanswered item NULL.
    const auto row = bindAll(r, SqlTable::Hq);
    const auto columns = sqlColumns(SqlTable::Hq);
    auto at = [&](std::string_view name) {
        for (std::size_t i = 0; i < columns.size(); ++i)
            if (columns[i] == name) return row[i];
        FAIL("no column " << name);
        return Value{};
    };
    CHECK(at("stars") == Value{std::int64_t{2}});
    CHECK(at("segue_efficient") == Value{std::optional<std::int64_t>()});
    CHECK(at("segue_satisfactory") == Value{std::optional<std::int64_t>(5)});
    CHECK(at("created_at") == Value{r.createdAtMs});
    CHECK(at("complete") == Value{true});
    CHECK(at("tags") == Value{r.tags});
    // A failed read stops the row.
    Response partial;
    CHECK_FALSE(readAll(partial, SqlTable::Hq, std::vector<Value>(row.begin(), row.begin() + 5)));
}

TEST_CASE("fields: tags as HQ's JSON text round-trip and bad text is refused") {
    const Response r = segue::test::sampleResponse();
    CHECK(tagsJson(r) == R"(["wait_time","attitude"])");
    CHECK(tagsFromJson(tagsJson(r)) == r.tags);
    CHECK_FALSE(tagsFromJson("{}").has_value());
    CHECK_FALSE(tagsFromJson("[1]").has_value());
    CHECK_FALSE(tagsFromJson("[").has_value());
}

TEST_CASE("scoring: the satisfied rule is 4 and 5 stars, in C++ and in SQL") {
    for (int stars = 1; stars <= 5; ++stars) CHECK(isSatisfied(stars) == (stars >= 4));
    CHECK(satisfiedSql("NEW.stars") == "NEW.stars >= 4");
    Tally t;
    for (int stars = 1; stars <= 5; ++stars) {
        Response r = segue::test::sampleResponse();
        r.stars = stars;
        t.add(r);
    }
    CHECK(t.satisfied == 2);
}
