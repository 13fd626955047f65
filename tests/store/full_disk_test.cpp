// A full disk: saving returns a Full error (no crash, no half-written row), and works
// again as soon as there is room. Once deterministically through max_page_count, once on
// a real, tiny tmpfs in a private mount namespace.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

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

TEST_CASE("a database that cannot grow returns Full, keeps no trace of the failed save, and recovers",
          "[store][full]") {
    TempDir dir;
    const auto file = dir / "kiosk.sqlite";
    auto db = Database::open(file);
    REQUIRE(db.has_value());
    const auto rs = test::randomResponses(555, 4000, 3);
    std::size_t next = 0;
    for (; next < 20; ++next) REQUIRE(saveResponse(*db, rs[next]).has_value());

    // The file may not grow by a single page from now on: "database or disk is full".
    const auto pages = test::queryInt(*db, "PRAGMA page_count");
    const std::string cap = "PRAGMA max_page_count = " + std::to_string(pages);
    REQUIRE(db->exec(cap.c_str()).has_value());

    std::optional<Error> failure;
    std::size_t failedAt = 0;
    for (; next < rs.size(); ++next) {
        auto saved = saveResponse(*db, rs[next]);
        if (!saved) {
            failure = saved.error();
            failedAt = next;
            break;
        }
    }
    REQUIRE(failure.has_value());
    CHECK(failure->kind == ErrorKind::Full);
    CHECK_THAT(failure->message, Catch::Contains("full"));
    CHECK_THAT(failure->message, Catch::Contains(rs[failedAt].id));

    // Nothing of the failed response anywhere; everything before it intact.
    CHECK(test::rowsFor(*db, rs[failedAt].id) == 0);
    CHECK(test::queryInt(*db, "SELECT COUNT(*) FROM responses") == static_cast<std::int64_t>(failedAt));
    CHECK(test::queryInt(*db, "SELECT COUNT(*) FROM outbox") == static_cast<std::int64_t>(failedAt));
    for (std::size_t i = 0; i < failedAt; ++i) REQUIRE(findResponse(*db, rs[i].id)->value() == rs[i]);

    // Still full: a batch fails whole, and again without a crash.
    std::vector<core::Response> batch(rs.begin() + static_cast<std::ptrdiff_t>(failedAt),
                                      rs.begin() + static_cast<std::ptrdiff_t>(failedAt + 200));
    auto many = saveResponses(*db, batch);
    REQUIRE_FALSE(many.has_value());
    CHECK(many.error().kind == ErrorKind::Full);
    CHECK(test::queryInt(*db, "SELECT COUNT(*) FROM responses") == static_cast<std::int64_t>(failedAt));
    // Reads keep working for the staff screen.
    CHECK(tally(*db, "2000-01-01", "2099-12-31").has_value());
    CHECK(outboxCounts(*db)->pending == static_cast<std::int64_t>(failedAt));

    // Space returns: the same connection saves again, the refused response included.
    REQUIRE(db->exec("PRAGMA max_page_count = 1073741823").has_value());
    REQUIRE(saveResponse(*db, rs[failedAt]).has_value());
    REQUIRE(saveResponses(*db, std::vector<core::Response>(batch.begin() + 1, batch.end())).has_value());
    CHECK(findResponse(*db, rs[failedAt].id)->value() == rs[failedAt]);
    CHECK(test::queryInt(*db, "SELECT COUNT(*) FROM responses") == static_cast<std::int64_t>(failedAt + 200));
    CHECK(test::queryTexts(*db, "PRAGMA integrity_check") == std::vector<std::string>{"ok"});
}

TEST_CASE("on a real full file system saving fails with Full and recovers when space returns",
          "[store][full][mount]") {
    TempDir dir;
    const auto mnt = dir / "mnt";
    std::filesystem::create_directories(mnt);

    const auto result = test::runInChild([&](test::ChildReporter& rep) {
        if (auto why = test::enterPrivateMountNamespace(); !why.empty()) {
            rep.skip(why);
            return;
        }
        if (::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=16m,mode=0700") != 0) {
            rep.skip(std::string("mounting a tmpfs: ") + std::strerror(errno));
            return;
        }
        const auto file = mnt / "kiosk.sqlite";
        auto db = Database::open(file);
        rep.check(db.has_value(), "open on the tmpfs: " + (db ? std::string("ok") : db.error().message));
        if (!db) return;
        const auto rs = test::randomResponses(777, 20000, 5);
        std::size_t next = 0;
        for (; next < 50; ++next) rep.check(saveResponse(*db, rs[next]).has_value(), "save before filling");

        // Take the rest of the file system with a filler, as another program might.
        const auto filler = mnt / "filler";
        const int fd = ::open(filler.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        rep.check(fd >= 0, "creating the filler");
        const std::string block(4096, 'x');
        std::int64_t filled = 0;
        for (;;) {
            const ssize_t n = ::write(fd, block.data(), block.size());
            if (n <= 0) {
                rep.check(errno == ENOSPC, std::string("filler stopped by ENOSPC, got ") + std::strerror(errno));
                break;
            }
            filled += n;
        }
        // Leave a little room, so the disk fills up in the middle of the saves below.
        rep.check(::ftruncate(fd, std::max<std::int64_t>(0, filled - 256 * 1024)) == 0, "leaving 256 KiB free");
        ::close(fd);
        rep.note("filler took " + std::to_string(filled) + " bytes");

        std::optional<Error> failure;
        std::size_t failedAt = 0;
        for (; next < rs.size(); ++next) {
            auto saved = saveResponse(*db, rs[next]);
            if (!saved) {
                failure = saved.error();
                failedAt = next;
                break;
            }
        }
        rep.check(failure.has_value(), "a save failed once the disk was full");
        rep.check(failedAt > 50, "some saves fitted in the room left");
        if (!failure) return;
        rep.note("failed after " + std::to_string(failedAt) + " saves: " + failure->message);
        rep.check(failure->kind == ErrorKind::Full, "the failure is Full: " + failure->message);
        rep.check(test::rowsFor(*db, rs[failedAt].id) == 0, "no trace of the refused response");
        rep.check(test::queryInt(*db, "SELECT COUNT(*) FROM responses") == static_cast<std::int64_t>(failedAt),
                  "every saved response still there");
        auto again = saveResponse(*db, rs[failedAt]);
        rep.check(!again.has_value() && again.error().kind == ErrorKind::Full, "still Full while full");

        // Space returns.
        rep.check(::unlink(filler.c_str()) == 0, "removing the filler");
        auto retry = saveResponse(*db, rs[failedAt]);
        rep.check(retry.has_value(), "saving works again: " + (retry ? std::string("ok") : retry.error().message));
        for (std::size_t i = failedAt + 1; i < failedAt + 30; ++i)
            rep.check(saveResponse(*db, rs[i]).has_value(), "saving more after recovery");
        rep.check(findResponse(*db, rs[failedAt].id)->value() == rs[failedAt], "the refused response saved whole");

        // And the file is sound when reopened.
        db = Database::open(file);
        rep.check(db.has_value(), "reopen");
        if (!db) return;
        rep.check(!db->report().recreated, "not treated as corrupt");
        rep.check(test::queryInt(*db, "SELECT COUNT(*) FROM responses") == static_cast<std::int64_t>(failedAt + 30),
                  "all saved responses after reopening");
        for (std::size_t i = 0; i < failedAt + 30; ++i)
            if (findResponse(*db, rs[i].id)->value() != rs[i]) {
                rep.check(false, "response " + std::to_string(i) + " differs after reopening");
                break;
            }
        rep.check(test::queryTexts(*db, "PRAGMA integrity_check") == std::vector<std::string>{"ok"}, "integrity");
    });

    INFO(result.log());
    if (result.skipped()) {
        WARN("real full-disk test skipped: no private mount namespace here\n" << result.log());
        return;
    }
    CHECK(result.exitedNormally);
    CHECK(result.exitCode == 0);
    CHECK(result.failures().empty());
    CHECK(result.lines.size() > 10);
}
