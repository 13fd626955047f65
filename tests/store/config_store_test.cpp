// The survey definition the terminal keeps: absent at first, saved and read back across a
// reopen, changed by two connections without either losing the other's change, and a damaged
// value reported rather than taken for "none".
#include <catch2/catch.hpp>

#include "store/config_store.hpp"
#include "store/database.hpp"
#include "store/meta.hpp"
#include "tests/store/support.hpp"

using namespace segue;
using namespace segue::store;
using segue::store::test::TempDir;

TEST_CASE("the survey config state is kept and changed from two connections", "[store][survey_config]") {
    TempDir dir;
    const auto file = dir / "kiosk.sqlite";
    {
        auto db = Database::open(file);
        REQUIRE(db.has_value());
        auto empty = loadSurveyConfig(*db);
        REQUIRE(empty.has_value());
        CHECK(*empty == SurveyConfigState{});
    }
    {
        auto screens = Database::open(file);
        auto worker = Database::open(file);
        REQUIRE(screens.has_value());
        REQUIRE(worker.has_value());
        // The worker stores a fetched definition; the screens record another as applied. Each
        // changes only its own fields inside one transaction, so both survive.
        REQUIRE(updateSurveyConfig(*worker, [](SurveyConfigState& s) {
            s.pending = R"({"id":"s","version":3})";
            s.etag = "\"abc\"";
            s.fetchedAtMs = 1'795'000'000'000;
        }));
        REQUIRE(updateSurveyConfig(*screens, [](SurveyConfigState& s) {
            s.applied = R"({"id":"s","version":2})";
            s.appliedAtMs = 1'795'000'001'000;
        }));
        REQUIRE(updateSurveyConfig(*worker, [](SurveyConfigState& s) {
            s.lastError = "tag x has no label in en";
            s.errorReported = true;
        }));
    }

    auto db = Database::open(file);
    REQUIRE(db.has_value());
    auto state = loadSurveyConfig(*db);
    REQUIRE(state.has_value());
    CHECK(state->pending == std::optional<std::string>(R"({"id":"s","version":3})"));
    CHECK(state->applied == std::optional<std::string>(R"({"id":"s","version":2})"));
    CHECK(state->etag == std::optional<std::string>("\"abc\""));
    CHECK(state->fetchedAtMs == std::optional<std::int64_t>(1'795'000'000'000));
    CHECK(state->appliedAtMs == std::optional<std::int64_t>(1'795'000'001'000));
    CHECK(state->lastError == std::optional<std::string>("tag x has no label in en"));
    CHECK(state->errorReported);

    // saveSurveyConfig replaces the whole state.
    REQUIRE(saveSurveyConfig(*db, SurveyConfigState{}));
    CHECK(*loadSurveyConfig(*db) == SurveyConfigState{});
}

TEST_CASE("a damaged survey config value is an error naming it", "[store][survey_config]") {
    TempDir dir;
    auto db = Database::open(dir / "kiosk.sqlite");
    REQUIRE(db.has_value());
    REQUIRE(setMeta(*db, kMetaSurveyConfig, "not json"));
    auto state = loadSurveyConfig(*db);
    REQUIRE_FALSE(state.has_value());
    CHECK_THAT(state.error().message, Catch::Contains("survey_config"));
    REQUIRE(setMeta(*db, kMetaSurveyConfig, R"({"applied": 5})"));
    state = loadSurveyConfig(*db);
    REQUIRE_FALSE(state.has_value());
    CHECK_THAT(state.error().message, Catch::Contains("survey_config"));
    // An update does not overwrite what it cannot read.
    auto updated = updateSurveyConfig(*db, [](SurveyConfigState& s) { s.etag = "x"; });
    REQUIRE_FALSE(updated.has_value());
    CHECK(getMeta(*db, kMetaSurveyConfig)->value() == R"({"applied": 5})");
}
