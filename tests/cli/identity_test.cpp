// The enrolled identity: kept 0600 in the data directory, filling the TOML keys it leaves out,
// and refusing a TOML file that names other ones.
#include <catch2/catch.hpp>

#include <fstream>

#include <sys/stat.h>

#include "app/config.hpp"
#include "app/identity.hpp"
#include "tests/support/temp_dir.hpp"

using namespace segue::app;
using segue::testing::TempDir;

namespace {

const Identity kEnrolled{"kiosk-7f3a", "store-42", "tok_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
                         "https://127.0.0.1:8443", "2026-12-06T03:00:00.000Z"};

std::filesystem::path writeToml(const TempDir& dir, const std::string& text) {
    const auto path = dir / "kiosk.toml";
    std::ofstream(path) << text;
    return path;
}

} // namespace

TEST_CASE("an enrolled identity is stored 0600 and fills the keys the TOML leaves out") {
    TempDir dir;
    const auto data = dir / "data";
    auto none = loadIdentity(data);
    REQUIRE(none);
    CHECK_FALSE(*none);

    REQUIRE(saveIdentity(data, kEnrolled));
    struct stat st {};
    REQUIRE(::stat(identityPath(data).c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    auto loaded = loadIdentity(data);
    REQUIRE(loaded);
    REQUIRE(*loaded);
    CHECK(**loaded == kEnrolled);

    // No store_id, device_id or token in the file: the identity's.
    const auto toml = writeToml(dir, "[sync]\nenabled = true\nserver_url = \"https://127.0.0.1:8443\"\n");
    auto cfg = loadConfig(toml, data);
    REQUIRE(cfg);
    CHECK(cfg->storeId == "store-42");
    CHECK(cfg->deviceId == "kiosk-7f3a");
    CHECK(cfg->sync.token == kEnrolled.token);

    // The same values named in the file agree.
    writeToml(dir, "[kiosk]\nstore_id = \"store-42\"\ndevice_id = \"kiosk-7f3a\"\n");
    CHECK(loadConfig(toml, data));
}

TEST_CASE("a TOML file naming another store, device or token than the enrolled ones is refused") {
    TempDir dir;
    const auto data = dir / "data";
    REQUIRE(saveIdentity(data, kEnrolled));
    const auto toml = writeToml(dir, "[kiosk]\nstore_id = \"store-1\"\n");
    auto cfg = loadConfig(toml, data);
    REQUIRE_FALSE(cfg);
    CHECK_THAT(cfg.error(), Catch::Contains("[kiosk] store_id") && Catch::Contains("store-1") &&
                                Catch::Contains("store-42") && Catch::Contains("identity.json"));

    writeToml(dir, "[kiosk]\ndevice_id = \"kiosk-demo\"\n");
    cfg = loadConfig(toml, data);
    REQUIRE_FALSE(cfg);
    CHECK_THAT(cfg.error(), Catch::Contains("[kiosk] device_id"));

    writeToml(dir, "[sync]\ntoken = \"other\"\n");
    cfg = loadConfig(toml, data);
    REQUIRE_FALSE(cfg);
    CHECK_THAT(cfg.error(), Catch::Contains("[sync] token"));
    CHECK_THAT(cfg.error(), !Catch::Contains("other") && !Catch::Contains(kEnrolled.token));   // no secrets in errors

    // A damaged identity file is named, never silently ignored.
    std::ofstream(identityPath(data)) << "{\"device_id\": 1}";
    cfg = loadConfig(toml, data);
    REQUIRE_FALSE(cfg);
    CHECK_THAT(cfg.error(), Catch::Contains("identity.json"));
}

TEST_CASE("without enrolment a file that names none of the identity keys keeps the defaults") {
    TempDir dir;
    const auto toml = writeToml(dir, "[sync]\nenabled = true\nserver_url = \"https://127.0.0.1:8443\"\n");
    auto cfg = loadConfig(toml, dir / "data");
    REQUIRE(cfg);
    CHECK(cfg->sync.token.empty());
    CHECK(cfg->storeId == KioskConfig().storeId);
}
