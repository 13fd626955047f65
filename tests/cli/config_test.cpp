#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>

#include "app/config.hpp"

using namespace segue::app;

namespace {
std::string errorOf(std::string_view toml) {
    const auto cfg = parseConfig(toml, "kiosk.toml");
    REQUIRE_FALSE(cfg.has_value());
    return cfg.error();
}
} // namespace

TEST_CASE("the printed default config parses to the built-in defaults") {
    const auto cfg = parseConfig(defaultConfigText(), "default.toml");
    REQUIRE(cfg.has_value());
    const KioskConfig builtIn;
    CHECK(cfg->storeId == builtIn.storeId);
    CHECK(cfg->language == "zh-CN");
    CHECK(cfg->timezone == "Asia/Shanghai");
    CHECK(cfg->inactivityTimeoutS == 30);
    CHECK(cfg->thankYouS == 3);
    CHECK(cfg->misuseWindowS == 5);
    CHECK(cfg->targetCsat == Approx(0.9));
    CHECK_FALSE(cfg->sync.enabled);
}

TEST_CASE("every contract key is read") {
    const auto cfg = parseConfig(R"(
[kiosk]
store_id = "sh-001"
device_id = "sh-001-k2"
language = "en"
timezone = "Europe/Berlin"
inactivity_timeout_s = 45
thank_you_s = 5
misuse_window_s = 8
target_csat = 0.85
data_dir = "/var/lib/segue"
[sync]
enabled = true
server_url = "https://hq.example.com:8443"
token = "abc"
)", "kiosk.toml");
    REQUIRE(cfg.has_value());
    CHECK(cfg->storeId == "sh-001");
    CHECK(cfg->deviceId == "sh-001-k2");
    CHECK(cfg->language == "en");
    CHECK(cfg->timezone == "Europe/Berlin");
    CHECK(cfg->inactivityTimeoutS == 45);
    CHECK(cfg->thankYouS == 5);
    CHECK(cfg->misuseWindowS == 8);
    CHECK(cfg->targetCsat == Approx(0.85));
    CHECK(cfg->dataDir == "/var/lib/segue");
    CHECK(cfg->sync.enabled);
    CHECK(cfg->sync.serverUrl == "https://hq.example.com:8443");
    CHECK(cfg->sync.token == "abc");
}

TEST_CASE("an invalid config is refused with file, line and reason") {
    CHECK(errorOf("[kiosk]\nlanguage = \"fr\"\n") == "kiosk.toml:2:12: [kiosk] language must be \"zh-CN\" or \"en\"");
    CHECK_THAT(errorOf("[kiosk]\n\ninactivity_timeout_s = \"30\"\n"), Catch::StartsWith("kiosk.toml:3:"));
    CHECK_THAT(errorOf("[kiosk]\ninactivity_timeout_s = 2\n"), Catch::Contains("from 5 to 3600"));
    CHECK_THAT(errorOf("[kiosk]\ntimezone = \"Mars/Olympus\"\n"), Catch::Contains("IANA"));
    CHECK_THAT(errorOf("[kiosk]\ntimezone = \"../../etc/passwd\"\n"), Catch::Contains("IANA"));
    CHECK_THAT(errorOf("[kiosk]\nstore = \"x\"\n"), Catch::Contains("kiosk.toml:2:9: unknown key \"store\""));
    CHECK_THAT(errorOf("[kiosk]\nstore_id = \"a b\"\n"), Catch::Contains("store_id"));
    CHECK_THAT(errorOf("[kiosk]\ntarget_csat = 90\n"), Catch::Contains("target_csat"));
    CHECK_THAT(errorOf("[sync]\nserver_url = \"http://hq:80\"\n"), Catch::Contains("https://"));
    CHECK_THAT(errorOf("[sync]\nenabled = true\n"), Catch::Contains("needs server_url and token"));
    CHECK_THAT(errorOf("[sync]\nca_file = \"/nonexistent/ca.pem\"\n"), Catch::Contains("ca_file"));
    CHECK_THAT(errorOf("[kiosk\nstore_id = 1\n"), Catch::StartsWith("kiosk.toml:1:"));
    CHECK_THAT(errorOf("[printer]\n"), Catch::Contains("unknown section"));
}

TEST_CASE("loadConfig: data dir precedence is --data-dir, then the file, then XDG") {
    const auto dir = std::filesystem::temp_directory_path() / ("segue-cfg-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const auto file = dir / "kiosk.toml";
    std::ofstream(file) << "[kiosk]\ndata_dir = \"data\"\n";
    auto cfg = loadConfig(file, std::nullopt);
    REQUIRE(cfg.has_value());
    CHECK(cfg->dataDir == std::filesystem::absolute(dir) / "data");
    CHECK(cfg->databasePath() == std::filesystem::absolute(dir) / "data" / "kiosk.sqlite");
    cfg = loadConfig(file, std::filesystem::path("/tmp/override"));
    REQUIRE(cfg.has_value());
    CHECK(cfg->dataDir == "/tmp/override");
    ::setenv("XDG_DATA_HOME", "/srv/xdg", 1);
    cfg = loadConfig(std::nullopt, std::nullopt);
    REQUIRE(cfg.has_value());
    CHECK(cfg->dataDir == "/srv/xdg/segue-kiosk");
    const auto missing = loadConfig(dir / "nope.toml", std::nullopt);
    REQUIRE_FALSE(missing.has_value());
    CHECK_THAT(missing.error(), Catch::Contains("cannot read"));
    std::filesystem::remove_all(dir);
}
