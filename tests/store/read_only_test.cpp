// A read-only database: writes return ReadOnly (never a crash or a half row), reads keep
// working, and writing resumes once the database is writable again. The tests run as root,
// where file modes do not stop writes, so read-only comes from sqlite's query_only switch
// and from a read-only bind mount in a private mount namespace.
#include <catch2/catch.hpp>

#include <sys/mount.h>

#include <cerrno>
#include <cstring>

#include "store/database.hpp"
#include "store/meta.hpp"
#include "store/outbox.hpp"
#include "store/responses.hpp"
#include "tests/store/support.hpp"

using namespace segue;
using namespace segue::store;
using segue::store::test::TempDir;

TEST_CASE("a connection that may not write returns ReadOnly for every write and recovers", "[store][readonly]") {
    TempDir dir;
    auto db = Database::open(dir / "kiosk.sqlite");
    REQUIRE(db.has_value());
    const auto rs = test::randomResponses(321, 12, 1);
    for (std::size_t i = 0; i < 5; ++i) REQUIRE(saveResponse(*db, rs[i]).has_value());
    REQUIRE(setMeta(*db, "k", "before").has_value());

    REQUIRE(db->exec("PRAGMA query_only = ON").has_value());

    auto one = saveResponse(*db, rs[5]);
    REQUIRE_FALSE(one.has_value());
    CHECK(one.error().kind == ErrorKind::ReadOnly);
    CHECK_THAT(one.error().message, Catch::Contains("readonly"));
    auto many = saveResponses(*db, std::vector<core::Response>(rs.begin() + 5, rs.end()));
    REQUIRE_FALSE(many.has_value());
    CHECK(many.error().kind == ErrorKind::ReadOnly);
    CHECK(markSynced(*db, {rs[0].id}, 1).error().kind == ErrorKind::ReadOnly);
    CHECK(markRejected(*db, {{rs[1].id, "x"}}).error().kind == ErrorKind::ReadOnly);
    CHECK(setMeta(*db, "k", "after").error().kind == ErrorKind::ReadOnly);

    // Nothing changed, and the staff screen can still read.
    CHECK(test::queryInt(*db, "SELECT COUNT(*) FROM responses") == 5);
    CHECK(test::rowsFor(*db, rs[5].id) == 0);
    CHECK(outboxCounts(*db)->pending == 5);
    CHECK(getMeta(*db, "k")->value() == "before");
    CHECK(tally(*db, "2000-01-01", "2099-12-31")->counted + tally(*db, "2000-01-01", "2099-12-31")->misuse == 5);

    REQUIRE(db->exec("PRAGMA query_only = OFF").has_value());
    REQUIRE(saveResponses(*db, std::vector<core::Response>(rs.begin() + 5, rs.end())).has_value());
    REQUIRE(markSynced(*db, {rs[0].id}, 1).has_value());
    CHECK(test::queryInt(*db, "SELECT COUNT(*) FROM responses") == 12);
}

TEST_CASE("a database on a read-only mount is refused as ReadOnly, untouched, and opens once writable",
          "[store][readonly][mount]") {
    TempDir dir;
    const auto data = dir / "data";
    const auto file = data / "kiosk.sqlite";
    const auto rs = test::randomResponses(654, 8, 1);
    {
        auto db = Database::open(file);
        REQUIRE(db.has_value());
        REQUIRE(saveResponses(*db, rs).has_value());
    }
    const std::string before = test::readBytes(file);

    const auto result = test::runInChild([&](test::ChildReporter& rep) {
        if (auto why = test::enterPrivateMountNamespace(); !why.empty()) {
            rep.skip(why);
            return;
        }
        if (::mount(data.c_str(), data.c_str(), nullptr, MS_BIND, nullptr) != 0 ||
            ::mount(nullptr, data.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) != 0) {
            rep.skip(std::string("read-only bind mount: ") + std::strerror(errno));
            return;
        }
        {
            auto db = Database::open(file);
            rep.check(!db.has_value(), "open refused on a read-only file system");
            if (!db) {
                rep.note(db.error().message);
                rep.check(db.error().kind == ErrorKind::ReadOnly, "the error is ReadOnly: " + db.error().message);
            }
        }
        rep.check(test::readBytes(file) == before, "the file is byte for byte unchanged");

        // Writable again: the same file opens, all data there, saving works.
        if (::mount(nullptr, data.c_str(), nullptr, MS_REMOUNT | MS_BIND, nullptr) != 0) {
            rep.check(false, std::string("remount rw: ") + std::strerror(errno));
            return;
        }
        auto again = Database::open(file);
        rep.check(again.has_value(), "open once writable");
        if (!again) return;
        rep.check(!again->report().recreated, "not treated as corrupt");
        rep.check(test::queryInt(*again, "SELECT COUNT(*) FROM responses") == 8, "data intact");
        const auto more = test::randomResponses(655, 1, 1);
        rep.check(saveResponse(*again, more[0]).has_value(), "saving works");
    });

    INFO(result.log());
    if (result.skipped()) {
        WARN("read-only mount test skipped: no private mount namespace here\n" << result.log());
        return;
    }
    CHECK(result.exitedNormally);
    CHECK(result.exitCode == 0);
    CHECK(result.failures().empty());
    // The mount was private to the child; here the file is writable and nothing was moved aside.
    for (const auto& e : std::filesystem::directory_iterator(data))
        CHECK(e.path().filename().string().find("corrupt") == std::string::npos);
    auto db = Database::open(file);
    REQUIRE(db.has_value());
    CHECK(test::queryInt(*db, "SELECT COUNT(*) FROM responses") == 9);
}
