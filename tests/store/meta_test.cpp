// Key/value settings: absent, set, replaced, kept across reopening, any text.
#include <catch2/catch.hpp>

#include "store/database.hpp"
#include "store/meta.hpp"
#include "tests/store/support.hpp"

using namespace segue;
using namespace segue::store;
using segue::store::test::TempDir;

TEST_CASE("meta values are absent until set, then replaced and kept", "[store][meta]") {
    TempDir dir;
    const auto file = dir / "kiosk.sqlite";
    const std::string tricky = "$argon2id$v=19$m=65536,t=2,p=1$'; DROP TABLE meta; -- 满意度 \"quoted\"";
    {
        auto db = Database::open(file);
        REQUIRE(db.has_value());
        auto missing = getMeta(*db, kMetaPinHash);
        REQUIRE(missing.has_value());
        CHECK_FALSE(missing->has_value());

        REQUIRE(setMeta(*db, kMetaPinHash, "first").has_value());
        CHECK(getMeta(*db, kMetaPinHash)->value() == "first");
        REQUIRE(setMeta(*db, kMetaPinHash, tricky).has_value());
        REQUIRE(setMeta(*db, kMetaSyncStatus, "{}").has_value());
        REQUIRE(setMeta(*db, "empty", "").has_value());
        CHECK(test::queryInt(*db, "SELECT COUNT(*) FROM meta") == 3);
    }
    auto db = Database::open(file);
    REQUIRE(db.has_value());
    CHECK(getMeta(*db, kMetaPinHash)->value() == tricky);
    CHECK(getMeta(*db, kMetaSyncStatus)->value() == "{}");
    CHECK(getMeta(*db, "empty")->value().empty());
}
