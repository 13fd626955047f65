// Refused records kept bounded (4 KiB each, 1 000 per device and day) and read tokens listed and
// revoked: through Storage on both engines, and through the real segue-hq (CLI verbs, and the API
// over HTTPS on 127.0.0.1 refusing a revoked token on the next request).
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <sstream>
#include <thread>

#include <catch2/catch.hpp>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include "hq/storage.hpp"
#include "hq/token.hpp"
#include "tests/hq/hq_test_support.hpp"

using namespace segue;
using nlohmann::json;

namespace {

constexpr std::int64_t kReceivedMs = 1'795'100'000'000;

/// The first column of the first row of `sql` on the database at `url`, as text.
std::string scalar(const std::string& url, const std::string& sql) {
    if (!url.starts_with("sqlite:")) return test::pgExec(url, sql);
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(url.substr(7).c_str(), &db) == SQLITE_OK);
    sqlite3_stmt* s = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) == SQLITE_OK);
    std::string out;
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
        out = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    sqlite3_close(db);
    return out;
}

/// Bytes the database takes: the SQLite file after a checkpoint into it, or PostgreSQL's size.
std::int64_t databaseBytes(const std::string& url) {
    if (url.starts_with("sqlite:")) {
        scalar(url, "PRAGMA wal_checkpoint(TRUNCATE)");
        return static_cast<std::int64_t>(std::filesystem::file_size(url.substr(7)));
    }
    test::pgExec(url, "CHECKPOINT");
    return std::stoll(test::pgExec(url, "SELECT pg_database_size(current_database())"));
}

void enrol(hq::Storage& s, const std::string& device, const std::string& store) {
    REQUIRE(s.addDevice({device, store, "Kiosk " + device, hq::hashToken(hq::generateToken()), 1'795'000'000'000}));
}

hq::IngestRequest refusedBatch(const std::string& device, std::vector<hq::RefusedRecord> refused,
                               std::int64_t receivedAtMs = kReceivedMs) {
    hq::IngestRequest req;
    req.deviceId = device;
    req.batchId = "0190f1e2-3a4b-7c5d-8e6f-0123456789ab";
    req.receivedAtMs = receivedAtMs;
    req.appVersion = "0.1.0";
    req.refused = std::move(refused);
    return req;
}

std::vector<hq::RefusedRecord> distinctRefusals(const std::string& tag, int n) {
    std::vector<hq::RefusedRecord> out;
    for (int i = 0; i < n; ++i)
        out.push_back({"", "invalid", "{\"id\":\"" + tag + "-" + std::to_string(i) + "\",\"stars\":9}"});
    return out;
}

std::int64_t rejectedOf(hq::Storage& s, const std::string& device) {
    const auto devices = s.listDevices();
    REQUIRE(devices);
    for (const auto& d : *devices)
        if (d.id == device) return d.rejected;
    FAIL("no device " << device);
    return -1;
}

} // namespace

TEST_CASE("storage: 10 refused records of 3.9 MB grow the database by less than 100 KB, each kept as 4 KiB with "
          "its full length and SHA-256",
          "[storage]") {
    test::TempDir dir;
    for (const auto& url : test::storageUrls(dir)) {
        INFO(url);
        auto s = test::openStorage(url);
        enrol(*s, "kiosk-1", "store-1");
        test::ingestOk(*s, refusedBatch("kiosk-1", distinctRefusals("warm", 1)));   // tables touched once
        const std::int64_t before = databaseBytes(url);

        std::vector<hq::RefusedRecord> huge;
        for (int i = 0; i < 10; ++i)
            huge.push_back({"0190f1e2-3a4b-7c5d-8e6f-00000000000" + std::to_string(i), "invalid",
                            "{\"id\":" + std::to_string(i) + ",\"padding\":\"" + std::string(3'900'000, 'x') + "\"}"});
        test::ingestOk(*s, refusedBatch("kiosk-1", huge));
        const std::int64_t grown = databaseBytes(url) - before;
        INFO("grew by " << grown << " bytes");
        CHECK(grown < 100'000);

        CHECK(s->counts()->rejections == 11);
        const std::string first = "response_id = '0190f1e2-3a4b-7c5d-8e6f-000000000000'";
        CHECK(scalar(url, "SELECT length(record) FROM rejections WHERE " + first) == "4096");
        CHECK(scalar(url, "SELECT l.record_bytes FROM rejection_lengths l JOIN rejections r ON r.id = l.rejection_id "
                          "WHERE r." + first) == std::to_string(huge[0].json.size()));
        CHECK(scalar(url, "SELECT COUNT(*) FROM rejection_lengths") == "10");   // the warm-up one was not cut
        CHECK(scalar(url, "SELECT record_hash FROM rejections WHERE " + first) == hq::sha256Hex(huge[0].json));
        CHECK(scalar(url, "SELECT record FROM rejections WHERE " + first) == huge[0].json.substr(0, 4096));
        CHECK(rejectedOf(*s, "kiosk-1") == 11);
    }
}

TEST_CASE("storage: a kept refusal is cut before a character that would not fit whole", "[storage]") {
    test::TempDir dir;
    for (const auto& url : test::storageUrls(dir)) {
        INFO(url);
        auto s = test::openStorage(url);
        enrol(*s, "kiosk-1", "store-1");
        std::string cjk = "{\"p\":\"";   // 6 bytes, then 3-byte characters: 6 + 3 * 1363 = 4095 fit
        for (int i = 0; i < 2000; ++i) cjk += "中";
        cjk += "\"}";
        test::ingestOk(*s, refusedBatch("kiosk-1", {{"", "invalid", cjk}}));
        const std::string kept = scalar(url, "SELECT record FROM rejections");
        CHECK(kept.size() == 4095);
        CHECK(kept == cjk.substr(0, 4095));
        CHECK(scalar(url, "SELECT record_bytes FROM rejection_lengths") == std::to_string(cjk.size()));
    }
}

TEST_CASE("storage: at most 1000 refused records a device and day are kept, the rest counted", "[storage]") {
    test::TempDir dir;
    for (const auto& url : test::storageUrls(dir)) {
        INFO(url);
        auto s = test::openStorage(url);
        enrol(*s, "kiosk-1", "store-1");
        enrol(*s, "kiosk-2", "store-1");
        for (int batch = 0; batch < 3; ++batch)
            test::ingestOk(*s, refusedBatch("kiosk-1", distinctRefusals("b" + std::to_string(batch), 400)));
        CHECK(s->counts()->rejections == 1000);
        CHECK(rejectedOf(*s, "kiosk-1") == 1200);   // the fleet figures still count every one
        // A resent refusal is kept once and spends nothing more.
        test::ingestOk(*s, refusedBatch("kiosk-2", distinctRefusals("b0", 5)));
        test::ingestOk(*s, refusedBatch("kiosk-2", distinctRefusals("b0", 5)));
        CHECK(rejectedOf(*s, "kiosk-2") == 5);
        CHECK(s->counts()->rejections == 1005);
        // The next (UTC) day has a budget of its own.
        test::ingestOk(*s, refusedBatch("kiosk-1", distinctRefusals("next", 3), kReceivedMs + 86'400'000));
        CHECK(s->counts()->rejections == 1008);
        CHECK(rejectedOf(*s, "kiosk-1") == 1203);
        // Accepted records are not touched by any of it.
        hq::IngestRequest ok = refusedBatch("kiosk-1", {});
        ok.records = test::ResponseFactory("store-1", "kiosk-1").make(20);
        CHECK(test::ingestOk(*s, ok) == std::vector<hq::Outcome>(20, hq::Outcome::Accepted));
    }
}

TEST_CASE("storage: read tokens are listed without secrets, note their use at most once a minute, and are revoked",
          "[storage]") {
    test::TempDir dir;
    for (const auto& url : test::storageUrls(dir)) {
        INFO(url);
        auto s = test::openStorage(url);
        const std::string a = hq::generateToken(), b = hq::generateToken();
        const auto idA = s->addToken(hq::hashToken(a), "read", 1'795'000'000'000);
        const auto idB = s->addToken(hq::hashToken(b), "read", 1'795'000'001'000);
        REQUIRE(idA);
        REQUIRE(idB);
        CHECK(*idB > *idA);

        auto list = s->listTokens();
        REQUIRE(list);
        REQUIRE(list->size() == 2);
        CHECK((*list)[0].id == *idA);
        CHECK((*list)[0].role == "read");
        CHECK((*list)[0].createdAtMs == 1'795'000'000'000);
        CHECK_FALSE((*list)[0].lastUsedMs);
        CHECK_FALSE((*list)[0].revoked);

        REQUIRE(s->tokenRole(hq::hashToken(a)).value() == std::optional<std::string>("read"));
        list = s->listTokens();
        REQUIRE((*list)[0].lastUsedMs);
        CHECK(*(*list)[0].lastUsedMs > 1'795'000'000'000);
        CHECK_FALSE((*list)[1].lastUsedMs);
        // Within the minute another use writes nothing: the mark set here stays.
        test::execSql(url, "UPDATE token_use SET last_used_at = 7 WHERE token_id = " + std::to_string(*idA));
        for (int i = 0; i < 20; ++i) REQUIRE(s->tokenRole(hq::hashToken(a)).value());
        CHECK(s->listTokens().value()[0].lastUsedMs == 7);

        CHECK(s->revokeToken(*idA).value());
        CHECK_FALSE(s->tokenRole(hq::hashToken(a)).value());   // at once: nothing caches it
        CHECK(s->tokenRole(hq::hashToken(b)).value() == std::optional<std::string>("read"));
        list = s->listTokens();
        CHECK((*list)[0].revoked);
        CHECK_FALSE((*list)[1].revoked);
        CHECK_FALSE(s->revokeToken(*idB + 100).value());
    }
}

namespace {

// A server that refuses a request may close while the client still writes.
const bool kIgnoreSigpipe = [] {
    std::signal(SIGPIPE, SIG_IGN);
    return true;
}();

std::string readAll(const std::filesystem::path& p) { return test::readFile(p); }

/// Runs segue-hq with `args`; the child dies with this process.
pid_t spawnHq(std::vector<std::string> args, const std::filesystem::path& out, const std::filesystem::path& err) {
    args.insert(args.begin(), SEGUE_HQ_BINARY);
    return test::spawn(args, out, err);
}

int waitFor(pid_t pid) { return test::waitExit(pid); }

struct Ran {
    int code = -1;
    std::string out, err;
};

Ran hqRun(const test::TempDir& dir, const std::vector<std::string>& args) {
    const auto out = dir / ("run-" + hq::randomHex(6) + ".out"), err = dir / ("run-" + hq::randomHex(6) + ".err");
    Ran r;
    r.code = waitFor(spawnHq(args, out, err));
    r.out = readAll(out);
    r.err = readAll(err);
    return r;
}

} // namespace

TEST_CASE("cli: token add prints the token then its id, token list shows no secret, token revoke refuses it",
          "[cli]") {
    test::TempDir dir;
    const std::string db = "sqlite:" + (dir / "hq.sqlite").string();
    const Ran add = hqRun(dir, {"token", "add", "--db", db, "--role", "read"});
    REQUIRE(add.code == 0);
    CHECK(add.out.size() == 44);   // the token and a newline, as before
    CHECK_THAT(add.err, Catch::Contains("token id: 1"));
    const Ran addJson = hqRun(dir, {"token", "add", "--db", db, "--role", "read", "--json"});
    REQUIRE(addJson.code == 0);
    const auto added = json::parse(addJson.out);
    CHECK(added["id"] == 2);
    CHECK(added["role"] == "read");
    CHECK(added["token"].get<std::string>().size() == 43);

    const Ran list = hqRun(dir, {"token", "list", "--db", db, "--json"});
    REQUIRE(list.code == 0);
    const auto tokens = json::parse(list.out);
    REQUIRE(tokens.size() == 2);
    CHECK(tokens[0]["id"] == 1);
    CHECK(tokens[0]["role"] == "read");
    CHECK(tokens[0]["revoked"] == false);
    CHECK(tokens[0]["last_used_at"].is_null());
    CHECK(tokens[0]["created_at"].get<std::string>().ends_with("Z"));
    for (const auto& t : tokens) CHECK(t.size() == 5);
    CHECK(list.out.find(add.out.substr(0, 43)) == std::string::npos);
    CHECK(list.out.find(hq::hashToken(add.out.substr(0, 43))) == std::string::npos);
    const Ran table = hqRun(dir, {"token", "list", "--db", db});
    REQUIRE(table.code == 0);
    CHECK_THAT(table.out, Catch::Contains("LAST USED") && Catch::Contains("never"));

    CHECK(hqRun(dir, {"token", "revoke", "--db", db, "1"}).code == 0);
    CHECK(json::parse(hqRun(dir, {"token", "list", "--db", db, "--json"}).out)[0]["revoked"] == true);
    const Ran unknown = hqRun(dir, {"token", "revoke", "--db", db, "99"});
    CHECK(unknown.code == 1);
    CHECK_THAT(unknown.err, Catch::Contains("no token with id 99"));
    CHECK(hqRun(dir, {"token", "revoke", "--db", db}).code == 2);
    CHECK(hqRun(dir, {"token", "revoke", "--db", db, "x1"}).code == 2);
    CHECK(hqRun(dir, {"token", "revoke", "--db", db, "1", "2"}).code == 2);
    CHECK(hqRun(dir, {"token", "list"}).code == 2);
    CHECK(hqRun(dir, {"token", "list", "--db", "sqlite:/nonexistent-dir/x/hq.sqlite"}).code == 1);
}

TEST_CASE("e2e: a read token revoked while a dashboard uses it gets 401 on its next request", "[e2e]") {
    test::TempDir dir;
    REQUIRE(hqRun(dir, {"init-demo", "--dir", dir.path().string(), "--port", "18443"}).code == 0);
    const std::string db = "sqlite:" + (dir / "hq.sqlite").string();
    const Ran add = hqRun(dir, {"token", "add", "--db", db, "--role", "read", "--json"});
    REQUIRE(add.code == 0);
    const auto added = json::parse(add.out);
    const std::string token = added["token"];
    const std::string id = std::to_string(added["id"].get<int>());

    const auto portFile = dir / "port";
    const pid_t server = spawnHq({"serve", "--listen", "127.0.0.1:0", "--port-file", portFile.string(), "--db", db,
                                  "--tls-cert", (dir / "cert.pem").string(), "--tls-key", (dir / "key.pem").string()},
                                 dir / "serve.out", dir / "serve.err");
    // Waiting for readiness, not testing a timeout: the port file appears once the socket listens.
    for (int i = 0; i < 1500 && !std::filesystem::exists(portFile); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    REQUIRE(std::filesystem::exists(portFile));
    httplib::SSLClient client("localhost", std::stoi(readAll(portFile)));
    client.set_ca_cert_path((dir / "cert.pem").c_str());
    client.enable_server_certificate_verification(true);
    client.set_keep_alive(true);   // as an open dashboard: one connection, token sent each time
    const httplib::Headers auth = {{"Authorization", "Bearer " + token}};

    for (int i = 0; i < 3; ++i) {
        const auto res = client.Get("/api/v1/devices", auth);
        REQUIRE(res);
        CHECK(res->status == 200);
    }
    const auto listed = json::parse(hqRun(dir, {"token", "list", "--db", db, "--json"}).out);
    CHECK(listed.back()["last_used_at"].is_string());   // used through the API

    REQUIRE(hqRun(dir, {"token", "revoke", "--db", db, id}).code == 0);
    const auto after = client.Get("/api/v1/devices", auth);
    REQUIRE(after);
    CHECK(after->status == 401);
    const auto csv = client.Get("/api/v1/responses.csv", auth);
    REQUIRE(csv);
    CHECK(csv->status == 401);
    // The demo's own read token still works.
    std::string demoToken = readAll(dir / "read-token.txt");
    demoToken.pop_back();
    const auto other = client.Get("/api/v1/devices", {{"Authorization", "Bearer " + demoToken}});
    REQUIRE(other);
    CHECK(other->status == 200);

    kill(server, SIGTERM);
    CHECK(waitFor(server) == 0);
}
