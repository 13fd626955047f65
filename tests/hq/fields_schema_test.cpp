// HQ's schema agrees with core's single definitions (as tests/store/fields_schema_test.cpp checks
// the terminal's): the responses columns each engine's migrations create are
// core::hqColumnDefinitions(), hq/sql_response.cpp's columns are the field table's, and every
// "satisfied" in HQ's migrations is core::satisfiedSql() (none is spelled out in HQ's C++).
#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <regex>
#include <sstream>

#include "core/response_fields.hpp"
#include "core/scoring.hpp"
#include "hq/sql_response.hpp"
#include "hq/sql_storage.hpp"

using namespace segue;

namespace {

/// Collapses runs of white space to one space and trims.
std::string squeeze(const std::string& s) {
    std::string out = std::regex_replace(s, std::regex(R"(\s+)"), " ");
    if (!out.empty() && out.front() == ' ') out.erase(0, 1);
    if (!out.empty() && out.back() == ' ') out.pop_back();
    return out;
}

/// The column definitions of `CREATE TABLE responses (…)` in a migration, one per line, squeezed.
std::vector<std::string> responsesDefinitions(std::string_view sql) {
    const std::string text(sql);
    const auto begin = text.find("CREATE TABLE responses (");
    REQUIRE(begin != std::string::npos);
    const auto body = begin + std::string_view("CREATE TABLE responses (").size();
    const auto end = text.find("\n);", body);
    REQUIRE(end != std::string::npos);
    std::vector<std::string> out;
    std::istringstream lines(text.substr(body, end - body));
    for (std::string line; std::getline(lines, line);) {
        line = squeeze(line);
        if (!line.empty() && line.back() == ',') line.pop_back();
        if (!line.empty()) out.push_back(line);
    }
    return out;
}

std::vector<std::string> split(const std::string& list) {
    std::vector<std::string> out;
    std::size_t from = 0;
    for (std::size_t comma; (comma = list.find(", ", from)) != std::string::npos; from = comma + 2)
        out.push_back(list.substr(from, comma - from));
    out.push_back(list.substr(from));
    return out;
}

} // namespace

TEST_CASE("hq schema: the migrations' responses columns are the field table's plus HQ's own") {
    // 0001 creates the table; a field added later comes as "ALTER TABLE responses ADD COLUMN …"
    // in a later migration. Compared as sets: the statements name their columns.
    const std::regex added(R"(ALTER TABLE responses ADD COLUMN ([^;]+);)", std::regex::icase);
    for (const bool postgresql : {false, true}) {
        const auto& migrations = hq::sqlMigrations(postgresql ? "postgresql" : "sqlite");
        REQUIRE(!migrations.empty());
        INFO(migrations.front().name << (postgresql ? " (postgresql)" : " (sqlite)"));
        auto stored = responsesDefinitions(migrations.front().sql);
        // received_at and batch_id are HQ's per-batch columns, not the record's.
        REQUIRE(stored.size() >= 2);
        CHECK(stored[stored.size() - 2].rfind("received_at ", 0) == 0);
        CHECK(stored.back().rfind("batch_id ", 0) == 0);
        stored.resize(stored.size() - 2);
        for (std::size_t i = 1; i < migrations.size(); ++i) {
            const std::string sql(migrations[i].sql);
            for (auto it = std::sregex_iterator(sql.begin(), sql.end(), added); it != std::sregex_iterator(); ++it)
                stored.push_back(squeeze((*it)[1]));
        }
        auto fields = split(core::hqColumnDefinitions(postgresql));
        std::sort(stored.begin(), stored.end());
        std::sort(fields.begin(), fields.end());
        CHECK(stored == fields);
    }
}

TEST_CASE("hq schema: hq/sql_response.cpp's columns and select list come from the field table") {
    const auto fields = core::sqlColumns(core::SqlTable::Hq);
    const auto& columns = hq::responseColumns();
    REQUIRE(columns.size() == fields.size());
    for (std::size_t i = 0; i < fields.size(); ++i) CHECK(std::string(columns[i].name) == fields[i]);
    CHECK(columns.front().type == hq::SqlType::Uuid);
    CHECK(hq::responseSelectList() == core::sqlColumnList(core::SqlTable::Hq) + ", received_at");
    core::Response r;
    r.segue[1] = 3;
    r.tags = {"a", "b"};
    const auto values = hq::responseValues(r);
    CHECK(values.size() == fields.size());
    for (std::size_t i = 0; i < fields.size(); ++i) {
        INFO(fields[i]);
        if (fields[i] == "tags") CHECK(std::get<std::string>(values[i]) == R"(["a","b"])");
        if (fields[i] == "segue_efficient") CHECK(std::get<std::int64_t>(values[i]) == 3);
        if (fields[i] == "segue_genuine") CHECK(std::holds_alternative<std::monostate>(values[i]));
        if (columns[i].type == hq::SqlType::Boolean) CHECK(std::holds_alternative<bool>(values[i]));
    }
}

TEST_CASE("hq schema: every satisfied count in HQ's migrations is core's rule") {
    // Every comparison of a stars column, e.g. "stars >= 4".
    const std::regex comparison(R"(((?:\w+\.)?stars)\s*(>=|<=|<>|>|<|=|\bBETWEEN\b|\bIN\b)\s*(\w+))", std::regex::icase);
    for (const auto* dir : {"sqlite", "postgresql"}) {
        int rules = 0;
        for (const auto& m : hq::sqlMigrations(dir)) {
            const std::string sql(m.sql);
            for (auto it = std::sregex_iterator(sql.begin(), sql.end(), comparison); it != std::sregex_iterator(); ++it) {
                const std::string found = (*it)[0];
                INFO(dir << "/" << m.name << ": " << found);
                if ((*it)[2] == "BETWEEN" && (*it)[3] == "1") continue;   // CHECK (stars BETWEEN 1 AND 5)
                CHECK(found == core::satisfiedSql((*it)[1].str()));
                ++rules;
            }
        }
        INFO(dir);
        CHECK(rules == 1);   // 0003: the day sums' backfill
    }
}

TEST_CASE("hq schema: HQ's C++ spells no satisfied rule of its own") {
    // Ingest adds to the day sums through core::Tally (isSatisfied()); an SQL "stars >= N" or ">"
    // in the storage sources would be a second copy of the rule. ("stars <= ?" is the alert's
    // bound threshold.)
    const std::regex literal(R"(stars\s*(>=|>)\s*\d)");
    for (const auto* file : {"hq/sql_storage.cpp", "hq/day_sums.cpp", "hq/sql_response.cpp"}) {
        std::ifstream in(std::string(SEGUE_SOURCE_DIR) + "/" + file);
        REQUIRE(in);
        std::ostringstream text;
        text << in.rdbuf();
        const std::string source = text.str();
        INFO(file);
        CHECK(source.size() > 1000);
        CHECK(!std::regex_search(source, literal));
    }
}
