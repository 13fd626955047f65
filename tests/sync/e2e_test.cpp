// End to end on loopback: a real segue-hq over HTTPS (generated cert), the real segue-kiosk
// verbs, and the fault proxy between them. Every fault ends with every response at HQ exactly
// once; every refusal loses nothing. Waits are bounded; ports are picked by the kernel.
#include <catch2/catch.hpp>

#include <signal.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include "store/outbox.hpp"
#include "store/responses.hpp"
#include "sync/curl_transport.hpp"
#include "sync/drainer.hpp"
#include "sync/worker.hpp"
#include "tests/sync/harness.hpp"
#include "tests/sync/support.hpp"

using namespace segue;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr auto kStartBound = 20s;
constexpr auto kRunBound = 120s;

/// The real clock for in-process drains against a real HQ.
class WallClock final : public core::Clock {
public:
    core::Now now() const override {
        using namespace std::chrono;
        return {duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count(),
                duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count(), 0};
    }
};

/// Splits RFC 4180 CSV text into records of fields.
std::vector<std::vector<std::string>> parseCsv(const std::string& text) {
    std::vector<std::vector<std::string>> rows;
    std::vector<std::string> row;
    std::string field;
    bool quoted = false, any = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (quoted) {
            if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') { field += '"'; ++i; }
            else if (c == '"') quoted = false;
            else field += c;
        } else if (c == '"') { quoted = true; any = true; }
        else if (c == ',') { row.push_back(std::move(field)); field.clear(); any = true; }
        else if (c == '\r') {}
        else if (c == '\n') {
            row.push_back(std::move(field));
            field.clear();
            rows.push_back(std::move(row));
            row.clear();
            any = false;
        } else { field += c; any = true; }
    }
    if (any || !field.empty()) { row.push_back(std::move(field)); rows.push_back(std::move(row)); }
    return rows;
}

/// Column `name` of a CSV export, one value per record.
std::vector<std::string> csvColumn(const std::string& text, const std::string& name) {
    const auto rows = parseCsv(text);
    REQUIRE_FALSE(rows.empty());
    const auto& header = rows.front();
    const auto it = std::find(header.begin(), header.end(), name);
    REQUIRE(it != header.end());
    const auto col = static_cast<std::size_t>(it - header.begin());
    std::vector<std::string> out;
    for (std::size_t i = 1; i < rows.size(); ++i) {
        REQUIRE(rows[i].size() == header.size());
        out.push_back(rows[i][col]);
    }
    return out;
}

std::string replaceAll(std::string s, const std::string& from, const std::string& to) {
    for (auto pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size()))
        s.replace(pos, from.size(), to);
    return s;
}

/// A `key = "value"` line of a TOML file written by init-demo.
std::string tomlValue(const std::string& toml, const std::string& key) {
    std::istringstream in(toml);
    for (std::string line; std::getline(in, line);) {
        if (line.rfind(key + " = \"", 0) != 0) continue;
        const auto start = key.size() + 4;
        return line.substr(start, line.rfind('"') - start);
    }
    FAIL("no " << key << " in kiosk.toml");
    return {};
}

/// segue-hq + fault proxy + a kiosk data dir, in one temporary directory.
class Chain {
public:
    /// `hqOptions` are added to `segue-hq serve` (rate limits).
    explicit Chain(std::vector<std::string> hqOptions = {}) : m_tmp("e2e"), m_hqOptions(std::move(hqOptions)) {
        fs::create_directories(hqDir());
        fs::create_directories(kioskDir());
        // init-demo writes the cert, the database with one enrolled device and a kiosk config;
        // the URL in that config is rewritten below to go through the proxy.
        const auto init = hqCli({"init-demo", "--dir", hqDir().string(), "--port", "1"});
        REQUIRE(init.code == 0);
        const std::string toml = test::readFile(hqDir() / "kiosk.toml");
        storeId = tomlValue(toml, "store_id");
        deviceId = tomlValue(toml, "device_id");
        token = tomlValue(toml, "token");
        readToken = replaceAll(test::readFile(hqDir() / "read-token.txt"), "\n", "");
        REQUIRE_FALSE(readToken.empty());
        startHq(0);
        startProxy(m_proxy, "127.0.0.1", m_proxyPort, m_controlPort, "proxy");
        viaProxy = writeConfig("via-proxy.toml", "https://localhost:" + std::to_string(m_proxyPort), token, ca());
        direct = writeConfig("direct.toml", "https://localhost:" + std::to_string(m_hqPort), token, ca());
    }

    fs::path root() const { return m_tmp.path(); }
    fs::path hqDir() const { return m_tmp.path() / "hq"; }
    fs::path kioskDir() const { return m_tmp.path() / "kiosk"; }
    std::string ca() const { return (hqDir() / "cert.pem").string(); }
    std::string dbUrl() const { return "sqlite:" + (hqDir() / "hq.sqlite").string(); }
    int hqPort() const { return m_hqPort; }
    int proxyPort() const { return m_proxyPort; }
    int control() const { return m_controlPort; }

    test::RunResult hqCli(const std::vector<std::string>& args) {
        std::vector<std::string> argv{SEGUE_HQ_BIN};
        argv.insert(argv.end(), args.begin(), args.end());
        return test::run(argv, root(), kRunBound);
    }

    /// Starts HQ on `port` (0: a free one, remembered for restarts).
    void startHq(int port) {
        const fs::path portFile = root() / "hq.port";
        fs::remove(portFile);
        const std::string n = std::to_string(++m_hqStarts);
        std::vector<std::string> argv{SEGUE_HQ_BIN, "serve", "--listen", "127.0.0.1:" + std::to_string(port), "--db",
                                      dbUrl(), "--tls-cert", ca(), "--tls-key", (hqDir() / "key.pem").string(),
                                      "--port-file", portFile.string()};
        argv.insert(argv.end(), m_hqOptions.begin(), m_hqOptions.end());
        m_hq = test::Child::spawn(argv,
                                  root() / ("hq-" + n + ".out"), root() / ("hq-" + n + ".err"));
        const bool up = test::eventually([&] { return fs::exists(portFile) || !m_hq.running(); }, kStartBound);
        INFO("segue-hq stderr: " << test::readFile(m_hq.errPath));
        REQUIRE(up);
        REQUIRE(m_hq.running());
        m_hqPort = std::stoi(test::readFile(portFile));
        REQUIRE(test::eventually([&] { return test::canConnect("127.0.0.1", m_hqPort); }, kStartBound));
    }
    void stopHq(int sig) {
        m_hq.signal(sig);
        REQUIRE(m_hq.wait(kStartBound).has_value());
    }
    bool hqRunning() { return m_hq.running(); }

    void startProxy(test::Child& child, const std::string& host, int& port, int& control, const std::string& name) {
        const fs::path portFile = root() / (name + ".ports");
        child = test::Child::spawn({SEGUE_FAULT_PROXY_BIN, "--listen", host + ":0", "--upstream",
                                    "127.0.0.1:" + std::to_string(m_hqPort), "--cert", ca(), "--key",
                                    (hqDir() / "key.pem").string(), "--ca", ca(), "--port-file", portFile.string()},
                                   root() / (name + ".out"), root() / (name + ".err"));
        const bool up = test::eventually([&] { return fs::exists(portFile) || !child.running(); }, kStartBound);
        INFO("fault_proxy stderr: " << test::readFile(child.errPath));
        REQUIRE(up);
        REQUIRE(child.running());
        std::istringstream in(test::readFile(portFile));
        in >> port >> control;
        REQUIRE(port > 0);
    }

    fs::path writeConfig(const std::string& name, const std::string& url, const std::string& tok, const std::string& caFile) {
        const fs::path p = root() / name;
        test::writeFile(p, "[kiosk]\nstore_id = \"" + storeId + "\"\ndevice_id = \"" + deviceId +
                               "\"\nlanguage = \"en\"\ntimezone = \"Asia/Shanghai\"\n\n[sync]\nenabled = true\n"
                               "server_url = \"" + url + "\"\ntoken = \"" + tok + "\"\nca_file = \"" + caFile + "\"\n");
        // It holds a device token: owner-only, or sync --once refuses it.
        fs::permissions(p, fs::perms::owner_read | fs::perms::owner_write);
        return p;
    }

    test::RunResult kiosk(const std::vector<std::string>& args, const fs::path& config) {
        std::vector<std::string> argv{SEGUE_KIOSK_BIN};
        argv.insert(argv.end(), args.begin(), args.end());
        argv.insert(argv.end(), {"--config", config.string(), "--data-dir", (kioskDir() / "data").string()});
        return test::run(argv, root(), kRunBound);
    }
    test::RunResult syncOnce(const fs::path& config) { return kiosk({"sync", "--once"}, config); }
    test::RunResult syncOnce() { return syncOnce(viaProxy); }

    void demoData(int count, int days = 7) {
        const auto r = kiosk({"demo-data", "--count", std::to_string(count), "--days", std::to_string(days)}, viaProxy);
        INFO(r.err);
        REQUIRE(r.code == 0);
    }

    json syncStatus() {
        const auto r = kiosk({"sync", "status", "--json"}, viaProxy);
        INFO(r.err);
        REQUIRE(r.code == 0);
        return json::parse(r.out);
    }

    std::string proxy(const std::string& command) {
        const std::string reply = test::proxyCommand(m_controlPort, command);
        REQUIRE(reply.rfind("ok", 0) == 0);
        return reply;
    }

    fs::path kioskDb() const { return kioskDir() / "data" / "kiosk.sqlite"; }

    std::vector<std::string> kioskIds() {
        const auto r = kiosk({"export", "--format", "csv"}, viaProxy);
        REQUIRE(r.code == 0);
        return csvColumn(r.out, "id");
    }
    std::string hqCsv() {
        const auto reply = test::httpsGet("localhost", m_hqPort, "/api/v1/responses.csv?store=" + storeId, ca(), readToken);
        REQUIRE(reply.has_value());
        REQUIRE(reply->status == 200);
        return reply->body;
    }
    std::vector<std::string> hqIds() { return csvColumn(hqCsv(), "id"); }

    /// Every response of the kiosk is at HQ, once, and nothing else is; nothing is pending.
    void requireExactlyOnce(std::int64_t expectRejected = 0) {
        auto k = kioskIds();
        auto h = hqIds();
        const std::set<std::string> hs(h.begin(), h.end());
        CHECK(hs.size() == h.size());   // no id twice at HQ
        std::sort(k.begin(), k.end());
        std::sort(h.begin(), h.end());
        CHECK(k.size() == h.size());
        CHECK(k == h);
        const json st = syncStatus();
        CHECK(st["pending"] == 0);
        CHECK(st["rejected"] == expectRejected);
        CHECK(st["oldest_pending_age_s"].is_null());
    }

    std::int64_t pending() {
        auto db = store::Database::open(kioskDb());
        REQUIRE(db.has_value());
        auto c = store::outboxCounts(*db);
        REQUIRE(c.has_value());
        return c->pending;
    }

    sync::CurlOptions curlOptions(int port, const std::string& host = "localhost") const {
        sync::CurlOptions o;
        o.serverUrl = "https://" + host + ":" + std::to_string(port);
        o.token = token;
        o.caFile = ca();
        return o;
    }

    std::string storeId, deviceId, token, readToken;
    fs::path viaProxy, direct;
    test::Child extraProxy;

private:
    test::TempDir m_tmp;
    std::vector<std::string> m_hqOptions;
    test::Child m_hq, m_proxy;
    int m_hqPort = 0, m_proxyPort = 0, m_controlPort = 0, m_hqStarts = 0;
};

/// Forwards to a real transport with the protocol version changed.
class OtherProtocol final : public sync::Transport {
public:
    explicit OtherProtocol(sync::Transport& inner) : m_inner(inner) {}
    std::expected<wire::BatchAck, sync::SendFailure> post(const wire::Batch& b) override {
        wire::Batch copy = b;
        copy.protocol = wire::kProtocol + 1;
        return m_inner.post(copy);
    }
private:
    sync::Transport& m_inner;
};

store::Database openDb(const fs::path& p) {
    auto db = store::Database::open(p);
    REQUIRE(db.has_value());
    return std::move(*db);
}

} // namespace

TEST_CASE("thousands of responses reach HQ exactly once and HQ's daily figures equal the terminal's stats", "[e2e]") {
    Chain c;
    c.demoData(3000, 7);
    const auto r = c.syncOnce();
    INFO(r.err);
    REQUIRE(r.code == 0);
    CHECK(r.out.find("synced 3000 responses") != std::string::npos);
    // Three batches of 1000 over one kept-alive connection.
    CHECK(test::proxyStat(c.control(), "requests") == 3);
    CHECK(test::proxyStat(c.control(), "connections") == 1);
    c.requireExactlyOnce();

    const json st = c.syncStatus();
    CHECK(st["last_success"].is_string());
    CHECK(st["last_error"].is_null());
    CHECK(st["synced"] == 3000);

    // Day by day, HQ's figures (from what it received) equal the terminal's own.
    const auto reply = c.hqCsv();
    auto dates = csvColumn(reply, "local_date");
    std::sort(dates.begin(), dates.end());
    dates.erase(std::unique(dates.begin(), dates.end()), dates.end());
    REQUIRE(dates.size() >= 5);
    const auto daily = test::httpsGet("localhost", c.hqPort(),
                                      "/api/v1/stores/" + c.storeId + "/daily?from=" + dates.front() + "&to=" + dates.back(),
                                      c.ca(), c.readToken);
    REQUIRE(daily.has_value());
    INFO("HQ daily: " << daily->body.substr(0, 400));
    REQUIRE(daily->status == 200);
    std::map<std::string, json> hqDays;
    const json dailyJson = json::parse(daily->body);
    for (const auto& d : dailyJson["days"]) hqDays[d["date"].get<std::string>()] = d;
    std::int64_t total = 0;
    for (const auto& date : dates) {
        const auto s = c.kiosk({"stats", "--json", "--date", date}, c.viaProxy);
        REQUIRE(s.code == 0);
        const json mine = json::parse(s.out);
        INFO("date " << date);
        REQUIRE(hqDays.count(date) == 1);
        CHECK(hqDays[date] == mine);
        total += mine["responses"].get<std::int64_t>() + mine["misuse"].get<std::int64_t>();
    }
    CHECK(total == 3000);

    // HQ's fleet view got the terminal's version, backlog and a plausible clock offset.
    const auto devices = c.hqCli({"device", "list", "--db", c.dbUrl(), "--json"});
    REQUIRE(devices.code == 0);
    const json list = json::parse(devices.out);
    REQUIRE(list.size() == 1);
    CHECK(list[0]["id"] == c.deviceId);
    CHECK(list[0]["last_pending"] == 0);
    CHECK(list[0]["app_version"] == sync::appVersion());
    REQUIRE(list[0]["clock_offset_ms"].is_number_integer());
    CHECK(std::abs(list[0]["clock_offset_ms"].get<std::int64_t>()) < 5'000);
}

TEST_CASE("HQ down, then up: the terminal keeps everything and delivers it once", "[e2e][fault]") {
    Chain c;
    c.demoData(1200);
    c.stopHq(SIGTERM);

    auto r = c.syncOnce();   // through the proxy: it accepts, then cannot reach HQ
    CHECK(r.code == 3);
    CHECK(r.err.find("HQ cannot be reached") != std::string::npos);
    r = c.syncOnce(c.direct);   // straight at the closed port
    CHECK(r.code == 3);
    CHECK(r.err.find("HQ cannot be reached") != std::string::npos);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);   // one line
    const json st = c.syncStatus();
    CHECK(st["pending"] == 1200);
    CHECK(st["last_error"].get<std::string>().find("HQ cannot be reached") != std::string::npos);
    CHECK(st["last_success"].is_null());

    c.startHq(c.hqPort());
    r = c.syncOnce();
    INFO(r.err);
    REQUIRE(r.code == 0);
    c.requireExactlyOnce();
}

TEST_CASE("the worker retries on its own with backoff until HQ is back", "[e2e][fault][worker]") {
    Chain c;
    c.demoData(700);
    c.stopHq(SIGKILL);
    WallClock clock;
    auto transport = sync::CurlTransport::create(c.curlOptions(c.proxyPort()));
    REQUIRE(transport.has_value());
    sync::WorkerOptions o;
    o.databasePath = c.kioskDb();
    o.drain.deviceId = c.deviceId;
    o.retry.backoff = {100, 1'000};
    sync::SyncWorker worker(std::move(o), std::move(*transport), clock);
    REQUIRE(worker.start().has_value());
    // Two failed drains in a row, with no one pressing "sync now".
    auto seen = worker.waitForDrain(0, 30s);
    seen = worker.waitForDrain(seen, 30s);
    REQUIRE(seen >= 2);
    auto st = worker.status();
    // Retrying, or already in its next attempt: the backoff here is at most 1 s.
    CHECK((st.state == sync::SyncState::Retrying || st.state == sync::SyncState::Syncing));
    CHECK(st.lastErrorKind == sync::SendError::Offline);
    CHECK_FALSE(st.online);
    CHECK(st.pending == 700);

    c.startHq(c.hqPort());
    CHECK(test::eventually([&] { return worker.status().pending == 0; }, 60s));
    worker.stop();
    st = worker.status();
    CHECK(st.lastError.empty());
    CHECK(st.online);
    c.requireExactlyOnce();
}

TEST_CASE("HQ killed with SIGKILL mid-batch: nothing lost, nothing doubled", "[e2e][fault]") {
    Chain c;
    c.demoData(1500);
    // HQ gets the headers and part of the body of the first batch, then the proxy holds.
    c.proxy("mode hold-request 3000");
    test::Child kiosk = test::Child::spawn({SEGUE_KIOSK_BIN, "sync", "--once", "--config", c.viaProxy.string(),
                                            "--data-dir", (c.kioskDir() / "data").string()},
                                           c.root() / "k.out", c.root() / "k.err");
    REQUIRE(test::eventually([&] { return test::proxyStat(c.control(), "held") == 1; }, kStartBound));
    c.stopHq(SIGKILL);
    c.proxy("mode pass");   // the held exchange is reset
    const auto code = kiosk.wait(kRunBound);
    REQUIRE(code.has_value());
    CHECK(*code == 3);
    CHECK(c.pending() == 1500);

    c.startHq(c.hqPort());
    const auto r = c.syncOnce();
    INFO(r.err);
    REQUIRE(r.code == 0);
    c.requireExactlyOnce();
}

TEST_CASE("the kiosk killed with SIGKILL mid-batch: nothing lost, nothing doubled", "[e2e][fault]") {
    Chain c;
    c.demoData(1300);
    std::string heldBack;   // what the next run finds HQ already has
    SECTION("while sending the body") {
        c.proxy("mode hold-request 2500");
        heldBack = "(0 HQ already had)";
    }
    SECTION("after HQ committed, before the ack arrived") {
        c.proxy("mode hold-reply");
        heldBack = "(1000 HQ already had)";
    }
    test::Child kiosk = test::Child::spawn({SEGUE_KIOSK_BIN, "sync", "--once", "--config", c.viaProxy.string(),
                                            "--data-dir", (c.kioskDir() / "data").string()},
                                           c.root() / "k.out", c.root() / "k.err");
    REQUIRE(test::eventually([&] { return test::proxyStat(c.control(), "held") == 1; }, kStartBound));
    kiosk.signal(SIGKILL);
    REQUIRE(kiosk.wait(kStartBound) == 128 + SIGKILL);
    c.proxy("mode pass");
    CHECK(c.pending() == 1300);   // the kiosk never heard back: all still pending

    const auto r = c.syncOnce();
    INFO(r.err);
    REQUIRE(r.code == 0);
    CHECK(r.out.find("synced 1300 responses " + heldBack) != std::string::npos);
    c.requireExactlyOnce();
}

TEST_CASE("replies lost after HQ committed: the retry comes back as duplicates", "[e2e][fault]") {
    Chain c;
    c.demoData(1100);
    c.proxy("mode drop-reply times=1");
    auto r = c.syncOnce();
    CHECK(r.code == 3);
    CHECK(test::proxyStat(c.control(), "dropped") == 1);
    CHECK(c.pending() == 1100);
    CHECK(c.hqIds().size() == 1000);   // HQ has the first batch

    r = c.syncOnce();
    INFO(r.err);
    REQUIRE(r.code == 0);
    CHECK(r.out.find("synced 1100 responses (1000 HQ already had)") != std::string::npos);
    c.requireExactlyOnce();
}

TEST_CASE("HQ answering 500 and 503: retryable, Retry-After read, nothing lost", "[e2e][fault]") {
    Chain c;
    c.demoData(900);
    c.proxy("mode status 500");
    auto r = c.syncOnce();
    CHECK(r.code == 3);
    CHECK(r.err.find("HTTP 500") != std::string::npos);

    c.proxy("mode status 503 7");
    r = c.syncOnce();
    CHECK(r.code == 3);
    CHECK(r.err.find("HTTP 503") != std::string::npos);
    CHECK(c.syncStatus()["last_error"].get<std::string>().find("503") != std::string::npos);

    // The transport reads Retry-After for the worker's schedule.
    auto t = sync::CurlTransport::create(c.curlOptions(c.proxyPort()));
    REQUIRE(t.has_value());
    auto db = openDb(c.kioskDb());
    WallClock clock;
    sync::Drainer d(db, **t, clock, sync::DrainSettings{c.deviceId});
    auto step = d.step();
    REQUIRE(step.has_value());
    REQUIRE(step->kind == sync::StepReport::Kind::Failed);
    CHECK(step->failure->kind == sync::SendError::ServerError);
    CHECK(step->failure->httpStatus == 503);
    CHECK(step->failure->retryAfterMs == 7'000);
    CHECK(sync::dispositionOf(step->failure->kind) == sync::Disposition::Retry);
    CHECK(c.pending() == 900);
    CHECK(c.hqIds().empty());

    c.proxy("mode pass");
    r = c.syncOnce();
    INFO(r.err);
    REQUIRE(r.code == 0);
    c.requireExactlyOnce();
}

TEST_CASE("a stalled connection: the low-speed limit ends the attempt, nothing lost", "[e2e][fault]") {
    Chain c;
    c.demoData(600);
    c.proxy("mode blackhole");
    auto options = c.curlOptions(c.proxyPort());
    options.lowSpeedTimeS = 2;   // the product uses 30 s; the mechanism is the same
    auto t = sync::CurlTransport::create(options);
    REQUIRE(t.has_value());
    {
        auto db = openDb(c.kioskDb());
        WallClock clock;
        sync::Drainer d(db, **t, clock, sync::DrainSettings{c.deviceId});
        const auto started = std::chrono::steady_clock::now();
        auto step = d.step();
        const auto took = std::chrono::steady_clock::now() - started;
        REQUIRE(step.has_value());
        REQUIRE(step->kind == sync::StepReport::Kind::Failed);
        CHECK(step->failure->kind == sync::SendError::Timeout);
        CHECK(took < 30s);
        CHECK(test::proxyStat(c.control(), "blackholed") == 1);
    }
    CHECK(c.pending() == 600);
    c.proxy("mode pass");
    const auto r = c.syncOnce();
    INFO(r.err);
    REQUIRE(r.code == 0);
    c.requireExactlyOnce();
}

TEST_CASE("the same batch sent three times is stored once", "[e2e][fault]") {
    Chain c;
    c.demoData(800);
    auto t = sync::CurlTransport::create(c.curlOptions(c.proxyPort()));
    REQUIRE(t.has_value());
    wire::Batch batch;
    {
        auto db = openDb(c.kioskDb());
        auto rows = store::pendingBatch(db, 500);
        REQUIRE(rows.has_value());
        batch.batchId = core::UuidV7Generator().next(WallClock().now().utcMs);
        batch.deviceId = c.deviceId;
        batch.sentAtMs = WallClock().now().utcMs;
        batch.pending = 300;
        batch.appVersion = sync::appVersion();
        batch.responses = std::move(*rows);
    }
    for (int attempt = 0; attempt < 3; ++attempt) {
        auto ack = (*t)->post(batch);
        REQUIRE(ack.has_value());
        INFO("attempt " << attempt);
        CHECK(ack->accepted.size() == (attempt == 0 ? 500u : 0u));
        CHECK(ack->duplicates.size() == (attempt == 0 ? 0u : 500u));
        CHECK(ack->rejected.empty());
    }
    CHECK(c.hqIds().size() == 500);
    const auto r = c.syncOnce();
    INFO(r.err);
    REQUIRE(r.code == 0);
    CHECK(r.out.find("synced 800 responses (500 HQ already had)") != std::string::npos);
    c.requireExactlyOnce();
}

TEST_CASE("refusals lose nothing: wrong token, revoked device, wrong CA, hostname mismatch", "[e2e][refusal]") {
    Chain c;
    c.demoData(600);

    SECTION("wrong token") {
        const auto wrong = c.writeConfig("wrong-token.toml", "https://localhost:" + std::to_string(c.proxyPort()),
                                         "not-the-token", c.ca());
        auto r = c.syncOnce(wrong);
        CHECK(r.code == 4);
        CHECK(r.err.find("token") != std::string::npos);
        CHECK(c.syncStatus()["last_error"].get<std::string>().find("HTTP 401") != std::string::npos);
    }
    SECTION("revoked device") {
        auto r = c.syncOnce();
        REQUIRE(r.code == 0);
        c.demoData(100);
        const auto revoke = c.hqCli({"device", "revoke", "--db", c.dbUrl(), c.deviceId});
        REQUIRE(revoke.code == 0);
        r = c.syncOnce();
        CHECK(r.code == 4);
        CHECK(r.err.find("revoked") != std::string::npos);
        CHECK(c.pending() == 100);
        CHECK(c.hqIds().size() == 600);
        return;   // the device stays revoked: the remaining 100 wait on the terminal
    }
    SECTION("a CA that did not sign HQ's certificate") {
        fs::create_directories(c.root() / "other");
        REQUIRE(c.hqCli({"init-demo", "--dir", (c.root() / "other").string(), "--port", "1"}).code == 0);
        const auto other = c.writeConfig("other-ca.toml", "https://localhost:" + std::to_string(c.proxyPort()), c.token,
                                         (c.root() / "other" / "cert.pem").string());
        auto r = c.syncOnce(other);
        CHECK(r.code == 4);
        CHECK(r.err.find("certificate") != std::string::npos);
    }
    SECTION("a host name the certificate does not name") {
        // The certificate names localhost and 127.0.0.1; a proxy on 127.0.0.2 serves it there.
        int port = 0, control = 0;
        c.startProxy(c.extraProxy, "127.0.0.2", port, control, "proxy2");
        const auto mismatch = c.writeConfig("mismatch.toml", "https://127.0.0.2:" + std::to_string(port), c.token, c.ca());
        auto r = c.syncOnce(mismatch);
        CHECK(r.code == 4);
        CHECK(r.err.find("certificate") != std::string::npos);
    }
    CHECK(c.pending() == 600);
    CHECK(c.hqIds().empty());
    const auto r = c.syncOnce();
    INFO(r.err);
    REQUIRE(r.code == 0);
    c.requireExactlyOnce();
}

TEST_CASE("refusals lose nothing: protocol mismatch", "[e2e][refusal]") {
    Chain c;
    c.demoData(300);
    auto t = sync::CurlTransport::create(c.curlOptions(c.proxyPort()));
    REQUIRE(t.has_value());
    OtherProtocol future(**t);
    {
        auto db = openDb(c.kioskDb());
        WallClock clock;
        sync::Drainer d(db, future, clock, sync::DrainSettings{c.deviceId});
        auto step = d.step();
        REQUIRE(step.has_value());
        REQUIRE(step->kind == sync::StepReport::Kind::Failed);
        CHECK(step->failure->kind == sync::SendError::Protocol);
        CHECK(step->failure->httpStatus == 409);
        CHECK(sync::dispositionOf(step->failure->kind) == sync::Disposition::Parked);
        CHECK(d.status().lastError.find("protocol") != std::string::npos);
    }
    CHECK(c.pending() == 300);
    CHECK(c.hqIds().empty());
    const auto r = c.syncOnce();
    REQUIRE(r.code == 0);
    c.requireExactlyOnce();
}

TEST_CASE("refusals lose nothing: an oversized batch is split by the worker", "[e2e][refusal]") {
    Chain c;
    c.demoData(2600);
    auto t = sync::CurlTransport::create(c.curlOptions(c.proxyPort()));
    REQUIRE(t.has_value());
    {
        auto db = openDb(c.kioskDb());
        WallClock clock;
        // 1500 records is over HQ's limit of wire::kMaxRecords per batch: HQ answers 413.
        sync::Drainer d(db, **t, clock, sync::DrainSettings{c.deviceId, sync::appVersion(), 1500});
        auto step = d.step();
        REQUIRE(step.has_value());
        REQUIRE(step->kind == sync::StepReport::Kind::Sent);
        CHECK(step->splits == 1);
        CHECK(step->batchSize == 750);
        for (int i = 0; i < 10; ++i) {
            step = d.step();
            REQUIRE(step.has_value());
            if (step->kind == sync::StepReport::Kind::NothingPending) break;
            REQUIRE(step->kind == sync::StepReport::Kind::Sent);
        }
    }
    c.requireExactlyOnce();
}

TEST_CASE("a record HQ rejects is kept with its reason and never resent", "[e2e][refusal]") {
    Chain c;
    c.demoData(400);
    // Someone already sent HQ a different record under one of this terminal's ids.
    auto t = sync::CurlTransport::create(c.curlOptions(c.proxyPort()));
    REQUIRE(t.has_value());
    core::Response clash;
    {
        auto db = openDb(c.kioskDb());
        auto rows = store::pendingBatch(db, 10);
        REQUIRE(rows.has_value());
        clash = (*rows)[7];
    }
    core::Response altered = clash;
    altered.stars = clash.stars == 5 ? 4 : 5;
    wire::Batch b;
    b.batchId = core::UuidV7Generator().next(WallClock().now().utcMs);
    b.deviceId = c.deviceId;
    b.sentAtMs = WallClock().now().utcMs;
    b.appVersion = sync::appVersion();
    b.responses = {altered};
    auto ack = (*t)->post(b);
    REQUIRE(ack.has_value());
    REQUIRE(ack->accepted.size() == 1);

    auto r = c.syncOnce();
    INFO(r.err);
    REQUIRE(r.code == 0);
    CHECK(r.out.find("1 rejected by HQ") != std::string::npos);
    json st = c.syncStatus();
    CHECK(st["pending"] == 0);
    CHECK(st["rejected"] == 1);
    REQUIRE(st["rejected_records"].size() == 1);
    CHECK(st["rejected_records"][0]["id"] == clash.id);
    CHECK(st["rejected_records"][0]["reason"].get<std::string>().find("conflict") != std::string::npos);
    {
        auto db = openDb(c.kioskDb());
        auto kept = store::findResponse(db, clash.id);
        REQUIRE(kept.has_value());
        REQUIRE(kept->has_value());
        CHECK(**kept == clash);
    }
    // Another run sends nothing more.
    const auto forwarded = test::proxyStat(c.control(), "forwarded");
    r = c.syncOnce();
    REQUIRE(r.code == 0);
    CHECK(test::proxyStat(c.control(), "forwarded") == forwarded);
    c.requireExactlyOnce(1);
}

TEST_CASE("sync --once says so when sync is not configured, and status still reports the outbox", "[e2e][cli]") {
    test::TempDir dir("e2e-off");
    const fs::path config = dir / "off.toml";
    test::writeFile(config, "[kiosk]\nstore_id = \"store-1\"\ndevice_id = \"kiosk-1\"\n\n[sync]\nenabled = false\n");
    auto kiosk = [&](std::vector<std::string> args) {
        std::vector<std::string> argv{SEGUE_KIOSK_BIN};
        argv.insert(argv.end(), args.begin(), args.end());
        argv.insert(argv.end(), {"--config", config.string(), "--data-dir", (dir / "data").string()});
        return test::run(argv, dir.path(), kRunBound);
    };
    REQUIRE(kiosk({"demo-data", "--count", "25", "--days", "2"}).code == 0);
    auto r = kiosk({"sync", "--once"});
    CHECK(r.code == 2);
    CHECK(r.err.find("sync is not configured") != std::string::npos);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);

    r = kiosk({"sync", "status", "--json"});
    REQUIRE(r.code == 0);
    const json st = json::parse(r.out);
    CHECK(st["pending"] == 25);
    CHECK(st["rejected"] == 0);
    CHECK(st["oldest_pending_age_s"].is_number_integer());
    CHECK(st["last_success"].is_null());
    CHECK(st["last_error"].is_null());
    CHECK(st["enabled"] == false);
    CHECK(st["state"] == "disabled");

    r = kiosk({"sync", "status"});
    REQUIRE(r.code == 0);
    CHECK(r.out.find("Pending         25") != std::string::npos);
    CHECK(r.out.find("not configured") != std::string::npos);
}

TEST_CASE("HQ throttling a backlog drain: sync --once waits as told and finishes", "[e2e][fault]") {
    Chain c({"--device-rate", "2", "--device-burst", "1"});
    c.demoData(2500);   // three batches
    const auto r = c.syncOnce();
    INFO(r.err);
    REQUIRE(r.code == 0);
    CHECK(test::proxyStat(c.control(), "requests") > 3);   // some batches were answered 429 first
    c.requireExactlyOnce();
}

TEST_CASE("sync --once on a file damaged where the drain does not read: everything reaches HQ, the file stays",
          "[e2e][cli][corrupt]") {
    Chain c;
    c.demoData(2000, 7);
    // Random bytes over the first page of the staff screen's day sums, which a drain neither
    // reads nor writes: the whole-file check fails, the outbox and the responses read fine.
    std::int64_t page = 0, pageSize = 0;
    {
        auto db = openDb(c.kioskDb());
        sqlite3_stmt* st = nullptr;
        REQUIRE(sqlite3_prepare_v2(db.handle(), "SELECT MIN(pageno) FROM dbstat WHERE name = 'day_hour_tallies'", -1,
                                   &st, nullptr) == SQLITE_OK);
        REQUIRE(sqlite3_step(st) == SQLITE_ROW);
        page = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        REQUIRE(sqlite3_prepare_v2(db.handle(), "PRAGMA page_size", -1, &st, nullptr) == SQLITE_OK);
        REQUIRE(sqlite3_step(st) == SQLITE_ROW);
        pageSize = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        REQUIRE(sqlite3_exec(db.handle(), "PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr, nullptr) == SQLITE_OK);
    }
    REQUIRE(page > 1);
    {
        std::fstream f(c.kioskDb(), std::ios::in | std::ios::out | std::ios::binary);
        f.seekp((page - 1) * pageSize);
        std::string noise(static_cast<std::size_t>(pageSize), '\0');
        std::uint64_t x = 0x9E3779B97F4A7C15ull;
        for (auto& ch : noise) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            ch = static_cast<char>(x);
        }
        f.write(noise.data(), static_cast<std::streamsize>(noise.size()));
        REQUIRE(f.good());
    }
    {
        store::OpenOptions checked;
        checked.recoverCorrupt = false;
        auto db = store::Database::open(c.kioskDb(), checked);
        REQUIRE_FALSE(db.has_value());   // the damage is real: the terminal's start-up check finds it
        CHECK(db.error().kind == store::ErrorKind::Corrupt);
    }

    const auto r = c.syncOnce();
    INFO(r.err);
    REQUIRE(r.code == 0);
    c.requireExactlyOnce();
    for (const auto& entry : fs::directory_iterator(c.kioskDb().parent_path()))
        CHECK(entry.path().filename().string().find("corrupt") == std::string::npos);
}
