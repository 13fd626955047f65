// The terminal's schema agrees with core's single definitions: the responses columns are the
// field table's (core/response_fields.hpp), the day sums are named after core::kSegueKeys, and
// every "satisfied" in the migrations is core::satisfiedSql().
#include <catch2/catch.hpp>

#include <algorithm>
#include <regex>
#include <set>

#include "core/response_fields.hpp"
#include "core/scoring.hpp"
#include "store/database.hpp"
#include "store/migrations.hpp"
#include "tests/store/support.hpp"

using namespace segue;
using namespace segue::store;
using segue::store::test::TempDir;

TEST_CASE("schema: the responses table has exactly the field table's columns") {
    TempDir dir;
    auto db = Database::open(dir / "kiosk.sqlite");
    REQUIRE(db);
    const auto stored = test::queryTexts(*db, "SELECT name FROM pragma_table_info('responses')");
    const auto fields = core::sqlColumns(core::SqlTable::Kiosk);
    CHECK(std::set<std::string>(stored.begin(), stored.end()) == std::set<std::string>(fields.begin(), fields.end()));
    CHECK(stored.size() == fields.size());
}

TEST_CASE("schema: the day sums have a sum and a count per SEGUE key") {
    TempDir dir;
    auto db = Database::open(dir / "kiosk.sqlite");
    REQUIRE(db);
    const auto stored = test::queryTexts(*db, "SELECT name FROM pragma_table_info('day_hour_tallies')");
    const std::set<std::string> columns(stored.begin(), stored.end());
    for (const auto key : core::kSegueKeys) {
        CHECK(columns.count(std::string(key) + "_sum") == 1);
        CHECK(columns.count(std::string(key) + "_n") == 1);
    }
    // local_date, local_hour, counted, star_sum, satisfied, the items, partial, misuse.
    CHECK(columns.size() == 7 + 2 * core::kSegueKeys.size());
}

TEST_CASE("schema: every satisfied sum in the migrations is core's rule") {
    // Every comparison of a stars column in the migrations, e.g. "NEW.stars >= 4".
    const std::regex comparison(R"(((?:\w+\.)?stars)\s*(>=|<=|<>|>|<|=|\bBETWEEN\b|\bIN\b)\s*(\w+))", std::regex::icase);
    int rules = 0;
    for (const auto& m : migrations()) {
        const std::string sql(m.sql);
        for (auto it = std::sregex_iterator(sql.begin(), sql.end(), comparison); it != std::sregex_iterator(); ++it) {
            const std::string found = (*it)[0];
            const std::string column = (*it)[1];
            INFO(m.name << ": " << found);
            // The schema's own CHECK (stars BETWEEN 1 AND 5) is validation, not scoring.
            if ((*it)[2] == "BETWEEN" && (*it)[3] == "1") continue;
            CHECK(found == core::satisfiedSql(column));
            ++rules;
        }
    }
    CHECK(rules == 3);   // 0005: the backfill, the insert trigger, the delete trigger
}
