// segue-bench-hq: benchmarks 5, 6 and 7 against a real segue-hq over HTTPS on 127.0.0.1, each
// set against the raw insert rate of the same back end measured in the same run.
//   drain   a kiosk's backlog sent by `segue-kiosk sync --once` through a byte-counting relay
//   fleet   200 simulated terminals (one process, one keep-alive connection each) posting batches
//   read    the daily API and the chain-wide overview over an HQ database of 10 million responses
//   chain   /stores' first page and /regions of a chain of 10 000 stores in 100 regions
//   cluster benchmark 12: the fleet through HAProxy (deploy/haproxy.cfg) to one and to two nodes on
//           one PostgreSQL, with the CPU each process used
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <latch>
#include <mutex>
#include <regex>
#include <sstream>
#include <thread>

#include <httplib.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include "bench/process.hpp"
#include "bench/support.hpp"
#include "core/time.hpp"
#include "hq/day_sums.hpp"
#include "hq/demo.hpp"
#include "hq/enrolment.hpp"
#include "hq/storage.hpp"
#include "store/database.hpp"
#include "store/responses.hpp"
#include "sync/drainer.hpp"
#include "sync/wire.hpp"

namespace segue::bench {
namespace {

std::int64_t wallMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string todayUtc() { return core::localDate(wallMs(), 480); }

// ---- raw inserts: the back end's own limit ------------------------------------------------------

std::string tagsJson(const core::Response& r) { return nlohmann::json(r.tags).dump(); }

/// Writes records straight into HQ's responses table in transactions of `batch`, the fastest
/// plain way the back end offers (SQLite: prepared INSERT; PostgreSQL: COPY). Returns rows/s.
class RawWriter {
public:
    virtual ~RawWriter() = default;
    virtual void write(const std::vector<core::Response>& rs, const std::string& batchId) = 0;
};

class SqliteRaw final : public RawWriter {
public:
    explicit SqliteRaw(const std::string& path) {
        if (sqlite3_open_v2(path.c_str(), &m_db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK)
            fail("opening " + path + ": " + sqlite3_errmsg(m_db));
        // The same durability as segue-hq's own connection.
        exec("PRAGMA journal_mode=WAL");
        exec("PRAGMA synchronous=FULL");
        if (sqlite3_prepare_v2(m_db,
                               "INSERT INTO responses (id, store_id, device_id, survey_id, survey_version, language,"
                               " created_at, local_date, local_hour, utc_offset_min, stars, segue_satisfactory,"
                               " segue_efficient, segue_genuine, segue_understanding, segue_effective, tags, complete,"
                               " misuse, synthetic, duration_ms, received_at, batch_id)"
                               " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22,?23)",
                               -1, &m_insert, nullptr) != SQLITE_OK)
            fail(std::string("preparing the raw insert: ") + sqlite3_errmsg(m_db));
    }
    ~SqliteRaw() override {
        sqlite3_finalize(m_insert);
        sqlite3_close(m_db);
    }
    void write(const std::vector<core::Response>& rs, const std::string& batchId) override {
        exec("BEGIN IMMEDIATE");
        const std::int64_t now = wallMs();
        for (const auto& r : rs) {
            sqlite3_reset(m_insert);
            int i = 1;
            auto text = [&](const std::string& s) { sqlite3_bind_text(m_insert, i++, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT); };
            auto num = [&](std::int64_t v) { sqlite3_bind_int64(m_insert, i++, v); };
            text(r.id), text(r.storeId), text(r.deviceId), text(r.surveyId), num(r.surveyVersion), text(r.language);
            num(r.createdAtMs), text(r.localDate), num(r.localHour), num(r.utcOffsetMin), num(r.stars);
            for (const auto& s : r.segue) {
                if (s) num(*s);
                else sqlite3_bind_null(m_insert, i++);
            }
            text(tagsJson(r)), num(r.complete), num(r.misuse), num(r.synthetic), num(r.durationMs), num(now), text(batchId);
            if (sqlite3_step(m_insert) != SQLITE_DONE) fail(std::string("raw insert: ") + sqlite3_errmsg(m_db));
        }
        exec("COMMIT");
    }

private:
    void exec(const char* sql) {
        char* msg = nullptr;
        if (sqlite3_exec(m_db, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
            const std::string why = msg ? msg : "?";
            sqlite3_free(msg);
            fail(std::string(sql) + ": " + why);
        }
    }
    sqlite3* m_db = nullptr;
    sqlite3_stmt* m_insert = nullptr;
};

class PgRaw final : public RawWriter {
public:
    explicit PgRaw(const std::string& url) : m_conn(PQconnectdb(url.c_str())) {
        if (PQstatus(m_conn) != CONNECTION_OK) fail("connecting to PostgreSQL: " + std::string(PQerrorMessage(m_conn)));
    }
    ~PgRaw() override { PQfinish(m_conn); }
    void write(const std::vector<core::Response>& rs, const std::string& batchId) override {
        exec("BEGIN");
        PGresult* res = PQexec(m_conn,
                               "COPY responses (id, store_id, device_id, survey_id, survey_version, language, created_at,"
                               " local_date, local_hour, utc_offset_min, stars, segue_satisfactory, segue_efficient,"
                               " segue_genuine, segue_understanding, segue_effective, tags, complete, misuse, synthetic,"
                               " duration_ms, received_at, batch_id) FROM STDIN");
        if (PQresultStatus(res) != PGRES_COPY_IN) fail("COPY: " + std::string(PQerrorMessage(m_conn)));
        PQclear(res);
        const std::string now = std::to_string(wallMs());
        std::string buf;
        // Every text field is a plain id, a date or JSON of plain ids: nothing to escape.
        for (const auto& r : rs) {
            buf += r.id + '\t' + r.storeId + '\t' + r.deviceId + '\t' + r.surveyId + '\t' + std::to_string(r.surveyVersion) +
                   '\t' + r.language + '\t' + std::to_string(r.createdAtMs) + '\t' + r.localDate + '\t' +
                   std::to_string(r.localHour) + '\t' + std::to_string(r.utcOffsetMin) + '\t' + std::to_string(r.stars);
            for (const auto& s : r.segue) buf += '\t' + (s ? std::to_string(*s) : std::string("\\N"));
            buf += '\t' + tagsJson(r) + '\t' + (r.complete ? "t" : "f") + '\t' + (r.misuse ? "t" : "f") + '\t' +
                   (r.synthetic ? "t" : "f") + '\t' + std::to_string(r.durationMs) + '\t' + now + '\t' + batchId + '\n';
        }
        if (PQputCopyData(m_conn, buf.data(), static_cast<int>(buf.size())) != 1 || PQputCopyEnd(m_conn, nullptr) != 1)
            fail("COPY data: " + std::string(PQerrorMessage(m_conn)));
        res = PQgetResult(m_conn);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) fail("COPY: " + std::string(PQerrorMessage(m_conn)));
        PQclear(res);
        while ((res = PQgetResult(m_conn)) != nullptr) PQclear(res);
        exec("COMMIT");
    }

private:
    void exec(const char* sql) {
        PGresult* res = PQexec(m_conn, sql);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) fail(std::string(sql) + ": " + PQerrorMessage(m_conn));
        PQclear(res);
    }
    PGconn* m_conn;
};

/// --db, or SQLite databases under the work directory (never the current one).
std::string databaseBase(const Args& args, const std::filesystem::path& work) {
    return args.text("db", "sqlite:" + (work / "db").string());
}

bool isPg(const std::string& url) { return url.starts_with("postgresql://") || url.starts_with("postgres://"); }

std::unique_ptr<hq::Storage> openHq(const std::string& url) {
    auto s = hq::openStorage(url);
    if (!s) fail("opening HQ storage " + url + ": " + s.error().message);
    return std::move(*s);
}

std::unique_ptr<RawWriter> rawWriter(const std::string& url) {
    openHq(url);   // HQ creates and migrates its own schema first
    if (isPg(url)) return std::make_unique<PgRaw>(url);
    return std::make_unique<SqliteRaw>(url.substr(std::string("sqlite:").size()));
}

/// A fresh database for `url`'s back end: a new file, or a new PostgreSQL database.
std::string freshDb(const std::string& base, const std::string& name) {
    if (!isPg(base)) {
        const std::string path = base.substr(std::string("sqlite:").size());
        std::filesystem::create_directories(path);
        const auto file = std::filesystem::path(path) / (name + ".sqlite");
        std::error_code ec;
        for (const char* s : {"", "-wal", "-shm"}) std::filesystem::remove(file.string() + s, ec);
        return "sqlite:" + file.string();
    }
    PGconn* c = PQconnectdb(base.c_str());
    if (PQstatus(c) != CONNECTION_OK) fail("connecting to PostgreSQL: " + std::string(PQerrorMessage(c)));
    for (const std::string& sql : {"DROP DATABASE IF EXISTS " + name, "CREATE DATABASE " + name}) {
        PGresult* r = PQexec(c, sql.c_str());
        if (PQresultStatus(r) != PGRES_COMMAND_OK) fail(sql + ": " + PQerrorMessage(c));
        PQclear(r);
    }
    PQfinish(c);
    const auto slash = base.rfind('/');
    return base.substr(0, slash + 1) + name;
}

/// This thread's CPU time (user + system) in ms.
double threadCpuMs() {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) / 1e6;
}

/// The raw insert: rows/s, and the CPU time the inserting thread spent per row (for SQLite the
/// whole cost of storing, commits and their syncs' system time included; for PostgreSQL only
/// the client's side of COPY).
struct RawInsert {
    double rate = 0;
    double cpuUsPerRow = 0;
};

/// Raw inserts of `count` records of `traffic`, `batch` per transaction.
RawInsert rawInsert(const std::string& url, Traffic traffic, std::int64_t count, std::size_t batch) {
    auto w = rawWriter(url);
    core::UuidV7Generator batchIds(99);
    std::vector<core::Response> pending;
    std::int64_t written = 0;
    double busyMs = 0, cpuMs = 0;
    while (written < count) {
        auto day = traffic.nextDay();
        if (day.empty()) fail("the traffic ran out before " + std::to_string(count) + " records");
        for (auto& r : day) {
            pending.push_back(std::move(r));
            if (pending.size() == batch || written + static_cast<std::int64_t>(pending.size()) == count) {
                const double t0 = monoMs(), c0 = threadCpuMs();
                w->write(pending, batchIds.next(wallMs()));
                busyMs += monoMs() - t0;
                cpuMs += threadCpuMs() - c0;
                written += static_cast<std::int64_t>(pending.size());
                pending.clear();
                if (written == count) break;
            }
        }
    }
    return {static_cast<double>(written) / (busyMs / 1000), 1e3 * cpuMs / static_cast<double>(written)};
}


// ---- a running segue-hq ----------------------------------------------------------------------

struct Server {
    std::unique_ptr<Child> child;
    int port = 0;
};

/// What `command` prints on standard output ("" when it cannot run).
std::string commandOutput(const std::string& command) {
    std::string out;
    if (FILE* p = popen(command.c_str(), "r")) {
        char buf[4096];
        for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
        pclose(p);
    }
    return out;
}

Server startHq(const std::string& bin, const std::string& url, const std::filesystem::path& certDir,
               const std::filesystem::path& work, const std::vector<std::string>& extra = {}) {
    const auto portFile = work / "hq.port";
    std::error_code ec;
    std::filesystem::remove(portFile, ec);
    std::vector<std::string> argv = {bin, "serve", "--listen", "127.0.0.1:0", "--db", url,
                                     "--tls-cert", (certDir / "cert.pem").string(),
                                     "--tls-key", (certDir / "key.pem").string(), "--port-file", portFile.string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    // Every terminal of the bench connects from 127.0.0.1: lift the per-address connection cap
    // of a segue-hq that has one (an older build, for an A/B run, has not).
    if (const std::string help = commandOutput(bin + " --help"); help.find("--max-connections-per-address") != std::string::npos)
        argv.insert(argv.end(), {"--max-connections-per-address", "0"});
    Server s;
    s.child = std::make_unique<Child>(argv);
    s.child->drainLog();
    const double deadline = monoMs() + 30'000;
    while (!std::filesystem::exists(portFile)) {
        if (monoMs() > deadline) fail("segue-hq did not start listening");
        if (s.child->wait(0) >= 0) fail("segue-hq exited at start");
        sleepMs(20);
    }
    std::ifstream(portFile) >> s.port;
    if (s.port <= 0) fail("unreadable " + portFile.string());
    return s;
}

std::unique_ptr<httplib::SSLClient> client(int port, const std::filesystem::path& ca) {
    auto c = std::make_unique<httplib::SSLClient>("localhost", port);
    c->set_ca_cert_path(ca.string().c_str());
    c->enable_server_certificate_verification(true);
    c->set_keep_alive(true);
    c->set_tcp_nodelay(true);
    c->set_connection_timeout(5);
    c->set_read_timeout(60);
    c->set_write_timeout(60);
    return c;
}

// ---- benchmark 5: backlog drain -------------------------------------------------------------------

/// A TCP relay on 127.0.0.1 that forwards to `target` and counts the bytes both ways.
class Relay {
public:
    Relay() {
        m_listen = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        if (m_listen < 0 || ::bind(m_listen, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
            ::listen(m_listen, 64) != 0 || ::getsockname(m_listen, reinterpret_cast<sockaddr*>(&a), &len) != 0)
            fail(std::string("relay socket: ") + std::strerror(errno));
        m_port = ntohs(a.sin_port);
        m_accept = std::thread([this] { acceptLoop(); });
    }
    ~Relay() {
        m_stop = true;
        ::shutdown(m_listen, SHUT_RDWR);
        m_accept.join();
        for (auto& t : m_pipes) t.join();
        ::close(m_listen);
    }
    int port() const { return m_port; }
    void target(int port) { m_target = port; }
    std::int64_t up() const { return m_up; }
    std::int64_t down() const { return m_down; }

private:
    void acceptLoop() {
        for (;;) {
            const int c = ::accept4(m_listen, nullptr, nullptr, SOCK_CLOEXEC);
            if (c < 0) {
                if (m_stop) return;
                continue;
            }
            std::lock_guard lock(m_mutex);
            m_pipes.emplace_back([this, c] { pipe(c); });
        }
    }
    void pipe(int c) {
        const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(static_cast<std::uint16_t>(m_target.load()));
        const int one = 1;
        ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        ::setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (s < 0 || ::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
            ::close(c);
            if (s >= 0) ::close(s);
            return;
        }
        char buf[65536];
        pollfd p[2] = {{c, POLLIN, 0}, {s, POLLIN, 0}};
        for (;;) {
            if (::poll(p, 2, 500) < 0 && errno != EINTR) break;
            if (m_stop) break;
            bool closed = false;
            for (int i = 0; i < 2 && !closed; ++i) {
                if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
                const ssize_t n = ::read(p[i].fd, buf, sizeof buf);
                if (n <= 0) {
                    closed = true;
                    break;
                }
                (i == 0 ? m_up : m_down) += n;
                for (ssize_t off = 0; off < n;) {
                    const ssize_t w = ::write(p[1 - i].fd, buf + off, static_cast<std::size_t>(n - off));
                    if (w <= 0) {
                        closed = true;
                        break;
                    }
                    off += w;
                }
            }
            if (closed) break;
        }
        ::close(c);
        ::close(s);
    }

    int m_listen = -1;
    int m_port = 0;
    std::atomic<int> m_target{0};
    std::atomic<bool> m_stop{false};
    std::atomic<std::int64_t> m_up{0}, m_down{0};
    std::mutex m_mutex;
    std::thread m_accept;
    std::vector<std::thread> m_pipes;
};

int runDrain(const Args& args) {
    args.allowOnly({"hq", "kiosk", "work", "count", "hq-device-rate"});
    const std::string hqBin = args.text("hq", "segue-hq");
    const std::string kioskBin = args.text("kiosk", "segue-kiosk");
    const std::filesystem::path work = std::filesystem::absolute(args.text("work", "drain"));
    const std::int64_t count = args.integer("count", 100'000);
    std::error_code ec;
    std::filesystem::remove_all(work, ec);
    std::filesystem::create_directories(work);

    Relay relay;
    auto demo = hq::initDemo(work / "hq", relay.port(), wallMs());
    if (!demo) fail("init-demo: " + demo.error());

    // The backlog: every response pending, made by this store's enrolled device.
    TrafficOptions to;
    to.storeId = demo->storeId;
    to.deviceId = demo->deviceId;
    to.count = count;
    to.days = 30;
    to.lastDate = todayUtc();
    {
        auto db = store::Database::open(work / "kiosk" / "kiosk.sqlite");
        if (!db) fail("kiosk database: " + db.error().message);
        Traffic t(to);
        for (auto day = t.nextDay(); !day.empty(); day = t.nextDay())
            if (auto ok = store::saveResponses(*db, day); !ok) fail("seeding: " + ok.error().message);
    }
    double jsonBytes = 0;
    {
        Traffic t(to);
        const auto day = t.nextDay();
        for (const auto& r : day) jsonBytes += static_cast<double>(core::toJson(r).dump().size());
        jsonBytes /= static_cast<double>(day.size());
    }

    const std::string url = "sqlite:" + (demo->dir / "hq.sqlite").string();
    std::vector<std::string> extra;
    if (const auto r = args.value("hq-device-rate")) extra = {"--device-rate", *r, "--device-burst", *r};
    Server hq = startHq(hqBin, url, demo->dir, work, extra);
    relay.target(hq.port);
    const double hqCpu0 = hq.child->cpuSeconds();
    const double t0 = monoMs();
    Child sync({kioskBin, "sync", "--once", "--config", (demo->dir / "kiosk.toml").string(), "--data-dir",
                (work / "kiosk").string()});
    sync.drainLog();
    const int code = sync.wait(3'600'000);
    const double seconds = (monoMs() - t0) / 1000;
    const double hqCpu = hq.child->cpuSeconds() - hqCpu0;
    const double kioskCpu = sync.cpuSecondsAtExit();
    hq.child->stop();
    if (code != 0) fail("segue-kiosk sync --once exited " + std::to_string(code));
    auto stored = openHq(url)->counts();
    if (!stored || stored->responses != count)
        fail("HQ holds " + std::to_string(stored ? stored->responses : -1) + " of " + std::to_string(count) + " responses");

    const RawInsert rawInserts = rawInsert(freshDb("sqlite:" + (work / "raw").string(), "raw"), Traffic(to), count,
                                           static_cast<std::size_t>(sync::kDefaultBatchLimit));
    const double raw = rawInserts.rate;
    // What the drain would reach if the terminal's and HQ's work overlapped perfectly on every
    // core, from the CPU time both processes used: the goal's baseline (issue 19).
    const double perResponse = (kioskCpu + hqCpu) / static_cast<double>(count);
    const auto cores = static_cast<double>(std::max(1u, std::thread::hardware_concurrency()));
    const double ceilingRate = perResponse > 0 ? cores / perResponse : 0;
    const double drainRate = static_cast<double>(count) / seconds;
    const double hqUs = 1e6 * hqCpu / static_cast<double>(count);

    Row rate;
    rate.name = "backlog_drain_rate";
    rate.value = drainRate;
    rate.baseline = ceilingRate;
    rate.unit = "responses/s";
    rate.goal = ">= 80% of backlog_drain_cpu_ceiling";
    rate.met = rate.value >= 0.8 * ceilingRate;
    rate.details = {{"responses", count}, {"seconds", seconds}, {"back_end", "sqlite"},
                    {"cores_busy_during_drain", (kioskCpu + hqCpu) / seconds}};
    emit(rate);

    // For reference: the drain against the back end's raw insert rate (the goal before issue 19).
    Row vsRaw;
    vsRaw.name = "backlog_drain_rate_vs_raw_insert";
    vsRaw.value = drainRate;
    vsRaw.baseline = raw;
    vsRaw.unit = "responses/s";
    vsRaw.goal = ">= 50% of the raw insert rate";
    vsRaw.met = vsRaw.value >= 0.5 * raw;
    vsRaw.reference = true;
    emit(vsRaw);

    Row ceiling;
    ceiling.name = "backlog_drain_cpu_ceiling";
    ceiling.value = ceilingRate;
    ceiling.baseline = raw;
    ceiling.unit = "responses/s";
    ceiling.goal = ">= 50% of the raw insert rate";
    ceiling.met = ceiling.value >= 0.5 * raw;
    ceiling.reference = true;
    ceiling.details = {{"cores", cores},
                       {"terminal_cpu_us_per_response", 1e6 * kioskCpu / static_cast<double>(count)},
                       {"hq_cpu_us_per_response", hqUs},
                       {"raw_insert_us_per_response", 1e6 / raw},
                       {"cores_busy_during_drain", (kioskCpu + hqCpu) / seconds}};
    emit(ceiling);

    // HQ's CPU time (user + system, all threads, from /proc) per response it accepted: what
    // bounds a fleet. Baseline: the wall time of one raw insert (the back end's own cost).
    Row hqCost;
    hqCost.name = "backlog_drain_hq_cpu_us_per_response";
    hqCost.value = hqUs;
    hqCost.baseline = 1e6 / raw;
    hqCost.unit = "µs/response";
    hqCost.goal = "<= 8 µs of HQ CPU per response";
    hqCost.met = hqCost.value <= 8;
    hqCost.details = {{"hq_cpu_seconds", hqCpu}, {"responses", count},
                      {"raw_insert_cpu_us_per_response", rawInserts.cpuUsPerRow}};
    emit(hqCost);

    Row bytes;
    bytes.name = "backlog_wire_bytes";
    bytes.value = static_cast<double>(relay.up() + relay.down()) / static_cast<double>(count);
    bytes.baseline = jsonBytes;
    bytes.unit = "bytes/response";
    bytes.goal = "<= 80 bytes per response on the wire";
    bytes.met = bytes.value <= 80;
    bytes.details = {{"upstream_per_response", static_cast<double>(relay.up()) / static_cast<double>(count)},
                     {"downstream_per_response", static_cast<double>(relay.down()) / static_cast<double>(count)},
                     {"baseline_is", "one record's JSON, uncompressed"}};
    emit(bytes);
    return 0;
}

// ---- benchmark 6: a fleet ---------------------------------------------------------------------------

struct Terminal {
    hq::Enrolment who;
    std::uint64_t seed = 0;
};

/// What one fleet run saw.
struct FleetRun {
    double seconds = 0;
    std::int64_t accepted = 0, requests = 0, errors = 0;
    Samples latency;
    Samples connect;   // each terminal's connection setup, all at once before the clock
    std::string firstError;
    double hqCpuSeconds = 0;   // segue-hq's CPU time (all threads) from the clock's start to the end
};

/// Drives the fleet against segue-hq on `port` for `seconds`. With `offeredPerS` > 0 every
/// terminal sends on a fixed schedule (together `offeredPerS` responses a second, phases spread
/// evenly) and a request's latency counts from its scheduled time, so a server that falls behind
/// shows it in full; with 0 each terminal sends back to back (the capacity of the server).
FleetRun driveFleet(const std::vector<Terminal>& fleet, const Server& hq, const std::filesystem::path& ca, int batch,
                    double seconds, double offeredPerS) {
    const int port = hq.port;
    const auto terminals = static_cast<double>(fleet.size());
    const double intervalMs = offeredPerS > 0 ? 1000.0 * terminals * batch / offeredPerS : 0;
    std::atomic<bool> stop{false};
    std::atomic<std::int64_t> accepted{0}, errors{0}, requests{0};
    std::mutex latMutex;
    FleetRun run;
    std::vector<std::thread> threads;
    // Paced terminals encode their batches before the clock starts: on real terminals that work
    // is not on HQ's machine, here it would take CPU from the server under test.
    std::latch prepared(static_cast<std::ptrdiff_t>(fleet.size()));
    std::latch connected(static_cast<std::ptrdiff_t>(fleet.size()));
    std::latch go(1);
    double t0 = 0;
    auto countError = [&](const std::string& problem) {
        ++errors;
        std::lock_guard lock(latMutex);
        if (run.firstError.empty()) run.firstError = problem;
    };
    for (std::size_t i = 0; i < fleet.size(); ++i) {
        threads.emplace_back([&, i] {
            const Terminal& t = fleet[i];
            auto c = client(port, ca);
            TrafficOptions to;
            to.storeId = t.who.storeId;
            to.deviceId = t.who.deviceId;
            to.count = 200'000;   // ~200 a day over ~2.7 years: recent enough for HQ's checks
            to.days = 1000;
            to.lastDate = todayUtc();
            to.seed = t.seed;
            Traffic traffic(to);
            std::vector<core::Response> queue;
            core::UuidV7Generator batchIds(t.seed);
            const httplib::Headers headers = {{"Authorization", "Bearer " + t.who.token}, {"Content-Encoding", "gzip"}};
            std::vector<double> mine;
            auto nextBody = [&] {
                while (queue.size() < static_cast<std::size_t>(batch)) {
                    auto day = traffic.nextDay();
                    queue.insert(queue.end(), std::make_move_iterator(day.begin()), std::make_move_iterator(day.end()));
                }
                wire::Batch b;
                b.batchId = batchIds.next(wallMs());
                b.deviceId = t.who.deviceId;
                b.appVersion = "bench";
                b.sentAtMs = wallMs();
                b.responses.assign(std::make_move_iterator(queue.begin()), std::make_move_iterator(queue.begin() + batch));
                queue.erase(queue.begin(), queue.begin() + batch);
                auto body = wire::gzip(wire::encodeBatch(b));
                if (!body) fail("gzip: " + body.error());
                return std::move(*body);
            };
            const double phase = intervalMs * static_cast<double>(i) / terminals;
            std::vector<std::string> ready;
            if (intervalMs > 0)
                for (double at = phase; at < seconds * 1000; at += intervalMs) ready.push_back(nextBody());
            // Then, all bodies ready, each terminal opens its connection (TCP, TLS handshake,
            // certificate check) with a GET /healthz before the clock starts: a fleet at work holds
            // kept-alive connections, it does not open 200 of them in the first half second.
            prepared.arrive_and_wait();
            const double c0 = monoMs();
            auto health = c->Get("/healthz");
            const double connectMs = monoMs() - c0;
            {
                std::lock_guard lock(latMutex);
                run.connect.add(connectMs);
            }
            if (!health) countError("connecting: " + httplib::to_string(health.error()));
            else if (health->status != 200) countError("connecting: HTTP " + std::to_string(health->status));
            connected.count_down();
            go.wait();
            double due = t0 + phase;
            for (std::size_t k = 0; !stop; ++k) {
                std::string body;
                if (intervalMs > 0) {
                    if (k == ready.size()) break;
                    body = std::move(ready[k]);
                    while (!stop && monoMs() < due) sleepMs(std::min(50.0, due - monoMs()));
                    if (stop) break;
                } else {
                    body = nextBody();
                }
                const double s0 = intervalMs > 0 ? due : monoMs();
                auto res = c->Post("/api/v1/batches", headers, body, "application/json");
                const double ms = monoMs() - s0;
                due += intervalMs;
                ++requests;
                mine.push_back(ms);
                std::string problem;
                if (!res) problem = "transport error " + httplib::to_string(res.error());
                else if (res->status != 200) problem = "HTTP " + std::to_string(res->status) + " " + res->body;
                else if (auto ack = wire::decodeAck(res->body); !ack) problem = "bad ack: " + ack.error();
                else if (ack->accepted.size() + ack->duplicates.size() != static_cast<std::size_t>(batch))
                    problem = "ack covers " + std::to_string(ack->accepted.size() + ack->duplicates.size()) + " of " +
                              std::to_string(batch) +
                              (ack->rejected.empty() ? std::string() : ", rejected: " + ack->rejected.front().reason);
                else accepted += static_cast<std::int64_t>(ack->accepted.size());
                if (!problem.empty()) countError(problem);
            }
            std::lock_guard lock(latMutex);
            for (double v : mine) run.latency.add(v);
        });
    }
    connected.wait();
    // Through a proxy (benchmark 12) there is no one segue-hq to measure: its caller counts each node.
    const double hqCpu0 = hq.child ? hq.child->cpuSeconds() : 0;
    t0 = monoMs();
    go.count_down();
    // A paced run ends when every scheduled batch is answered; a back-to-back one at the deadline.
    if (intervalMs <= 0) {
        sleepMs(seconds * 1000);
        stop = true;
    }
    for (auto& t : threads) t.join();
    // A server that fell behind answers the last scheduled batches after the window: the rate is
    // over the time it took, not over the schedule.
    run.seconds = std::max(intervalMs > 0 ? seconds : 0.0, (monoMs() - t0) / 1000);
    run.accepted = accepted;
    run.requests = requests;
    run.errors = errors;
    run.hqCpuSeconds = hq.child ? hq.child->cpuSeconds() - hqCpu0 : 0;
    return run;
}

int runFleet(const Args& args) {
    args.allowOnly({"hq", "db", "work", "terminals", "seconds", "batch", "raw-count", "hq-threads", "offered-share",
                    "offered", "saturate-seconds"});
    const std::string hqBin = args.text("hq", "segue-hq");
    const std::filesystem::path work = std::filesystem::absolute(args.text("work", "fleet"));
    const std::string base = databaseBase(args, work);
    const int terminals = static_cast<int>(args.integer("terminals", 200));
    const double seconds = args.number("seconds", 60);
    const int batch = static_cast<int>(args.integer("batch", 50));
    // The offered load, as a share of the raw insert rate: a little above the goal's 30%.
    const double share = args.number("offered-share", 0.32);
    const double saturateSeconds = args.number("saturate-seconds", 0);
    const std::string backEnd = isPg(base) ? "postgresql" : "sqlite";
    std::error_code ec;
    std::filesystem::remove_all(work, ec);
    std::filesystem::create_directories(work);
    auto demo = hq::initDemo(work / "certs", 443, wallMs());   // for its certificate only
    if (!demo) fail("init-demo: " + demo.error());

    // The baseline first: the offered load is a share of it.
    const RawInsert rawInserts = [&] {
        TrafficOptions o;
        o.storeId = "store-raw";
        o.deviceId = "device-raw";
        o.lastDate = todayUtc();
        o.count = 2'000'000;
        o.days = 1000;
        return rawInsert(freshDb(base, "fleet_raw_" + backEnd), Traffic(o), args.integer("raw-count", 100'000), 50);
    }();
    const double raw = rawInserts.rate;

    // A fresh database per run, the fleet enrolled in it, segue-hq started on it.
    auto enrolFleet = [&](const std::string& name, std::vector<Terminal>& fleet) {
        const std::string url = freshDb(base, name);
        auto storage = openHq(url);
        for (int i = 0; i < terminals; ++i) {
            const std::string storeId = "store-" + std::to_string(i / 4);   // four counters a store
            auto e = hq::enrolDevice(*storage, storeId, "counter " + std::to_string(i), std::nullopt, wallMs());
            if (!e) fail("enrolling: " + e.error().message);
            fleet.push_back({*e, static_cast<std::uint64_t>(1000 + i)});
        }
        return url;
    };
    // --hq-threads sizes segue-hq's request pool (its own default when absent).
    std::vector<std::string> extra;
    if (const auto t = args.value("hq-threads")) extra = {"--threads", *t};

    // --offered fixes the offered rate instead (responses/s): for comparing two builds of segue-hq
    // on a machine whose raw rate wanders between runs.
    const double offered = args.number("offered", share * raw);
    std::vector<Terminal> fleet;
    FleetRun paced;
    {
        const std::string url = enrolFleet("fleet_" + backEnd, fleet);
        Server hq = startHq(hqBin, url, demo->dir, work, extra);
        paced = driveFleet(fleet, hq, demo->dir / "cert.pem", batch, seconds, offered);
        hq.child->stop();
    }
    std::optional<FleetRun> saturated;
    if (saturateSeconds > 0) {
        std::vector<Terminal> again;
        const std::string url = enrolFleet("fleet_sat_" + backEnd, again);
        Server hq = startHq(hqBin, url, demo->dir, work, extra);
        saturated = driveFleet(again, hq, demo->dir / "cert.pem", batch, saturateSeconds, 0);
        hq.child->stop();
    }

    const double rate = static_cast<double>(paced.accepted) / paced.seconds;
    const double p99 = paced.latency.percentile(99);
    Row row;
    row.name = "hq_fleet_" + backEnd + (args.value("hq-threads") ? "_threads_" + *args.value("hq-threads") : "");
    row.value = rate;
    row.baseline = raw;
    row.unit = "responses/s";
    row.goal = ">= 30% of raw insert rate, p99 < 250 ms, no errors";
    row.met = rate >= 0.3 * raw && p99 < 250 && paced.errors == 0;
    row.details = {{"terminals", terminals},
                   {"seconds", paced.seconds},
                   {"batch", batch},
                   {"offered_per_s", offered},
                   {"requests", paced.requests},
                   {"errors", paced.errors},
                   {"p50_ms", paced.latency.median()},
                   {"p99_ms", p99},
                   {"max_ms", paced.latency.max()},
                   {"connect_p50_ms", paced.connect.median()},
                   {"connect_max_ms", paced.connect.max()},
                   {"raw_insert_batch", 50},
                   {"hq_threads", args.text("hq-threads", "default")}};
    if (!paced.firstError.empty()) row.details["first_error"] = paced.firstError;
    if (saturated) {
        row.details["back_to_back_per_s"] = static_cast<double>(saturated->accepted) / saturated->seconds;
        row.details["back_to_back_p50_ms"] = saturated->latency.median();
        row.details["back_to_back_p99_ms"] = saturated->latency.percentile(99);
        row.details["back_to_back_errors"] = saturated->errors;
        if (!saturated->firstError.empty()) row.details["back_to_back_first_error"] = saturated->firstError;
        if (saturated->accepted > 0)
            row.details["back_to_back_hq_cpu_us_per_response"] =
                1e6 * saturated->hqCpuSeconds / static_cast<double>(saturated->accepted);
    }
    emit(row);

    // HQ's CPU time (user + system, all threads, from /proc) per response it accepted in the paced
    // run: what bounds a fleet. Baseline: the wall time of one raw insert (the back end's own cost;
    // PostgreSQL's server process is not in HQ's figure).
    Row cost;
    cost.name = row.name + "_hq_cpu_us_per_response";
    cost.value = paced.accepted > 0 ? 1e6 * paced.hqCpuSeconds / static_cast<double>(paced.accepted) : 0;
    cost.baseline = 1e6 / raw;
    cost.unit = "µs/response";
    cost.goal = "<= 8 µs of HQ CPU per response";
    cost.met = paced.accepted > 0 && cost.value <= 8;
    cost.details = {{"hq_cpu_seconds", paced.hqCpuSeconds}, {"accepted", paced.accepted}, {"batch", batch},
                    {"raw_insert_cpu_us_per_response", rawInserts.cpuUsPerRow}};
    emit(cost);
    return 0;
}

// ---- benchmark 12: the fleet through HAProxy to one and to two nodes ------------------------------

/// utime + stime of process `pid` from /proc (with the reaped children's when `children`); 0 when gone.
double procCpuSeconds(pid_t pid, bool children) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat;
    std::getline(in, stat);
    const auto close = stat.rfind(')');
    if (close == std::string::npos) return 0;
    std::istringstream fields(stat.substr(close + 2));
    std::vector<std::string> f;
    for (std::string x; fields >> x;) f.push_back(x);
    if (f.size() < 15) return 0;
    // Fields 14-17 of proc(5) (utime, stime, cutime, cstime): 11-14 after the state field.
    double ticks = std::stod(f[11]) + std::stod(f[12]);
    if (children) ticks += std::stod(f[13]) + std::stod(f[14]);
    return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

/// The parent of `pid` (0 when gone).
pid_t parentOf(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat;
    std::getline(in, stat);
    const auto close = stat.rfind(')');
    if (close == std::string::npos) return 0;
    std::istringstream fields(stat.substr(close + 2));
    std::string state;
    pid_t ppid = 0;
    fields >> state >> ppid;
    return ppid;
}

/// The PostgreSQL server of `url` as one figure: its postmaster (with the backends it reaped) and
/// every live child (backends, checkpointer, WAL writer, …), found from a backend's parent.
struct PgServerCpu {
    pid_t postmaster = 0;
    explicit PgServerCpu(const std::string& url) {
        PGconn* c = PQconnectdb(url.c_str());
        if (PQstatus(c) != CONNECTION_OK) fail("connecting to PostgreSQL: " + std::string(PQerrorMessage(c)));
        postmaster = parentOf(PQbackendPID(c));
        PQfinish(c);
        if (postmaster <= 1) fail("cannot find PostgreSQL's postmaster in /proc");
    }
    double seconds() const {
        double total = procCpuSeconds(postmaster, true);
        for (const auto& e : std::filesystem::directory_iterator("/proc")) {
            const std::string name = e.path().filename().string();
            if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
            const pid_t pid = static_cast<pid_t>(std::stol(name));
            if (parentOf(pid) == postmaster) total += procCpuSeconds(pid, false);
        }
        return total;
    }
};

/// A loopback port free right now.
int freeLoopbackPort() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    const bool ok = fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
    if (fd >= 0) ::close(fd);
    if (!ok) fail("no free loopback port");
    return ntohs(addr.sin_port);
}

/// deploy/haproxy.cfg with the loopback addresses and files put in, `nodes` server lines, and the
/// per-address cap lifted (the whole bench fleet connects from 127.0.0.1).
std::string benchHaproxyConfig(const std::filesystem::path& shipped, int port, const std::vector<int>& nodes,
                               const std::filesystem::path& certDir) {
    std::ifstream in(shipped);
    if (!in) fail("cannot read " + shipped.string());
    std::string cfg((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto replace = [&cfg, &shipped](const std::string& from, const std::string& to) {   // every occurrence
        if (cfg.find(from) == std::string::npos) fail(shipped.string() + " has no '" + from + "'");
        for (auto at = cfg.find(from); at != std::string::npos; at = cfg.find(from, at + to.size()))
            cfg.replace(at, from.size(), to);
    };
    replace("bind :8443", "bind 127.0.0.1:" + std::to_string(port));
    replace("/etc/haproxy/segue-hq.pem", (certDir / "both.pem").string());
    replace("/etc/haproxy/segue-hq-nodes-ca.pem", (certDir / "cert.pem").string());
    // 40 000 connections need 80 000 descriptors, more than a user's hard limit here.
    replace("    maxconn 40000", "    maxconn 4000");
    replace("sc0_conn_cur gt 32", "sc0_conn_cur gt 100000");
    std::string servers;
    for (std::size_t i = 0; i < nodes.size(); ++i)
        servers += "    server hq" + std::to_string(i + 1) + " 127.0.0.1:" + std::to_string(nodes[i]) + "\n";
    replace("    server hq1 10.0.0.11:8443\n    server hq2 10.0.0.12:8443\n", servers);
    return cfg;
}

int runCluster(const Args& args) {
    args.allowOnly({"hq", "haproxy", "haproxy-cfg", "db", "work", "terminals", "seconds", "batch", "nodes", "offered"});
    const std::string hqBin = args.text("hq", "segue-hq");
    const std::string haproxy = args.text("haproxy", "/usr/sbin/haproxy");
    const std::filesystem::path shipped = args.text("haproxy-cfg", "deploy/haproxy.cfg");
    const std::string base = args.text("db", "");
    if (!isPg(base)) fail("cluster: --db must name a PostgreSQL server (postgresql://…): the nodes share it");
    const std::filesystem::path work = std::filesystem::absolute(args.text("work", "cluster"));
    const int terminals = static_cast<int>(args.integer("terminals", 200));
    const double seconds = args.number("seconds", 30);
    const int batch = static_cast<int>(args.integer("batch", 50));
    // 0: back to back (the capacity); else this many responses a second in all, paced.
    const double offered = args.number("offered", 0);
    std::vector<int> nodeCounts;
    {
        std::istringstream list(args.text("nodes", "1,2"));
        for (std::string n; std::getline(list, n, ',');) nodeCounts.push_back(std::stoi(n));
    }
    std::error_code ec;
    std::filesystem::remove_all(work, ec);
    std::filesystem::create_directories(work);
    auto demo = hq::initDemo(work / "certs", 443, wallMs());   // for its certificate only
    if (!demo) fail("init-demo: " + demo.error());
    {
        std::ifstream cert(demo->dir / "cert.pem"), key(demo->dir / "key.pem");
        std::ofstream both(demo->dir / "both.pem");
        both << cert.rdbuf() << key.rdbuf();
    }
    const PgServerCpu pg(base);

    double first = 0;   // the first run's rate (one node): the baseline, so the ratio is the gain
    for (const int n : nodeCounts) {
        const std::string tag = std::to_string(n) + (n == 1 ? "_node" : "_nodes");
        std::vector<Terminal> fleet;
        const std::string url = freshDb(base, "cluster_" + std::to_string(n));
        {
            auto storage = openHq(url);
            for (int i = 0; i < terminals; ++i) {
                auto e = hq::enrolDevice(*storage, "store-" + std::to_string(i / 4), "counter " + std::to_string(i),
                                         std::nullopt, wallMs());
                if (!e) fail("enrolling: " + e.error().message);
                fleet.push_back({*e, static_cast<std::uint64_t>(1000 + i)});
            }
        }
        std::vector<Server> nodes;
        std::vector<int> ports;
        for (int i = 0; i < n; ++i) {
            const auto dir = work / ("node" + std::to_string(n) + "_" + std::to_string(i));
            std::filesystem::create_directories(dir);
            nodes.push_back(startHq(hqBin, url, demo->dir, dir));
            ports.push_back(nodes.back().port);
        }
        const int port = freeLoopbackPort();
        const auto cfgFile = work / ("haproxy_" + tag + ".cfg");
        std::ofstream(cfgFile) << benchHaproxyConfig(shipped, port, ports, demo->dir);
        Child proxy({haproxy, "-db", "-f", cfgFile.string()});
        proxy.drainLog();
        // Up when /healthz answers through it (HAProxy's first checks of the nodes passed).
        bool up = false;
        for (int i = 0; i < 200 && !up; ++i) {
            if (proxy.wait(0) >= 0) fail("HAProxy exited: " + proxy.log());
            auto c = client(port, demo->dir / "cert.pem");
            if (auto r = c->Get("/healthz"); r && r->status == 200) up = true;
            else sleepMs(100);
        }
        if (!up) fail("HAProxy did not answer /healthz: " + proxy.log());

        std::vector<double> nodeCpu0;
        for (auto& s : nodes) nodeCpu0.push_back(s.child->cpuSeconds());
        const double proxyCpu0 = proxy.cpuSeconds(), pgCpu0 = pg.seconds(), selfCpu0 = selfCpuSeconds();
        const FleetRun run = driveFleet(fleet, Server{nullptr, port}, demo->dir / "cert.pem", batch, seconds, offered);
        nlohmann::json cpu = nlohmann::json::object();
        double hqCpu = 0;
        for (std::size_t i = 0; i < nodes.size(); ++i) {
            const double used = nodes[i].child->cpuSeconds() - nodeCpu0[i];
            cpu["segue_hq_" + std::to_string(i + 1)] = used;
            hqCpu += used;
        }
        cpu["haproxy"] = proxy.cpuSeconds() - proxyCpu0;
        cpu["postgres"] = pg.seconds() - pgCpu0;
        cpu["driver"] = selfCpuSeconds() - selfCpu0;
        proxy.stop();
        for (auto& s : nodes) s.child->stop();

        const double rate = static_cast<double>(run.accepted) / run.seconds;
        if (first == 0) first = rate;
        Row row;
        row.name = "hq_cluster_haproxy_" + tag;
        row.value = rate;
        row.baseline = first;
        row.unit = "responses/s";
        row.goal = "none (for reference)";
        row.reference = true;
        row.met = run.errors == 0;
        row.details = {{"nodes", n},
                       {"terminals", terminals},
                       {"seconds", run.seconds},
                       {"batch", batch},
                       {"offered_per_s", offered > 0 ? nlohmann::json(offered) : nlohmann::json("back to back")},
                       {"requests", run.requests},
                       {"errors", run.errors},
                       {"p50_ms", run.latency.median()},
                       {"p99_ms", run.latency.percentile(99)},
                       {"max_ms", run.latency.max()},
                       {"cpu_s", cpu},
                       {"hq_cpu_us_per_response", run.accepted > 0 ? 1e6 * hqCpu / static_cast<double>(run.accepted) : 0.0},
                       {"load_average", [] {
                            std::ifstream l("/proc/loadavg");
                            std::string a, b, c;
                            l >> a >> b >> c;
                            return a + " " + b + " " + c;
                        }()}};
        if (!run.firstError.empty()) row.details["first_error"] = run.firstError;
        emit(row);
    }
    return 0;
}

// ---- benchmark 7: the read path -------------------------------------------------------------------

/// Runs statements on the database at `url` with a connection of its own.
void execRead(const std::string& url, const std::vector<std::string>& statements) {
    if (isPg(url)) {
        PGconn* c = PQconnectdb(url.c_str());
        if (PQstatus(c) != CONNECTION_OK) fail("connecting to PostgreSQL: " + std::string(PQerrorMessage(c)));
        for (const auto& sql : statements) {
            PGresult* r = PQexec(c, sql.c_str());
            if (PQresultStatus(r) != PGRES_COMMAND_OK) fail(sql + ": " + PQerrorMessage(c));
            PQclear(r);
        }
        PQfinish(c);
        return;
    }
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(url.substr(std::string("sqlite:").size()).c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) !=
        SQLITE_OK)
        fail("opening " + url + ": " + sqlite3_errmsg(db));
    for (const auto& sql : statements) {
        char* msg = nullptr;
        if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &msg) != SQLITE_OK) {
            const std::string why = msg ? msg : "?";
            sqlite3_free(msg);
            fail(sql + ": " + why);
        }
    }
    sqlite3_close(db);
}

/// The schema version recorded in the database at `url` (0 when it has none).
int storedSchemaVersion(const std::string& url) {
    const std::string sql = "SELECT COALESCE(MAX(version), 0) FROM schema_version";
    if (isPg(url)) {
        PGconn* c = PQconnectdb(url.c_str());
        if (PQstatus(c) != CONNECTION_OK) fail("connecting to PostgreSQL: " + std::string(PQerrorMessage(c)));
        PGresult* r = PQexec(c, sql.c_str());
        const int v = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 ? std::stoi(PQgetvalue(r, 0, 0)) : 0;
        PQclear(r);
        PQfinish(c);
        return v;
    }
    sqlite3* db = nullptr;
    int v = 0;
    if (sqlite3_open_v2(url.substr(std::string("sqlite:").size()).c_str(), &db, SQLITE_OPEN_READONLY, nullptr) ==
        SQLITE_OK) {
        sqlite3_stmt* st = nullptr;
        if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
            v = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return v;
}

/// init-demo's certificate under work/certs, made once and kept between runs.
std::filesystem::path demoCerts(const std::filesystem::path& work) {
    auto certs = work / "certs";
    if (!std::filesystem::exists(certs / "cert.pem")) {
        std::filesystem::remove_all(certs);
        auto demo = hq::initDemo(certs, 443, wallMs());
        if (!demo) fail("init-demo: " + demo.error());
    }
    return certs;
}

/// A read's row: the median against /healthz's on the same connection, met at most `limitMs`
/// (and, when given, with the reads after a write at most that too), with the p99 and `common`.
Row readRow(std::string name, const Samples& reads, const Samples& health, std::string goal, double limitMs,
            const nlohmann::json& common, const Samples* afterWrite = nullptr) {
    Row r;
    r.name = std::move(name);
    r.value = reads.median();
    r.baseline = health.median();
    r.unit = "ms";
    r.goal = std::move(goal);
    r.met = r.value <= limitMs && (!afterWrite || afterWrite->median() <= limitMs);
    r.details = common;
    r.details["p99_ms"] = reads.percentile(99);
    if (afterWrite) {
        r.details["after_a_write_p50_ms"] = afterWrite->median();
        r.details["after_a_write_p99_ms"] = afterWrite->percentile(99);
    }
    return r;
}

int runRead(const Args& args) {
    args.allowOnly({"hq", "db", "work", "count", "stores", "days", "repeats"});
    const std::string hqBin = args.text("hq", "segue-hq");
    const std::filesystem::path work = std::filesystem::absolute(args.text("work", "read"));
    const std::string base = databaseBase(args, work);
    const std::int64_t count = args.integer("count", 10'000'000);
    const int stores = static_cast<int>(args.integer("stores", 100));
    const int days = static_cast<int>(args.integer("days", 365));
    const int repeats = static_cast<int>(args.integer("repeats", 20));
    const std::string backEnd = isPg(base) ? "postgresql" : "sqlite";
    std::filesystem::create_directories(work);
    const auto certs = demoCerts(work);
    const std::string last = todayUtc();

    // The dataset, kept between runs when it is exactly this one (it takes minutes to make).
    const std::string signature = "read v1 " + backEnd + " count=" + std::to_string(count) + " stores=" +
                                  std::to_string(stores) + " days=" + std::to_string(days) + " last=" + last;
    const auto marker = work / ("dataset-" + backEnd + ".txt");
    std::string have;
    if (std::ifstream m(marker); m) std::getline(m, have);
    std::string url;
    double genRate = 0;
    if (!isPg(base)) url = "sqlite:" + (work / "hq-read.sqlite").string();
    else url = base.substr(0, base.rfind('/') + 1) + "read_" + backEnd;
    if (isPg(base) && have == signature) {
        // A new cluster (bench/run starts one per run) does not have last run's database.
        PGconn* probe = PQconnectdb(url.c_str());
        if (PQstatus(probe) != CONNECTION_OK) have.clear();
        PQfinish(probe);
    }
    if (have != signature) {
        std::filesystem::remove(marker);
        url = isPg(base) ? freshDb(base, "read_" + backEnd) : freshDb("sqlite:" + work.string(), "hq-read");
        {
            // The stores exist at HQ as they would: each with its enrolled terminal.
            auto storage = openHq(url);
            for (int st = 0; st < stores; ++st)
                if (auto e = hq::enrolDevice(*storage, "store-" + std::to_string(st), "counter",
                                             "kiosk-" + std::to_string(st), wallMs());
                    !e)
                    fail("enrolling: " + e.error().message);
        }
        auto w = rawWriter(url);
        // The bulk load writes only the raw responses, as a version 2 HQ held them: back to schema 2
        // (version 3 only added the per-day sums tables), so that segue-hq's own migration to 3
        // computes the sums below, as it does for an HQ that upgrades.
        execRead(url, {"DROP TABLE day_tag_counts", "DROP TABLE day_tallies", "UPDATE schema_version SET version = 2"});
        std::vector<Traffic> chain;
        for (int s = 0; s < stores; ++s) {
            TrafficOptions o;
            o.storeId = "store-" + std::to_string(s);
            o.deviceId = "kiosk-" + std::to_string(s);
            o.count = count / stores + (s < count % stores ? 1 : 0);
            o.days = days;
            o.lastDate = last;
            o.seed = static_cast<std::uint64_t>(s + 1);
            chain.emplace_back(o);
        }
        core::UuidV7Generator batchIds(5);
        const double t0 = monoMs();
        std::int64_t written = 0;
        for (int d = 0; d < days; ++d) {
            std::vector<core::Response> dayAll;
            for (auto& t : chain) {
                auto day = t.nextDay();
                dayAll.insert(dayAll.end(), std::make_move_iterator(day.begin()), std::make_move_iterator(day.end()));
            }
            for (std::size_t i = 0; i < dayAll.size(); i += 5000) {
                std::vector<core::Response> part(dayAll.begin() + static_cast<std::ptrdiff_t>(i),
                                                 dayAll.begin() + static_cast<std::ptrdiff_t>(std::min(dayAll.size(), i + 5000)));
                w->write(part, batchIds.next(wallMs()));
                written += static_cast<std::int64_t>(part.size());
            }
        }
        genRate = static_cast<double>(written) / ((monoMs() - t0) / 1000);
        if (written != count) fail("wrote " + std::to_string(written) + " of " + std::to_string(count));
        std::ofstream(marker) << signature << "\n";
    }
    // A dataset at an older schema (just loaded, or kept from a run before schema 3) is migrated
    // here, outside every timing: the migration backfills the per-day sums the reads use.
    const int datasetSchema = storedSchemaVersion(url);
    double migrationS = 0;
    std::string token;
    {
        const double m0 = monoMs();
        auto storage = openHq(url);
        migrationS = (monoMs() - m0) / 1000;
        if (datasetSchema < hq::kSchemaVersion)
            std::cerr << "read: migrated the dataset from schema " << datasetSchema << " to " << hq::kSchemaVersion
                      << " in " << migrationS << " s\n";
        auto t = hq::issueReadToken(*storage, wallMs());
        if (!t) fail("read token: " + t.error().message);
        token = *t;
    }
    Server hq = startHq(hqBin, url, certs, work);
    auto c = client(hq.port, certs / "cert.pem");
    const httplib::Headers auth = {{"Authorization", "Bearer " + token}};
    const std::string from = core::addDays(last, -29);
    auto timeGet = [&](const std::string& path, Samples& out, std::size_t* bytes) {
        const double t0 = monoMs();
        auto res = c->Get(path, auth);
        out.add(monoMs() - t0);
        if (!res) fail("GET " + path + ": " + httplib::to_string(res.error()));
        if (bytes) *bytes = res->body.size();
        return res->status;
    };
    Samples health, daily, overview, warm;
    std::size_t dailyBytes = 0, overviewBytes = 0;
    const std::string dailyPath = "/api/v1/stores/store-7/daily?from=" + from + "&to=" + last;
    const std::string overviewPath = "/api/v1/overview?from=" + from + "&to=" + last;
    if (int st = timeGet(dailyPath, warm, &dailyBytes); st != 200) fail("GET daily: HTTP " + std::to_string(st));
    const int overviewStatus = timeGet(overviewPath, warm, &overviewBytes);
    for (int i = 0; i < repeats; ++i) {
        timeGet("/healthz", health, nullptr);
        timeGet(dailyPath, daily, &dailyBytes);
        if (overviewStatus == 200) timeGet(overviewPath, overview, &overviewBytes);
    }
    hq.child->stop();

    const nlohmann::json common = {{"responses", count}, {"stores", stores}, {"days", days}, {"repeats", repeats},
                                   {"back_end", backEnd}};
    Row d = readRow("hq_read_daily_" + backEnd, daily, health, "<= 50 ms", 50, common);
    d.details["range_days"] = 30;
    d.details["body_bytes"] = dailyBytes;
    if (genRate > 0) d.details["generated_per_s"] = genRate;
    if (datasetSchema < hq::kSchemaVersion) {
        d.details["migrated_from_schema"] = datasetSchema;
        d.details["migration_s"] = migrationS;
    }
    emit(d);

    if (overviewStatus != 200) {
        nlohmann::json miss = {{"name", "hq_read_overview_" + backEnd},
                               {"unit", "ms"},
                               {"goal", "<= 500 ms"},
                               {"met", false},
                               {"missing", "segue-hq answers GET /api/v1/overview with HTTP " + std::to_string(overviewStatus) +
                                               ": it has no chain-wide overview endpoint to measure"}};
        std::cout << miss.dump() << std::endl;
        return 0;
    }
    Row o = readRow("hq_read_overview_" + backEnd, overview, health, "<= 500 ms", 500, common);
    o.details["body_bytes"] = overviewBytes;
    emit(o);
    return 0;
}

// ---- benchmark 8: a chain's reads -----------------------------------------------------------------

/// The SELECT list of store `i`'s day sums on day number `d` (SQL expressions over i and d).
std::string chainDaySums(const std::string& i, const std::string& d) {
    const std::string counted = "(5 + (" + i + " * 7 + " + d + ") % 20)";
    std::string out;
    for (const auto& c : hq::dayValueColumns()) {
        std::string v = "0";
        if (c == "counted" || c.ends_with("_n")) v = counted;
        else if (c == "h10") v = counted + " / 2";
        else if (c == "h15") v = counted + " - " + counted + " / 2";
        else if (c == "star_sum") v = counted + " * 4 - " + i + " % 5";
        else if (c == "satisfied") v = counted + " - (" + i + " + " + d + ") % 6";
        else if (c == "partial") v = "(" + i + " + " + d + ") % 3";
        else if (c.ends_with("_sum")) v = counted + " * 4";
        out += ", " + v;
    }
    return out;
}

int runChain(const Args& args) {
    args.allowOnly({"hq", "db", "work", "stores", "regions", "days", "repeats"});
    const std::string hqBin = args.text("hq", "segue-hq");
    const std::filesystem::path work = std::filesystem::absolute(args.text("work", "chain"));
    const std::string base = databaseBase(args, work);
    const int stores = static_cast<int>(args.integer("stores", 10'000));
    const int regions = static_cast<int>(args.integer("regions", 100));
    const int days = static_cast<int>(args.integer("days", 30));
    const int repeats = static_cast<int>(args.integer("repeats", 20));
    const std::string backEnd = isPg(base) ? "postgresql" : "sqlite";
    std::filesystem::create_directories(work);
    const auto certs = demoCerts(work);
    const std::string last = todayUtc();
    const std::string from = core::addDays(last, -(days - 1));
    const std::string first = core::addDays(last, -(2 * days - 1));   // the period before too

    // The chain: regions, named stores with one terminal each, and the day sums of both periods,
    // written by SQL in bulk (what ingest would have left; the raw responses play no part here).
    const std::string url = isPg(base) ? freshDb(base, "chain_" + backEnd) : freshDb("sqlite:" + work.string(), "hq-chain");
    std::string token;
    {
        auto storage = openHq(url);
        auto t = hq::issueReadToken(*storage, wallMs());
        if (!t) fail("read token: " + t.error().message);
        token = *t;
    }
    const double g0 = monoMs();
    const std::string cols = "store_id, local_date, " + hq::dayColumnList();
    const std::string n = std::to_string(stores - 1), r = std::to_string(regions - 1), m = std::to_string(2 * days - 1);
    if (isPg(url)) {
        execRead(url, {"INSERT INTO regions SELECT 'r' || i, 'Region ' || i, 0 FROM generate_series(0, " + r + ") i",
                       "INSERT INTO stores (id, created_at) SELECT 's' || i, 0 FROM generate_series(0, " + n + ") i",
                       "INSERT INTO store_info (store_id, name, region_id) SELECT 's' || i, 'Store ' || i, 'r' || (i % " +
                           std::to_string(regions) + ") FROM generate_series(0, " + n + ") i",
                       "INSERT INTO devices (id, store_id, name, token_hash, last_seen, created_at) SELECT 'k' || i, "
                       "'s' || i, 'Kiosk', 'h' || i, 0, 0 FROM generate_series(0, " + n + ") i",
                       "INSERT INTO day_tallies (" + cols + ") SELECT 's' || i, (date '" + first + "' + d)::text" +
                           chainDaySums("i", "d") + " FROM generate_series(0, " + n + ") i, generate_series(0, " + m + ") d",
                       // The bulk INSERT above counts each row into day_totals by trigger: its 3 840 rows,
                       // written ~156 times each in one transaction, leave ~30 MB of dead versions, which
                       // every read's scan of the counts would step over. Ingest's short transactions
                       // leave them few (pruned as they go, vacuumed): compact it as they would.
                       "VACUUM FULL day_totals", "ANALYZE"});
    } else {
        const std::string seq = "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < " + n + ") ";
        execRead(url, {"BEGIN",
                       "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < " + r +
                           ") INSERT INTO regions SELECT 'r' || i, 'Region ' || i, 0 FROM n",
                       seq + "INSERT INTO stores (id, created_at) SELECT 's' || i, 0 FROM n",
                       seq + "INSERT INTO store_info (store_id, name, region_id) SELECT 's' || i, 'Store ' || i, 'r' || (i % " +
                           std::to_string(regions) + ") FROM n",
                       seq + "INSERT INTO devices (id, store_id, name, token_hash, last_seen, created_at) SELECT 'k' || i, "
                             "'s' || i, 'Kiosk', 'h' || i, 0, 0 FROM n",
                       "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < " + n +
                           "), m(d) AS (SELECT 0 UNION ALL SELECT d + 1 FROM m WHERE d < " + m + ") INSERT INTO day_tallies (" +
                           cols + ") SELECT 's' || i, date('" + first + "', '+' || d || ' days')" + chainDaySums("i", "d") +
                           " FROM n, m",
                       "COMMIT", "ANALYZE"});
    }
    const double generateS = (monoMs() - g0) / 1000;

    const double s0 = monoMs();
    Server hq = startHq(hqBin, url, certs, work);
    const double startMs = monoMs() - s0;   // until it listens (its port file)
    auto c = client(hq.port, certs / "cert.pem");
    const httplib::Headers auth = {{"Authorization", "Bearer " + token}};
    auto timeGet = [&](const std::string& path, Samples* out, std::size_t* bytes) {
        const double t0 = monoMs();
        auto res = c->Get(path, auth);
        const double ms = monoMs() - t0;
        if (out) out->add(ms);
        if (!res) fail("GET " + path + ": " + httplib::to_string(res.error()));
        if (res->status != 200) fail("GET " + path + ": HTTP " + std::to_string(res->status) + " " + res->body);
        if (bytes) *bytes = res->body.size();
        return ms;
    };
    const std::string range = "from=" + from + "&to=" + last;
    const std::string storesPath = "/api/v1/stores?" + range + "&limit=50";
    const std::string csatPath = storesPath + "&sort=csat&order=desc";
    const std::string regionsPath = "/api/v1/regions?" + range;
    const std::string overviewPath = "/api/v1/overview?" + range;
    std::size_t storesBytes = 0, regionsBytes = 0, overviewBytes = 0;
    // Right after a start: /healthz, then the first read (which finds the dates serve reads into
    // memory at start on a thread of its own, or waits for them).
    const double healthColdMs = timeGet("/healthz", nullptr, nullptr);
    const double coldMs = timeGet(storesPath, nullptr, &storesBytes);
    Samples health, page, csat, region, overview, pageAfterWrite, regionAfterWrite, overviewAfterWrite;
    const double overviewFirstMs = timeGet(overviewPath, nullptr, &overviewBytes);
    for (int i = 0; i < repeats; ++i) {
        timeGet("/healthz", &health, nullptr);
        timeGet(storesPath, &page, &storesBytes);
        timeGet(csatPath, &csat, nullptr);
        timeGet(regionsPath, &region, &regionsBytes);
        timeGet(overviewPath, &overview, &overviewBytes);
    }
    // Under ingest: a store's sums of today change before each read (as a terminal's batch
    // would), so today's 10 000 rows are read again every time.
    for (int i = 0; i < repeats; ++i) {
        const std::string bump = "UPDATE day_tallies SET counted = counted + 1, star_sum = star_sum + 5, satisfied = "
                                 "satisfied + 1 WHERE store_id = 's" + std::to_string(i % stores) + "' AND local_date = '" +
                                 last + "'";
        execRead(url, {bump});
        timeGet(storesPath, &pageAfterWrite, nullptr);
        execRead(url, {bump});
        timeGet(regionsPath, &regionAfterWrite, nullptr);
        execRead(url, {bump});
        timeGet(overviewPath, &overviewAfterWrite, nullptr);
    }
    hq.child->stop();

    const nlohmann::json common = {{"stores", stores}, {"regions", regions}, {"period_days", days},
                                   {"repeats", repeats}, {"back_end", backEnd}, {"generate_s", generateS}};
    Row p = readRow("hq_chain_stores_first_page_" + backEnd, page, health, "<= 100 ms", 100, common, &pageAfterWrite);
    p.details["first_after_start_ms"] = coldMs;
    p.details["by_csat_p50_ms"] = csat.median();
    p.details["body_bytes"] = storesBytes;
    emit(p);
    Row g = readRow("hq_chain_regions_" + backEnd, region, health, "<= 100 ms", 100, common, &regionAfterWrite);
    g.details["body_bytes"] = regionsBytes;
    emit(g);
    Row o = readRow("hq_chain_overview_" + backEnd, overview, health, "<= 500 ms (benchmark 7's, at 10 000 stores)", 500,
                    common, &overviewAfterWrite);
    o.details["first_after_start_ms"] = overviewFirstMs;
    o.details["body_bytes"] = overviewBytes;
    emit(o);
    Row w;
    w.name = "hq_chain_after_a_write_" + backEnd;
    w.value = std::max(pageAfterWrite.median(), regionAfterWrite.median());
    w.baseline = health.median();
    w.unit = "ms";
    w.goal = "<= 100 ms";
    w.met = w.value <= 100;
    w.details = common;
    w.details["stores_p50_ms"] = pageAfterWrite.median();
    w.details["regions_p50_ms"] = regionAfterWrite.median();
    w.details["overview_p50_ms"] = overviewAfterWrite.median();
    emit(w);
    Row f;
    f.name = "hq_chain_first_read_after_start_" + backEnd;
    f.value = coldMs;
    f.baseline = healthColdMs;
    f.unit = "ms";
    f.goal = "none (for reference)";
    f.reference = true;
    f.details = common;
    f.details["start_ms"] = startMs;
    f.details["first_healthz_ms"] = healthColdMs;
    f.details["first_overview_ms"] = overviewFirstMs;
    emit(f);
    return 0;
}

} // namespace
} // namespace segue::bench

int main(int argc, char** argv) {
    using namespace segue::bench;
    ::signal(SIGPIPE, SIG_IGN);
    if (argc < 2) {
        std::cerr << "usage: segue-bench-hq drain|fleet|read|chain|cluster [--options]\n";
        return 2;
    }
    const std::string cmd = argv[1];
    const Args args(argc, argv, 2);
    if (cmd == "drain") return runDrain(args);
    if (cmd == "fleet") return runFleet(args);
    if (cmd == "read") return runRead(args);
    if (cmd == "chain") return runChain(args);
    if (cmd == "cluster") return runCluster(args);
    std::cerr << "segue-bench-hq: unknown command '" << cmd << "'\n";
    return 2;
}
