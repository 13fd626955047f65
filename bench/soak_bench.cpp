// segue-bench-soak: benchmarks 9, 10 and 11, long runs against a real segue-hq over HTTPS on
// 127.0.0.1, each looking for what only time or numbers bring out.
//   terminal  100 000 customers through segue-bench-kiosk-driver --soak (the kiosk's controller,
//             store, screens and sync worker) with a sync cycle every 50: RSS, fds, threads
//   hq        the fleet for 10 minutes: segue-hq's RSS every few seconds, p99 per minute
//   storm     1 000 terminals (the kiosk's SyncWorker, CurlTransport and backoff, one process)
//             with 600 pending each, HQ down, then back: time to drain against capacity
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <latch>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include <httplib.h>

#include "bench/process.hpp"
#include "bench/support.hpp"
#include "core/system_clock.hpp"
#include "core/time.hpp"
#include "hq/demo.hpp"
#include "hq/enrolment.hpp"
#include "hq/storage.hpp"
#include "store/database.hpp"
#include "store/responses.hpp"
#include "sync/curl_transport.hpp"
#include "sync/wire.hpp"
#include "sync/worker.hpp"

namespace segue::bench {
namespace {

std::int64_t wallMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string todayUtc() { return core::localDate(wallMs(), 480); }

/// A TCP port on 127.0.0.1 that nothing listens on now (the kernel's pick, released at once).
int freePort() {
    const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (s < 0 || ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) != 0)
        fail(std::string("picking a port: ") + std::strerror(errno));
    ::close(s);
    return ntohs(a.sin_port);
}

/// As many open files as the hard limit allows: 1 000 terminals hold a socket and three
/// database files each, and segue-hq (a child) inherits the limit for their connections.
void raiseFileLimit() {
    rlimit r{};
    if (::getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
        r.rlim_cur = r.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &r);
    }
}

std::unique_ptr<hq::Storage> openHq(const std::string& url) {
    auto s = hq::openStorage(url);
    if (!s) fail("opening HQ storage " + url + ": " + s.error().message);
    return std::move(*s);
}

/// segue-hq serve on 127.0.0.1:`port` (0: its pick), returned once it listens.
struct Server {
    std::unique_ptr<Child> child;
    int port = 0;
};

Server startHq(const std::string& bin, const std::string& url, const std::filesystem::path& certDir,
               const std::filesystem::path& work, int port, int opsPort = 0) {
    const auto portFile = work / "hq.port";
    std::error_code ec;
    std::filesystem::remove(portFile, ec);
    // Every terminal of the bench connects from 127.0.0.1: no per-address connection cap.
    std::vector<std::string> argv = {bin, "serve", "--listen", "127.0.0.1:" + std::to_string(port), "--db", url,
                                           "--tls-cert", (certDir / "cert.pem").string(),
                                           "--tls-key", (certDir / "key.pem").string(), "--port-file",
                                           portFile.string(), "--max-connections-per-address", "0"};
    if (opsPort > 0) {   // /healthz and /metrics over plain HTTP, for the heap's figures
        argv.push_back("--ops-listen");
        argv.push_back("127.0.0.1:" + std::to_string(opsPort));
    }
    Server s;
    s.child = std::make_unique<Child>(argv);
    s.child->drainLog();
    const double deadline = monoMs() + 30'000;
    while (!std::filesystem::exists(portFile) || std::filesystem::file_size(portFile, ec) == 0) {
        if (monoMs() > deadline) fail("segue-hq did not start listening");
        if (s.child->wait(0) >= 0) fail("segue-hq exited at start: " + s.child->log());
        sleepMs(5);
    }
    std::ifstream(portFile) >> s.port;
    if (s.port <= 0) fail("unreadable " + portFile.string());
    return s;
}

/// A number from /proc/PID/status ("VmRSS" in KiB, "Threads"); -1 when unreadable.
long procStatus(pid_t pid, const std::string& field) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line))
        if (line.starts_with(field + ":")) return std::strtol(line.c_str() + field.size() + 1, nullptr, 10);
    return -1;
}

/// A key=value figure of a driver line ("rss_kib=1234"); -1 when absent.
long field(const std::string& line, const std::string& key) {
    const auto at = line.find(" " + key + "=");
    if (at == std::string::npos) return -1;
    return std::strtol(line.c_str() + at + key.size() + 2, nullptr, 10);
}

// ---- benchmark 9: the terminal over 100 000 customers ---------------------------------------------

int runTerminalSoak(const Args& args) {
    args.allowOnly({"hq", "driver", "work", "customers", "sync-every", "sample-every"});
    const std::string hqBin = args.text("hq", "segue-hq");
    const std::string driverBin = args.text("driver", "segue-bench-kiosk-driver");
    const std::filesystem::path work = std::filesystem::absolute(args.text("work", "soak-terminal"));
    const long customers = args.integer("customers", 100'000);
    const long syncEvery = args.integer("sync-every", 50);
    const long sampleEvery = args.integer("sample-every", 1000);
    if (customers < 2 * sampleEvery) fail("--customers must be at least twice --sample-every");
    std::error_code ec;
    std::filesystem::remove_all(work, ec);
    std::filesystem::create_directories(work);

    const int port = freePort();
    auto demo = hq::initDemo(work / "hq", port, wallMs());
    if (!demo) fail("init-demo: " + demo.error());
    const std::string url = "sqlite:" + (demo->dir / "hq.sqlite").string();
    Server hq = startHq(hqBin, url, demo->dir, work, port);

    const double t0 = monoMs();
    const auto samplesFile = work / "driver-samples.txt";
    Child driver({driverBin, "--data-dir", (work / "kiosk").string(), "--config", (demo->dir / "kiosk.toml").string(),
                  "--soak", std::to_string(customers), "--sync-every", std::to_string(syncEvery), "--sample-every",
                  std::to_string(sampleEvery), "--samples", samplesFile.string()});
    driver.drainLog();
    const int code = driver.wait(4 * 3'600'000.0);
    const double seconds = (monoMs() - t0) / 1000;
    const double hqRssMiB = hq.child->rssMiB();
    hq.child->stop();
    std::string driverLines;
    if (std::ifstream in(samplesFile); in) driverLines.assign(std::istreambuf_iterator<char>(in), {});
    if (code != 0) fail("the kiosk driver exited " + std::to_string(code) + ": " + driverLines);

    struct Sample {
        long customers, rssKib, fds, sockets, threads;
    };
    std::vector<Sample> samples;
    long cycles = 0;
    std::istringstream lines(driverLines);
    for (std::string line; std::getline(lines, line);) {
        if (line.find("kiosk-driver: sample ") != std::string::npos)
            samples.push_back({field(line, "customers"), field(line, "rss_kib"), field(line, "fds"), field(line, "sockets"),
                               field(line, "threads")});
        if (line.find("kiosk-driver: soak done") != std::string::npos) cycles = field(line, "cycles");
    }
    if (samples.size() < 2 || samples.back().customers != customers) fail("the driver's samples are incomplete: " + driverLines);
    auto stored = openHq(url)->counts();
    if (!stored || stored->responses != customers)
        fail("HQ holds " + std::to_string(stored ? stored->responses : -1) + " of " + std::to_string(customers) +
             " responses");

    // The second half: from the sample nearest half-way to the end.
    const Sample* half = &samples.front();
    for (const auto& s : samples)
        if (s.customers <= customers / 2) half = &s;
    long maxLate = 0;
    for (const auto& s : samples)
        if (s.customers >= half->customers) maxLate = std::max(maxLate, s.rssKib);
    const Sample& first = samples.front();
    const Sample& last = samples.back();
    nlohmann::json curve = nlohmann::json::array();
    long maxSockets = 0;
    for (const auto& s : samples) {
        curve.push_back({s.customers, s.rssKib, s.fds, s.sockets, s.threads});
        maxSockets = std::max(maxSockets, s.sockets);
    }
    const nlohmann::json common = {{"customers", customers},
                                   {"sync_cycles", cycles},
                                   {"sync_every", syncEvery},
                                   {"seconds", seconds},
                                   {"hq_responses", stored->responses},
                                   {"hq_rss_at_end_mib", hqRssMiB},
                                   {"first_sample_after", first.customers},
                                   {"half_sample_after", half->customers},
                                   {"samples_customers_rss_kib_fds_sockets_threads", curve}};
    Row rss;
    rss.name = "soak_terminal_rss_growth";
    rss.value = static_cast<double>(maxLate - half->rssKib) / 1024.0;
    rss.baseline = static_cast<double>(half->rssKib) / 1024.0;
    rss.unit = "MiB";
    rss.goal = "<= 1 MiB over the second half";
    rss.met = rss.value <= 1.0;
    rss.details = common;
    rss.details["rss_first_mib"] = static_cast<double>(first.rssKib) / 1024.0;
    rss.details["rss_half_mib"] = static_cast<double>(half->rssKib) / 1024.0;
    rss.details["rss_end_mib"] = static_cast<double>(last.rssKib) / 1024.0;
    rss.details["rss_max_second_half_mib"] = static_cast<double>(maxLate) / 1024.0;
    emit(rss);
    Row fds;
    fds.name = "soak_terminal_open_fds";
    fds.value = static_cast<double>(last.fds);
    fds.baseline = static_cast<double>(first.fds);
    fds.unit = "fds";
    // Files and pipes the same; sockets never more than after the first customers (HQ closes
    // the sync's connection after 1 000 requests: at that moment the terminal holds one fewer).
    fds.goal = "files the same at the end as after the first " + std::to_string(first.customers) +
               "; sockets never more";
    fds.met = last.fds == first.fds && maxSockets <= first.sockets;
    fds.details = {{"customers", customers},
                   {"sync_cycles", cycles},
                   {"sockets_first", first.sockets},
                   {"sockets_end", last.sockets},
                   {"sockets_max", maxSockets}};
    emit(fds);
    Row th;
    th.name = "soak_terminal_threads";
    th.value = static_cast<double>(last.threads);
    th.baseline = static_cast<double>(first.threads);
    th.unit = "threads";
    th.goal = "the same at the end as after the first " + std::to_string(first.customers);
    th.met = last.threads == first.threads;
    th.details = {{"customers", customers}, {"sync_cycles", cycles}};
    emit(th);
    return 0;
}

// ---- benchmark 10: HQ under a fleet for 10 minutes ----------------------------------------------

int runHqSoak(const Args& args) {
    args.allowOnly({"hq", "db", "work", "terminals", "seconds", "batch", "offered", "sample-seconds", "window-seconds"});
    const std::string hqBin = args.text("hq", "segue-hq");
    const std::filesystem::path work = std::filesystem::absolute(args.text("work", "soak-hq"));
    const int terminals = static_cast<int>(args.integer("terminals", 200));
    const double seconds = args.number("seconds", 600);
    const int batch = static_cast<int>(args.integer("batch", 50));
    const double offered = args.number("offered", 10'000);
    const double sampleS = args.number("sample-seconds", 5);
    const double windowS = args.number("window-seconds", 60);
    if (seconds < 2 * windowS) fail("--seconds must be at least two --window-seconds");
    std::error_code ec;
    std::filesystem::remove_all(work, ec);
    std::filesystem::create_directories(work);
    auto demo = hq::initDemo(work / "certs", 443, wallMs());   // for its certificate only
    if (!demo) fail("init-demo: " + demo.error());
    const std::string url = "sqlite:" + (work / "hq-soak.sqlite").string();
    std::vector<hq::Enrolment> fleet;
    {
        auto storage = openHq(url);
        for (int i = 0; i < terminals; ++i) {
            auto e = hq::enrolDevice(*storage, "store-" + std::to_string(i / 4), "counter " + std::to_string(i),
                                     std::nullopt, wallMs());
            if (!e) fail("enrolling: " + e.error().message);
            fleet.push_back(*e);
        }
    }
    const int opsPort = freePort();
    Server hq = startHq(hqBin, url, demo->dir, work, 0, opsPort);
    const pid_t hqPid = hq.child->pid();
    httplib::Client ops("127.0.0.1", opsPort);
    ops.set_read_timeout(10);
    /// A gauge from HQ's /metrics in MiB; -1 when it cannot be read.
    const auto gaugeMiB = [](const std::string& page, const std::string& name) {
        const auto at = page.find("\n" + name + " ");
        if (at == std::string::npos) return -1.0;
        return std::strtod(page.c_str() + at + name.size() + 2, nullptr) / (1024.0 * 1024.0);
    };

    // Each terminal sends on a fixed schedule (phases spread evenly) and encodes its next batch
    // while it waits; latency counts from the scheduled time (no coordinated omission).
    const double intervalMs = 1000.0 * terminals * batch / offered;
    std::atomic<bool> stop{false};
    std::atomic<int> finished{0};
    std::atomic<std::int64_t> accepted{0}, errors{0};
    std::mutex mu;
    std::vector<std::pair<double, double>> latencies;   // (scheduled s from start, ms)
    std::string firstError;
    std::latch connected(terminals);
    std::latch go(1);
    double t0 = 0;
    std::vector<std::thread> threads;
    for (int i = 0; i < terminals; ++i) {
        threads.emplace_back([&, i] {
            const hq::Enrolment& who = fleet[static_cast<std::size_t>(i)];
            httplib::SSLClient c("localhost", hq.port);
            c.set_ca_cert_path((demo->dir / "cert.pem").string().c_str());
            c.enable_server_certificate_verification(true);
            c.set_keep_alive(true);
            c.set_tcp_nodelay(true);
            c.set_connection_timeout(5);
            c.set_read_timeout(60);
            TrafficOptions to;
            to.storeId = who.storeId;
            to.deviceId = who.deviceId;
            to.count = 2'000'000;
            to.days = 1000;
            to.lastDate = todayUtc();
            to.seed = static_cast<std::uint64_t>(1000 + i);
            Traffic traffic(to);
            std::vector<core::Response> queue;
            core::UuidV7Generator batchIds(to.seed);
            const httplib::Headers headers = {{"Authorization", "Bearer " + who.token}, {"Content-Encoding", "gzip"}};
            auto nextBody = [&] {
                while (queue.size() < static_cast<std::size_t>(batch)) {
                    auto day = traffic.nextDay();
                    if (day.empty()) fail("a terminal's traffic ran out");
                    queue.insert(queue.end(), std::make_move_iterator(day.begin()), std::make_move_iterator(day.end()));
                }
                wire::Batch b;
                b.batchId = batchIds.next(wallMs());
                b.deviceId = who.deviceId;
                b.appVersion = "bench";
                b.sentAtMs = wallMs();
                b.responses.assign(std::make_move_iterator(queue.begin()), std::make_move_iterator(queue.begin() + batch));
                queue.erase(queue.begin(), queue.begin() + batch);
                auto body = wire::gzip(wire::encodeBatch(b));
                if (!body) fail("gzip: " + body.error());
                return std::move(*body);
            };
            std::string body = nextBody();
            (void)c.Get("/healthz");   // the connection is open before the clock starts
            connected.count_down();
            go.wait();
            const double phase = intervalMs * i / terminals;
            std::vector<std::pair<double, double>> mine;
            // Every batch scheduled within the run is sent, however late (a server that falls behind
            // shows it in the last window); `stop` only bounds a run that fell hopelessly behind.
            for (double due = t0 + phase; due < t0 + seconds * 1000 && !stop; due += intervalMs) {
                while (!stop && monoMs() < due) sleepMs(std::min(50.0, due - monoMs()));
                if (stop) break;
                auto res = c.Post("/api/v1/batches", headers, body, "application/json");
                const double ms = monoMs() - due;
                mine.emplace_back((due - t0) / 1000, ms);
                std::string problem;
                if (!res) problem = "transport error " + httplib::to_string(res.error());
                else if (res->status != 200) problem = "HTTP " + std::to_string(res->status) + " " + res->body;
                else if (auto ack = wire::decodeAck(res->body); !ack) problem = "bad ack: " + ack.error();
                else accepted += static_cast<std::int64_t>(ack->accepted.size());
                if (!problem.empty()) {
                    ++errors;
                    std::lock_guard lock(mu);
                    if (firstError.empty()) firstError = problem;
                }
                body = nextBody();
            }
            std::lock_guard lock(mu);
            latencies.insert(latencies.end(), mine.begin(), mine.end());
            ++finished;
        });
    }
    connected.wait();
    t0 = monoMs();
    go.count_down();
    std::vector<std::pair<double, double>> rss;   // (s, MiB)
    nlohmann::json heapCurve = nlohmann::json::array();   // [s, in use, free, SQLite's] MiB, from /metrics
    long peakThreads = 0;
    for (double next = t0; monoMs() - t0 < seconds * 1000; next += sampleS * 1000) {
        while (monoMs() < next) sleepMs(std::min(100.0, next - monoMs()));
        const double at = (monoMs() - t0) / 1000;
        rss.emplace_back(at, static_cast<double>(procStatus(hqPid, "VmRSS")) / 1024.0);
        peakThreads = std::max(peakThreads, procStatus(hqPid, "Threads"));
        if (auto m = ops.Get("/metrics"); m && m->status == 200)
            heapCurve.push_back({at, gaugeMiB(m->body, "segue_hq_heap_bytes{state=\"in_use\"}"),
                                 gaugeMiB(m->body, "segue_hq_heap_bytes{state=\"free\"}"),
                                 gaugeMiB(m->body, "segue_hq_sqlite_memory_bytes")});
    }
    while (finished < terminals && monoMs() - t0 < 2 * seconds * 1000) sleepMs(100);
    const bool cut = finished < terminals;
    stop = true;
    for (auto& t : threads) t.join();
    const double elapsed = (monoMs() - t0) / 1000;
    hq.child->stop();

    // The last half: its first sample against the most it reached after.
    const double halfS = seconds / 2;
    double atHalf = 0, maxLate = 0;
    for (const auto& [s, mib] : rss)
        if (s >= halfS) {
            if (atHalf == 0) atHalf = mib;
            maxLate = std::max(maxLate, mib);
        }
    Samples firstWindow, lastWindow;
    std::map<int, Samples> perWindow;
    for (const auto& [s, ms] : latencies) {
        if (s < windowS) firstWindow.add(ms);
        if (s >= seconds - windowS) lastWindow.add(ms);
        perWindow[static_cast<int>(s / windowS)].add(ms);
    }
    nlohmann::json p99s = nlohmann::json::array(), curve = nlohmann::json::array();
    for (const auto& [w, samples] : perWindow) p99s.push_back(samples.percentile(99));
    for (const auto& [s, mib] : rss) curve.push_back({s, mib});
    const nlohmann::json common = {{"terminals", terminals},
                                   {"seconds", elapsed},
                                   {"offered_per_s", offered},
                                   {"accepted_per_s", static_cast<double>(accepted) / elapsed},
                                   {"requests", latencies.size()},
                                   {"errors", errors.load()},
                                   {"back_end", "sqlite"},
                                   {"hq_peak_threads", peakThreads},
                                   {"cut_short_at_twice_the_time", cut},
                                   {"window_s", windowS},
                                   {"p99_ms_per_window", p99s},
                                   {"rss_s_mib", curve},
                                   {"heap_s_in_use_free_sqlite_mib", heapCurve}};
    Row r;
    r.name = "soak_hq_rss_last_half";
    r.value = maxLate;
    r.baseline = atHalf;
    r.unit = "MiB";
    r.goal = "grows <= 2% over the last half";
    r.met = atHalf > 0 && maxLate <= 1.02 * atHalf;
    r.details = common;
    r.details["rss_first_mib"] = rss.empty() ? 0.0 : rss.front().second;
    r.details["rss_end_mib"] = rss.empty() ? 0.0 : rss.back().second;
    // What the RSS is made of over the same half, as RSS is judged: its first sample against the
    // most after (in use: live allocations, SQLite's included; free: kept by malloc for reuse).
    for (const auto& [column, key] : {std::pair{1, "heap_in_use"}, std::pair{2, "heap_free"}, std::pair{3, "sqlite"}}) {
        double first = -1, most = -1;
        for (const auto& sample : heapCurve)
            if (sample[0].get<double>() >= halfS) {
                if (first < 0) first = sample[column].get<double>();
                most = std::max(most, sample[column].get<double>());
            }
        r.details[std::string(key) + "_last_half_mib"] = {first, most};
    }
    if (!firstError.empty()) r.details["first_error"] = firstError;
    emit(r);
    Row p;
    p.name = "soak_hq_p99_last_window";
    p.value = lastWindow.percentile(99);
    p.baseline = firstWindow.percentile(99);
    p.unit = "ms";
    p.goal = "<= 1.5x the first window's p99";
    p.met = !cut && !lastWindow.empty() && !firstWindow.empty() && p.value <= 1.5 * p.baseline;
    p.details = {{"window_s", windowS}, {"p50_first_ms", firstWindow.median()}, {"p50_last_ms", lastWindow.median()},
                 {"errors", errors.load()}, {"requests", latencies.size()}};
    emit(p);
    return 0;
}

// ---- benchmark 11: a reconnect storm ------------------------------------------------------------

/// The kiosk's CurlTransport with a tally around it: each post's latency, outcome, and whether a
/// refusal's Retry-After was waited out before the next post.
class TalliedTransport final : public sync::Transport {
public:
    struct Tally {
        std::mutex mu;
        Samples latency;   // posts answered by HQ (refusals included), once it was up
        Samples firstAfterUpS;   // each terminal's first post after HQ was up: seconds after it
        std::int64_t refused = 0, early = 0, errors = 0, downFailures = 0, posts = 0;
        std::string firstError;
        std::atomic<double> upAtMs{0};
    };
    TalliedTransport(std::unique_ptr<sync::CurlTransport> inner, Tally& tally) : m_inner(std::move(inner)), m_tally(tally) {}

    std::expected<wire::BatchAck, sync::SendFailure> post(const wire::Batch& batch) override {
        return timed([&] { return m_inner->post(batch); });
    }
    std::optional<std::string> encode(const wire::Batch& batch) const override { return m_inner->encode(batch); }
    std::expected<wire::BatchAck, sync::SendFailure> post(const wire::Batch& batch, const std::string& body) override {
        return timed([&] { return m_inner->post(batch, body); });
    }
    void cancel() override { m_inner->cancel(); }

private:
    template <class F>
    std::expected<wire::BatchAck, sync::SendFailure> timed(F send) {
        const double t0 = monoMs();
        const bool early = m_notBeforeMs > 0 && t0 < m_notBeforeMs;
        auto got = send();
        const double ms = monoMs() - t0;
        const double up = m_tally.upAtMs.load();
        std::lock_guard lock(m_tally.mu);
        ++m_tally.posts;
        if (up > 0 && t0 >= up && !m_seenUp) {
            m_seenUp = true;
            m_tally.firstAfterUpS.add((t0 - up) / 1000);
        }
        if (early) ++m_tally.early;
        m_notBeforeMs = 0;
        if (got) {
            m_tally.latency.add(ms);
            return got;
        }
        const sync::SendFailure& f = got.error();
        if (f.kind == sync::SendError::Aborted) return got;
        if (f.httpStatus && (*f.httpStatus == 429 || *f.httpStatus == 503)) {
            ++m_tally.refused;
            m_tally.latency.add(ms);
            if (f.retryAfterMs) m_notBeforeMs = monoMs() + static_cast<double>(*f.retryAfterMs);
        } else if (up == 0 || t0 < up) {
            ++m_tally.downFailures;   // HQ was down when this one left
        } else {
            ++m_tally.errors;
            if (m_tally.firstError.empty()) m_tally.firstError = sync::describe(f);
        }
        return got;
    }
    std::unique_ptr<sync::CurlTransport> m_inner;
    Tally& m_tally;
    double m_notBeforeMs = 0;   // a refusal's Retry-After: the next post must not leave before
    bool m_seenUp = false;
};

/// Enrols `n` terminals in a fresh HQ database and gives each a kiosk database holding `pending`
/// responses of its own, all pending.
std::vector<hq::Enrolment> prepareFleet(const std::string& url, const std::filesystem::path& dir, int n,
                                        std::int64_t pending, const std::string& prefix) {
    std::vector<hq::Enrolment> fleet;
    auto storage = openHq(url);
    for (int i = 0; i < n; ++i) {
        auto e = hq::enrolDevice(*storage, prefix + "-store-" + std::to_string(i / 4), "counter " + std::to_string(i),
                                 std::nullopt, wallMs());
        if (!e) fail("enrolling: " + e.error().message);
        fleet.push_back(*e);
        TrafficOptions to;
        to.storeId = e->storeId;
        to.deviceId = e->deviceId;
        to.count = pending;
        to.days = 30;
        to.lastDate = todayUtc();
        to.seed = static_cast<std::uint64_t>(i + 1);
        auto db = store::Database::open(dir / (std::to_string(i) + ".sqlite"));
        if (!db) fail("kiosk database: " + db.error().message);
        Traffic t(to);
        std::vector<core::Response> all;
        for (auto day = t.nextDay(); !day.empty(); day = t.nextDay())
            all.insert(all.end(), std::make_move_iterator(day.begin()), std::make_move_iterator(day.end()));
        if (auto ok = store::saveResponses(*db, all); !ok) fail("seeding: " + ok.error().message);
    }
    return fleet;
}

/// One SyncWorker a terminal, as segue-kiosk runs it (default retry policy: full-jitter backoff
/// from 1 s to 5 min, Retry-After honoured), started at once.
std::vector<std::unique_ptr<sync::SyncWorker>> startWorkers(const std::vector<hq::Enrolment>& fleet,
                                                            const std::filesystem::path& dir, int port,
                                                            const std::filesystem::path& ca, int batchLimit,
                                                            TalliedTransport::Tally& tally, const core::Clock& clock) {
    std::vector<std::unique_ptr<sync::SyncWorker>> workers;
    for (std::size_t i = 0; i < fleet.size(); ++i) {
        sync::CurlOptions curl;
        curl.serverUrl = "https://localhost:" + std::to_string(port);
        curl.token = fleet[i].token;
        curl.caFile = ca.string();
        auto transport = sync::CurlTransport::create(curl);
        if (!transport) fail("transport: " + transport.error());
        sync::WorkerOptions wo;
        wo.databasePath = dir / (std::to_string(i) + ".sqlite");
        wo.checkStore = false;
        wo.drain.deviceId = fleet[i].deviceId;
        wo.drain.batchLimit = batchLimit;
        workers.push_back(std::make_unique<sync::SyncWorker>(
            std::move(wo), std::make_unique<TalliedTransport>(std::move(*transport), tally), clock));
        if (auto ok = workers.back()->start(); !ok) fail("sync worker: " + ok.error());
    }
    return workers;
}

/// Waits until every worker has nothing pending; seconds from `fromMs`, or -1 after `timeoutS`.
/// `watch` runs every 100 ms meanwhile.
template <class Watch>
double waitDrained(const std::vector<std::unique_ptr<sync::SyncWorker>>& workers, double fromMs, double timeoutS,
                   Watch watch) {
    for (;;) {
        bool all = true;
        for (const auto& w : workers) {
            const auto s = w->status();
            if (s.pending != 0 || s.synced == 0) {
                all = false;
                break;
            }
        }
        if (all) return (monoMs() - fromMs) / 1000;
        if (monoMs() - fromMs > timeoutS * 1000) return -1;
        watch();
        sleepMs(100);
    }
}

int runStorm(const Args& args) {
    args.allowOnly({"hq", "work", "terminals", "pending", "down-seconds", "capacity-terminals", "capacity-count",
                    "timeout-seconds"});
    const std::string hqBin = args.text("hq", "segue-hq");
    const std::filesystem::path work = std::filesystem::absolute(args.text("work", "storm"));
    const int terminals = static_cast<int>(args.integer("terminals", 1000));
    const std::int64_t pending = args.integer("pending", 600);
    const double downS = args.number("down-seconds", 10);
    const int capTerminals = static_cast<int>(args.integer("capacity-terminals", 4));
    const std::int64_t capCount = args.integer("capacity-count", 200'000);
    const double timeoutS = args.number("timeout-seconds", 900);
    raiseFileLimit();
    std::error_code ec;
    std::filesystem::remove_all(work, ec);
    std::filesystem::create_directories(work / "capacity");
    std::filesystem::create_directories(work / "storm");
    auto demo = hq::initDemo(work / "certs", 443, wallMs());   // for its certificate only
    if (!demo) fail("init-demo: " + demo.error());
    const auto ca = demo->dir / "cert.pem";
    core::SystemClock clock;

    // Capacity: the same kind of batches (`pending` records) from a few terminals draining long
    // backlogs through the same worker and transport, one after another, HQ up from the start.
    double capacity = 0;
    {
        const std::string url = "sqlite:" + (work / "capacity.sqlite").string();
        const auto fleet = prepareFleet(url, work / "capacity", capTerminals, capCount / capTerminals, "cap");
        Server hq = startHq(hqBin, url, demo->dir, work, 0);
        TalliedTransport::Tally tally;
        tally.upAtMs = monoMs();
        const double t0 = monoMs();
        auto workers = startWorkers(fleet, work / "capacity", hq.port, ca, static_cast<int>(pending), tally, clock);
        const double s = waitDrained(workers, t0, timeoutS, [] {});
        for (auto& w : workers) w->stop();
        hq.child->stop();
        if (s <= 0) fail("the capacity run did not drain within " + std::to_string(timeoutS) + " s");
        capacity = static_cast<double>(capTerminals * (capCount / capTerminals)) / s;
        std::cerr << "storm: capacity " << capacity << " responses/s\n";
    }

    // The storm: every terminal starts with HQ down (connection refused), backs off, and HQ
    // comes back on the same port after `downS`.
    const std::string url = "sqlite:" + (work / "storm.sqlite").string();
    const auto fleet = prepareFleet(url, work / "storm", terminals, pending, "storm");
    const int port = freePort();
    TalliedTransport::Tally tally;
    const double start = monoMs();
    const double benchCpu0 = selfCpuSeconds();
    auto workers = startWorkers(fleet, work / "storm", port, ca, sync::kDefaultBatchLimit, tally, clock);
    while (monoMs() - start < downS * 1000) sleepMs(50);
    Server hq = startHq(hqBin, url, demo->dir, work, port);
    const double upAt = monoMs();
    tally.upAtMs = upAt;
    const double benchCpuUp = selfCpuSeconds();
    const double hqCpu0 = hq.child->cpuSeconds();
    long peakRssKib = 0, peakThreads = 0;
    const pid_t hqPid = hq.child->pid();
    const double seconds = waitDrained(workers, upAt, timeoutS, [&] {
        peakRssKib = std::max(peakRssKib, procStatus(hqPid, "VmRSS"));
        peakThreads = std::max(peakThreads, procStatus(hqPid, "Threads"));
    });
    const long benchThreads = procStatus(::getpid(), "Threads");
    const double hqCpu = hq.child->cpuSeconds() - hqCpu0;
    const double benchCpuDrain = selfCpuSeconds() - benchCpuUp;
    for (auto& w : workers) w->stop();
    hq.child->stop();
    if (seconds < 0) fail("the storm did not drain within " + std::to_string(timeoutS) + " s");
    const std::int64_t total = static_cast<std::int64_t>(terminals) * pending;
    auto stored = openHq(url)->counts();
    if (!stored || stored->responses != total)
        fail("HQ holds " + std::to_string(stored ? stored->responses : -1) + " of " + std::to_string(total));

    std::lock_guard lock(tally.mu);
    const nlohmann::json common = {{"terminals", terminals},
                                   {"pending_each", pending},
                                   {"down_s", downS},
                                   {"capacity_per_s", capacity},
                                   {"capacity_terminals", capTerminals},
                                   {"posts", tally.posts},
                                   {"failed_while_down", tally.downFailures},
                                   {"refused_429_503", tally.refused},
                                   {"retry_after_not_honoured", tally.early},
                                   {"errors", tally.errors},
                                   {"p50_ms", tally.latency.median()},
                                   {"p99_ms", tally.latency.percentile(99)},
                                   {"max_ms", tally.latency.max()},
                                   {"hq_peak_rss_mib", static_cast<double>(peakRssKib) / 1024.0},
                                   {"hq_peak_threads", peakThreads},
                                   {"bench_threads", benchThreads},
                                   {"first_post_after_up_p50_s", tally.firstAfterUpS.median()},
                                   {"first_post_after_up_max_s", tally.firstAfterUpS.max()},
                                   {"bench_cpu_s_while_down", benchCpuUp - benchCpu0},
                                   {"bench_cpu_s_while_draining", benchCpuDrain},
                                   {"hq_cpu_s_while_draining", hqCpu},
                                   {"back_end", "sqlite"}};
    Row d;
    d.name = "storm_drain_time";
    d.value = seconds;
    d.baseline = static_cast<double>(total) / capacity;
    d.unit = "s";
    d.goal = "<= 1.5x total responses / capacity";
    d.met = d.value <= 1.5 * d.baseline;
    d.details = common;
    if (!tally.firstError.empty()) d.details["first_error"] = tally.firstError;
    emit(d);
    Row e;
    e.name = "storm_errors";
    e.value = static_cast<double>(tally.errors + tally.early);
    e.baseline = static_cast<double>(tally.posts);
    e.unit = "requests";
    e.goal = "0 errors; every 429/503 honoured (Retry-After)";
    e.met = tally.errors == 0 && tally.early == 0;
    e.details = {{"posts", tally.posts}, {"refused_429_503", tally.refused}, {"retry_after_not_honoured", tally.early},
                 {"errors", tally.errors}};
    if (!tally.firstError.empty()) e.details["first_error"] = tally.firstError;
    emit(e);
    return 0;
}

} // namespace
} // namespace segue::bench

int main(int argc, char** argv) {
    using namespace segue::bench;
    ::signal(SIGPIPE, SIG_IGN);
    if (argc < 2) {
        std::cerr << "usage: segue-bench-soak terminal|hq|storm [--options]\n";
        return 2;
    }
    const std::string cmd = argv[1];
    const Args args(argc, argv, 2);
    if (cmd == "terminal") return runTerminalSoak(args);
    if (cmd == "hq") return runHqSoak(args);
    if (cmd == "storm") return runStorm(args);
    std::cerr << "segue-bench-soak: unknown command '" << cmd << "'\n";
    return 2;
}
