#include "hq/cli.hpp"

#include <charconv>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <pthread.h>
#include <set>
#include <thread>
#include <tuple>

#include <nlohmann/json.hpp>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "core/time.hpp"
#include "hq/admin.hpp"
#include "hq/alerts.hpp"
#include "hq/auth.hpp"
#include "hq/cases_api.hpp"
#include "hq/contact_key.hpp"
#include "hq/dashboard.hpp"
#include "hq/config.hpp"
#include "hq/demo.hpp"
#include "hq/enrolment.hpp"
#include "hq/partitions.hpp"
#include "hq/server.hpp"
#include "hq/service_watchdog.hpp"
#include "hq/storage.hpp"
#include "hq/surveys.hpp"
#include "hq/system_clock.hpp"
#include "hq/views.hpp"
#include "service/journal_log.hpp"

#ifndef SEGUE_VERSION
#define SEGUE_VERSION "0.0.0"
#endif

namespace segue::hq {
namespace {

constexpr const char* kUsage = R"(segue-hq — the SEGUE Kiosk HQ collector

Usage:
  segue-hq serve --listen HOST:PORT --db URL (--tls-cert FILE --tls-key FILE | --insecure-http-for-tests)
                 [--device-rate PER_S] [--device-burst N] [--threads N] [--port-file FILE] [--config FILE]
                 [--ops-listen HOST:PORT] [--metrics-token-file FILE]
                 [--max-connections N] [--max-connections-per-address N] [--trust-proxy ADDR[,ADDR...]]
                 [--contact-key FILE]
  segue-hq device add --db URL --store STORE --name NAME [--id ID] [--json]
                     [--enrolment-code [--code-ttl-h HOURS]]
  segue-hq device list --db URL [--json]
  segue-hq device revoke --db URL ID
  segue-hq token add --db URL --role read [--region ID | --store ID] [--json]
  segue-hq token list --db URL [--json]
  segue-hq token revoke --db URL ID
  segue-hq survey publish --db URL --file FILE (--chain | --region ID | --store ID)
  segue-hq survey assign --db URL --id SURVEY --version N (--chain | --region ID | --store ID)
  segue-hq survey list --db URL [--json]
  segue-hq survey show --db URL --id SURVEY --version N
  segue-hq user add --db URL --email EMAIL --role admin|region|store|viewer [--region ID] [--store ID]
                    --password-stdin
  segue-hq user list --db URL [--json]
  segue-hq user disable --db URL EMAIL
  segue-hq user enable --db URL EMAIL
  segue-hq user set-password --db URL EMAIL --password-stdin
  segue-hq region add --db URL --id ID --name NAME
  segue-hq region list --db URL [--json]
  segue-hq store set --db URL --store ID [--name NAME] [--region ID]
  segue-hq store list --db URL [--region ID] [--json]
  segue-hq audit --db URL [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--limit N] [--json]
  segue-hq migrate --db URL [--batch-rows N]
  segue-hq keys init --dir DIR
  segue-hq init-demo --dir DIR [--port PORT]
  segue-hq --help | --version

URL is sqlite:PATH or postgresql://USER@HOST:PORT/DBNAME.
--device-rate and --device-burst limit each device's batch requests (default 50 a second, bursts
of 100; past them HTTP 429 with Retry-After). --threads sizes the pool that runs the route
handlers (default 256): the requests served at once; idle and slow connections hold no thread.
Connections: at most --max-connections in all (default 4096; past it the longest-idle kept-alive
one is closed, else the new one is refused at once) and --max-connections-per-address from one
IP address (default 32, 0: no limit). TLS handshake and request headers must arrive within 10 s
in all, a request body at 10 KiB per 10 s or more; past 100 headers or 16 KiB of them: HTTP 431.
--trust-proxy names the addresses of reverse proxies (HAProxy, deploy/haproxy.cfg): a request from
one of them counts as coming from the last address in its X-Forwarded-For header, in the request log
and the per-address limits (enrolment attempts, login throttling); connection caps stay per peer.
--ops-listen serves /healthz and /metrics over plain HTTP on a loopback address, answered by a
thread of their own however busy the main listener is ("segue-hq operations on URL" on standard
output). /metrics on the main listener only with --metrics-token-file (a file holding a token the
scraper sends as "Authorization: Bearer TOKEN"); without it 404 there.
A read token with --region or --store reads only that region's stores or that one store.
Users: the region role needs --region, the store role --store; the password is read from
standard input (one line, at least 10 characters) and kept only as an Argon2id hash. Disabling a
user or setting their password ends their sessions. --region "" in store set takes the store out
of its region. Every user, region, store and token change is recorded in the audit log.
PORT 0 for serve lets the system pick a free port; the line "segue-hq listening on URL" on
standard output (and --port-file) tells which. Tokens are printed once; HQ stores only hashes.
`token add` prints the token on standard output (with --json: {"id", "role", "token"}) and its
id on standard error; `token list` shows id, role, created, last used (to the minute) and revoked,
never a token; `token revoke ID` refuses that token from the next request on.
--enrolment-code prints a one-time 12-digit code (1234-5678-9012, valid --code-ttl-h hours,
default 72) instead of a token: the terminal trades it for its token (segue-kiosk enrol --code).
survey publish validates FILE, stores it as the survey's next version (published versions never
change) and assigns it; a terminal runs the most specific assignment of its store (store, then
region, then chain; the built-in version 1 when none). survey assign assigns a version already
published (a rollback); survey show prints a version's definition as terminals receive it.
Publishes and assignments are recorded in the audit log too (survey_publish, survey_assign).
The dashboard is served at / (log in with email and password, or a read token). --config names a
TOML file with the dashboard's target and time zone ([dashboard]), the alert rules and webhook
([alerts]; [alerts.case_overdue] alerts once per callback case still open past its due time), the
callback cases ([cases]: sla_hours, default 24; contact_retention_days, default 30; root_causes,
the list a resolved case names one of) and, on PostgreSQL, how many months of raw responses to
keep ([retention] responses_months; the day sums stay).
On PostgreSQL, responses are partitioned by month (a new database is created so); serve creates
months ahead at start and daily. migrate moves the responses of a database made before that into
the partitioned layout, --batch-rows rows (default 10000) per transaction, progress on standard
error; killed, it resumes where it stopped when run again. It needs every serve on the database
stopped (it refuses to start while one runs, and serve refuses to start until it has finished).
Callback numbers: `keys init` writes DIR/contact.key (the secret key, 0600) and DIR/contact.pub
(0644), never over existing files. serve --contact-key FILE (0600, not group/other-readable) opens
the numbers terminals sealed and sends terminals the public key with their config; without it
terminals offer no callback. The secret key is never stored in the database. A daily pass (and
one at start) erases the sealed numbers of cases closed more than contact_retention_days ago.
Exit status: 0 ok, 2 usage or configuration error, 1 any other failure.
)";

/// What the audit log names as the author of a change made on the command line.
const Actor kCliActor{"cli", ""};

/// A usage or configuration error: exit 2.
struct UsageError {
    std::string message;
};

int fail(int code, const std::string& message) {
    std::cerr << "segue-hq: " << message << (code == kExitUsage ? " (see segue-hq --help)" : "") << "\n";
    return code;
}

int storageFailure(const StorageError& e) {
    const bool usage = e.kind == StorageError::Kind::Config || e.kind == StorageError::Kind::Invalid;
    return fail(usage ? kExitUsage : kExitFailure, e.message);
}

/// Options of one verb: `--name value`, `--name=value` or a bare `--flag`.
class Options {
public:
    static std::expected<Options, UsageError> parse(const std::vector<std::string>& args, std::size_t first,
                                                    const std::set<std::string>& valued,
                                                    const std::set<std::string>& flags) {
        Options o;
        for (std::size_t i = first; i < args.size(); ++i) {
            const std::string& a = args[i];
            if (!a.starts_with("--")) {
                o.m_positionals.push_back(a);
                continue;
            }
            const auto eq = a.find('=');
            const std::string name = a.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
            if (flags.contains(name) && eq == std::string::npos) {
                o.m_flags.insert(name);
            } else if (valued.contains(name)) {
                if (eq != std::string::npos) o.m_values[name] = a.substr(eq + 1);
                else if (i + 1 < args.size()) o.m_values[name] = args[++i];
                else return std::unexpected(UsageError{"--" + name + " needs a value"});
            } else {
                return std::unexpected(UsageError{"unknown option " + a});
            }
        }
        return o;
    }
    std::optional<std::string> value(const std::string& name) const {
        const auto it = m_values.find(name);
        return it == m_values.end() ? std::nullopt : std::optional(it->second);
    }
    std::expected<std::string, UsageError> required(const std::string& name) const {
        auto v = value(name);
        if (!v || v->empty()) return std::unexpected(UsageError{"--" + name + " is required"});
        return *v;
    }
    bool flag(const std::string& name) const { return m_flags.contains(name); }
    const std::vector<std::string>& positionals() const { return m_positionals; }

private:
    std::map<std::string, std::string> m_values;
    std::set<std::string> m_flags;
    std::vector<std::string> m_positionals;
};

std::optional<long> parseNumber(const std::string& s, long min, long max) {
    if (s.empty() || s.size() > 10) return std::nullopt;
    long v = 0;
    for (const char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + (c - '0');
    }
    if (v < min || v > max) return std::nullopt;
    return v;
}

std::optional<double> parseRate(const std::string& s) {
    char* end = nullptr;
    const double v = std::strtod(s.c_str(), &end);
    if (s.empty() || *end != '\0' || !(v > 0) || v > 1e6) return std::nullopt;
    return v;
}

std::int64_t nowMs() { return SystemClock().now().utcMs; }

/// The URL with any password replaced, for the log.
std::string redactUrl(const std::string& url) {
    const auto scheme = url.find("://");
    const auto at = url.find('@');
    if (scheme == std::string::npos || at == std::string::npos || at < scheme) return url;
    const auto colon = url.find(':', scheme + 3);
    if (colon == std::string::npos || colon > at) return url;
    return url.substr(0, colon + 1) + "***" + url.substr(at);
}

Result<std::unique_ptr<Storage>> openDb(const Options& o, std::string& urlOut) {
    const auto url = o.value("db");
    if (!url || url->empty()) return std::unexpected(StorageError{StorageError::Kind::Config, "--db is required"});
    urlOut = *url;
    return openStorage(*url);
}

int serve(const std::vector<std::string>& args) {
    auto o = Options::parse(args, 1, {"listen", "db", "tls-cert", "tls-key", "device-rate", "device-burst", "threads", "port-file", "config",
                             "ops-listen", "metrics-token-file", "max-connections", "max-connections-per-address",
                             "trust-proxy", "contact-key"},
                            {"insecure-http-for-tests"});
    if (!o) return fail(kExitUsage, o.error().message);
    if (!o->positionals().empty()) return fail(kExitUsage, "unexpected argument " + o->positionals().front());
    ServerOptions options;
    const auto listen = o->required("listen");
    if (!listen) return fail(kExitUsage, listen.error().message);
    const auto colon = listen->rfind(':');
    const auto port = colon == std::string::npos ? std::nullopt : parseNumber(listen->substr(colon + 1), 0, 65535);
    if (!port || colon == 0) return fail(kExitUsage, "--listen must be HOST:PORT, e.g. 127.0.0.1:8443");
    options.host = listen->substr(0, colon);
    if (options.host.size() > 2 && options.host.front() == '[' && options.host.back() == ']')
        options.host = options.host.substr(1, options.host.size() - 2);
    options.port = static_cast<int>(*port);

    const bool insecure = o->flag("insecure-http-for-tests");
    const auto cert = o->value("tls-cert");
    const auto key = o->value("tls-key");
    if (insecure && (cert || key)) return fail(kExitUsage, "--insecure-http-for-tests excludes --tls-cert/--tls-key");
    if (!insecure && (!cert || !key))
        return fail(kExitUsage, "--tls-cert and --tls-key are required (plain HTTP only with --insecure-http-for-tests)");
    options.certFile = cert;
    options.keyFile = key;
    if (const auto v = o->value("device-rate")) {
        const auto r = parseRate(*v);
        if (!r) return fail(kExitUsage, "--device-rate must be a positive number");
        options.router.deviceRatePerS = *r;
    }
    if (const auto v = o->value("device-burst")) {
        const auto r = parseRate(*v);
        if (!r || *r < 1) return fail(kExitUsage, "--device-burst must be a number >= 1");
        options.router.deviceBurst = *r;
    }
    if (const auto v = o->value("threads")) {
        const auto n = parseNumber(*v, 1, 1024);
        if (!n) return fail(kExitUsage, "--threads must be 1..1024");
        options.threads = static_cast<int>(*n);
    }
    if (const auto v = o->value("max-connections")) {
        const auto n = parseNumber(*v, 16, 1'000'000);
        if (!n) return fail(kExitUsage, "--max-connections must be 16..1000000");
        options.limits.maxConnections = static_cast<int>(*n);
    }
    if (const auto v = o->value("max-connections-per-address")) {
        const auto n = parseNumber(*v, 0, 1'000'000);
        if (!n) return fail(kExitUsage, "--max-connections-per-address must be 0..1000000");
        options.limits.maxPerAddress = static_cast<int>(*n);
    }
    if (const auto v = o->value("ops-listen")) {
        const auto c = v->rfind(':');
        const auto p = c == std::string::npos ? std::nullopt : parseNumber(v->substr(c + 1), 0, 65535);
        std::string host = c == std::string::npos ? "" : v->substr(0, c);
        if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
        if (!p || !(host == "localhost" || host == "::1" || host.starts_with("127.")))
            return fail(kExitUsage, "--ops-listen must be a loopback HOST:PORT, e.g. 127.0.0.1:9100");
        options.opsHost = host;
        options.opsPort = static_cast<int>(*p);
    }
    if (const auto v = o->value("trust-proxy")) {
        for (std::size_t at = 0; at <= v->size();) {
            const auto comma = std::min(v->find(',', at), v->size());
            const auto address = normalizeAddress(std::string_view(*v).substr(at, comma - at));
            if (!address) return fail(kExitUsage, "--trust-proxy takes IP addresses separated by commas, e.g. 10.0.0.5,10.0.0.6");
            options.router.trustedProxies.push_back(*address);
            at = comma + 1;
        }
    }
    if (const auto file = o->value("metrics-token-file")) {
        std::ifstream in(*file);
        std::string token;
        if (!in || !std::getline(in, token)) return fail(kExitUsage, "cannot read --metrics-token-file " + *file);
        while (!token.empty() && (token.back() == ' ' || token.back() == '\r')) token.pop_back();
        if (token.size() < 16 || token.size() > 256)
            return fail(kExitUsage, "the metrics token in " + *file + " must be 16..256 characters");
        options.router.metricsToken = token;
    }

    HqConfig config;
    if (const auto file = o->value("config")) {
        auto loaded = loadConfig(*file);
        if (!loaded) return fail(kExitUsage, loaded.error());
        config = std::move(*loaded);
    }
    options.router.dashboard = config.dashboard;
    options.router.alerts = config.alerts;
    options.router.cases = config.cases;
    if (const auto file = o->value("contact-key")) {
        auto key = loadContactKey(*file);
        if (!key) return fail(kExitUsage, "--contact-key: " + key.error());
        options.router.contactKey = std::move(*key);
    }

    // SIGTERM and SIGINT are taken by one thread with sigwait: blocked here, before any other
    // thread exists, so every later thread inherits the mask.
    sigset_t stopSignals;
    sigemptyset(&stopSignals);
    sigaddset(&stopSignals, SIGTERM);
    sigaddset(&stopSignals, SIGINT);
    if (pthread_sigmask(SIG_BLOCK, &stopSignals, nullptr) != 0) return fail(kExitFailure, "cannot block signals");
    std::signal(SIGPIPE, SIG_IGN);   // a client gone mid-reply must not end the server

    std::string url;
    auto storage = openDb(*o, url);
    if (!storage) return storageFailure(storage.error());
    // Not fatal: what could not be opened ahead opens on demand, and says why then too.
    if (const auto warm = (*storage)->warmUp(); !warm)
        spdlog::warn("could not open the database connections ahead: {}", warm.error().message);
    else if (*warm > 0)
        spdlog::info("{} database connections open", *warm);

    SystemClock clock;
    // PostgreSQL's month partitions: their pass, and this serve's share of the operation lock that
    // keeps migrate out, on a storage of their own (as the alert worker's) where PostgreSQL lets
    // it open one, else on the request pool. SQLite has neither.
    std::unique_ptr<Storage> partitionStorage;
    Storage* partitionsOn = nullptr;
    std::shared_ptr<void> operationLock;
    if (!url.starts_with("sqlite:")) {
        if (auto own = openStorage(url)) partitionStorage = std::move(*own);
        else
            spdlog::warn("the month partitions' pass shares the request pool (no connection of its own: {})",
                         own.error().message);
        partitionsOn = partitionStorage ? partitionStorage.get() : storage->get();
        auto lock = partitionsOn->tryOperationLock(Storage::OperationLock::Serve);
        if (!lock) return storageFailure(lock.error());
        if (!*lock)
            return fail(kExitFailure, "segue-hq migrate is running on this database; serve starts once it has finished");
        operationLock = std::move(*lock);
        auto step = partitionsOn->migrateResponsesStep(clock.now().utcMs, 0);
        if (!step) return storageFailure(step.error());
        if (step->underWay)
            return fail(kExitFailure, "responses are being moved into month partitions (segue-hq migrate did not "
                                      "finish); run segue-hq migrate --db URL again to finish before serving");
    }
    // The alert worker has a connection of its own: rules and webhooks never wait on requests.
    std::unique_ptr<AlertWorker> alerts;
    if (config.alerts.anyRule()) {
        auto own = openStorage(url);
        if (!own) return storageFailure(own.error());
        alerts = std::make_unique<AlertWorker>(
            std::move(*own), clock, config,
            std::make_unique<HttpWebhookSender>(config.alerts.webhookUrl, config.alerts.webhookCaFile));
        options.router.afterIngest = [worker = alerts.get()](const std::string& store) { worker->storeChanged(store); };
    }
    CaseRetention retention(**storage, clock, config.cases);
    HqServer server(**storage, clock, options);
    // Months ahead before the first request (so that no record of this month lands in the default
    // partition), then daily on the worker's thread.
    std::unique_ptr<PartitionWorker> partitions;
    if (partitionsOn) {
        partitions = std::make_unique<PartitionWorker>(*partitionsOn, clock, config.retention, server.router().metrics());
        partitions->keep(std::move(operationLock));
        if (const auto pass = partitions->runPass(); pass && !pass->partitioned)
            spdlog::info("responses is one table (a database from before schema 14): segue-hq migrate moves it into "
                         "month partitions");
    }
    const auto bound = server.bind();
    if (!bound) return fail(bound.error().configuration ? kExitUsage : kExitFailure, bound.error().message);
    const std::string scheme = options.certFile ? "https" : "http";
    const std::string where = scheme + "://" + options.host + ":" + std::to_string(*bound);
    std::cout << "segue-hq listening on " << where << std::endl;
    if (options.opsHost) {
        const std::string ops = "http://" + (options.opsHost->find(':') == std::string::npos ? *options.opsHost
                                                                                               : "[" + *options.opsHost + "]") +
                                ":" + std::to_string(server.opsPort());
        std::cout << "segue-hq operations on " << ops << std::endl;
        spdlog::info("operations (/healthz, /metrics) on {}", ops);
    }
    // Written last: a caller that waits for the port file finds both lines above on standard output.
    if (const auto portFile = o->value("port-file")) {
        const std::string tmp = *portFile + ".tmp";
        std::ofstream(tmp) << *bound << "\n";
        if (std::rename(tmp.c_str(), portFile->c_str()) != 0) return fail(kExitFailure, "cannot write " + *portFile);
    }
    spdlog::info("listening on {} (database {})", where, redactUrl(url));
    retention.start();
    // The chain-wide reads' day sums of the last 30 days and the 30 before, read on a thread of
    // their own while every route already answers: a chain's first /stores or /overview then
    // finds them in memory (a request that comes first reads what it needs itself, as before).
    std::thread warm([&storage, today = server.router().today()] {
        const auto t0 = std::chrono::steady_clock::now();
        const auto warmed = warmChainReads(**storage, today);
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
        if (!warmed) spdlog::warn("could not read the recent day sums ahead: {}", warmed.error().message);
        else spdlog::info("recent day sums of {} stores in memory ({} ms)", *warmed, ms.count());
    });
    if (alerts) {
        alerts->start();
        // The URL's path may carry the receiver's secret: only its host goes to the log.
        const auto target = parseWebhookUrl(config.alerts.webhookUrl);
        spdlog::info("alert rules on; webhook to {}:{}", target ? target->host : "?", target ? target->port : 0);
    }
    if (partitions) partitions->start();

    // systemd: READY now that it listens; watchdog pings while /healthz answers.
    std::optional<ServiceWatchdog> watchdog(std::in_place, options.host, *bound, options.certFile.has_value());

    std::atomic<bool> serverEnded{false};
    std::thread waiter([&] {
        int sig = 0;
        sigwait(&stopSignals, &sig);
        if (serverEnded) return;
        spdlog::info("{}: no new connections; finishing requests in flight", sig == SIGTERM ? "SIGTERM" : "SIGINT");
        server.stop();
    });
    const bool ok = server.run();
    watchdog.reset();   // STOPPING=1
    serverEnded = true;
    pthread_kill(waiter.native_handle(), SIGTERM);   // wakes the waiter if no signal came
    waiter.join();
    warm.join();
    if (alerts) alerts->stop();
    partitions.reset();   // lets go of the operation lock while its storage is still open
    retention.stop();
    storage->reset();
    if (!ok) return fail(kExitFailure, "the listening socket failed");
    spdlog::info("stopped");
    return kExitOk;
}

/// `segue-hq migrate`: moves an unpartitioned responses table into month partitions, a batch per
/// transaction, resumable; alone on the database (no serve).
int migrateVerb(const std::vector<std::string>& args) {
    auto o = Options::parse(args, 1, {"db", "batch-rows"}, {});
    if (!o) return fail(kExitUsage, o.error().message);
    if (!o->positionals().empty()) return fail(kExitUsage, "unexpected argument " + o->positionals().front());
    long batchRows = 10'000;
    if (const auto v = o->value("batch-rows")) {
        const auto n = parseNumber(*v, 1, 1'000'000);
        if (!n) return fail(kExitUsage, "--batch-rows must be 1..1000000");
        batchRows = *n;
    }
    std::string url;
    auto storage = openDb(*o, url);
    if (!storage) return storageFailure(storage.error());
    if (!url.starts_with("postgres"))
        return fail(kExitUsage, "migrate moves PostgreSQL's responses into month partitions; SQLite keeps one table");
    // A migrate killed a moment ago may still hold the lock until PostgreSQL notices: a few tries.
    std::shared_ptr<void> lock;
    for (int attempt = 0; attempt < 20 && !lock; ++attempt) {
        if (attempt) std::this_thread::sleep_for(std::chrono::milliseconds(250));
        auto got = (*storage)->tryOperationLock(Storage::OperationLock::Migrate);
        if (!got) return storageFailure(got.error());
        lock = std::move(*got);
    }
    if (!lock)
        return fail(kExitFailure, "a segue-hq serve (or another migrate) is using this database: stop every serve on it "
                                  "first (migrate needs the responses table to itself)");
    const auto started = std::chrono::steady_clock::now();
    auto seconds = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(); };
    std::int64_t firstCopied = -1, copied = 0;
    double copySeconds = 0;
    for (;;) {
        auto step = (*storage)->migrateResponsesStep(nowMs(), static_cast<int>(batchRows));
        if (!step) return storageFailure(step.error());
        if (firstCopied < 0) firstCopied = step->copied;
        if (step->finished) {
            char line[256];
            std::snprintf(line, sizeof line,
                          "segue-hq migrate: done: responses are partitioned by month (%lld rows moved; this run "
                          "copied %lld in %.1f s, then dropped the old table and analyzed in %.1f s)",
                          static_cast<long long>(step->copied), static_cast<long long>(copied - firstCopied),
                          copySeconds, seconds() - copySeconds);
            std::cerr << line << std::endl;
            break;
        }
        copied = step->copied;
        copySeconds = seconds();
        const std::int64_t percent = step->total > 0 ? step->copied * 100 / step->total : 0;
        const double rate = copySeconds > 0 ? static_cast<double>(copied - firstCopied) / copySeconds : 0;
        std::cerr << "segue-hq migrate: " << step->copied << " of " << step->total << " rows copied (" << percent
                  << "%), " << static_cast<std::int64_t>(rate) << " rows/s" << std::endl;
    }
    if (auto pass = (*storage)->maintainPartitions(nowMs(), std::nullopt); !pass) return storageFailure(pass.error());
    return kExitOk;
}

int deviceAddWithCode(const Options& o, const std::string& store, const std::string& name);

int deviceAdd(const std::vector<std::string>& args) {
    auto o = Options::parse(args, 2, {"db", "store", "name", "id", "code-ttl-h"}, {"json", "enrolment-code"});
    if (!o) return fail(kExitUsage, o.error().message);
    if (!o->positionals().empty()) return fail(kExitUsage, "unexpected argument " + o->positionals().front());
    const auto store = o->required("store");
    if (!store) return fail(kExitUsage, store.error().message);
    const auto name = o->required("name");
    if (!name) return fail(kExitUsage, name.error().message);
    if (o->flag("enrolment-code")) return deviceAddWithCode(*o, *store, *name);
    if (o->value("code-ttl-h")) return fail(kExitUsage, "--code-ttl-h goes with --enrolment-code");
    std::string url;
    auto storage = openDb(*o, url);
    if (!storage) return storageFailure(storage.error());
    auto e = enrolDevice(**storage, *store, *name, o->value("id"), nowMs());
    if (!e) return storageFailure(e.error());
    if (o->flag("json")) {
        std::cout << nlohmann::json{{"device_id", e->deviceId}, {"store_id", e->storeId}, {"token", e->token}}.dump()
                  << "\n";
    } else {
        std::cout << "device_id: " << e->deviceId << "\nstore_id: " << e->storeId << "\ntoken: " << e->token << "\n";
        std::cerr << "The token is shown only this once; HQ keeps only its hash.\n";
    }
    return kExitOk;
}

int deviceAddWithCode(const Options& o, const std::string& store, const std::string& name) {
    int ttl = kDefaultCodeTtlH;
    if (const auto v = o.value("code-ttl-h")) {
        const auto n = parseNumber(*v, 1, kMaxCodeTtlH);
        if (!n) return fail(kExitUsage, "--code-ttl-h must be 1.." + std::to_string(kMaxCodeTtlH));
        ttl = static_cast<int>(*n);
    }
    std::string url;
    auto storage = openDb(o, url);
    if (!storage) return storageFailure(storage.error());
    auto e = enrolDeviceWithCode(**storage, store, name, o.value("id"), ttl, nowMs());
    if (!e) return storageFailure(e.error());
    const std::string expires = core::formatUtc(e->expiresAtMs);
    if (o.flag("json")) {
        std::cout << codeEnrolmentJson(*e).dump() << "\n";
    } else {
        std::cout << "device_id: " << e->deviceId << "\nstore_id: " << e->storeId << "\nenrolment_code: " << e->code
                  << "\nexpires_at: " << expires << "\n";
        std::cerr << "The code works once: on the terminal, segue-kiosk enrol --code " << e->code << "\n";
    }
    return kExitOk;
}

/// --chain, --region ID or --store ID: exactly one.
std::expected<SurveyScope, UsageError> scopeOption(const Options& o) {
    const auto region = o.value("region");
    const auto store = o.value("store");
    const int given = (o.flag("chain") ? 1 : 0) + (region ? 1 : 0) + (store ? 1 : 0);
    if (given != 1) return std::unexpected(UsageError{"give one of --chain, --region ID, --store ID"});
    if (region) return SurveyScope{ScopeKind::Region, *region};
    if (store) return SurveyScope{ScopeKind::Store, *store};
    return SurveyScope{ScopeKind::Chain, ""};
}

int surveyPublish(const std::vector<std::string>& args) {
    auto o = Options::parse(args, 2, {"db", "file", "region", "store"}, {"chain"});
    if (!o) return fail(kExitUsage, o.error().message);
    if (!o->positionals().empty()) return fail(kExitUsage, "unexpected argument " + o->positionals().front());
    const auto file = o->required("file");
    if (!file) return fail(kExitUsage, file.error().message);
    const auto scope = scopeOption(*o);
    if (!scope) return fail(kExitUsage, scope.error().message);
    std::ifstream in(*file, std::ios::binary);
    if (!in) return fail(kExitUsage, "cannot read " + *file);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::string url;
    auto storage = openDb(*o, url);
    if (!storage) return storageFailure(storage.error());
    auto version = publishSurveyBy(**storage, text, *scope, kCliActor, nowMs());
    if (!version) return storageFailure(StorageError{version.error().kind, *file + ": " + version.error().message});
    std::cout << *version << "\n";
    return kExitOk;
}

std::expected<int, UsageError> versionOption(const Options& o) {
    const auto v = o.required("version");
    if (!v) return std::unexpected(v.error());
    const auto n = parseNumber(*v, 1, 1'000'000'000);
    if (!n) return std::unexpected(UsageError{"--version must be a positive integer"});
    return static_cast<int>(*n);
}

int surveyAssign(const std::vector<std::string>& args) {
    auto o = Options::parse(args, 2, {"db", "id", "version", "region", "store"}, {"chain"});
    if (!o) return fail(kExitUsage, o.error().message);
    if (!o->positionals().empty()) return fail(kExitUsage, "unexpected argument " + o->positionals().front());
    const auto id = o->required("id");
    if (!id) return fail(kExitUsage, id.error().message);
    const auto version = versionOption(*o);
    if (!version) return fail(kExitUsage, version.error().message);
    const auto scope = scopeOption(*o);
    if (!scope) return fail(kExitUsage, scope.error().message);
    std::string url;
    auto storage = openDb(*o, url);
    if (!storage) return storageFailure(storage.error());
    if (auto r = assignSurveyBy(**storage, *id, *version, *scope, kCliActor, nowMs()); !r) return storageFailure(r.error());
    std::cout << *version << "\n";
    return kExitOk;
}

int surveyList(const std::vector<std::string>& args) {
    auto o = Options::parse(args, 2, {"db"}, {"json"});
    if (!o) return fail(kExitUsage, o.error().message);
    if (!o->positionals().empty()) return fail(kExitUsage, "unexpected argument " + o->positionals().front());
    std::string url;
    auto storage = openDb(*o, url);
    if (!storage) return storageFailure(storage.error());
    auto versions = (*storage)->listSurveyVersions();
    if (!versions) return storageFailure(versions.error());
    auto assignments = (*storage)->surveyAssignments();
    if (!assignments) return storageFailure(assignments.error());
    auto scopesOf = [&](const std::string& id, int version) {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& a : *assignments)
            if (a.surveyId == id && a.version == version)
                out.push_back(scopeText(a.scopeKind, a.scopeId));
        return out;
    };
    nlohmann::json list = nlohmann::json::array();
    const auto& builtIn = builtInSurvey();
    list.push_back({{"survey_id", builtIn.id}, {"version", builtIn.version}, {"published_at", nullptr},
                    {"built_in", true}, {"assigned_to", scopesOf(builtIn.id, builtIn.version)}});
    for (const auto& v : *versions)
        list.push_back({{"survey_id", v.surveyId}, {"version", v.version}, {"published_at", core::formatUtc(v.publishedAtMs)},
                        {"built_in", false}, {"assigned_to", scopesOf(v.surveyId, v.version)}});
    if (o->flag("json")) {
        std::cout << list.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
        return kExitOk;
    }
    std::printf("%-24s %7s %-24s %s\n", "SURVEY", "VERSION", "PUBLISHED", "ASSIGNED TO");
    for (const auto& v : list) {
        std::string scopes;
        for (const auto& s : v["assigned_to"]) scopes += (scopes.empty() ? "" : " ") + s.get<std::string>();
        std::printf("%-24s %7d %-24s %s\n", v["survey_id"].get<std::string>().c_str(), v["version"].get<int>(),
                    v["built_in"].get<bool>() ? "built-in" : v["published_at"].get<std::string>().c_str(),
                    scopes.empty() ? "-" : scopes.c_str());
    }
    return kExitOk;
}

int surveyShow(const std::vector<std::string>& args) {
    auto o = Options::parse(args, 2, {"db", "id", "version"}, {});
    if (!o) return fail(kExitUsage, o.error().message);
    if (!o->positionals().empty()) return fail(kExitUsage, "unexpected argument " + o->positionals().front());
    const auto id = o->required("id");
    if (!id) return fail(kExitUsage, id.error().message);
    const auto version = versionOption(*o);
    if (!version) return fail(kExitUsage, version.error().message);
    std::string url;
    auto storage = openDb(*o, url);
    if (!storage) return storageFailure(storage.error());
    std::string text;
    if (*id == builtInSurvey().id && *version == builtInSurvey().version) {
        text = builtInSurveyText();
    } else {
        auto stored = (*storage)->surveyVersion(*id, *version);
        if (!stored) return storageFailure(stored.error());
        if (!*stored) return fail(kExitFailure, "no survey " + *id + " version " + std::to_string(*version));
        text = (*stored)->definition;
    }
    std::cout << nlohmann::json::parse(text).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return kExitOk;
}

std::string orDash(const std::optional<std::string>& s) { return s && !s->empty() ? *s : "-"; }
std::string orDash(const std::optional<std::int64_t>& v) { return v ? std::to_string(*v) : "-"; }

int deviceList(const std::vector<std::string>& args) {
    auto o = Options::parse(args, 2, {"db"}, {"json"});
    if (!o) return fail(kExitUsage, o.error().message);
    if (!o->positionals().empty()) return fail(kExitUsage, "unexpected argument " + o->positionals().front());
    std::string url;
    auto storage = openDb(*o, url);
    if (!storage) return storageFailure(storage.error());
    auto devices = (*storage)->listDevices();
    if (!devices) return storageFailure(devices.error());
    if (o->flag("json")) {
        nlohmann::json list = nlohmann::json::array();
        for (const auto& d : *devices) list.push_back(deviceJson(d));
        std::cout << list.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
        return kExitOk;
    }
    std::printf("%-24s %-16s %-20s %-24s %8s %-12s %10s %-7s %8s\n", "ID", "STORE", "NAME", "LAST SEEN", "PENDING",
                "APP", "OFFSET_MS", "REVOKED", "REJECTED");
    for (const auto& d : *devices)
        std::printf("%-24s %-16s %-20s %-24s %8s %-12s %10s %-7s %8lld\n", d.id.c_str(), d.storeId.c_str(),
                    d.name.c_str(), d.lastSeenMs ? core::formatUtc(*d.lastSeenMs).c_str() : "never",
                    orDash(d.lastPending).c_str(), orDash(d.appVersion).c_str(), orDash(d.clockOffsetMs).c_str(),
                    d.revoked ? "yes" : "no", static_cast<long long>(d.rejected));
    return kExitOk;
}

int deviceRevoke(const std::vector<std::string>& args) {
    auto o = Options::parse(args, 2, {"db"}, {});
    if (!o) return fail(kExitUsage, o.error().message);
    if (o->positionals().size() != 1) return fail(kExitUsage, "device revoke takes one device id");
    const std::string id = o->positionals().front();
    std::string url;
    auto storage = openDb(*o, url);
    if (!storage) return storageFailure(storage.error());
    auto revoked = (*storage)->revokeDevice(id);
    if (!revoked) return storageFailure(revoked.error());
    if (!*revoked) return fail(kExitFailure, "no device " + id);
    std::cout << "revoked " << id << "\n";
    return kExitOk;
}

int tokenAdd(const std::vector<std::string>& args) {
    auto o = Options::parse(args, 2, {"db", "role", "region", "store"}, {"json"});
    if (!o) return fail(kExitUsage, o.error().message);
    if (!o->positionals().empty()) return fail(kExitUsage, "unexpected argument " + o->positionals().front());
    const auto role = o->required("role");
    if (!role) return fail(kExitUsage, role.error().message);
    if (*role != "read") return fail(kExitUsage, "--role must be read");
    const auto region = o->value("region");
    const auto store = o->value("store");
    if (region && store) return fail(kExitUsage, "give --region or --store, not both");
    Scope scope;
    if (region) scope = Scope::region(*region);
    if (store) scope = Scope::store(*store);
    std::string url;
    auto storage = openDb(*o, url);
    if (!storage) return storageFailure(storage.error());
    auto token = issueScopedToken(**storage, scope, kCliActor, nowMs());
    if (!token) return storageFailure(token.error());
    if (o->flag("json")) {
        std::cout << nlohmann::json{{"id", token->id}, {"role", *role}, {"token", token->token}}.dump() << "\n";
        return kExitOk;
    }
    std::cout << token->token << "\n";
    std::cerr << "token id: " << token->id << " (token list, token revoke ID). The token is shown only this once.\n";
    return kExitOk;
}

int tokenList(const std::vector<std::string>& args) {
    auto o = Options::parse(args, 2, {"db"}, {"json"});
    if (!o) return fail(kExitUsage, o.error().message);
    if (!o->positionals().empty()) return fail(kExitUsage, "unexpected argument " + o->positionals().front());
    std::string url;
    auto storage = openDb(*o, url);
    if (!storage) return storageFailure(storage.error());
    auto tokens = (*storage)->listTokens();
    if (!tokens) return storageFailure(tokens.error());
    if (o->flag("json")) {
        nlohmann::json list = nlohmann::json::array();
        for (const auto& t : *tokens)
            list.push_back({{"id", t.id},
                            {"role", t.role},
                            {"created_at", core::formatUtc(t.createdAtMs)},
                            {"last_used_at", t.lastUsedMs ? nlohmann::json(core::formatUtc(*t.lastUsedMs)) : nullptr},
                            {"revoked", t.revoked}});
        std::cout << list.dump(2) << "\n";
        return kExitOk;
    }
    std::printf("%-8s %-6s %-24s %-24s %-7s\n", "ID", "ROLE", "CREATED", "LAST USED", "REVOKED");
    for (const auto& t : *tokens)
        std::printf("%-8lld %-6s %-24s %-24s %-7s\n", static_cast<long long>(t.id), t.role.c_str(),
                    core::formatUtc(t.createdAtMs).c_str(), t.lastUsedMs ? core::formatUtc(*t.lastUsedMs).c_str() : "never",
                    t.revoked ? "yes" : "no");
    return kExitOk;
}

int tokenRevoke(const std::vector<std::string>& args) {
    auto o = Options::parse(args, 2, {"db"}, {});
    if (!o) return fail(kExitUsage, o.error().message);
    if (o->positionals().size() != 1) return fail(kExitUsage, "token revoke takes one token id (see token list)");
    const std::string text = o->positionals().front();
    std::int64_t id = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
    if (ec != std::errc() || end != text.data() + text.size() || id <= 0)
        return fail(kExitUsage, "token id must be a positive number (see token list): " + text.substr(0, 40));
    std::string url;
    auto storage = openDb(*o, url);
    if (!storage) return storageFailure(storage.error());
    auto revoked = (*storage)->revokeToken(id);
    if (!revoked) return storageFailure(revoked.error());
    if (!*revoked) return fail(kExitFailure, "no token with id " + text);
    if (auto r = (*storage)->people().audit({0, nowMs(), kCliActor.name, "token_revoke", text, "", "{}"}); !r)
        return storageFailure(r.error());
    std::cout << "revoked token " << id << "\n";
    return kExitOk;
}

/// The password on standard input: one line, its line ending dropped.
std::expected<std::string, UsageError> passwordFromStdin() {
    std::string line;
    if (!std::getline(std::cin, line)) return std::unexpected(UsageError{"no password on standard input"});
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.size() < kMinPasswordLength)
        return std::unexpected(
            UsageError{"the password must have at least " + std::to_string(kMinPasswordLength) + " characters"});
    return line;
}

/// A people verb's options and its opened database; `error` is the exit status when either failed.
struct Verb {
    Options options;
    std::unique_ptr<Storage> storage;
    int error = kExitOk;
};

/// Parses a people verb's options (after "audit", or after "user add" and the like), checks it
/// has `positionals` plain arguments, and opens --db.
Verb openVerb(const std::vector<std::string>& args, const std::set<std::string>& valued,
              const std::set<std::string>& flags, std::size_t positionals = 0) {
    Verb v;
    auto o = Options::parse(args, args[0] == "audit" ? 1 : 2, valued, flags);
    if (!o) {
        v.error = fail(kExitUsage, o.error().message);
        return v;
    }
    v.options = std::move(*o);
    if (v.options.positionals().size() != positionals) {
        v.error = fail(kExitUsage, positionals ? args[0] + " " + args[1] + " takes " + std::to_string(positionals) +
                                                     " argument(s)"
                                               : "unexpected argument " + v.options.positionals().front());
        return v;
    }
    std::string url;
    auto storage = openDb(v.options, url);
    if (!storage) v.error = storageFailure(storage.error());
    else v.storage = std::move(*storage);
    return v;
}

/// Prints `rows` (a JSON array) as JSON with --json, else as a table of `columns` (key, heading, width).
void printRows(const Options& o, const nlohmann::json& rows,
               const std::vector<std::tuple<const char*, const char*, int>>& columns) {
    if (o.flag("json")) {
        std::cout << rows.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
        return;
    }
    auto cell = [](const nlohmann::json& v) {
        if (v.is_null()) return std::string("-");
        if (v.is_string()) return v.get<std::string>();
        if (v.is_boolean()) return std::string(v.get<bool>() ? "yes" : "no");
        return v.dump();
    };
    for (const auto& [key, heading, width] : columns) std::printf("%-*s ", width, heading);
    std::printf("\n");
    for (const auto& row : rows) {
        for (const auto& [key, heading, width] : columns) std::printf("%-*s ", width, cell(row[key]).c_str());
        std::printf("\n");
    }
}

int userAdd(const std::vector<std::string>& args) {
    auto o = Options::parse(args, 2, {"db", "email", "role", "region", "store"}, {"password-stdin"});
    if (!o) return fail(kExitUsage, o.error().message);
    if (!o->positionals().empty()) return fail(kExitUsage, "unexpected argument " + o->positionals().front());
    UserSpec spec;
    for (auto [name, field] : {std::pair{"email", &spec.email}, std::pair{"role", &spec.role}}) {
        auto v = o->required(name);
        if (!v) return fail(kExitUsage, v.error().message);
        *field = *v;
    }
    spec.region = o->value("region");
    spec.store = o->value("store");
    if (!isUserRole(spec.role)) return fail(kExitUsage, "--role must be admin, region, store or viewer");
    if ((spec.role == "region") != spec.region.has_value()) return fail(kExitUsage, "--region goes with --role region");
    if ((spec.role == "store") != spec.store.has_value()) return fail(kExitUsage, "--store goes with --role store");
    if (!o->flag("password-stdin")) return fail(kExitUsage, "--password-stdin is required (the password is never an argument)");
    auto password = passwordFromStdin();
    if (!password) return fail(kExitUsage, password.error().message);
    spec.password = *password;
    std::string url;
    auto storage = openDb(*o, url);
    if (!storage) return storageFailure(storage.error());
    auto user = addUser(**storage, spec, kCliActor, nowMs());
    if (!user) return storageFailure(user.error());
    std::cout << "added " << user->email << " (" << user->role << ")\n";
    return kExitOk;
}

int userList(const std::vector<std::string>& args) {
    auto v = openVerb(args, {"db"}, {"json"});
    if (v.error) return v.error;
    auto users = v.storage->people().listUsers();
    if (!users) return storageFailure(users.error());
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& u : *users) rows.push_back(userJson(u));
    printRows(v.options, rows,
              {{"email", "EMAIL", 32}, {"role", "ROLE", 7}, {"region", "REGION", 16}, {"store", "STORE", 16},
               {"disabled", "DISABLED", 8}, {"created_at", "CREATED", 24}});
    return kExitOk;
}

/// What `user disable|enable|set-password` does.
enum class UserChange { Disable, Enable, Password };

/// `user disable EMAIL`, `user enable EMAIL` and `user set-password EMAIL --password-stdin`.
int userChange(const std::vector<std::string>& args, UserChange change) {
    const bool password = change == UserChange::Password;
    std::string secret;
    if (password) {
        if (std::find(args.begin(), args.end(), "--password-stdin") == args.end())
            return fail(kExitUsage, "--password-stdin is required");
        auto p = passwordFromStdin();
        if (!p) return fail(kExitUsage, p.error().message);
        secret = *p;
    }
    auto v = openVerb(args, {"db"}, {"password-stdin"}, 1);
    if (v.error) return v.error;
    const std::string email = v.options.positionals().front();
    auto done = password                           ? setUserPassword(*v.storage, email, secret, kCliActor, nowMs())
                : change == UserChange::Enable ? enableUser(*v.storage, email, kCliActor, nowMs())
                                               : disableUser(*v.storage, email, kCliActor, nowMs());
    if (!done) return storageFailure(done.error());
    if (!*done) return fail(kExitFailure, "no user " + email);
    if (change == UserChange::Enable) std::cout << "enabled " << email << " (they may sign in again)\n";
    else std::cout << (password ? "password set for " : "disabled ") << email << " (their sessions ended)\n";
    return kExitOk;
}

int regionAdd(const std::vector<std::string>& args) {
    auto v = openVerb(args, {"db", "id", "name"}, {});
    if (v.error) return v.error;
    const auto id = v.options.required("id");
    if (!id) return fail(kExitUsage, id.error().message);
    const auto name = v.options.required("name");
    if (!name) return fail(kExitUsage, name.error().message);
    if (auto r = addRegion(*v.storage, *id, *name, kCliActor, nowMs()); !r) return storageFailure(r.error());
    std::cout << "added region " << *id << "\n";
    return kExitOk;
}

int regionList(const std::vector<std::string>& args) {
    auto v = openVerb(args, {"db"}, {"json"});
    if (v.error) return v.error;
    auto regions = v.storage->people().listRegions();
    if (!regions) return storageFailure(regions.error());
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& r : *regions) rows.push_back({{"id", r.id}, {"name", r.name}, {"stores", r.stores}});
    printRows(v.options, rows, {{"id", "ID", 24}, {"name", "NAME", 32}, {"stores", "STORES", 6}});
    return kExitOk;
}

int storeSet(const std::vector<std::string>& args) {
    auto v = openVerb(args, {"db", "store", "name", "region"}, {});
    if (v.error) return v.error;
    const auto store = v.options.required("store");
    if (!store) return fail(kExitUsage, store.error().message);
    const auto name = v.options.value("name");
    const auto region = v.options.value("region");
    if (!name && !region) return fail(kExitUsage, "give --name, --region, or both");
    if (auto r = setStore(*v.storage, *store, name, region, kCliActor, nowMs()); !r) return storageFailure(r.error());
    std::cout << "set store " << *store << "\n";
    return kExitOk;
}

int storeList(const std::vector<std::string>& args) {
    auto v = openVerb(args, {"db", "region"}, {"json"});
    if (v.error) return v.error;
    auto stores = v.storage->people().storesIn({Scope::chain(), v.options.value("region"), std::nullopt});
    if (!stores) return storageFailure(stores.error());
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& s : *stores)
        rows.push_back({{"id", s.id},
                        {"name", s.name ? nlohmann::json(*s.name) : nlohmann::json()},
                        {"region", s.region ? nlohmann::json(*s.region) : nlohmann::json()}});
    printRows(v.options, rows, {{"id", "ID", 24}, {"name", "NAME", 32}, {"region", "REGION", 16}});
    return kExitOk;
}

int auditVerb(const std::vector<std::string>& args) {
    auto v = openVerb(args, {"db", "from", "to", "limit"}, {"json"});
    if (v.error) return v.error;
    auto range = auditRange(v.options.value("from"), v.options.value("to"));
    if (!range) return fail(kExitUsage, range.error());
    long limit = 1000;
    if (const auto l = v.options.value("limit")) {
        const auto n = parseNumber(*l, 1, 100000);
        if (!n) return fail(kExitUsage, "--limit must be 1..100000");
        limit = *n;
    }
    auto log = v.storage->people().auditLog(range->first, range->second, static_cast<int>(limit));
    if (!log) return storageFailure(log.error());
    const nlohmann::json out = auditJson(*log);
    if (v.options.flag("json")) {
        std::cout << out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
        return kExitOk;
    }
    printRows(v.options, out["entries"],
              {{"at", "AT", 24}, {"actor", "ACTOR", 28}, {"action", "ACTION", 16}, {"subject", "SUBJECT", 28},
               {"address", "ADDRESS", 16}, {"details", "DETAILS", 0}});
    return kExitOk;
}

int keysInit(const std::vector<std::string>& args) {
    auto o = Options::parse(args, 2, {"dir"}, {});
    if (!o) return fail(kExitUsage, o.error().message);
    if (!o->positionals().empty()) return fail(kExitUsage, "unexpected argument " + o->positionals().front());
    const auto dir = o->required("dir");
    if (!dir) return fail(kExitUsage, dir.error().message);
    std::error_code ec;
    for (const char* name : {"contact.key", "contact.pub"})
        if (std::filesystem::exists(std::filesystem::path(*dir) / name, ec))
            return fail(kExitUsage, (std::filesystem::path(*dir) / name).string() + " exists already; not overwritten");
    auto key = writeContactKeys(*dir);
    if (!key) return fail(kExitFailure, key.error());
    std::cout << "wrote " << (std::filesystem::path(*dir) / "contact.key").string() << " (secret, 0600) and "
              << (std::filesystem::path(*dir) / "contact.pub").string() << "\n"
              << "public key: " << key->publicBase64() << "\n";
    return kExitOk;
}

int initDemoVerb(const std::vector<std::string>& args) {
    auto o = Options::parse(args, 1, {"dir", "port"}, {});
    if (!o) return fail(kExitUsage, o.error().message);
    if (!o->positionals().empty()) return fail(kExitUsage, "unexpected argument " + o->positionals().front());
    const auto dir = o->required("dir");
    if (!dir) return fail(kExitUsage, dir.error().message);
    int port = kDefaultPort;
    if (const auto v = o->value("port")) {
        const auto p = parseNumber(*v, 1, 65535);
        if (!p) return fail(kExitUsage, "--port must be 1..65535");
        port = static_cast<int>(*p);
    }
    auto files = initDemo(*dir, port, nowMs());
    if (!files) return fail(kExitFailure, files.error());
    const auto d = files->dir;
    std::cout << "wrote " << (d / "cert.pem").string() << ", key.pem, hq.sqlite, kiosk.toml, read-token.txt, contact.key, contact.pub\n"
              << "store_id: " << files->storeId << "\n"
              << "device_id: " << files->deviceId << "\n"
              << "serve with: segue-hq serve --listen 127.0.0.1:" << port << " --db sqlite:" << (d / "hq.sqlite").string()
              << " --tls-cert " << (d / "cert.pem").string() << " --tls-key " << (d / "key.pem").string()
              << " --contact-key " << (d / "contact.key").string() << "\n";
    return kExitOk;
}

} // namespace

int runCli(const std::vector<std::string>& args) {
    // Log lines go to stderr; stdout carries only what a script reads (ids, tokens, the port).
    auto logger = spdlog::stderr_logger_mt("segue-hq");
    logger->set_formatter(service::stderrFormatter("%Y-%m-%dT%H:%M:%S.%e %l %v"));
    spdlog::set_default_logger(logger);

    if (args.empty()) return fail(kExitUsage, "no command given");
    const std::string& verb = args[0];
    if (verb == "--help" || verb == "-h" || verb == "help") {
        std::cout << kUsage;
        return kExitOk;
    }
    if (verb == "--version") {
        std::cout << "segue-hq " << SEGUE_VERSION << "\n";
        return kExitOk;
    }
    for (const auto& a : args)
        if (a == "--help") {
            std::cout << kUsage;
            return kExitOk;
        }
    const std::string sub = args.size() > 1 ? args[1] : "";
    if (verb == "serve") return serve(args);
    if (verb == "init-demo") return initDemoVerb(args);
    if (verb == "migrate") return migrateVerb(args);
    if (verb == "keys" && sub == "init") return keysInit(args);
    if (verb == "device" && sub == "add") return deviceAdd(args);
    if (verb == "device" && sub == "list") return deviceList(args);
    if (verb == "device" && sub == "revoke") return deviceRevoke(args);
    if (verb == "token" && sub == "add") return tokenAdd(args);
    if (verb == "user" && sub == "add") return userAdd(args);
    if (verb == "user" && sub == "list") return userList(args);
    if (verb == "user" && sub == "disable") return userChange(args, UserChange::Disable);
    if (verb == "user" && sub == "enable") return userChange(args, UserChange::Enable);
    if (verb == "user" && sub == "set-password") return userChange(args, UserChange::Password);
    if (verb == "region" && sub == "add") return regionAdd(args);
    if (verb == "region" && sub == "list") return regionList(args);
    if (verb == "store" && sub == "set") return storeSet(args);
    if (verb == "store" && sub == "list") return storeList(args);
    if (verb == "audit") return auditVerb(args);
    if (verb == "token" && sub == "list") return tokenList(args);
    if (verb == "token" && sub == "revoke") return tokenRevoke(args);
    if (verb == "survey" && sub == "publish") return surveyPublish(args);
    if (verb == "survey" && sub == "assign") return surveyAssign(args);
    if (verb == "survey" && sub == "list") return surveyList(args);
    if (verb == "survey" && sub == "show") return surveyShow(args);
    if (verb == "device" || verb == "token" || verb == "survey" || verb == "user" || verb == "region" ||
        verb == "store" || verb == "keys")
        return fail(kExitUsage, "unknown command " + verb + " " + sub);
    return fail(kExitUsage, "unknown command " + verb);
}

} // namespace segue::hq
