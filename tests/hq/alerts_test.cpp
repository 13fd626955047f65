// Alerts: the config, rule evaluation and once-per-day dedup on real storage with a FakeClock,
// webhook retries with backoff against a real receiver on 127.0.0.1, and the real segue-hq
// process delivering once and not again after a restart.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include <catch2/catch.hpp>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "core/uuid.hpp"
#include "hq/alerts.hpp"
#include "hq/config.hpp"
#include "hq/enrolment.hpp"
#include "hq/self_signed.hpp"
#include "hq/token.hpp"
#include "sync/wire.hpp"
#include "tests/hq/hq_test_support.hpp"

using namespace segue;
using nlohmann::json;

namespace {

constexpr std::int64_t kMinute = 60'000, kHour = 60 * kMinute, kDay = 24 * kHour;

void enrol(hq::Storage& s, const std::string& id, const std::string& store, std::int64_t atMs) {
    REQUIRE(hq::enrolDevice(s, store, "Kiosk " + id, id, atMs));
}

/// Stores responses of `device` as one batch received at `atMs` (the path every batch takes).
void ingest(hq::Storage& s, const std::string& device, std::vector<core::Response> records, std::int64_t atMs) {
    static core::UuidV7Generator batchIds(7);
    hq::IngestRequest req;
    req.deviceId = device;
    req.batchId = batchIds.next(atMs);
    req.receivedAtMs = atMs;
    req.appVersion = "0.1.0";
    req.records = std::move(records);
    REQUIRE(s.ingest(req));
}

/// `n` responses of `stars` at `store`/`device`, created at `atMs` + i seconds.
std::vector<core::Response> ratings(core::UuidV7Generator& ids, const std::string& store, const std::string& device,
                                    std::int64_t atMs, int n, int stars) {
    std::vector<core::Response> out;
    for (int i = 0; i < n; ++i) {
        const std::int64_t at = atMs + i * 1000;
        out.push_back(test::makeResponse(ids.next(at), store, device, at, stars));
    }
    return out;
}

std::vector<hq::Alert> alerts(hq::Storage& s) {
    auto a = s.recentAlerts(100);
    REQUIRE(a);
    return *a;
}

hq::AlertConfig rules(const std::string& toml) {
    auto c = hq::parseConfig(toml);
    INFO((c ? std::string() : c.error()));
    REQUIRE(c);
    return c->alerts;
}

/// A webhook receiver on 127.0.0.1 that answers 503 to the first `failFirst` requests.
class Receiver {
public:
    /// `delay`: how long each request takes to answer (a slow receiver widens a race window).
    explicit Receiver(int failFirst, std::chrono::milliseconds delay = {}) : m_failFirst(failFirst) {
        m_server.Post("/hook", [this, delay](const httplib::Request& req, httplib::Response& res) {
            if (delay.count() > 0) std::this_thread::sleep_for(delay);
            std::lock_guard lock(m_mutex);
            const bool fail = static_cast<int>(m_bodies.size()) < m_failFirst;
            m_bodies.push_back(req.body);
            m_keys.push_back(req.get_header_value("Idempotency-Key"));
            m_ok.push_back(!fail);
            res.status = fail ? 503 : 200;
            res.set_content(fail ? "busy" : "ok", "text/plain");
        });
        m_port = m_server.bind_to_any_port("127.0.0.1");
        REQUIRE(m_port > 0);
        m_thread = std::thread([this] { m_server.listen_after_bind(); });
        while (!m_server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ~Receiver() {
        m_server.stop();
        m_thread.join();
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(m_port) + "/hook"; }
    struct Seen {
        std::vector<std::string> bodies, keys;
        std::vector<bool> ok;
    };
    Seen seen() {
        std::lock_guard lock(m_mutex);
        return {m_bodies, m_keys, m_ok};
    }
    /// Successful deliveries of `key` so far.
    int deliveredCount(const std::string& key) {
        std::lock_guard lock(m_mutex);
        int n = 0;
        for (std::size_t i = 0; i < m_keys.size(); ++i) n += m_keys[i] == key && m_ok[i];
        return n;
    }

private:
    httplib::Server m_server;
    std::thread m_thread;
    int m_port = 0;
    int m_failFirst;
    std::mutex m_mutex;
    std::vector<std::string> m_bodies, m_keys;
    std::vector<bool> m_ok;
};

} // namespace

TEST_CASE("alerts config: rules parse, and typos, bad values and plain-http webhooks are refused", "[alerts]") {
    const auto ok = hq::parseConfig(R"(
[dashboard]
target_csat = 0.85
utc_offset_min = 480
[alerts]
webhook_url = "https://hooks.example.com/segue/abc?x=1"
evaluate_every_s = 30
[alerts.low_satisfaction]
threshold = 0.75
min_responses = 12
[alerts.low_ratings]
count = 4
window_min = 30
[alerts.silent_terminal]
hours = 12
)");
    REQUIRE(ok);
    CHECK(ok->dashboard.targetCsat == Approx(0.85));
    CHECK(ok->dashboard.utcOffsetMin == 480);
    REQUIRE(ok->alerts.lowSatisfaction);
    CHECK(ok->alerts.lowSatisfaction->threshold == Approx(0.75));
    CHECK(ok->alerts.lowSatisfaction->minResponses == 12);
    REQUIRE(ok->alerts.lowRatings);
    CHECK(ok->alerts.lowRatings->count == 4);
    CHECK(ok->alerts.lowRatings->windowMinutes == 30);
    CHECK(ok->alerts.lowRatings->maxStars == 2);
    REQUIRE(ok->alerts.silentTerminal);
    CHECK(ok->alerts.silentTerminal->hours == Approx(12));
    CHECK(ok->alerts.evaluateEverySeconds == Approx(30));

    const auto empty = hq::parseConfig("");
    REQUIRE(empty);
    CHECK_FALSE(empty->alerts.anyRule());
    CHECK(empty->dashboard.targetCsat == Approx(0.9));

    const std::vector<std::pair<std::string, std::string>> refused = {
        {"[alerts.low_satisfacton]\nthreshold = 0.8", "low_satisfacton"},
        {"[alerts]\nwebhook_url = \"https://h/x\"\n[alerts.low_ratings]\ncont = 3", "cont"},
        {"[alerts]\nwebhook_url = \"https://h/x\"\n[alerts.low_satisfaction]\nthreshold = 1.5", "threshold"},
        {"[alerts]\nwebhook_url = \"https://h/x\"\n[alerts.low_ratings]\ncount = \"3\"", "count"},
        {"[alerts.silent_terminal]\nhours = 24", "webhook_url is required"},
        {"[alerts]\nwebhook_url = \"http://hooks.example.com/x\"\n[alerts.silent_terminal]", "loopback"},
        {"[alerts]\nwebhook_url = \"ftp://127.0.0.1/x\"", "https://"},
        {"[alerts]\nwebhook_url = \"https://user:pw@h/x\"", "user:password"},
        {"[dashboard]\ntarget_csat = ", "syntax"},
        {"[dashbord]\ntarget_csat = 0.9", "dashbord"},
    };
    for (const auto& [toml, why] : refused) {
        INFO(toml);
        const auto c = hq::parseConfig(toml);
        REQUIRE_FALSE(c);
        CHECK_THAT(c.error(), Catch::Contains(why));
    }
    const auto loop = hq::parseWebhookUrl("http://127.0.0.1:9/hook?a=b");
    REQUIRE(loop);
    CHECK_FALSE(loop->https);
    CHECK(loop->port == 9);
    CHECK(loop->path == "/hook?a=b");
    CHECK(hq::parseWebhookUrl("http://[::1]:8080/h"));
    CHECK(hq::parseWebhookUrl("https://hooks.example.com")->path == "/");
    CHECK_FALSE(hq::parseWebhookUrl("http://10.0.0.1/h"));
    CHECK_FALSE(hq::parseWebhookUrl("https://h:99999/"));
    CHECK_FALSE(hq::loadConfig("/nonexistent/hq.toml"));
}

TEST_CASE("alerts: low satisfaction fires once the store has N responses today, once per store and day",
          "[alerts][storage]") {
    test::TempDir dir;
    for (const auto& url : test::storageUrls(dir)) {
        INFO(url);
        auto s = test::openStorage(url);
        core::FakeClock clock;   // 2026-11-18 19:06 at +08:00
        const std::int64_t t0 = clock.now().utcMs;
        enrol(*s, "k1", "store-a", t0 - kDay);
        enrol(*s, "k2", "store-b", t0 - kDay);
        hq::AlertEngine engine(*s, clock, rules(R"(
[alerts]
webhook_url = "http://127.0.0.1:9/hook"
[alerts.low_satisfaction]
threshold = 0.8
min_responses = 5
)"), {});
        core::UuidV7Generator ids(1);

        // 3 happy, 1 unhappy: 75% but only 4 responses, under the minimum.
        ingest(*s, "k1", ratings(ids, "store-a", "k1", t0 - 50 * kMinute, 3, 5), t0);
        ingest(*s, "k1", ratings(ids, "store-a", "k1", t0 - 40 * kMinute, 1, 2), t0);
        CHECK(*engine.evaluateStore("store-a") == 0);
        // Yesterday's bad ratings are not today's.
        ingest(*s, "k1", ratings(ids, "store-a", "k1", t0 - kDay, 6, 1), t0);
        CHECK(*engine.evaluateStore("store-a") == 0);
        // A 5th response today: 3 of 5 satisfied = 60% < 80%.
        ingest(*s, "k1", ratings(ids, "store-a", "k1", t0 - 30 * kMinute, 1, 3), t0);
        CHECK(*engine.evaluateStore("store-a") == 1);
        CHECK(*engine.evaluateStore("store-a") == 0);
        ingest(*s, "k1", ratings(ids, "store-a", "k1", t0 - 20 * kMinute, 4, 1), t0);
        CHECK(*engine.evaluateAll() == 0);   // still the same rule, store and day

        // A store doing well raises nothing.
        ingest(*s, "k2", ratings(ids, "store-b", "k2", t0 - 20 * kMinute, 9, 4), t0);
        CHECK(*engine.evaluateStore("store-b") == 0);

        auto list = alerts(*s);
        REQUIRE(list.size() == 1);
        CHECK(list[0].rule == hq::kRuleLowSatisfaction);
        CHECK(list[0].storeId == "store-a");
        CHECK(list[0].day == "2026-11-18");
        CHECK(list[0].state == hq::AlertState::Pending);
        const auto details = json::parse(list[0].details);
        CHECK(details["responses"] == 5);
        CHECK(details["csat"].get<double>() == Approx(0.6));
        CHECK_THAT(list[0].message, Catch::Contains("60.0%"));

        // The next HQ day the rule may fire again, once its own day has enough bad ratings.
        clock.advance(kDay);
        CHECK(*engine.evaluateStore("store-a") == 0);
        ingest(*s, "k1", ratings(ids, "store-a", "k1", clock.now().utcMs - 10 * kMinute, 5, 1), clock.now().utcMs);
        CHECK(*engine.evaluateStore("store-a") == 1);
        list = alerts(*s);
        REQUIRE(list.size() == 2);
        CHECK(list[0].day == "2026-11-19");
    }
}

TEST_CASE("alerts: K ratings of 1-2 stars within the window at one store; misuse and other stores do not count",
          "[alerts][storage]") {
    test::TempDir dir;
    for (const auto& url : test::storageUrls(dir)) {
        INFO(url);
        auto s = test::openStorage(url);
        core::FakeClock clock;
        const std::int64_t t0 = clock.now().utcMs;
        enrol(*s, "k1", "store-a", t0 - kDay);
        enrol(*s, "k2", "store-b", t0 - kDay);
        hq::AlertEngine engine(*s, clock, rules(R"(
[alerts]
webhook_url = "http://127.0.0.1:9/hook"
[alerts.low_ratings]
count = 3
window_min = 60
)"), {});
        core::UuidV7Generator ids(2);
        ingest(*s, "k1", ratings(ids, "store-a", "k1", t0 - 90 * kMinute, 2, 1), t0);   // outside the hour
        ingest(*s, "k1", ratings(ids, "store-a", "k1", t0 - 30 * kMinute, 2, 2), t0);
        ingest(*s, "k1", ratings(ids, "store-a", "k1", t0 - 20 * kMinute, 3, 3), t0);   // 3 stars is not low
        auto misuse = ratings(ids, "store-a", "k1", t0 - 10 * kMinute, 1, 1);
        misuse[0].misuse = true;
        ingest(*s, "k1", misuse, t0);
        ingest(*s, "k2", ratings(ids, "store-b", "k2", t0 - 5 * kMinute, 1, 1), t0);
        CHECK(*engine.evaluateAll() == 0);

        ingest(*s, "k1", ratings(ids, "store-a", "k1", t0 - 5 * kMinute, 1, 1), t0);
        CHECK(*engine.evaluateStore("store-b") == 0);
        CHECK(*engine.evaluateStore("store-a") == 1);
        CHECK(*engine.evaluateStore("store-a") == 0);
        const auto list = alerts(*s);
        REQUIRE(list.size() == 1);
        CHECK(list[0].rule == hq::kRuleLowRatings);
        CHECK(json::parse(list[0].details)["ratings"] == 3);
    }
}

TEST_CASE("alerts: a terminal silent for H hours is raised once a day; revoked ones are not", "[alerts][storage]") {
    test::TempDir dir;
    for (const auto& url : test::storageUrls(dir)) {
        INFO(url);
        auto s = test::openStorage(url);
        core::FakeClock clock;
        const std::int64_t t0 = clock.now().utcMs;
        enrol(*s, "k-live", "store-a", t0 - 2 * kDay);
        enrol(*s, "k-quiet", "store-a", t0 - 2 * kDay);
        enrol(*s, "k-never", "store-b", t0 - kHour);
        enrol(*s, "k-gone", "store-b", t0 - 2 * kDay);
        REQUIRE(*s->revokeDevice("k-gone"));
        core::UuidV7Generator ids(3);
        ingest(*s, "k-live", ratings(ids, "store-a", "k-live", t0 - kMinute, 1, 5), t0);
        ingest(*s, "k-quiet", ratings(ids, "store-a", "k-quiet", t0 - 7 * kHour, 1, 5), t0 - 7 * kHour);
        hq::AlertEngine engine(*s, clock, rules(R"(
[alerts]
webhook_url = "http://127.0.0.1:9/hook"
[alerts.silent_terminal]
hours = 6
)"), {});
        CHECK(*engine.evaluateAll() == 1);
        CHECK(*engine.evaluateAll() == 0);
        clock.advance(4 * kHour);   // 23:06: k-quiet already raised today, k-never 5 h, k-live 4 h
        CHECK(*engine.evaluateAll() == 0);
        clock.advance(3 * kHour);   // 02:06 the next day: k-quiet again, k-never 8 h, k-live 7 h
        CHECK(*engine.evaluateAll() == 3);
        std::map<std::string, std::vector<std::string>> daysBySubject;
        for (const auto& a : alerts(*s)) {
            CHECK(a.rule == hq::kRuleSilentTerminal);
            daysBySubject[a.subject].push_back(a.day);
        }
        CHECK(daysBySubject.size() == 3);
        CHECK(daysBySubject["k-quiet"] == std::vector<std::string>{"2026-11-19", "2026-11-18"});
        CHECK(daysBySubject["k-never"] == std::vector<std::string>{"2026-11-19"});
        CHECK(daysBySubject["k-live"] == std::vector<std::string>{"2026-11-19"});
        CHECK_FALSE(daysBySubject.contains("k-gone"));
    }
}

TEST_CASE("alerts: delivery to a real receiver is retried with exponential backoff and recorded once delivered",
          "[alerts]") {
    test::TempDir dir;
    auto s = test::openStorage("sqlite:" + (dir / "hq.sqlite").string());
    core::FakeClock clock;
    const std::int64_t t0 = clock.now().utcMs;
    enrol(*s, "k1", "store-a", t0 - kDay);
    Receiver receiver(2);
    auto config = rules(R"(
[alerts]
webhook_url = "http://127.0.0.1:9/hook"
retry_initial_s = 1
retry_max_s = 3
max_attempts = 10
[alerts.low_ratings]
count = 2
)");
    config.webhookUrl = receiver.url();
    hq::AlertEngine engine(*s, clock, config, {});
    hq::HttpWebhookSender sender(config.webhookUrl, std::nullopt);
    hq::AlertDelivery delivery(*s, clock, config, sender);
    core::UuidV7Generator ids(4);
    ingest(*s, "k1", ratings(ids, "store-a", "k1", t0 - kMinute, 2, 1), t0);
    REQUIRE(*engine.evaluateStore("store-a") == 1);

    CHECK(delivery.retryDelayMs(1) == 1000);
    CHECK(delivery.retryDelayMs(2) == 2000);
    CHECK(delivery.retryDelayMs(3) == 3000);   // capped at retry_max_s
    CHECK(delivery.retryDelayMs(30) == 3000);

    CHECK(*delivery.deliverDue() == 0);   // attempt 1: 503
    CHECK(receiver.seen().bodies.size() == 1);
    CHECK(*delivery.deliverDue() == 0);   // not due again yet
    clock.advance(999);
    CHECK(*delivery.deliverDue() == 0);
    CHECK(receiver.seen().bodies.size() == 1);
    auto a = alerts(*s).at(0);
    CHECK(a.state == hq::AlertState::Pending);
    CHECK(a.attempts == 1);
    CHECK(a.nextAttemptAtMs == t0 + 1000);
    CHECK_THAT(a.lastError, Catch::Contains("503"));
    REQUIRE(*delivery.nextAttemptAt() == t0 + 1000);

    clock.advance(1);
    CHECK(*delivery.deliverDue() == 0);   // attempt 2: 503, next in 2 s
    CHECK(receiver.seen().bodies.size() == 2);
    clock.advance(1999);
    CHECK(*delivery.deliverDue() == 0);
    clock.advance(1);
    CHECK(*delivery.deliverDue() == 1);   // attempt 3: delivered
    clock.advance(60'000);
    CHECK(*delivery.deliverDue() == 0);   // and never again
    CHECK_FALSE(*delivery.nextAttemptAt());

    const auto seen = receiver.seen();
    REQUIRE(seen.bodies.size() == 3);
    CHECK(seen.ok == std::vector<bool>{false, false, true});
    CHECK(seen.bodies[0] == seen.bodies[2]);   // every retry sends the same body
    a = alerts(*s).at(0);
    CHECK(a.state == hq::AlertState::Delivered);
    CHECK(a.attempts == 3);
    CHECK(a.deliveredAtMs == clock.now().utcMs - 60'000);
    CHECK(a.lastError.empty());
    const auto body = json::parse(seen.bodies[2]);
    CHECK(body["rule"] == "low_ratings");
    CHECK(body["store_id"] == "store-a");
    CHECK(body["key"] == "low_ratings:store-a:2026-11-18");
    CHECK(seen.keys[2] == "low_ratings:store-a:2026-11-18");
    CHECK(body["details"]["ratings"] == 2);
    CHECK(body["alert_id"] == a.id);
}

TEST_CASE("alerts: an alert the receiver keeps refusing is marked failed after max_attempts", "[alerts]") {
    test::TempDir dir;
    auto s = test::openStorage("sqlite:" + (dir / "hq.sqlite").string());
    core::FakeClock clock;
    enrol(*s, "k1", "store-a", clock.now().utcMs - 2 * kDay);
    Receiver receiver(1000);
    auto config = rules(R"(
[alerts]
webhook_url = "http://127.0.0.1:9/hook"
max_attempts = 3
retry_initial_s = 10
[alerts.silent_terminal]
hours = 24
)");
    hq::HttpWebhookSender sender(receiver.url(), std::nullopt);
    hq::AlertEngine engine(*s, clock, config, {});
    hq::AlertDelivery delivery(*s, clock, config, sender);
    REQUIRE(*engine.evaluateAll() == 1);
    for (int i = 0; i < 3; ++i) {
        CHECK(*delivery.deliverDue() == 0);
        clock.advance(3'600'000);
    }
    CHECK(receiver.seen().bodies.size() == 3);
    const auto a = alerts(*s).at(0);
    CHECK(a.state == hq::AlertState::Failed);
    CHECK(a.attempts == 3);
    CHECK_FALSE(*delivery.nextAttemptAt());

    // A receiver that is not there at all is a failed attempt with a reason, not a crash.
    hq::HttpWebhookSender nobody("http://127.0.0.1:1/hook", std::nullopt);
    const auto why = nobody.send("{}", "k");
    REQUIRE(why);
    CHECK_THAT(*why, Catch::Contains("no reply"));
}

TEST_CASE("alerts: two HQ nodes on one database deliver each alert once between them", "[alerts][storage]") {
    test::TempDir dir;
    for (const auto& url : test::storageUrls(dir)) {
        INFO(url);
        // Two storages on one database, as two segue-hq processes have: separate connections.
        auto nodeA = test::openStorage(url);
        auto nodeB = test::openStorage(url);
        core::FakeClock clock;
        constexpr int kAlerts = 12;
        for (int i = 0; i < kAlerts; ++i) enrol(*nodeA, "k" + std::to_string(i), "store-a", clock.now().utcMs - 2 * kDay);
        auto config = rules(R"(
[alerts]
webhook_url = "http://127.0.0.1:9/hook"
[alerts.silent_terminal]
hours = 24
)");
        // Both nodes evaluate: the unique key lets one raise each alert.
        hq::AlertEngine engineA(*nodeA, clock, config, {}), engineB(*nodeB, clock, config, {});
        REQUIRE(*engineA.evaluateAll() + *engineB.evaluateAll() == kAlerts);

        // 30 ms a request: both nodes read the same due alerts while the other is still sending.
        Receiver receiver(0, std::chrono::milliseconds(30));
        hq::HttpWebhookSender senderA(receiver.url(), std::nullopt), senderB(receiver.url(), std::nullopt);
        hq::AlertDelivery deliveryA(*nodeA, clock, config, senderA), deliveryB(*nodeB, clock, config, senderB);
        int deliveredA = 0, deliveredB = 0;
        {
            std::jthread a([&] { deliveredA = *deliveryA.deliverDue(); });
            std::jthread b([&] { deliveredB = *deliveryB.deliverDue(); });
        }
        CHECK(deliveredA + deliveredB == kAlerts);
        const auto seen = receiver.seen();
        CHECK(seen.keys.size() == static_cast<std::size_t>(kAlerts));
        for (const auto& key : seen.keys) CHECK(receiver.deliveredCount(key) == 1);
        for (const auto& a : alerts(*nodeA)) CHECK(a.state == hq::AlertState::Delivered);

        // A node that died mid-attempt leaves its claim: another node retries after the lease.
        REQUIRE(*nodeA->raiseAlert({"test_rule", "subject", "store-a", std::nullopt, "2026-11-18",
                                    clock.now().utcMs, "m", "{}"}));
        auto due = nodeA->dueAlerts(clock.now().utcMs, 10);
        REQUIRE(due->size() == 1);
        REQUIRE(*nodeA->claimAlert(due->front().id, due->front().nextAttemptAtMs, clock.now().utcMs + 120'000));
        CHECK_FALSE(*nodeB->claimAlert(due->front().id, due->front().nextAttemptAtMs, clock.now().utcMs + 120'000));
        CHECK(*deliveryB.deliverDue() == 0);
        clock.advance(120'000);
        CHECK(*deliveryB.deliverDue() == 1);
        CHECK(receiver.seen().keys.size() == static_cast<std::size_t>(kAlerts) + 1);
    }
}

namespace {

std::string readFile(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

int waitExit(pid_t pid) {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/// Runs segue-hq with `args`; stdout and stderr go to files in `dir`. Killed if this process dies.
pid_t spawnHq(const test::TempDir& dir, std::vector<std::string> args, const std::string& tag) {
    args.insert(args.begin(), SEGUE_HQ_BINARY);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const auto out = dir / (tag + ".out"), err = dir / (tag + ".err");
    const pid_t parent = getpid();
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) _exit(126);
        const int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        const int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0) _exit(126);
        execv(argv[0], argv.data());
        _exit(127);
    }
    return pid;
}

std::string runHq(const test::TempDir& dir, std::vector<std::string> args) {
    const std::string tag = "run-" + hq::randomHex(4);
    REQUIRE(waitExit(spawnHq(dir, std::move(args), tag)) == 0);
    return readFile(dir / (tag + ".out"));
}

/// `segue-hq serve` with the demo certificate and a config; SIGTERM and wait at the end.
class Served {
public:
    Served(const test::TempDir& dir, const std::string& db, const std::filesystem::path& config) : m_dir(dir) {
        const auto portFile = dir / "port";
        std::filesystem::remove(portFile);
        m_pid = spawnHq(dir, {"serve", "--listen", "127.0.0.1:0", "--port-file", portFile.string(), "--db", db, "--tls-cert",
                              (dir / "cert.pem").string(), "--tls-key", (dir / "key.pem").string(), "--config",
                              config.string()},
                        "serve-" + hq::randomHex(4));
        // Waiting for readiness: the port file appears once the socket listens.
        for (int i = 0; i < 1500 && !std::filesystem::exists(portFile); ++i) {
            int status = 0;
            if (waitpid(m_pid, &status, WNOHANG) == m_pid) {
                m_pid = -1;
                FAIL("segue-hq serve exited early");
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        REQUIRE(std::filesystem::exists(portFile));
        m_port = std::stoi(readFile(portFile));
    }
    ~Served() {
        if (m_pid > 0) {
            kill(m_pid, SIGKILL);
            waitExit(m_pid);
        }
    }
    int terminate() {
        kill(m_pid, SIGTERM);
        const int code = waitExit(m_pid);
        m_pid = -1;
        return code;
    }
    std::unique_ptr<httplib::SSLClient> client() const {
        auto c = std::make_unique<httplib::SSLClient>("localhost", m_port);
        c->set_ca_cert_path((m_dir / "cert.pem").c_str());
        c->enable_server_certificate_verification(true);
        return c;
    }

private:
    const test::TempDir& m_dir;
    pid_t m_pid = -1;
    int m_port = 0;
};

void postLowRatings(const Served& hq, const std::string& device, const std::string& token, const std::string& store,
                    core::UuidV7Generator& ids, int n) {
    const std::int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count();
    wire::Batch b;
    b.batchId = ids.next(now);
    b.deviceId = device;
    b.sentAtMs = now;
    b.appVersion = "0.1.0";
    b.responses = ratings(ids, store, device, now - 5 * kMinute, n, 1);
    auto res = hq.client()->Post("/api/v1/batches", {{"Authorization", "Bearer " + token}}, wire::encodeBatch(b),
                                "application/json");
    REQUIRE(res);
    INFO(res->body);
    REQUIRE(res->status == 200);
    CHECK(json::parse(res->body)["accepted"].size() == static_cast<std::size_t>(n));
}

/// Waits (bounded) until `done` holds: for the worker thread of another process.
template <typename F>
bool eventually(F done) {
    for (int i = 0; i < 3000; ++i) {
        if (done()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return done();
}

} // namespace

TEST_CASE("alerts e2e: segue-hq retries a failing webhook, delivers once, and does not resend after a restart",
          "[alerts][e2e]") {
    test::TempDir dir;
    runHq(dir, {"init-demo", "--dir", dir.path().string(), "--port", "18443"});
    const std::string db = "sqlite:" + (dir / "hq.sqlite").string();
    const auto enrolled = [&](const std::string& store) {
        return json::parse(runHq(dir, {"device", "add", "--db", db, "--store", store, "--name", "Till", "--json"}));
    };
    const json a = enrolled("store-a"), b = enrolled("store-b");
    const std::string readToken = [&] {
        std::string t = readFile(dir / "read-token.txt");
        t.pop_back();
        return t;
    }();

    Receiver receiver(2);
    const auto config = dir / "hq.toml";
    std::ofstream(config) << "[alerts]\nwebhook_url = \"" << receiver.url() << "\"\n"
                          << "evaluate_every_s = 0.2\nretry_initial_s = 0.05\nretry_max_s = 0.2\n"
                          << "[alerts.low_ratings]\ncount = 3\nwindow_min = 60\n";
    core::UuidV7Generator ids(5);
    std::string keyA;
    {
        Served hq(dir, db, config);
        postLowRatings(hq, a["device_id"], a["token"], "store-a", ids, 3);
        REQUIRE(eventually([&] {
            const auto seen = receiver.seen();
            return !seen.ok.empty() && seen.ok.back();
        }));
        const auto seen = receiver.seen();
        REQUIRE(seen.bodies.size() == 3);   // two refusals, then delivered
        CHECK(seen.ok == std::vector<bool>{false, false, true});
        keyA = seen.keys[0];
        CHECK(seen.keys[1] == keyA);
        CHECK(seen.keys[2] == keyA);
        CHECK(json::parse(seen.bodies[2])["store_id"] == "store-a");

        // The page's list shows it delivered after three attempts.
        REQUIRE(eventually([&] {
            auto res = hq.client()->Get("/api/v1/alerts", {{"Authorization", "Bearer " + readToken}});
            if (!res || res->status != 200) return false;
            const auto list = json::parse(res->body)["alerts"];
            return list.size() == 1 && list[0]["state"] == "delivered";
        }));
        auto res = hq.client()->Get("/api/v1/alerts", {{"Authorization", "Bearer " + readToken}});
        const auto list = json::parse(res->body);
        CHECK(list["enabled"] == true);
        CHECK(list["alerts"][0]["attempts"] == 3);
        CHECK(list["alerts"][0]["key"] == keyA);
        CHECK(list["alerts"][0]["delivered_at"].is_string());
        auto refused = hq.client()->Get("/api/v1/alerts");
        REQUIRE(refused);
        CHECK(refused->status == 401);
        CHECK(hq.terminate() == 0);
    }
    {
        // After a restart, store-a fires again on the same day (more low ratings, and the
        // evaluation at start): the stored alert keeps it from being sent twice. store-b's first
        // alert is the marker that the new process has evaluated and delivered.
        Served hq(dir, db, config);
        postLowRatings(hq, a["device_id"], a["token"], "store-a", ids, 3);
        postLowRatings(hq, b["device_id"], b["token"], "store-b", ids, 3);
        REQUIRE(eventually([&] {
            const auto seen = receiver.seen();
            for (std::size_t i = 0; i < seen.bodies.size(); ++i)
                if (seen.ok[i] && json::parse(seen.bodies[i])["store_id"] == "store-b") return true;
            return false;
        }));
        CHECK(receiver.deliveredCount(keyA) == 1);
        CHECK(receiver.seen().bodies.size() == 4);
        CHECK(hq.terminate() == 0);
    }
}

TEST_CASE("alerts: an https webhook is verified: its own CA is trusted, another certificate is refused", "[alerts]") {
    test::TempDir dir;
    const auto good = hq::makeSelfSigned("localhost", {"localhost"}, {"127.0.0.1"}, 30);
    const auto other = hq::makeSelfSigned("localhost", {"localhost"}, {"127.0.0.1"}, 30);
    REQUIRE(good);
    REQUIRE(other);
    std::ofstream(dir / "cert.pem") << good->certificate;
    std::ofstream(dir / "key.pem") << good->privateKey;
    std::ofstream(dir / "other.pem") << other->certificate;
    httplib::SSLServer server((dir / "cert.pem").c_str(), (dir / "key.pem").c_str());
    REQUIRE(server.is_valid());
    std::atomic<int> hits{0};
    server.Post("/hook", [&](const httplib::Request&, httplib::Response& res) {
        ++hits;
        res.set_content("ok", "text/plain");
    });
    const int port = server.bind_to_any_port("127.0.0.1");
    REQUIRE(port > 0);
    std::thread thread([&] { server.listen_after_bind(); });
    while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));

    const std::string url = "https://localhost:" + std::to_string(port) + "/hook";
    hq::HttpWebhookSender trusted(url, (dir / "cert.pem").string());
    CHECK_FALSE(trusted.send("{}", "k"));
    hq::HttpWebhookSender wrongCa(url, (dir / "other.pem").string());
    const auto refused = wrongCa.send("{}", "k");
    REQUIRE(refused);
    CHECK_THAT(*refused, Catch::Contains("certificate"));
    hq::HttpWebhookSender systemCas(url, std::nullopt);   // a self-signed receiver is not in the system store
    CHECK(systemCas.send("{}", "k"));
    CHECK(hits == 1);
    server.stop();
    thread.join();
}
