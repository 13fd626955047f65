// The data directory's permissions: made 0700, a wider one and its files tightened (each change
// reported), links and owner-only files left alone.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <fstream>

#include "store/data_dir.hpp"
#include "tests/store/support.hpp"

using namespace segue;
using namespace segue::store;
using segue::store::test::TempDir;

namespace {

unsigned modeOf(const std::filesystem::path& p) {
    struct stat st {};
    REQUIRE(::lstat(p.c_str(), &st) == 0);
    return static_cast<unsigned>(st.st_mode) & 07777u;
}

void touch(const std::filesystem::path& p, unsigned mode) {
    std::ofstream(p) << "x";
    REQUIRE(::chmod(p.c_str(), mode) == 0);
}

} // namespace

TEST_CASE("secureDataDir makes a missing directory 0700, parents included", "[store][files]") {
    TempDir dir;
    const auto data = dir / "a" / "b" / "data";
    const auto report = secureDataDir(data);
    REQUIRE(report);
    CHECK(report->created);
    CHECK(report->tightened.empty());
    CHECK(modeOf(data) == 0700);
    // Again: nothing to do, nothing reported.
    const auto again = secureDataDir(data);
    REQUIRE(again);
    CHECK_FALSE(again->created);
    CHECK(again->tightened.empty());
    CHECK(again->problems.empty());
}

TEST_CASE("secureDataDir tightens a 0755 directory and its wider files, and says what changed", "[store][files]") {
    TempDir dir;
    const auto data = dir / "data";
    std::filesystem::create_directory(data);
    REQUIRE(::chmod(data.c_str(), 0755) == 0);
    touch(data / "kiosk.sqlite", 0644);
    touch(data / "kiosk.log", 0666);
    touch(data / "kiosk.sqlite-wal", 0600);
    touch(data / "kiosk.sqlite.corrupt-20261206T010203Z", 0440);
    touch(data / "notes.txt", 0644);   // not the terminal's: left alone
    touch(dir / "outside", 0644);
    std::filesystem::create_symlink(dir / "outside", data / "link");

    const auto report = secureDataDir(data);
    REQUIRE(report);
    CHECK_FALSE(report->created);
    CHECK(report->problems.empty());
    CHECK(modeOf(data) == 0700);
    CHECK(modeOf(data / "kiosk.sqlite") == 0600);
    CHECK(modeOf(data / "kiosk.log") == 0600);
    CHECK(modeOf(data / "kiosk.sqlite-wal") == 0600);
    CHECK(modeOf(data / "kiosk.sqlite.corrupt-20261206T010203Z") == 0400);
    CHECK(modeOf(data / "notes.txt") == 0644);
    CHECK(modeOf(dir / "outside") == 0644);   // a link is not followed
    std::vector<std::string> lines;
    for (const auto& c : report->tightened) lines.push_back(describe(c));
    std::vector<std::string> want = {data.string() + ": 0755 -> 0700", (data / "kiosk.log").string() + ": 0666 -> 0600",
                                     (data / "kiosk.sqlite").string() + ": 0644 -> 0600",
                                     (data / "kiosk.sqlite.corrupt-20261206T010203Z").string() + ": 0440 -> 0400"};
    std::sort(lines.begin(), lines.end());
    std::sort(want.begin(), want.end());
    CHECK(lines == want);
}

TEST_CASE("secureDataDir leaves a shared (sticky) directory as it is and says so", "[store][files]") {
    TempDir dir;
    const auto shared = dir / "shared";
    std::filesystem::create_directory(shared);
    REQUIRE(::chmod(shared.c_str(), 01777) == 0);
    touch(shared / "kiosk.log", 0644);
    const auto report = secureDataDir(shared);
    REQUIRE(report);
    CHECK(modeOf(shared) == 01777);
    REQUIRE(report->problems.size() == 1);
    CHECK_THAT(report->problems[0], Catch::Contains("shared directory"));
    CHECK(modeOf(shared / "kiosk.log") == 0600);   // the terminal's own file still is
}

TEST_CASE("secureDataDir refuses a path that is a file", "[store][files]") {
    TempDir dir;
    touch(dir / "file", 0600);
    CHECK_FALSE(secureDataDir(dir / "file"));
}
