// End to end: the real segue-hq binary (init-demo, serve, device/token verbs) over HTTPS on
// 127.0.0.1 with its generated certificate, spoken to by httplib's SSLClient with verification on.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <algorithm>
#include <map>
#include <random>
#include <mutex>
#include <set>
#include <tuple>
#include <sstream>
#include <thread>

#include <catch2/catch.hpp>
#include <httplib.h>
#include <sodium.h>
#include <nlohmann/json.hpp>

#include "core/scoring.hpp"
#include "core/uuid.hpp"
#include "hq/admin.hpp"
#include "hq/contact_key.hpp"
#include "hq/server.hpp"
#include "hq/token.hpp"
#include "sync/backoff.hpp"
#include "sync/wire.hpp"
#include "tests/hq/hq_test_support.hpp"

using namespace segue;
using nlohmann::json;

namespace {

using test::readFile;
using test::spawn;
using test::waitExit;

// A server that refuses a body may close while the client still writes; the write must fail
// with EPIPE instead of ending the test process.
const bool kIgnoreSigpipe = [] {
    std::signal(SIGPIPE, SIG_IGN);
    return true;
}();

struct Run {
    int exitCode = -1;
    std::string out, err;
};

/// Runs segue-hq with `args` to completion.
Run runHq(const test::TempDir& dir, std::vector<std::string> args) {
    args.insert(args.begin(), SEGUE_HQ_BINARY);
    const auto out = dir / ("run-" + hq::randomHex(6) + ".out");
    const auto err = dir / ("run-" + hq::randomHex(6) + ".err");
    Run r;
    r.exitCode = waitExit(spawn(args, out, err));
    r.out = readFile(out);
    r.err = readFile(err);
    return r;
}

/// A running `segue-hq serve`; killed at the end of the scope if still running.
class Server {
public:
    Server(const test::TempDir& dir, std::vector<std::string> args) : m_dir(dir) {
        const auto portFile = dir / "port";
        std::filesystem::remove(portFile);
        args.insert(args.begin(), {SEGUE_HQ_BINARY, "serve", "--listen", "127.0.0.1:0", "--port-file", portFile.string()});
        m_pid = spawn(args, dir / "serve.out", dir / "serve.err");
        // Waiting for readiness, not testing a timeout: the port file appears once the socket listens.
        for (int i = 0; i < 1500 && !std::filesystem::exists(portFile); ++i) {
            int status = 0;
            if (waitpid(m_pid, &status, WNOHANG) == m_pid) {
                m_pid = -1;
                FAIL("segue-hq serve exited: " << readFile(dir / "serve.err"));
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        REQUIRE(std::filesystem::exists(portFile));
        m_port = std::stoi(readFile(portFile));
        // The operations listener, when asked for, is named on standard output before the port file.
        const std::string out = readFile(dir / "serve.out");
        constexpr std::string_view kOps = "segue-hq operations on http://127.0.0.1:";
        if (const auto at = out.find(kOps); at != std::string::npos) m_opsPort = std::stoi(out.substr(at + kOps.size()));
    }
    ~Server() {
        if (m_pid > 0) {
            kill(m_pid, SIGKILL);
            waitExit(m_pid);
        }
    }
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    int port() const { return m_port; }
    int opsPort() const { return m_opsPort; }
    pid_t pid() const { return m_pid; }
    std::string log() const { return readFile(m_dir / "serve.err"); }
    /// SIGTERM, then the exit status.
    int terminate() {
        kill(m_pid, SIGTERM);
        const int code = waitExit(m_pid);
        m_pid = -1;
        return code;
    }

private:
    const test::TempDir& m_dir;
    pid_t m_pid = -1;
    int m_port = 0;
    int m_opsPort = 0;
};

std::string tomlValue(const std::string& toml, const std::string& key) {
    std::istringstream in(toml);
    for (std::string line; std::getline(in, line);)
        if (line.starts_with(key + " = \"")) return line.substr(key.size() + 4, line.size() - key.size() - 5);
    return {};
}

/// A demo HQ: init-demo in a temp dir, then serve over HTTPS with its certificate.
struct DemoHq {
    test::TempDir dir;
    std::string deviceId, deviceToken, readToken;
    std::unique_ptr<Server> server;

    explicit DemoHq(std::vector<std::string> serveArgs = {}) {
        const Run init = runHq(dir, {"init-demo", "--dir", dir.path().string(), "--port", "18443"});
        REQUIRE(init.exitCode == 0);
        const std::string toml = readFile(dir / "kiosk.toml");
        deviceId = tomlValue(toml, "device_id");
        deviceToken = tomlValue(toml, "token");
        readToken = readFile(dir / "read-token.txt");
        readToken.pop_back();
        REQUIRE(deviceToken.size() == 43);
        // "{dir}/NAME" names a file init-demo wrote (e.g. its contact.key).
        for (auto& a : serveArgs)
            if (a.starts_with("{dir}/")) a = (dir.path() / a.substr(6)).string();
        serveArgs.insert(serveArgs.begin(), {"--db", db(), "--tls-cert", (dir / "cert.pem").string(), "--tls-key",
                                             (dir / "key.pem").string(), "--ops-listen", "127.0.0.1:0"});
        server = std::make_unique<Server>(dir, serveArgs);
    }
    std::string db() const { return "sqlite:" + (dir / "hq.sqlite").string(); }

    std::unique_ptr<httplib::SSLClient> client(const std::string& host = "localhost") const {
        auto c = std::make_unique<httplib::SSLClient>(host, server->port());
        c->set_ca_cert_path((dir / "cert.pem").c_str());
        c->enable_server_certificate_verification(true);
        c->set_read_timeout(30, 0);
        c->set_write_timeout(30, 0);
        return c;
    }
    httplib::Result post(const std::string& body, const std::string& token, httplib::Headers headers = {}) const {
        headers.emplace("Authorization", "Bearer " + token);
        return client()->Post("/api/v1/batches", headers, body, "application/json");
    }
    httplib::Result get(const std::string& path, const std::string& token) const {
        return client()->Get(path.c_str(), {{"Authorization", "Bearer " + token}});
    }
    /// GET /metrics on the operations listener (the main one serves it only with a metrics token).
    httplib::Result metrics() const {
        REQUIRE(server->opsPort() > 0);
        httplib::Client c("127.0.0.1", server->opsPort());
        c.set_read_timeout(30, 0);
        return c.Get("/metrics");
    }
};

std::string batchBody(const std::string& device, const std::vector<core::Response>& rs, int protocol = 1) {
    wire::Batch b;
    b.protocol = protocol;
    b.batchId = core::UuidV7Generator().next(1'795'000'000'000);
    b.deviceId = device;
    b.sentAtMs = 1'795'000'000'000;
    b.pending = static_cast<std::int64_t>(rs.size());
    b.appVersion = "0.1.0";
    b.responses = rs;
    return wire::encodeBatch(b);
}

json envelope(const std::string& device, json records) {
    json j = json::parse(batchBody(device, {}));
    j["responses"] = std::move(records);
    return j;
}

wire::BatchAck ackOf(const httplib::Result& res) {
    REQUIRE(res);
    INFO(res->body);
    REQUIRE(res->status == 200);
    auto ack = wire::decodeAck(res->body);
    REQUIRE(ack);
    return *ack;
}

void requireError(const httplib::Result& res, int status, const std::string& code) {
    REQUIRE(res);
    INFO(res->body);
    CHECK(res->status == status);
    const auto j = json::parse(res->body, nullptr, false);
    REQUIRE(j.is_object());
    CHECK(j.value("error", "") == code);
    CHECK_FALSE(j.value("message", "").empty());
}

std::vector<std::string> csvLines(const std::string& csv) {
    std::vector<std::string> lines;
    std::size_t pos = 0;
    while (pos < csv.size()) {
        const auto end = csv.find("\r\n", pos);
        lines.push_back(csv.substr(pos, end - pos));
        pos = end == std::string::npos ? csv.size() : end + 2;
    }
    return lines;
}

} // namespace

TEST_CASE("e2e: accepted, duplicate on resend, conflict kept, and daily and CSV agree", "[e2e]") {
    DemoHq hq;
    auto rs = test::ResponseFactory("store-demo", hq.deviceId, 21).make(40);
    const auto first = ackOf(hq.post(batchBody(hq.deviceId, rs), hq.deviceToken));
    CHECK(first.accepted.size() == 40);
    CHECK(first.duplicates.empty());
    CHECK(first.rejected.empty());

    const auto again = ackOf(hq.post(batchBody(hq.deviceId, rs), hq.deviceToken));
    CHECK(again.accepted.empty());
    CHECK(again.duplicates == first.accepted);

    auto changed = rs[3];
    changed.stars = changed.stars == 5 ? 1 : 5;
    const auto conflict = ackOf(hq.post(batchBody(hq.deviceId, {changed}), hq.deviceToken));
    CHECK(conflict.rejected == std::vector<wire::Rejected>{{changed.id, "conflict"}});

    // Same host name check against the IP SAN.
    CHECK(hq.client("127.0.0.1")->Get("/healthz")->status == 200);

    // The daily API equals core's scoring over what was sent.
    std::map<std::string, core::Tally> tallies;
    for (const auto& r : rs) tallies[r.localDate].add(r);
    const std::string from = tallies.begin()->first, to = tallies.rbegin()->first;
    const auto daily = hq.get("/api/v1/stores/store-demo/daily?from=" + from + "&to=" + to, hq.readToken);
    REQUIRE(daily);
    REQUIRE(daily->status == 200);
    const auto j = json::parse(daily->body);
    CHECK(j["store"] == "store-demo");
    const auto& days = j["days"];
    REQUIRE(days.size() == static_cast<std::size_t>(*core::daysFromIsoDate(to) - *core::daysFromIsoDate(from) + 1));
    for (const auto& day : days) {
        const std::string date = day["date"];
        INFO(date);
        CHECK(day == core::toJson(core::summarize(tallies[date], date, 1)));   // the last batch reported 1 pending
    }

    // The CSV export: header plus one row per stored response, in id order, with received_at.
    const auto csv = hq.get("/api/v1/responses.csv", hq.readToken);
    REQUIRE(csv);
    REQUIRE(csv->status == 200);
    CHECK_THAT(csv->get_header_value("Content-Type"), Catch::StartsWith("text/csv"));
    const auto lines = csvLines(csv->body);
    REQUIRE(lines.size() == 41);
    CHECK(lines[0] + "\r\n" == wire::csvHeader(true));
    for (std::size_t i = 0; i < rs.size(); ++i) {
        std::string expected = wire::csvRow(rs[i]);
        expected.resize(expected.size() - 2);
        CHECK(lines[i + 1].starts_with(expected + ","));
    }
    const auto filtered = hq.get("/api/v1/responses.csv?from=" + rs[10].localDate + "&to=" + rs[20].localDate +
                                     "&store=store-demo",
                                 hq.readToken);
    REQUIRE(filtered);
    std::size_t inRange = 0;
    for (const auto& r : rs) inRange += r.localDate >= rs[10].localDate && r.localDate <= rs[20].localDate;
    CHECK(csvLines(filtered->body).size() == inRange + 1);
    CHECK(csvLines(hq.get("/api/v1/responses.csv?store=store-other", hq.readToken)->body).size() == 1);

    // The fleet view shows the device's last report and its one conflict.
    const auto devices = hq.get("/api/v1/devices", hq.readToken);
    REQUIRE(devices);
    REQUIRE(devices->status == 200);
    const auto d = json::parse(devices->body)["devices"][0];
    CHECK(d["id"] == hq.deviceId);
    CHECK(d["store_id"] == "store-demo");
    CHECK(d["last_pending"] == 1);
    CHECK(d["app_version"] == "0.1.0");
    CHECK(d["rejected"] == 1);
    CHECK(d["revoked"] == false);
    CHECK(d["last_seen"].is_string());

    const auto metrics = hq.metrics();
    REQUIRE(metrics);
    CHECK_THAT(metrics->body, Catch::Contains("segue_hq_responses_total{result=\"accepted\"} 40\n"));
    CHECK_THAT(metrics->body, Catch::Contains("segue_hq_responses_total{result=\"duplicate\"} 40\n"));
    CHECK_THAT(metrics->body, Catch::Contains("segue_hq_requests_total{route=\"/api/v1/batches\",code=\"200\"} 3\n"));
    CHECK_THAT(metrics->body, Catch::Contains("segue_hq_ingest_seconds_count 3\n"));
    // The heap by owner: SQLite's share (the database's page cache holds the 40 rows) within what is in use.
    const auto gauge = [&](const std::string& name) -> std::int64_t {
        const auto at = metrics->body.find("\n" + name + " ");
        if (at == std::string::npos) return -1;
        return std::stoll(metrics->body.substr(at + name.size() + 2));
    };
    const std::int64_t inUse = gauge("segue_hq_heap_bytes{state=\"in_use\"}");
    const std::int64_t sqliteBytes = gauge("segue_hq_sqlite_memory_bytes");
    CHECK(inUse > 1'000'000);
    CHECK(gauge("segue_hq_heap_bytes{state=\"free\"}") >= 0);
    CHECK(sqliteBytes > 100'000);
    CHECK(sqliteBytes < inUse);
    // One log line per request, with the device.
    CHECK_THAT(hq.server->log(), Catch::Contains("POST /api/v1/batches 200"));
    CHECK_THAT(hq.server->log(), Catch::Contains("device=" + hq.deviceId));
}

TEST_CASE("e2e: invalid records are rejected one by one while the valid ones are accepted", "[e2e]") {
    DemoHq hq;
    test::ResponseFactory f("store-demo", hq.deviceId, 22);
    const auto good1 = f.next(), good2 = f.next();
    json stars9 = core::toJson(f.next());
    stars9["stars"] = 9;
    json unknownKey = core::toJson(f.next());
    unknownKey["segue"]["friendliness"] = 5;
    json badUuid = core::toJson(f.next());
    badUuid["id"] = "1234-not-a-uuid";
    json badTime = core::toJson(f.next());
    badTime["created_at"] = "2026-13-45T99:00:00Z";
    auto wrongStore = f.next();
    wrongStore.storeId = "store-elsewhere";
    json wrongTypes = core::toJson(f.next());
    wrongTypes["stars"] = "5";
    json hugeString = core::toJson(f.next());
    hugeString["survey_id"] = std::string(3 * 1024 * 1024, 'x');
    json unknownField = core::toJson(good2);
    unknownField["mood_ring"] = std::string(200'000, 'y');   // unknown keys are ignored, however big

    const json body = envelope(hq.deviceId, {core::toJson(good1), stars9, unknownKey, badUuid, badTime,
                                             core::toJson(wrongStore), wrongTypes, hugeString, unknownField});
    const auto ack = ackOf(hq.post(body.dump(), hq.deviceToken));
    CHECK(ack.accepted == std::vector<std::string>{good1.id, good2.id});
    REQUIRE(ack.rejected.size() == 7);
    std::map<std::string, std::string> reasons;
    for (const auto& r : ack.rejected) reasons[r.id] = r.reason;
    CHECK(reasons[stars9["id"]] == "stars must be 1..5");
    CHECK_THAT(reasons[unknownKey["id"]], Catch::Contains("friendliness"));
    CHECK(reasons["1234-not-a-uuid"] == "id is not a UUID");
    CHECK_THAT(reasons[badTime["id"]], Catch::Contains("created_at"));
    CHECK(reasons[wrongStore.id] == "wrong store");
    CHECK_THAT(reasons[wrongTypes["id"]], Catch::Contains("stars"));
    CHECK_THAT(reasons[hugeString["id"]], Catch::Contains("survey_id"));
    // The reply stays small: the 3 MiB string is not echoed back.
    REQUIRE(hq.post(body.dump(), hq.deviceToken)->body.size() < 4096);

    const auto devices = json::parse(hq.get("/api/v1/devices", hq.readToken)->body);
    CHECK(devices["devices"][0]["rejected"] == 7);
    CHECK(csvLines(hq.get("/api/v1/responses.csv", hq.readToken)->body).size() == 3);
}

TEST_CASE("e2e: the CSV export prefixes a text cell that could start a formula", "[e2e]") {
    // Ingest validates ids to [A-Za-z0-9._-], so of OWASP's characters only '-' can begin one.
    DemoHq hq;
    test::ResponseFactory f("store-demo", hq.deviceId, 23);
    auto r = f.next();
    r.surveyId = "-survey";
    r.utcOffsetMin = -300;   // a negative number is a number, not text: never prefixed
    r.localDate = core::localDate(r.createdAtMs, r.utcOffsetMin);
    r.localHour = core::localHour(r.createdAtMs, r.utcOffsetMin);
    REQUIRE_FALSE(core::validate(r).has_value());
    const auto ack = ackOf(hq.post(envelope(hq.deviceId, {core::toJson(r)}).dump(), hq.deviceToken));
    REQUIRE(ack.accepted == std::vector<std::string>{r.id});
    const auto csv = hq.get("/api/v1/responses.csv", hq.readToken);
    REQUIRE(csv);
    REQUIRE(csv->status == 200);
    const auto lines = csvLines(csv->body);
    REQUIRE(lines.size() == 2);
    CHECK(lines[1].starts_with(r.id + ",store-demo," + hq.deviceId + ",'-survey,1,"));
    CHECK(lines[1].find("," + std::to_string(r.localHour) + ",-300,") != std::string::npos);
}

TEST_CASE("e2e: whole-request refusals get clear 4xx bodies and the server stays up", "[e2e]") {
    DemoHq hq;
    test::ResponseFactory f("store-demo", hq.deviceId, 23);
    const auto one = batchBody(hq.deviceId, {f.next()});

    SECTION("401 for a missing, unknown or revoked token") {
        requireError(hq.client()->Post("/api/v1/batches", one, "application/json"), 401, "unauthorized");
        // One character changed (a token that already starts with 'x' gets a 'y': replacing 'x'
        // with 'x' left one test run in 64 posting the real token).
        const std::string unknown = (hq.deviceToken[0] == 'x' ? "y" : "x") + hq.deviceToken.substr(1);
        REQUIRE(unknown != hq.deviceToken);
        requireError(hq.post(one, unknown), 401, "unauthorized");
        requireError(hq.post(one, hq.readToken), 401, "unauthorized");
        // A second device, enrolled while the server runs, then revoked.
        const Run add = runHq(hq.dir, {"device", "add", "--db", hq.db(), "--store", "store-demo", "--name", "Till 2", "--json"});
        REQUIRE(add.exitCode == 0);
        const auto added = json::parse(add.out);
        const std::string id2 = added["device_id"], token2 = added["token"];
        const auto body2 = batchBody(id2, {test::ResponseFactory("store-demo", id2, 5).next()});
        CHECK(ackOf(hq.post(body2, token2)).accepted.size() == 1);
        const Run revoke = runHq(hq.dir, {"device", "revoke", "--db", hq.db(), id2});
        REQUIRE(revoke.exitCode == 0);
        requireError(hq.post(body2, token2), 401, "unauthorized");
    }
    SECTION("409 for an unknown protocol version") {
        requireError(hq.post(batchBody(hq.deviceId, {f.next()}, 2), hq.deviceToken), 409, "unsupported_protocol");
    }
    SECTION("413 for a body over 4 MiB and for more than 1000 records") {
        json big = json::parse(one);
        big["app_version"] = std::string(5 * 1024 * 1024, 'v');
        requireError(hq.post(big.dump(), hq.deviceToken), 413, "payload_too_large");
        requireError(hq.post(batchBody(hq.deviceId, f.make(1001)), hq.deviceToken), 413, "payload_too_large");
        const auto tenThousand = batchBody(hq.deviceId, f.make(10'000));
        CHECK(tenThousand.size() > wire::kMaxBodyBytes);
        requireError(hq.post(tenThousand, hq.deviceToken), 413, "payload_too_large");
        // Compressed it is small, but it still may not decode to more than 4 MiB.
        requireError(hq.post(*wire::gzip(tenThousand), hq.deviceToken, {{"Content-Encoding", "gzip"}}), 413,
                     "payload_too_large");
        const auto bomb = wire::gzip(std::string(48 * 1024 * 1024, ' '));
        REQUIRE(bomb);
        CHECK(bomb->size() < 100'000);
        requireError(hq.post(*bomb, hq.deviceToken, {{"Content-Encoding", "gzip"}}), 413, "payload_too_large");
        // Past 64 MiB decoded the server stops reading and closes the connection: the client may
        // see the 413 or only the reset, and the server carries on either way (checked below).
        const auto biggerBomb = wire::gzip(std::string(256 * 1024 * 1024, ' '));
        REQUIRE(biggerBomb);
        const auto cut = hq.post(*biggerBomb, hq.deviceToken, {{"Content-Encoding", "gzip"}});
        if (cut) requireError(cut, 413, "payload_too_large");
        // 1000 records is within the limit (made afresh: `f` is years ahead of HQ's clock by now,
        // and those would be refused future_timestamp).
        const auto thousand = test::ResponseFactory("store-demo", hq.deviceId, 24, 1'780'000'000'000).make(1000);
        CHECK(ackOf(hq.post(batchBody(hq.deviceId, thousand), hq.deviceToken)).accepted.size() == 1000);
    }
    SECTION("400 for malformed JSON, wrong types, invalid UTF-8 and huge envelope strings") {
        requireError(hq.post("{\"protocol\": 1, \"batch_id\":", hq.deviceToken), 400, "bad_request");
        requireError(hq.post("", hq.deviceToken), 400, "bad_request");
        requireError(hq.post(std::string(1'000'000, '['), hq.deviceToken), 400, "bad_request");
        json wrong = json::parse(one);
        wrong["pending"] = "3";
        requireError(hq.post(wrong.dump(), hq.deviceToken), 400, "bad_request");
        wrong = json::parse(one);
        wrong["responses"] = "all of them";
        requireError(hq.post(wrong.dump(), hq.deviceToken), 400, "bad_request");
        json badUtf8 = json::parse(one);
        badUtf8["app_version"] = "MARK";
        std::string text = badUtf8.dump();
        text.replace(text.find("MARK"), 4, "\xc3\x28\xa0\xa1");
        requireError(hq.post(text, hq.deviceToken), 400, "bad_request");
        json huge = json::parse(one);
        huge["app_version"] = std::string(3 * 1024 * 1024, 'v');
        requireError(hq.post(huge.dump(), hq.deviceToken), 400, "bad_request");
        json otherDevice = json::parse(one);
        otherDevice["device_id"] = "kiosk-somebody-else";
        requireError(hq.post(otherDevice.dump(), hq.deviceToken), 400, "device_mismatch");
        requireError(hq.post(one, hq.deviceToken, {{"Content-Encoding", "gzip"}}), 400, "bad_request");
    }
    SECTION("gzip bodies and unknown fields are accepted") {
        json extra = json::parse(batchBody(hq.deviceId, f.make(3)));
        extra["something_new"] = {1, 2, 3};
        extra["responses"][0]["also_new"] = "ignored";
        const auto ack = ackOf(hq.post(*wire::gzip(extra.dump()), hq.deviceToken, {{"Content-Encoding", "gzip"}}));
        CHECK(ack.accepted.size() == 3);
    }
    SECTION("read endpoints refuse device tokens and bad parameters") {
        requireError(hq.get("/api/v1/devices", hq.deviceToken), 401, "unauthorized");
        requireError(hq.client()->Get("/api/v1/responses.csv"), 401, "unauthorized");
        requireError(hq.get("/api/v1/stores/store-demo/daily?from=2026-11-01&to=2026-11-02", "nope"), 401, "unauthorized");
        requireError(hq.get("/api/v1/stores/store-demo/daily?from=2026-11-01", hq.readToken), 400, "bad_request");
        requireError(hq.get("/api/v1/stores/store-demo/daily?from=2026-11-31&to=2026-12-01", hq.readToken), 400, "bad_request");
        requireError(hq.get("/api/v1/stores/store-demo/daily?from=2026-11-05&to=2026-11-01", hq.readToken), 400, "bad_request");
        requireError(hq.get("/api/v1/stores/store-nowhere/daily?from=2026-11-01&to=2026-11-02", hq.readToken), 404, "not_found");
        requireError(hq.get("/api/v1/responses.csv?store=a,b", hq.readToken), 400, "bad_request");
        requireError(hq.get("/api/v1/nothing-here", hq.readToken), 404, "not_found");
    }

    // Whatever was thrown at it, the server is up and stored only what it acknowledged.
    const auto health = hq.client()->Get("/healthz");
    REQUIRE(health);
    CHECK(health->status == 200);
    const auto csv = hq.get("/api/v1/responses.csv", hq.readToken);
    REQUIRE(csv);
    const auto metrics = hq.metrics()->body;
    const std::string counter = "segue_hq_responses_total{result=\"accepted\"} ";
    const auto at = metrics.find(counter);
    REQUIRE(at != std::string::npos);
    const long accepted = std::stol(metrics.substr(at + counter.size()));
    CHECK(static_cast<long>(csvLines(csv->body).size()) == accepted + 1);
}

TEST_CASE("e2e: a device over its rate gets 429 with Retry-After, others are unaffected", "[e2e]") {
    DemoHq hq({"--device-rate", "0.01", "--device-burst", "2"});
    test::ResponseFactory f("store-demo", hq.deviceId, 24);
    CHECK(ackOf(hq.post(batchBody(hq.deviceId, {f.next()}), hq.deviceToken)).accepted.size() == 1);
    CHECK(ackOf(hq.post(batchBody(hq.deviceId, {f.next()}), hq.deviceToken)).accepted.size() == 1);
    const auto limited = hq.post(batchBody(hq.deviceId, {f.next()}), hq.deviceToken);
    requireError(limited, 429, "rate_limited");
    const int retryAfter = std::stoi(limited->get_header_value("Retry-After"));
    CHECK(retryAfter >= 1);
    CHECK(retryAfter <= 100);
    CHECK(hq.get("/api/v1/devices", hq.readToken)->status == 200);
    CHECK(csvLines(hq.get("/api/v1/responses.csv", hq.readToken)->body).size() == 3);
}

TEST_CASE("e2e: TLS is verified: a client trusting another CA cannot connect", "[e2e]") {
    DemoHq hq;
    test::TempDir other;
    REQUIRE(runHq(other, {"init-demo", "--dir", other.path().string()}).exitCode == 0);
    httplib::SSLClient c("localhost", hq.server->port());
    c.set_ca_cert_path((other / "cert.pem").c_str());
    c.enable_server_certificate_verification(true);
    const auto res = c.Get("/healthz");
    CHECK_FALSE(res);
    CHECK(res.error() == httplib::Error::SSLServerVerification);
}

TEST_CASE("e2e: the request threads run with segue-hq's timer slack, so idle keep-alive polls wake less",
          "[e2e]") {
    DemoHq hq({"--threads", "6"});
    REQUIRE(hq.client()->Get("/healthz")->status == 200);
    // Every thread of the request pool (and the thread that started it) carries the slack; the
    // kernel's default is 50 000 ns. /proc/TID/timerslack_ns reads one thread's.
    int slack = 0, threads = 0;
    for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(hq.server->pid()) + "/task")) {
        ++threads;
        const std::string ns = readFile(std::filesystem::path("/proc") / task.path().filename() / "timerslack_ns");
        REQUIRE_FALSE(ns.empty());
        if (std::stoul(ns) == hq::kRequestTimerSlackNs) ++slack;
    }
    INFO(slack << " of " << threads << " threads");
    CHECK(slack >= 6);
    CHECK(slack < threads);   // threads started before the server (the alert notifier) keep the default
}

TEST_CASE("e2e: the listening socket holds a fleet's connections, not httplib's 5", "[e2e]") {
    DemoHq hq;
    // ss shows a listening socket's backlog in its Send-Q column.
    const test::TempDir tmp;
    const std::string cmd = "ss -ltnH 'sport = :" + std::to_string(hq.server->port()) + "' > " + (tmp / "ss").string();
    REQUIRE(std::system(cmd.c_str()) == 0);
    std::istringstream line(readFile(tmp / "ss"));
    std::string state;
    long recvQ = -1, backlog = -1;
    line >> state >> recvQ >> backlog;
    INFO(readFile(tmp / "ss"));
    REQUIRE(state == "LISTEN");
    const long somaxconn = std::stol(readFile("/proc/sys/net/core/somaxconn"));
    CHECK(backlog == std::min<long>(hq::kListenBacklog, somaxconn));
    CHECK(backlog > 5);
}

TEST_CASE("e2e: SIGTERM lets the server finish and exit 0 with its database intact", "[e2e]") {
    DemoHq hq;
    const auto rs = test::ResponseFactory("store-demo", hq.deviceId, 25).make(10);
    CHECK(ackOf(hq.post(batchBody(hq.deviceId, rs), hq.deviceToken)).accepted.size() == 10);
    CHECK(hq.server->terminate() == 0);
    CHECK_THAT(hq.server->log(), Catch::Contains("SIGTERM"));
    CHECK_THAT(hq.server->log(), Catch::Contains("stopped"));
    // Served again from the same file, the responses are there.
    Server again(hq.dir, {"--db", hq.db(), "--tls-cert", (hq.dir / "cert.pem").string(), "--tls-key",
                          (hq.dir / "key.pem").string()});
    httplib::SSLClient c("localhost", again.port());
    c.set_ca_cert_path((hq.dir / "cert.pem").c_str());
    c.enable_server_certificate_verification(true);
    const auto csv = c.Get("/api/v1/responses.csv", {{"Authorization", "Bearer " + hq.readToken}});
    REQUIRE(csv);
    CHECK(csvLines(csv->body).size() == 11);
    // A port already in use is a failure (1), not a usage error.
    const Run busy = runHq(hq.dir, {"serve", "--listen", "127.0.0.1:" + std::to_string(again.port()), "--db", hq.db(),
                                    "--tls-cert", (hq.dir / "cert.pem").string(), "--tls-key", (hq.dir / "key.pem").string()});
    CHECK(busy.exitCode == 1);
    CHECK_THAT(busy.err, Catch::Contains("cannot listen"));
    CHECK(again.terminate() == 0);
}

TEST_CASE("e2e: the command line reports usage errors with 2 and failures with 1", "[e2e]") {
    test::TempDir dir;
    const std::string db = "sqlite:" + (dir / "hq.sqlite").string();
    auto code = [&](std::vector<std::string> args) { return runHq(dir, std::move(args)).exitCode; };
    CHECK(code({"--help"}) == 0);
    CHECK_THAT(runHq(dir, {"--version"}).out, Catch::StartsWith("segue-hq "));
    CHECK(code({}) == 2);
    CHECK(code({"launch"}) == 2);
    CHECK(code({"serve", "--listen", "127.0.0.1:0", "--db", db}) == 2);   // neither TLS nor the test flag
    CHECK(code({"serve", "--listen", "nonsense", "--db", db, "--insecure-http-for-tests"}) == 2);
    CHECK(code({"serve", "--listen", "127.0.0.1:0", "--db", db, "--tls-cert", "/nonexistent.pem", "--tls-key",
                "/nonexistent.pem"}) == 2);
    CHECK(code({"device", "list", "--db", "mysql://somewhere"}) == 2);
    CHECK(code({"device", "add", "--db", db, "--store", "bad store!", "--name", "x"}) == 2);
    CHECK(code({"device", "add", "--db", db, "--store", "s1"}) == 2);
    CHECK(code({"token", "add", "--db", db, "--role", "admin"}) == 2);
    CHECK(code({"device", "list", "--db", db, "--colour"}) == 2);

    const Run add = runHq(dir, {"device", "add", "--db", db, "--store", "s1", "--name", "Front desk", "--id", "till-1"});
    REQUIRE(add.exitCode == 0);
    CHECK_THAT(add.out, Catch::Contains("device_id: till-1\n"));
    CHECK_THAT(add.out, Catch::Contains("token: "));
    CHECK(code({"device", "add", "--db", db, "--store", "s1", "--name", "Again", "--id", "till-1"}) == 2);
    CHECK(code({"device", "revoke", "--db", db, "till-404"}) == 1);
    CHECK(code({"device", "revoke", "--db", db, "till-1"}) == 0);
    const auto list = json::parse(runHq(dir, {"device", "list", "--db", db, "--json"}).out);
    REQUIRE(list.size() == 1);
    CHECK(list[0]["id"] == "till-1");
    CHECK(list[0]["revoked"] == true);
    CHECK_THAT(runHq(dir, {"device", "list", "--db", db}).out, Catch::Contains("Front desk"));
    const Run token = runHq(dir, {"token", "add", "--db", db, "--role", "read"});
    CHECK(token.exitCode == 0);
    CHECK(token.out.size() == 44);
    CHECK(code({"device", "list", "--db", "sqlite:/nonexistent-dir/x/hq.sqlite"}) == 1);

    // init-demo writes secrets with mode 0600 and refuses to overwrite a demo.
    const auto demo = dir / "demo";
    REQUIRE(code({"init-demo", "--dir", demo.string(), "--port", "9443"}) == 0);
    for (const char* secret : {"key.pem", "kiosk.toml", "read-token.txt"})
        CHECK((std::filesystem::status(demo / secret).permissions() & std::filesystem::perms::all) ==
              (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write));
    const std::string toml = readFile(demo / "kiosk.toml");
    CHECK(tomlValue(toml, "server_url") == "https://localhost:9443");
    CHECK(tomlValue(toml, "store_id") == "store-demo");
    CHECK(tomlValue(toml, "language") == "zh-CN");
    CHECK(tomlValue(toml, "timezone") == "Asia/Shanghai");
    CHECK(tomlValue(toml, "ca_file") == (demo / "cert.pem").string());
    CHECK_THAT(toml, Catch::Contains("[sync]\nenabled = true\n"));
    CHECK(code({"init-demo", "--dir", demo.string()}) == 1);
    CHECK(code({"init-demo", "--dir", demo.string(), "--port", "70000"}) == 2);
}

namespace {

/// segue-hq's connections to the database of `url`, as PostgreSQL lists them.
long serverConnections(const std::string& url) {
    return std::stol(test::pgExec(url, "SELECT count(*) FROM pg_stat_activity "
                                       "WHERE datname = current_database() AND application_name = 'segue-hq'"));
}

} // namespace

TEST_CASE("e2e on PostgreSQL: enrol, ingest, dedup and read back through the real server", "[.pg]") {
    const char* base = std::getenv("SEGUE_TEST_PG_URL");
    REQUIRE(base);   // run by tests/hq/run_with_pg.sh, which starts the cluster
    test::TempDir dir;
    const auto urls = test::storageUrls(dir);
    REQUIRE(urls.size() == 2);
    const std::string db = urls[1];
    const Run add = runHq(dir, {"device", "add", "--db", db, "--store", "store-pg", "--name", "PG till", "--json"});
    REQUIRE(add.exitCode == 0);
    const auto added = json::parse(add.out);
    const std::string device = added["device_id"], token = added["token"];
    const Run read = runHq(dir, {"token", "add", "--db", db, "--role", "read"});
    REQUIRE(read.exitCode == 0);
    const std::string readToken = read.out.substr(0, read.out.size() - 1);
    REQUIRE(runHq(dir, {"init-demo", "--dir", (dir / "tls").string()}).exitCode == 0);

    Server server(dir, {"--db", db, "--tls-cert", (dir / "tls" / "cert.pem").string(), "--tls-key",
                        (dir / "tls" / "key.pem").string()});
    // The pool is open before the port is: a fleet reconnecting after a restart finds it ready.
    CHECK(serverConnections(db) >= 8);   // >=: a command-line run above may still be leaving
    auto client = [&] {
        auto c = std::make_unique<httplib::SSLClient>("localhost", server.port());
        c->set_ca_cert_path((dir / "tls" / "cert.pem").c_str());
        c->enable_server_certificate_verification(true);
        return c;
    };
    const httplib::Headers auth = {{"Authorization", "Bearer " + token}};
    // 800 records span up to 167 days: they start far enough back that none is more than 7 days
    // ahead of HQ's clock (future_timestamp).
    const auto rs = test::ResponseFactory("store-pg", device, 31, 1'780'000'000'000).make(800);
    CHECK(ackOf(client()->Post("/api/v1/batches", auth, batchBody(device, rs), "application/json")).accepted.size() == 800);
    httplib::Headers gzipAuth = auth;
    gzipAuth.emplace("Content-Encoding", "gzip");
    const auto again = ackOf(client()->Post("/api/v1/batches", gzipAuth, *wire::gzip(batchBody(device, rs)), "application/json"));
    CHECK(again.accepted.empty());
    CHECK(again.duplicates.size() == 800);
    auto changed = rs[7];
    changed.tags = {"price"};
    CHECK(ackOf(client()->Post("/api/v1/batches", auth, batchBody(device, {changed}), "application/json")).rejected ==
          std::vector<wire::Rejected>{{changed.id, "conflict"}});

    std::map<std::string, core::Tally> tallies;
    for (const auto& r : rs) tallies[r.localDate].add(r);
    const std::string from = tallies.begin()->first, to = tallies.rbegin()->first;
    const httplib::Headers readAuth = {{"Authorization", "Bearer " + readToken}};
    const auto daily = client()->Get(("/api/v1/stores/store-pg/daily?from=" + from + "&to=" + to).c_str(), readAuth);
    REQUIRE(daily);
    REQUIRE(daily->status == 200);
    // Kept in a variable: a range-for over a member of a temporary would walk freed memory.
    const json dailyBody = json::parse(daily->body);
    for (const auto& day : dailyBody["days"]) {
        const std::string date = day["date"];
        INFO(date);
        CHECK(day == core::toJson(core::summarize(tallies[date], date, 1)));
    }
    const auto csv = client()->Get("/api/v1/responses.csv", readAuth);
    REQUIRE(csv);
    CHECK(csvLines(csv->body).size() == 801);
    CHECK(server.terminate() == 0);
}

TEST_CASE("e2e on PostgreSQL: two segue-hq nodes on one database take the same ids at once exactly once",
          "[.pg]") {
    const char* base = std::getenv("SEGUE_TEST_PG_URL");
    REQUIRE(base);   // run by tests/hq/run_with_pg.sh, which starts the cluster
    test::TempDir dir, dirA, dirB;
    const std::string db = test::storageUrls(dir).at(1);
    const Run add = runHq(dir, {"device", "add", "--db", db, "--store", "store-2n", "--name", "Till", "--json"});
    REQUIRE(add.exitCode == 0);
    const auto added = json::parse(add.out);
    const std::string device = added["device_id"], token = added["token"];
    const Run read = runHq(dir, {"token", "add", "--db", db, "--role", "read"});
    REQUIRE(read.exitCode == 0);
    const std::string readToken = read.out.substr(0, read.out.size() - 1);
    REQUIRE(runHq(dir, {"init-demo", "--dir", (dir / "tls").string()}).exitCode == 0);
    const std::vector<std::string> serve = {"--db", db, "--tls-cert", (dir / "tls" / "cert.pem").string(), "--tls-key",
                                            (dir / "tls" / "key.pem").string()};
    Server nodeA(dirA, serve), nodeB(dirB, serve);

    // 6 batches of 500; every batch goes to both nodes at the same moment, twice each (4 posts).
    constexpr int kBatches = 6, kPerBatch = 500;
    const auto rs = test::ResponseFactory("store-2n", device, 77, 1'760'000'000'000).make(kBatches * kPerBatch);
    std::vector<std::string> bodies;
    for (int b = 0; b < kBatches; ++b)
        bodies.push_back(batchBody(device, {rs.begin() + b * kPerBatch, rs.begin() + (b + 1) * kPerBatch}));
    std::mutex mutex;
    std::size_t accepted = 0, duplicates = 0, rejected = 0, failed = 0;
    for (int b = 0; b < kBatches; ++b) {
        std::vector<std::jthread> posts;
        for (int i = 0; i < 4; ++i)
            posts.emplace_back([&, b, i] {
                httplib::SSLClient c("localhost", (i % 2 ? nodeB : nodeA).port());
                c.set_ca_cert_path((dir / "tls" / "cert.pem").c_str());
                c.enable_server_certificate_verification(true);
                c.set_read_timeout(60, 0);
                const auto r = c.Post("/api/v1/batches", {{"Authorization", "Bearer " + token}}, bodies[b],
                                      "application/json");
                std::lock_guard lock(mutex);
                if (!r || r->status != 200) {
                    ++failed;
                    return;
                }
                const auto ack = wire::decodeAck(r->body);
                if (!ack) {
                    ++failed;
                    return;
                }
                accepted += ack->accepted.size();
                duplicates += ack->duplicates.size();
                rejected += ack->rejected.size();
            });
    }
    CHECK(failed == 0);
    CHECK(rejected == 0);
    CHECK(accepted == rs.size());   // each id accepted by exactly one of the 4 posts, on either node
    CHECK(duplicates == 3 * rs.size());
    CHECK(test::pgExec(db, "SELECT count(*) FROM responses") == std::to_string(rs.size()));
    CHECK(test::pgExec(db, "SELECT count(DISTINCT id) FROM responses") == std::to_string(rs.size()));

    // The day sums (written with each batch) count every response once, read through either node.
    std::map<std::string, core::Tally> tallies;
    for (const auto& r : rs) tallies[r.localDate].add(r);
    const std::string from = tallies.begin()->first, to = tallies.rbegin()->first;
    httplib::SSLClient c("localhost", nodeB.port());
    c.set_ca_cert_path((dir / "tls" / "cert.pem").c_str());
    c.enable_server_certificate_verification(true);
    const auto daily = c.Get(("/api/v1/stores/store-2n/daily?from=" + from + "&to=" + to).c_str(),
                             {{"Authorization", "Bearer " + readToken}});
    REQUIRE(daily);
    REQUIRE(daily->status == 200);
    int days = 0;
    // Kept in a variable: a range-for over a member of a temporary would walk freed memory.
    const json dailyBody = json::parse(daily->body);
    for (const auto& day : dailyBody["days"]) {
        const std::string date = day["date"];
        INFO(date);
        CHECK(day == core::toJson(core::summarize(tallies[date], date, kPerBatch)));   // pending: the last batch's
        ++days;
    }
    CHECK(days > 0);
    CHECK(nodeA.terminate() == 0);
    CHECK(nodeB.terminate() == 0);
}

namespace {

/// A loopback port free right now (bound, read, closed).
int freePort() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
    ::close(fd);
    REQUIRE(ok);
    return ntohs(addr.sin_port);
}

/// `segue-hq serve` on a fixed port (so HAProxy's server line stays right across a restart).
pid_t startNode(const test::TempDir& dir, const std::string& tag, int port, const std::vector<std::string>& serve) {
    const auto portFile = dir / (tag + ".port");
    std::vector<std::string> args = {SEGUE_HQ_BINARY, "serve", "--listen", "127.0.0.1:" + std::to_string(port),
                                     "--port-file", portFile.string(), "--max-connections-per-address", "0"};
    args.insert(args.end(), serve.begin(), serve.end());
    const pid_t pid = spawn(args, dir / (tag + ".out"), dir / (tag + ".err"));
    // Waiting for readiness, not testing a timeout: the port file appears once the socket listens.
    for (int i = 0; i < 1500 && !std::filesystem::exists(portFile); ++i) {
        int status = 0;
        if (waitpid(pid, &status, WNOHANG) == pid) FAIL("segue-hq serve exited: " << readFile(dir / (tag + ".err")));
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    REQUIRE(std::filesystem::exists(portFile));
    return pid;
}

/// deploy/haproxy.cfg as shipped, with only the addresses and file paths put in for loopback.
std::string haproxyConfig(int listenPort, int portA, int portB, const std::filesystem::path& tls) {
    std::string cfg = readFile(std::filesystem::path(SEGUE_HQ_FIXTURES) / ".." / ".." / ".." / "deploy" / "haproxy.cfg");
    auto replace = [&cfg](const std::string& from, const std::string& to) {   // every occurrence, at least one
        REQUIRE(cfg.find(from) != std::string::npos);
        for (auto at = cfg.find(from); at != std::string::npos; at = cfg.find(from, at + to.size())) cfg.replace(at, from.size(), to);
    };
    replace("bind :8443", "bind 127.0.0.1:" + std::to_string(listenPort));
    replace("/etc/haproxy/segue-hq.pem", (tls / "both.pem").string());
    replace("/etc/haproxy/segue-hq-nodes-ca.pem", (tls / "cert.pem").string());
    replace("log /dev/log local0", "log stderr format raw local0");
    // 40 000 connections need 80 000 descriptors; a test process may not raise its limit that far.
    replace("    maxconn 40000", "    maxconn 4000");
    replace("10.0.0.11:8443", "127.0.0.1:" + std::to_string(portA));
    replace("10.0.0.12:8443", "127.0.0.1:" + std::to_string(portB));
    return cfg;
}

std::size_t countOf(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

} // namespace

TEST_CASE("e2e on PostgreSQL: HAProxy with the shipped config in front of two nodes, one SIGKILLed and restarted",
          "[.pg]") {
    const char* base = std::getenv("SEGUE_TEST_PG_URL");
    REQUIRE(base);   // run by tests/hq/run_with_pg.sh, which starts the cluster
    const char* haproxy = "/usr/sbin/haproxy";   // Debian's haproxy (scripts/setup)
    REQUIRE(std::filesystem::exists(haproxy));
    test::TempDir dir;
    const std::string db = test::storageUrls(dir).at(1);
    const Run add = runHq(dir, {"device", "add", "--db", db, "--store", "store-ha", "--name", "Till", "--json"});
    REQUIRE(add.exitCode == 0);
    const auto added = json::parse(add.out);
    const std::string device = added["device_id"], token = added["token"];
    const auto tls = dir / "tls";
    REQUIRE(runHq(dir, {"init-demo", "--dir", tls.string()}).exitCode == 0);
    {
        std::ofstream both(tls / "both.pem");
        both << readFile(tls / "cert.pem") << readFile(tls / "key.pem");
    }
    const std::vector<std::string> serve = {"--db", db, "--tls-cert", (tls / "cert.pem").string(), "--tls-key",
                                            (tls / "key.pem").string()};
    const int portA = freePort(), portB = freePort(), portH = freePort();
    pid_t nodeA = startNode(dir, "a1", portA, serve);
    const pid_t nodeB = startNode(dir, "b", portB, serve);
    {
        std::ofstream cfg(dir / "haproxy.cfg");
        cfg << haproxyConfig(portH, portA, portB, tls);
    }
    const pid_t proxy = spawn({haproxy, "-db", "-f", (dir / "haproxy.cfg").string()}, dir / "haproxy.out",
                              dir / "haproxy.err");
    struct Reaper {
        std::vector<pid_t*> pids;
        ~Reaper() {
            for (pid_t* p : pids)
                if (*p > 0) {
                    kill(*p, SIGKILL);
                    waitExit(*p);
                }
        }
    } reaper;
    pid_t proxyPid = proxy, nodeBPid = nodeB;
    reaper.pids = {&nodeA, &nodeBPid, &proxyPid};

    auto client = [&] {
        auto c = std::make_unique<httplib::SSLClient>("localhost", portH);
        c->set_ca_cert_path((tls / "cert.pem").c_str());
        c->enable_server_certificate_verification(true);
        c->set_read_timeout(30, 0);
        return c;
    };
    // HAProxy up, and /healthz answered by a node through it (TLS to HAProxy, TLS again to the node).
    bool up = false;
    for (int i = 0; i < 150 && !up; ++i) {
        if (const auto r = client()->Get("/healthz"); r && r->status == 200) up = true;
        else std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    INFO(readFile(dir / "haproxy.err"));
    REQUIRE(up);

    constexpr int kBatches = 40, kPerBatch = 250;
    const auto rs = test::ResponseFactory("store-ha", device, 91, 1'700'000'000'000).make(kBatches * kPerBatch);
    int failedAttempts = 0;
    // Posts batch `b` as a terminal does: again after a failure, at most 100 times 100 ms apart.
    auto send = [&](int b) {
        const std::string body =
            batchBody(device, {rs.begin() + b * kPerBatch, rs.begin() + (b + 1) * kPerBatch});
        for (int attempt = 0; attempt < 100; ++attempt) {
            const auto r = client()->Post("/api/v1/batches", {{"Authorization", "Bearer " + token}}, body,
                                          "application/json");
            if (r && r->status == 200) {
                const auto ack = wire::decodeAck(r->body);
                REQUIRE(ack);
                CHECK(ack->rejected.empty());
                CHECK(ack->accepted.size() + ack->duplicates.size() == static_cast<std::size_t>(kPerBatch));
                return;
            }
            ++failedAttempts;
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        FAIL("batch " << b << " never got through HAProxy");
    };
    for (int b = 0; b < 10; ++b) send(b);
    kill(nodeA, SIGKILL);   // lost under load: no goodbye to HAProxy or PostgreSQL
    waitExit(nodeA);
    nodeA = -1;
    for (int b = 10; b < 25; ++b) send(b);   // through the surviving node
    const std::size_t beforeRestart = countOf(readFile(dir / "b.err"), "POST /api/v1/batches");
    CHECK(beforeRestart >= 15);
    nodeA = startNode(dir, "a2", portA, serve);
    // HAProxy takes the restarted node back after `rise 2` checks 2 s apart: a new connection
    // for each batch, so leastconn spreads them once it is up.
    int b = 25;
    for (; b < kBatches; ++b) {
        send(b);
        if (b >= 30 && countOf(readFile(dir / "a2.err"), "POST /api/v1/batches") > 0) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    for (++b; b < kBatches; ++b) send(b);
    CHECK(countOf(readFile(dir / "a2.err"), "POST /api/v1/batches") > 0);
    INFO("failed attempts " << failedAttempts);
    CHECK(test::pgExec(db, "SELECT count(*) FROM responses") == std::to_string(rs.size()));
    CHECK(test::pgExec(db, "SELECT count(DISTINCT id) FROM responses") == std::to_string(rs.size()));
}

TEST_CASE("e2e on PostgreSQL: a pool that cannot be opened ahead is a warning, and serve still ingests", "[.pg]") {
    const char* env = std::getenv("SEGUE_TEST_PG_URL");
    REQUIRE(env);   // run by tests/hq/run_with_pg.sh, which starts the cluster
    const std::string base = env;
    // A role allowed 3 connections, owning a database of its own: the pool of 8 cannot fill.
    const std::string name = "segue_few_" + hq::randomHex(4);
    test::execSql(base, "CREATE ROLE " + name + " LOGIN CONNECTION LIMIT 3");
    test::execSql(base, "CREATE DATABASE " + name + " OWNER " + name);
    const auto at = base.find('@'), slash = base.rfind('/');
    REQUIRE(at != std::string::npos);
    const auto query = base.find('?', slash);
    const std::string db = "postgresql://" + name + base.substr(at, slash - at) + "/" + name +
                           (query == std::string::npos ? "" : base.substr(query));

    test::TempDir dir;
    const Run add = runHq(dir, {"device", "add", "--db", db, "--store", "store-few", "--name", "Till", "--json"});
    REQUIRE(add.exitCode == 0);
    const auto added = json::parse(add.out);
    const std::string device = added["device_id"], token = added["token"];
    REQUIRE(runHq(dir, {"init-demo", "--dir", (dir / "tls").string()}).exitCode == 0);

    Server server(dir, {"--db", db, "--tls-cert", (dir / "tls" / "cert.pem").string(), "--tls-key",
                        (dir / "tls" / "key.pem").string()});
    CHECK_THAT(server.log(), Catch::Contains("could not open the database connections ahead") &&
                                 Catch::Contains(name));   // PostgreSQL's words name the role
    httplib::SSLClient client("localhost", server.port());
    client.set_ca_cert_path((dir / "tls" / "cert.pem").c_str());
    client.enable_server_certificate_verification(true);
    const auto rs = test::ResponseFactory("store-few", device, 5).make(20);
    const auto res = client.Post("/api/v1/batches", {{"Authorization", "Bearer " + token}}, batchBody(device, rs),
                                 "application/json");
    CHECK(ackOf(res).accepted.size() == 20);

    // More requests at once than PostgreSQL lets the role connect: they share the 3 connections
    // the pool has instead of failing on a 4th.
    constexpr int kAtOnce = 16;
    std::vector<std::string> bodies;
    for (int i = 0; i < kAtOnce; ++i)
        bodies.push_back(batchBody(device, test::ResponseFactory("store-few", device, 100 + i).make(100)));
    std::vector<int> statuses(kAtOnce, 0);
    std::vector<std::string> answers(kAtOnce);
    {
        std::vector<std::jthread> posts;
        for (int i = 0; i < kAtOnce; ++i)
            posts.emplace_back([&, i] {
                httplib::SSLClient c("localhost", server.port());
                c.set_ca_cert_path((dir / "tls" / "cert.pem").c_str());
                c.enable_server_certificate_verification(true);
                c.set_read_timeout(60, 0);
                if (const auto r = c.Post("/api/v1/batches", {{"Authorization", "Bearer " + token}}, bodies[i],
                                          "application/json")) {
                    statuses[i] = r->status;
                    answers[i] = r->body;
                }
            });
    }
    for (int i = 0; i < kAtOnce; ++i) {
        INFO("request " << i << ": " << answers[i]);
        REQUIRE(statuses[i] == 200);
        CHECK(wire::decodeAck(answers[i])->accepted.size() == 100);
    }
    // Counted as the cluster's owner: the role's 3 connections are segue-hq's.
    const std::string asOwner =
        base.substr(0, slash) + "/" + name + (query == std::string::npos ? "" : base.substr(query));
    CHECK(test::pgExec(asOwner, "SELECT COUNT(*) FROM responses") == std::to_string(20 + kAtOnce * 100));
    CHECK_THAT(server.log(), Catch::Contains("PostgreSQL refused a connection, so segue-hq shares the 3 it has"));
    CHECK(server.terminate() == 0);
}

namespace {

/// A person's session over HTTPS: the cookie the login set and the CSRF token it returned.
struct Login {
    std::string cookie, csrf;
};

Login loginAs(const DemoHq& hq, const std::string& email, const std::string& password = "correct horse battery") {
    const auto res = hq.client()->Post("/api/v1/session", json{{"email", email}, {"password", password}}.dump(),
                                       "application/json");
    REQUIRE(res);
    INFO(res->body);
    REQUIRE(res->status == 200);
    const std::string set = res->get_header_value("Set-Cookie");
    return {set.substr(0, set.find(';')), json::parse(res->body)["csrf"].get<std::string>()};
}

httplib::Result getAs(const DemoHq& hq, const std::string& path, const Login& who) {
    return hq.client()->Get(path.c_str(), {{"Cookie", who.cookie}});
}

/// A change with the session cookie and, unless `csrf` is nullopt, the X-CSRF-Token header.
httplib::Result changeAs(const DemoHq& hq, const std::string& method, const std::string& path, const Login& who,
                         const json& body, const std::optional<std::string>& csrf) {
    httplib::Headers headers = {{"Cookie", who.cookie}};
    if (csrf) headers.emplace("X-CSRF-Token", *csrf);
    auto c = hq.client();
    if (method == "POST") return c->Post(path.c_str(), headers, body.dump(), "application/json");
    if (method == "PATCH") return c->Patch(path.c_str(), headers, body.dump(), "application/json");
    return c->Delete(path.c_str(), headers, body.dump(), "application/json");
}

json okJson(const httplib::Result& res, int status = 200) {
    REQUIRE(res);
    INFO(res->body);
    REQUIRE(res->status == status);
    return json::parse(res->body);
}

std::vector<std::string> storeIds(const json& rows, const char* key = "id") {
    std::vector<std::string> out;
    for (const auto& r : rows) out.push_back(r[key].get<std::string>());
    std::sort(out.begin(), out.end());
    return out;
}

} // namespace

TEST_CASE("e2e: people: each role reads its scope only, and admin routes, CSRF, throttling and sessions hold over HTTPS",
          "[e2e]") {
    DemoHq hq;
    const std::int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::system_clock::now().time_since_epoch()).count() - 86'400'000;
    core::UuidV7Generator ids;
    auto sendTo = [&](const std::string& device, const std::string& token, const std::string& store) {
        std::vector<core::Response> rs;
        for (int i = 0; i < 3; ++i) rs.push_back(test::makeResponse(ids.next(now + i), store, device, now + i, 5));
        ackOf(hq.post(batchBody(device, rs), token));
    };
    sendTo(hq.deviceId, hq.deviceToken, "store-demo");
    for (const std::string store : {"east-1", "north-1"}) {
        const json added = json::parse(runHq(hq.dir, {"device", "add", "--db", hq.db(), "--store", store, "--name", "Till", "--json"}).out);
        sendTo(added["device_id"], added["token"], store);
    }
    {
        auto s = test::openStorage(hq.db());
        const hq::Actor cli{"cli", ""};
        REQUIRE(hq::addRegion(*s, "east", "East", cli, now));
        REQUIRE(hq::addRegion(*s, "north", "North", cli, now));
        for (const auto& [store, region] : {std::pair{"east-1", "east"}, {"store-demo", "east"}, {"north-1", "north"}})
            REQUIRE(hq::setStore(*s, store, std::nullopt, std::string(region), cli, now));
        for (const auto& [email, role, region, store] :
             {std::tuple<const char*, const char*, const char*, const char*>{"boss@example.com", "admin", nullptr, nullptr},
              {"vic@example.com", "viewer", nullptr, nullptr},
              {"rita@example.com", "region", "east", nullptr},
              {"sam@example.com", "store", nullptr, "north-1"}}) {
            hq::UserSpec spec{email, role, {}, {}, "correct horse battery"};
            if (region) spec.region = region;
            if (store) spec.store = store;
            REQUIRE(hq::addUser(*s, spec, cli, now));
        }
    }
    const std::vector<std::string> all = {"east-1", "north-1", "store-demo"};

    // The login: the cookie's flags, and the same 401 for an unknown email and a wrong password.
    const auto login = hq.client()->Post("/api/v1/session", R"({"email":"sam@example.com","password":"correct horse battery"})",
                                         "application/json");
    REQUIRE(login);
    REQUIRE(login->status == 200);
    const std::string cookie = login->get_header_value("Set-Cookie");
    CHECK(cookie.starts_with("segue_session="));
    for (const char* flag : {"; HttpOnly", "; Secure", "; SameSite=Strict", "; Path=/"}) CHECK(cookie.find(flag) != std::string::npos);
    CHECK(json::parse(login->body) == json{{"email", "sam@example.com"}, {"role", "store"}, {"region", nullptr},
                                           {"store", "north-1"}, {"csrf", json::parse(login->body)["csrf"]}});
    const auto wrong = hq.client()->Post("/api/v1/session", R"({"email":"sam@example.com","password":"not the password"})", "application/json");
    const auto unknown = hq.client()->Post("/api/v1/session", R"({"email":"who@example.com","password":"not the password"})", "application/json");
    requireError(wrong, 401, "unauthorized");
    requireError(unknown, 401, "unauthorized");
    CHECK(wrong->body == unknown->body);

    SECTION("a store user sees exactly its store, and another store's pages are not found") {
        const Login sam = loginAs(hq, "sam@example.com");
        CHECK(storeIds(okJson(getAs(hq, "/api/v1/stores", sam))["stores"]) == std::vector<std::string>{"north-1"});
        const json overview = okJson(getAs(hq, "/api/v1/overview", sam));
        CHECK(storeIds(overview["stores"], "store") == std::vector<std::string>{"north-1"});
        CHECK(overview["total"]["responses"] == 3);
        const json fleet = okJson(getAs(hq, "/api/v1/fleet", sam)), devices = okJson(getAs(hq, "/api/v1/devices", sam));
        CHECK(fleet["devices"].size() == 1);
        for (const auto& d : fleet["devices"]) CHECK(d["store_id"] == "north-1");
        CHECK(devices["devices"].size() == 1);
        for (const auto& d : devices["devices"]) CHECK(d["store_id"] == "north-1");
        const auto csv = getAs(hq, "/api/v1/responses.csv", sam);
        REQUIRE(csv);
        const auto lines = csvLines(csv->body);
        CHECK(lines.size() == 4);   // the header and north-1's three
        for (std::size_t i = 1; i < lines.size(); ++i) CHECK(lines[i].find(",north-1,") != std::string::npos);
        CHECK(csvLines(getAs(hq, "/api/v1/responses.csv?store=east-1", sam)->body).size() == 1);
        const std::string day = core::localDate(now, 480);
        requireError(getAs(hq, "/api/v1/stores/store-demo/daily?from=" + day + "&to=" + day, sam), 404, "not_found");
        requireError(getAs(hq, "/api/v1/stores/store-demo/summary", sam), 404, "not_found");
        requireError(getAs(hq, "/api/v1/stores/no-such-store/summary", sam), 404, "not_found");
        CHECK(getAs(hq, "/api/v1/stores/north-1/daily?from=" + day + "&to=" + day, sam)->status == 200);
        CHECK(storeIds(okJson(getAs(hq, "/api/v1/regions", sam))["regions"]) == std::vector<std::string>{"north"});
        CHECK(okJson(getAs(hq, "/api/v1/me", sam)) ==
              json{{"kind", "session"}, {"email", "sam@example.com"}, {"role", "store"}, {"region", nullptr}, {"store", "north-1"}});
        requireError(getAs(hq, "/api/v1/users", sam), 403, "forbidden");
    }

    SECTION("a region user sees its region; a viewer the chain but no admin route") {
        const Login rita = loginAs(hq, "rita@example.com");
        CHECK(storeIds(okJson(getAs(hq, "/api/v1/stores", rita))["stores"]) == std::vector<std::string>{"east-1", "store-demo"});
        CHECK(okJson(getAs(hq, "/api/v1/overview", rita))["total"]["responses"] == 6);
        const Login vic = loginAs(hq, "vic@example.com");
        CHECK(storeIds(okJson(getAs(hq, "/api/v1/stores", vic))["stores"]) == all);
        requireError(getAs(hq, "/api/v1/users", vic), 403, "forbidden");
        requireError(getAs(hq, "/api/v1/audit", vic), 403, "forbidden");
        requireError(changeAs(hq, "POST", "/api/v1/regions", vic, {{"id", "west"}, {"name", "West"}}, vic.csrf), 403, "forbidden");
        requireError(changeAs(hq, "PATCH", "/api/v1/stores/east-1", vic, {{"region", nullptr}}, vic.csrf), 403, "forbidden");
        // A read token: as before, or limited to what an admin scoped it to.
        CHECK(storeIds(okJson(hq.get("/api/v1/stores", hq.readToken))["stores"]) == all);
        requireError(hq.get("/api/v1/users", hq.readToken), 403, "forbidden");
    }

    SECTION("an admin's changes need the CSRF header, and what they change the others see at once") {
        const Login boss = loginAs(hq, "boss@example.com");
        requireError(changeAs(hq, "POST", "/api/v1/regions", boss, {{"id", "west"}, {"name", "West"}}, std::nullopt), 403, "csrf");
        requireError(changeAs(hq, "POST", "/api/v1/regions", boss, {{"id", "west"}, {"name", "West"}}, std::string("wrong")), 403, "csrf");
        okJson(changeAs(hq, "POST", "/api/v1/regions", boss, {{"id", "west"}, {"name", "West"}}, boss.csrf), 201);
        CHECK(okJson(changeAs(hq, "PATCH", "/api/v1/stores/north-1", boss, {{"region", "east"}, {"name", "North one"}}, boss.csrf)) ==
              json{{"id", "north-1"}, {"name", "North one"}, {"region", "east"}});
        const Login rita = loginAs(hq, "rita@example.com");
        CHECK(storeIds(okJson(getAs(hq, "/api/v1/stores", rita))["stores"]) == all);

        const json token = okJson(changeAs(hq, "POST", "/api/v1/tokens", boss, {{"role", "read"}, {"store", "east-1"}}, boss.csrf), 201);
        CHECK(storeIds(okJson(hq.get("/api/v1/stores", token["token"]))["stores"]) == std::vector<std::string>{"east-1"});
        CHECK(okJson(hq.get("/api/v1/me", token["token"]))["kind"] == "token");

        // A disabled user's open session is refused on its next request.
        const Login sam = loginAs(hq, "sam@example.com");
        CHECK(getAs(hq, "/api/v1/me", sam)->status == 200);
        const json users = okJson(getAs(hq, "/api/v1/users", boss));
        std::int64_t samId = 0;
        for (const auto& u : users["users"])
            if (u["email"] == "sam@example.com") samId = u["id"];
        REQUIRE(samId > 0);
        CHECK(okJson(changeAs(hq, "PATCH", "/api/v1/users/" + std::to_string(samId), boss, {{"disabled", true}}, boss.csrf))["disabled"] == true);
        requireError(getAs(hq, "/api/v1/me", sam), 401, "unauthorized");

        const json log = okJson(getAs(hq, "/api/v1/audit", boss));
        std::set<std::string> actions;
        for (const auto& e : log["entries"]) actions.insert(e["action"].get<std::string>());
        for (const char* a : {"login", "login_failed", "region_add", "store_set", "token_add", "user_disable"}) CHECK(actions.contains(a));
        CHECK(log["entries"][0]["actor"] == "boss@example.com");
        CHECK(log["entries"][0]["address"] == "127.0.0.1");

        // Logging out ends the session.
        const auto out = changeAs(hq, "DELETE", "/api/v1/session", boss, json::object(), boss.csrf);
        REQUIRE(out);
        CHECK(out->status == 204);
        requireError(getAs(hq, "/api/v1/me", boss), 401, "unauthorized");
    }

    SECTION("the 6th wrong password in 15 minutes is 429 with Retry-After, the right one too") {
        for (int i = 0; i < 4; ++i)   // the one above was the first
            requireError(hq.client()->Post("/api/v1/session", R"({"email":"sam@example.com","password":"guess guess"})", "application/json"),
                         401, "unauthorized");
        const auto sixth = hq.client()->Post("/api/v1/session", R"({"email":"sam@example.com","password":"correct horse battery"})",
                                             "application/json");
        requireError(sixth, 429, "rate_limited");
        CHECK(std::stoi(sixth->get_header_value("Retry-After")) > 0);
    }
}

TEST_CASE("e2e: --trust-proxy takes the client address from X-Forwarded-For for the log and the per-address "
          "enrolment limit, only from the listed proxy",
          "[e2e]") {
    const std::string wrongCode = R"({"code":"0000-0000-0000","app_version":"0.1.0"})";
    auto enrolFrom = [&](int port, const std::vector<std::string>& forwarded) {
        httplib::Client c("127.0.0.1", port);
        httplib::Headers headers;
        for (const auto& f : forwarded) headers.emplace("X-Forwarded-For", f);
        const auto r = c.Post("/api/v1/enrol", headers, wrongCode, "application/json");
        REQUIRE(r);
        return r->status;
    };
    SECTION("from a trusted proxy: the last address of the last header is the client") {
        test::TempDir dir;
        Server hq(dir, {"--db", "sqlite:" + (dir / "hq.sqlite").string(), "--insecure-http-for-tests", "--trust-proxy",
                        "10.9.9.9,127.0.0.1"});
        // kEnrolPerMinute (10) wrong codes from one client, then that client is limited...
        for (int i = 0; i < hq::kEnrolPerMinute; ++i) CHECK(enrolFrom(hq.port(), {"198.51.100.7"}) == 401);
        CHECK(enrolFrom(hq.port(), {"198.51.100.7"}) == 429);
        // ...while another client behind the same proxy is not.
        CHECK(enrolFrom(hq.port(), {"198.51.100.8"}) == 401);
        // A client's own header comes first: HAProxy appends its own, and that last one counts.
        CHECK(enrolFrom(hq.port(), {"198.51.100.8", "203.0.113.5"}) == 401);
        CHECK(enrolFrom(hq.port(), {"198.51.100.7, 203.0.113.6"}) == 401);
        // Not an address: the proxy's own address is kept.
        CHECK(enrolFrom(hq.port(), {"not-an-address"}) == 401);
        hq.terminate();
        const std::string log = hq.log();
        CHECK(log.find("POST /api/v1/enrol 429") != std::string::npos);
        CHECK(log.find("from=198.51.100.7\n") != std::string::npos);
        CHECK(log.find("from=198.51.100.8\n") != std::string::npos);
        CHECK(log.find("from=203.0.113.5\n") != std::string::npos);
        CHECK(log.find("from=203.0.113.6\n") != std::string::npos);
        CHECK(log.find("from=127.0.0.1\n") != std::string::npos);
    }
    SECTION("from an address not listed: the header is ignored") {
        test::TempDir dir;
        Server hq(dir, {"--db", "sqlite:" + (dir / "hq.sqlite").string(), "--insecure-http-for-tests", "--trust-proxy",
                        "10.9.9.9"});
        for (int i = 0; i < hq::kEnrolPerMinute; ++i) CHECK(enrolFrom(hq.port(), {"198.51.100.7"}) == 401);
        // Every request was 127.0.0.1's: a "different client" in the header is limited too.
        CHECK(enrolFrom(hq.port(), {"198.51.100.8"}) == 429);
        hq.terminate();
        const std::string log = hq.log();
        CHECK(log.find("from=127.0.0.1\n") != std::string::npos);
        CHECK(log.find("198.51.100") == std::string::npos);
    }
    SECTION("a --trust-proxy that is not a list of addresses is a usage error") {
        test::TempDir dir;
        const Run r = runHq(dir, {"serve", "--listen", "127.0.0.1:0", "--db", "sqlite:" + (dir / "hq.sqlite").string(),
                                  "--insecure-http-for-tests", "--trust-proxy", "10.0.0.1,haproxy"});
        CHECK(r.exitCode == 2);
        CHECK(r.err.find("--trust-proxy takes IP addresses") != std::string::npos);
    }
}

TEST_CASE("e2e: callback cases over HTTPS: the key in the config, a sealed number to a case, read by the store's manager",
          "[e2e][cases]") {
    DemoHq hq({"--contact-key", "{dir}/contact.key"});
    const std::string publicKey = readFile(hq.dir / "contact.pub");
    REQUIRE(publicKey.size() == 45);   // 44 base64 characters and a newline

    // The terminal gets HQ's public key with its config.
    const auto config = hq.get("/api/v1/terminal/config", hq.deviceToken);
    REQUIRE(config);
    REQUIRE(config->status == 200);
    CHECK(json::parse(config->body)["contact_public_key"] == publicKey.substr(0, 44));

    // It seals the number with that key and sends it beside a 1-star response.
    const auto pk = hq::fromBase64(publicKey.substr(0, 44));
    REQUIRE(pk);
    const std::string digits = "13812345678";
    std::string sealed(digits.size() + crypto_box_SEALBYTES, '\0');
    REQUIRE(crypto_box_seal(reinterpret_cast<unsigned char*>(sealed.data()),
                            reinterpret_cast<const unsigned char*>(digits.data()), digits.size(),
                            reinterpret_cast<const unsigned char*>(pk->data())) == 0);
    const std::int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::system_clock::now().time_since_epoch()).count();
    auto r = test::makeResponse(core::UuidV7Generator().next(now), "store-demo", hq.deviceId, now - 60'000, 1);
    r.callbackRequested = true;
    wire::Batch b = wire::decodeBatch(batchBody(hq.deviceId, {r})).value().batch;
    b.sealedContacts[r.id] = hq::toBase64(sealed);
    const auto body = wire::encodeBatch(b);
    CHECK(body.find(digits) == std::string::npos);
    const auto ack = ackOf(hq.post(body, hq.deviceToken));
    CHECK(ack.accepted == std::vector<std::string>{r.id});
    CHECK(ack.openCallbacks == 1);
    CHECK(ackOf(hq.post(body, hq.deviceToken)).duplicates == std::vector<std::string>{r.id});

    {
        auto s = test::openStorage(hq.db());
        const hq::Actor cli{"cli", ""};
        REQUIRE(hq::addUser(*s, {"sam@example.com", "store", {}, std::string("store-demo"), "correct horse battery"}, cli, now));
        REQUIRE(hq::setStore(*s, "store-other", std::string("Other"), std::nullopt, cli, now));
        REQUIRE(hq::addUser(*s, {"olga@example.com", "store", {}, std::string("store-other"), "correct horse battery"}, cli, now));
    }
    const Login sam = loginAs(hq, "sam@example.com");
    const Login olga = loginAs(hq, "olga@example.com");
    const json listed = okJson(getAs(hq, "/api/v1/cases?status=open", sam));
    REQUIRE(listed["cases"].size() == 1);
    CHECK(listed.dump().find(digits) == std::string::npos);
    const std::string id = std::to_string(listed["cases"][0]["id"].get<std::int64_t>());
    const std::string contactPath = "/api/v1/cases/" + id + "/contact";

    // Who may not: another store's user (404), a read token (403), a session without CSRF (403).
    requireError(getAs(hq, "/api/v1/cases/" + id, olga), 404, "not_found");
    requireError(changeAs(hq, "POST", contactPath, olga, json::object(), olga.csrf), 404, "not_found");
    CHECK(okJson(hq.get("/api/v1/cases", hq.readToken))["cases"].size() == 1);
    const auto byToken = hq.client()->Post(contactPath.c_str(), {{"Authorization", "Bearer " + hq.readToken}}, "{}",
                                           "application/json");
    requireError(byToken, 403, "forbidden");
    requireError(changeAs(hq, "POST", contactPath, sam, json::object(), std::nullopt), 403, "csrf");

    // The store's manager reads the number as typed; the audit log names them.
    CHECK(okJson(changeAs(hq, "POST", contactPath, sam, json::object(), sam.csrf)) == json{{"phone", digits}});
    const json audit = json::parse(runHq(hq.dir, {"audit", "--db", hq.db(), "--json"}).out);
    int views = 0;
    for (const auto& e : audit["entries"])
        if (e["action"] == "case_contact_view") {
            ++views;
            CHECK(e["actor"] == "sam@example.com");
            CHECK(e["subject"] == id);
        }
    CHECK(views == 1);

    // Contacted within the hour: the summary counts it within the SLA, the next ack says 0 open.
    const json moved = okJson(changeAs(hq, "POST", "/api/v1/cases/" + id, sam, {{"status", "contacted"}, {"note", "called"}}, sam.csrf));
    CHECK(moved["status"] == "contacted");
    requireError(changeAs(hq, "POST", "/api/v1/cases/" + id, sam, {{"status", "resolved"}}, sam.csrf), 400, "bad_request");
    // The response's store-local date, which may be ahead of HQ's calendar.
    const std::string day = core::localDate(now - 60'000, 480);
    const std::string period = "?from=" + core::addDays(day, -1) + "&to=" + day;
    const json summary = okJson(getAs(hq, "/api/v1/cases/summary" + period, sam));
    CHECK(summary["requests"] == 1);
    CHECK(summary["contacted_within_sla"] == 1);
    CHECK(summary["share_within_sla"] == 1.0);
    CHECK(summary["open"] == 0);
    CHECK(ackOf(hq.post(batchBody(hq.deviceId, {}), hq.deviceToken)).openCallbacks == 0);
    CHECK(okJson(getAs(hq, "/api/v1/reasons" + period, sam))["reasons"][0]["tag"] == "wait_time");
    CHECK(hq.server->terminate() == 0);
    CHECK_THAT(hq.server->log(), Catch::Contains("contact retention: erased 0"));
}

TEST_CASE("e2e: the dashboard's enrolment codes over HTTPS: CSRF, roles, a code that enrols once, and the store "
          "figures by survey version", "[e2e][fleet]") {
    DemoHq hq;
    const std::int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::system_clock::now().time_since_epoch()).count();
    {
        auto s = test::openStorage(hq.db());
        const hq::Actor cli{"cli", ""};
        REQUIRE(hq::addRegion(*s, "east", "East", cli, now));
        REQUIRE(hq::setStore(*s, "store-demo", std::nullopt, std::string("east"), cli, now));
        REQUIRE(hq::setStore(*s, "north-1", std::nullopt, std::string(""), cli, now));
        for (const auto& [email, role] : {std::pair{"boss@example.com", "admin"}, {"vic@example.com", "viewer"}}) {
            REQUIRE(hq::addUser(*s, {email, role, {}, {}, "correct horse battery"}, cli, now));
        }
        REQUIRE(hq::addUser(*s, {"rita@example.com", "region", std::string("east"), {}, "correct horse battery"}, cli, now));
    }
    const Login boss = loginAs(hq, "boss@example.com"), rita = loginAs(hq, "rita@example.com"), vic = loginAs(hq, "vic@example.com");
    const json add = {{"store_id", "store-demo"}, {"name", "Counter 2"}, {"code_ttl_h", 24}};
    requireError(changeAs(hq, "POST", "/api/v1/devices", rita, add, std::nullopt), 403, "csrf");
    requireError(changeAs(hq, "POST", "/api/v1/devices", vic, add, vic.csrf), 403, "forbidden");
    requireError(changeAs(hq, "POST", "/api/v1/devices", rita, {{"store_id", "north-1"}, {"name", "X"}}, rita.csrf), 404, "not_found");
    const auto byToken = hq.client()->Post("/api/v1/devices", {{"Authorization", "Bearer " + hq.readToken}}, add.dump(), "application/json");
    requireError(byToken, 403, "forbidden");

    const json issued = okJson(changeAs(hq, "POST", "/api/v1/devices", rita, add, rita.csrf), 201);
    CHECK(issued["store_id"] == "store-demo");
    const std::string code = issued["enrolment_code"];
    const json enrolBody = {{"code", code}, {"app_version", "0.1.0"}};
    const json enrolled = okJson(hq.client()->Post("/api/v1/enrol", enrolBody.dump(), "application/json"));
    CHECK(enrolled["device_id"] == issued["device_id"]);
    requireError(hq.client()->Post("/api/v1/enrol", enrolBody.dump(), "application/json"), 401, "enrolment_refused");
    // Enrolled: no fresh code for it. A new pending device gets one, and revoking ends it.
    const std::string device = issued["device_id"];
    requireError(changeAs(hq, "POST", "/api/v1/devices/" + device + "/enrolment-code", boss, json::object(), boss.csrf), 409,
                 "not_pending");
    const json pending = okJson(changeAs(hq, "POST", "/api/v1/devices", boss, {{"store_id", "north-1"}, {"name", "Y"}}, boss.csrf), 201);
    const std::string codePath = "/api/v1/devices/" + pending["device_id"].get<std::string>() + "/enrolment-code";
    requireError(changeAs(hq, "POST", codePath, rita, json::object(), rita.csrf), 404, "not_found");
    const json fresh = okJson(changeAs(hq, "POST", codePath, boss, {{"code_ttl_h", 1}}, boss.csrf), 201);
    CHECK(fresh["enrolment_code"] != pending["enrolment_code"]);
    CHECK(okJson(changeAs(hq, "DELETE", codePath, boss, json::object(), boss.csrf)) ==
          json{{"device_id", pending["device_id"]}, {"revoked", 1}});
    requireError(hq.client()->Post("/api/v1/enrol", json{{"code", fresh["enrolment_code"]}}.dump(), "application/json"), 401,
                 "enrolment_refused");
    const json audit = json::parse(runHq(hq.dir, {"audit", "--db", hq.db(), "--json"}).out);
    std::vector<std::string> actions;
    for (const auto& e : audit["entries"]) actions.push_back(e["action"].get<std::string>() + " " + e["actor"].get<std::string>());
    for (const std::string a : {"device_add rita@example.com", "device_add boss@example.com", "enrolment_code_add boss@example.com",
                                "enrolment_code_revoke boss@example.com"})
        CHECK(std::count(actions.begin(), actions.end(), a) == 1);

    // The new terminal's responses under two versions: the store page's split.
    core::UuidV7Generator ids;
    std::vector<core::Response> rs;
    for (int i = 0; i < 4; ++i) {
        rs.push_back(test::makeResponse(ids.next(now - 60'000 + i), "store-demo", device, now - 60'000 + i, 5 - i));
        rs.back().surveyVersion = 1;
    }
    ackOf(hq.post(batchBody(device, rs), enrolled["token"].get<std::string>()));
    const std::string day = core::localDate(now - 60'000, 480);
    const std::string query = "?from=" + core::addDays(day, -1) + "&to=" + core::addDays(day, 1);
    const json plain = okJson(getAs(hq, "/api/v1/stores/store-demo/summary" + query, rita));
    CHECK_FALSE(plain.contains("survey_versions"));
    const json split = okJson(getAs(hq, "/api/v1/stores/store-demo/summary" + query + "&by=survey_version", rita));
    REQUIRE(split["survey_versions"].size() == 1);
    CHECK(split["survey_versions"][0]["version"] == 1);
    CHECK(split["survey_versions"][0]["responses"] == 4);
    CHECK(split["total"] == plain["total"]);
    requireError(getAs(hq, "/api/v1/stores/store-demo/summary?by=version", rita), 400, "bad_request");
    requireError(getAs(hq, "/api/v1/stores/north-1/summary?by=survey_version", rita), 404, "not_found");
    CHECK(hq.server->terminate() == 0);
}

namespace {

/// A webhook receiver on 127.0.0.1 for the cluster test: answers 503 to the first attempt of
/// each alert and 200 to the later ones, and keeps every attempt (alert id, success, when).
class CountingReceiver {
public:
    struct Attempt {
        std::int64_t alertId = 0;
        bool ok = false;
        std::chrono::steady_clock::time_point at;
    };
    CountingReceiver() {
        m_server.Post("/hook", [this](const httplib::Request& req, httplib::Response& res) {
            const auto body = json::parse(req.body, nullptr, false);
            const std::int64_t id = body.is_object() ? body.value("alert_id", std::int64_t{-1}) : -1;
            std::lock_guard lock(m_mutex);
            const bool first = std::none_of(m_attempts.begin(), m_attempts.end(),
                                            [id](const Attempt& a) { return a.alertId == id; });
            m_attempts.push_back({id, !first, std::chrono::steady_clock::now()});
            res.status = first ? 503 : 200;
            res.set_content(first ? "busy" : "ok", "text/plain");
        });
        m_port = m_server.bind_to_any_port("127.0.0.1");
        REQUIRE(m_port > 0);
        m_thread = std::thread([this] { m_server.listen_after_bind(); });
        for (int i = 0; i < 500 && !m_server.is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
        REQUIRE(m_server.is_running());
    }
    ~CountingReceiver() {
        m_server.stop();
        m_thread.join();
    }
    CountingReceiver(const CountingReceiver&) = delete;
    CountingReceiver& operator=(const CountingReceiver&) = delete;
    std::string url() const { return "http://127.0.0.1:" + std::to_string(m_port) + "/hook"; }
    std::vector<Attempt> attempts() {
        std::lock_guard lock(m_mutex);
        return m_attempts;
    }
    /// An alert whose first attempt was refused at least `settled` ago and that is not delivered yet:
    /// its retry is due soon, and the node that tried it has recorded the refusal.
    bool retryOutstanding(std::chrono::milliseconds settled) {
        std::lock_guard lock(m_mutex);
        const auto now = std::chrono::steady_clock::now();
        for (const auto& a : m_attempts)
            if (!a.ok && now - a.at >= settled &&
                std::none_of(m_attempts.begin(), m_attempts.end(),
                             [&a](const Attempt& b) { return b.alertId == a.alertId && b.ok; }))
                return true;
        return false;
    }

private:
    httplib::Server m_server;
    std::thread m_thread;
    int m_port = 0;
    std::mutex m_mutex;
    std::vector<Attempt> m_attempts;
};

/// One terminal of the cluster test: its data directory and how its sync runs went.
struct ClusterTerminal {
    std::string storeId, deviceId;
    std::filesystem::path dir;
    int runs = 0, failedRuns = 0, lastCode = -1;
    bool done = false;
};

} // namespace

// Issue 18's cluster test: PostgreSQL + 2 segue-hq nodes + HAProxy with deploy/haproxy.cfg on
// loopback; 50 real terminals (segue-kiosk demo-data, then segue-kiosk sync --once, again with the
// terminal's backoff while it fails) send 50 000 responses while node A is SIGKILLed and later
// restarted (each terminal makes its responses in four rounds of 250, syncing after each). Alerts fire during the run (low ratings) to a webhook that refuses each first attempt,
// so retries become due while a node is down. Run by ctest "hq: cluster on PostgreSQL 15 ...".
TEST_CASE("cluster on PostgreSQL: 50 terminals through HAProxy to two nodes, one SIGKILLed and restarted: every "
          "response once, every alert once",
          "[.cluster]") {
    const char* base = std::getenv("SEGUE_TEST_PG_URL");
    REQUIRE(base);   // run by tests/hq/run_with_pg.sh, which starts the cluster
    const char* haproxy = "/usr/sbin/haproxy";   // Debian's haproxy (scripts/setup)
    REQUIRE(std::filesystem::exists(haproxy));
    REQUIRE(std::filesystem::exists(SEGUE_KIOSK_BINARY));
    using Clock = std::chrono::steady_clock;
    const auto started = Clock::now();
    constexpr int kStores = 25, kTerminals = 50, kPerTerminal = 1000, kLowRatings = 30;
    test::TempDir dir;
    const std::string db = test::storageUrls(dir).at(1);
    const auto tls = dir / "tls";
    REQUIRE(runHq(dir, {"init-demo", "--dir", tls.string()}).exitCode == 0);
    {
        std::ofstream both(tls / "both.pem");
        both << readFile(tls / "cert.pem") << readFile(tls / "key.pem");
    }
    const int portA = freePort(), portB = freePort(), portH = freePort();

    // 25 stores with two terminals each, enrolled at HQ, each with a data directory of its own.
    std::vector<ClusterTerminal> terminals(kTerminals);
    for (int i = 0; i < kTerminals; ++i) {
        auto& t = terminals[static_cast<std::size_t>(i)];
        t.storeId = "store-" + std::to_string(100 + i / 2);
        const Run add = runHq(dir, {"device", "add", "--db", db, "--store", t.storeId, "--name",
                                    "Till " + std::to_string(i % 2 + 1), "--json"});
        REQUIRE(add.exitCode == 0);
        const auto added = json::parse(add.out);
        t.deviceId = added["device_id"];
        t.dir = dir / ("t" + std::to_string(i));
        std::filesystem::create_directories(t.dir);
        const auto config = t.dir / "kiosk.toml";
        {
            std::ofstream toml(config);
            toml << "[kiosk]\nstore_id = \"" << t.storeId << "\"\ndevice_id = \"" << t.deviceId << "\"\n\n[sync]\n"
                 << "enabled = true\nserver_url = \"https://localhost:" << portH << "\"\ntoken = \""
                 << added["token"].get<std::string>() << "\"\nca_file = \"" << (tls / "cert.pem").string() << "\"\n";
        }
        std::filesystem::permissions(config, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    }

    CountingReceiver receiver;
    const auto hqConfig = dir / "hq.toml";
    std::ofstream(hqConfig) << "[alerts]\nwebhook_url = \"" << receiver.url() << "\"\n"
                            << "evaluate_every_s = 1\nretry_initial_s = 3\nretry_max_s = 6\n"
                            << "[alerts.low_ratings]\ncount = " << kLowRatings << "\nwindow_min = 1440\nmax_stars = 2\n";
    const std::vector<std::string> serve = {"--db", db, "--tls-cert", (tls / "cert.pem").string(), "--tls-key",
                                            (tls / "key.pem").string(), "--config", hqConfig.string()};
    pid_t nodeA = startNode(dir, "a1", portA, serve);
    pid_t nodeB = startNode(dir, "b", portB, serve);
    {
        std::ofstream cfg(dir / "haproxy.cfg");
        cfg << haproxyConfig(portH, portA, portB, tls);
    }
    pid_t proxy = spawn({haproxy, "-db", "-f", (dir / "haproxy.cfg").string()}, dir / "haproxy.out", dir / "haproxy.err");
    struct Reaper {
        std::vector<pid_t*> pids;
        ~Reaper() {
            for (pid_t* p : pids)
                if (*p > 0) {
                    kill(*p, SIGKILL);
                    waitExit(*p);
                }
        }
    } reaper;
    reaper.pids = {&nodeA, &nodeB, &proxy};
    bool up = false;
    for (int i = 0; i < 150 && !up; ++i) {
        httplib::SSLClient c("localhost", portH);
        c.set_ca_cert_path((tls / "cert.pem").c_str());
        c.enable_server_certificate_verification(true);
        if (const auto r = c.Get("/healthz"); r && r->status == 200) up = true;
        else std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    INFO(readFile(dir / "haproxy.err"));
    REQUIRE(up);

    // Each terminal, four times: 250 more of today's responses (segue-kiosk demo-data), then sync
    // --once until it exits 0, waiting between failed runs as the terminal's sync worker does
    // (exponential backoff with full jitter; the cap lowered from 5 min to 8 s so that the test
    // takes minutes). Bounded in runs and time.
    constexpr int kRounds = 4;
    const auto deadline = Clock::now() + std::chrono::minutes(8);
    std::vector<std::jthread> drivers;
    for (int i = 0; i < kTerminals; ++i)
        drivers.emplace_back([&, i] {
            auto& t = terminals[static_cast<std::size_t>(i)];
            sync::Backoff backoff(sync::BackoffPolicy{500, 8'000});
            std::mt19937_64 rng(static_cast<std::uint64_t>(i) + 1);
            const std::string config = (t.dir / "kiosk.toml").string(), data = (t.dir / "data").string();
            for (int round = 0; round < kRounds; ++round) {
                t.lastCode = waitExit(spawn({SEGUE_KIOSK_BINARY, "demo-data", "--config", config, "--data-dir", data,
                                             "--count", std::to_string(kPerTerminal / kRounds), "--days", "1"},
                                            t.dir / "demo.out", t.dir / "demo.err"));
                if (t.lastCode != 0) return;   // reported below
                bool synced = false;
                while (!synced && t.runs < 200 && Clock::now() < deadline) {
                    ++t.runs;
                    t.lastCode = waitExit(spawn({SEGUE_KIOSK_BINARY, "sync", "--once", "--config", config, "--data-dir", data},
                                                t.dir / "sync.out", t.dir / "sync.err"));
                    if (t.lastCode == 0) {
                        synced = true;
                        backoff.reset();
                        break;
                    }
                    ++t.failedRuns;
                    if (t.lastCode != 3) return;   // not a sync failure to retry: reported below
                    std::this_thread::sleep_for(std::chrono::milliseconds(backoff.onFailure(rng)));
                }
                if (!synced) return;
            }
            t.done = true;
        });

    auto atHq = [&] { return std::stol(test::pgExec(db, "SELECT count(*) FROM responses")); };
    // Node A dies under load, once a fifth of the responses are in and an alert's retry is due within
    // seconds (its first attempt refused and recorded); at the latest when 30 000 are in.
    long atKill = 0;
    for (int i = 0; i < 3000; ++i) {
        atKill = atHq();
        if ((atKill >= 10'000 && receiver.retryOutstanding(std::chrono::milliseconds(300))) || atKill >= 30'000) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    const bool retryDueAtKill = receiver.retryOutstanding(std::chrono::milliseconds(300));
    kill(nodeA, SIGKILL);   // no goodbye to HAProxy or PostgreSQL
    waitExit(nodeA);
    nodeA = -1;
    const auto killedAt = Clock::now();
    const std::size_t bAtKill = countOf(readFile(dir / "b.err"), "POST /api/v1/batches");
    // Node B alone until 15 000 more are in (or 30 s, or every terminal is done); then A comes back.
    auto allDone = [&] {
        return std::all_of(terminals.begin(), terminals.end(), [](const ClusterTerminal& t) { return t.done; });
    };
    long atRestart = atKill;
    for (int i = 0; i < 600; ++i) {
        atRestart = atHq();
        if (atRestart >= atKill + 15'000 || Clock::now() - killedAt > std::chrono::seconds(30)) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    const std::size_t bAtRestart = countOf(readFile(dir / "b.err"), "POST /api/v1/batches");
    nodeA = startNode(dir, "a2", portA, serve);
    drivers.clear();   // joins: every terminal is done, gave up, or hit the deadline
    const auto syncedIn = Clock::now() - started;

    // Every response at HQ exactly once, as many per terminal as it made.
    INFO("responses at the kill " << atKill << ", at the restart " << atRestart << ", run "
                                  << std::chrono::duration_cast<std::chrono::seconds>(syncedIn).count() << " s");
    for (const auto& t : terminals) {
        INFO(t.deviceId << ": " << t.runs << " sync runs, " << t.failedRuns << " failed, last exit " << t.lastCode
                        << ": " << readFile(t.dir / "demo.err") << readFile(t.dir / "sync.err"));
        CHECK(t.done);
    }
    REQUIRE(allDone());
    const std::string total = std::to_string(kTerminals * kPerTerminal);
    CHECK(test::pgExec(db, "SELECT count(*) FROM responses") == total);
    CHECK(test::pgExec(db, "SELECT count(DISTINCT id) FROM responses") == total);
    CHECK(test::pgExec(db, "SELECT count(DISTINCT device_id) FROM responses") == std::to_string(kTerminals));
    for (const auto& t : terminals) {
        INFO(t.deviceId);
        CHECK(test::pgExec(db, "SELECT count(*) FROM responses WHERE device_id = '" + t.deviceId + "'") ==
              std::to_string(kPerTerminal));
        // What the terminal sent: its outbox has all 1 000 synced, none pending or rejected.
        const auto status = t.dir / "status.json";
        REQUIRE(waitExit(spawn({SEGUE_KIOSK_BINARY, "sync", "status", "--json", "--config", (t.dir / "kiosk.toml").string(),
                                "--data-dir", (t.dir / "data").string()},
                               status, t.dir / "status.err")) == 0);
        const auto s = json::parse(readFile(status));
        CHECK(s["synced"] == kPerTerminal);
        CHECK(s["pending"] == 0);
        CHECK(s["rejected"] == 0);
    }
    // The sync went on through node B while A was down, and A took batches again once back.
    CHECK(bAtRestart > bAtKill);
    CHECK(atRestart > atKill);
    CHECK(countOf(readFile(dir / "a1.err"), "POST /api/v1/batches") > 0);

    // Every alert delivered, each exactly once across both nodes (A's claim on an attempt it was
    // making when killed expires after 120 s: the bound allows for it).
    auto undelivered = [&] { return test::pgExec(db, "SELECT count(*) FROM alerts WHERE state <> 'delivered'"); };
    for (int i = 0; i < 2000 && undelivered() != "0"; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    CHECK(undelivered() == "0");
    const long alerts = std::stol(test::pgExec(db, "SELECT count(*) FROM alerts"));
    CHECK(alerts >= kStores);   // one a store and day (two where the run crosses midnight)
    CHECK(test::pgExec(db, "SELECT count(DISTINCT store_id) FROM alerts WHERE rule = 'low_ratings'") ==
          std::to_string(kStores));
    const auto attempts = receiver.attempts();
    std::map<std::int64_t, int> delivered;
    bool dueDuringOutage = false;
    for (const auto& a : attempts) {
        if (!a.ok) continue;
        ++delivered[a.alertId];
        // Refused before the kill, delivered after it: its retry became due while A was down.
        if (a.at >= killedAt && std::any_of(attempts.begin(), attempts.end(), [&](const CountingReceiver::Attempt& b) {
                return b.alertId == a.alertId && !b.ok && b.at < killedAt;
            }))
            dueDuringOutage = true;
    }
    CHECK(static_cast<long>(delivered.size()) == alerts);
    for (const auto& [id, n] : delivered) {
        INFO("alert " << id);
        CHECK(n == 1);
        CHECK(test::pgExec(db, "SELECT state FROM alerts WHERE id = " + std::to_string(id)) == "delivered");
    }
    CHECK(retryDueAtKill);
    CHECK(dueDuringOutage);
    int runs = 0, failedRuns = 0;
    for (const auto& t : terminals) {
        runs += t.runs;
        failedRuns += t.failedRuns;
    }
    // For docs/scaling.md: what this run saw.
    std::cerr << "cluster: " << total << " responses synced in "
              << std::chrono::duration_cast<std::chrono::seconds>(syncedIn).count() << " s; node A killed at " << atKill
              << " and restarted at " << atRestart << "; node B took " << bAtRestart - bAtKill
              << " batches alone; sync --once runs " << runs << " (" << failedRuns << " failed, retried with backoff); "
              << alerts << " alerts, " << attempts.size() << " webhook attempts, " << delivered.size() << " delivered\n";
    kill(nodeA, SIGTERM);   // the restarted node stops cleanly
    CHECK(waitExit(std::exchange(nodeA, -1)) == 0);
}
