// The report: collects the rows every benchmark printed into build/bench/results.json and
// renders BENCHMARKS.md (figures, goals, met or missed, method notes, profile findings).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/commands.hpp"
#include "bench/support.hpp"

namespace segue::bench {
namespace {

struct Benchmark {
    int number;
    const char* title;
    const char* method;
};

// What each issue-5 benchmark measures and how; rows are matched to a benchmark by name prefix.
const std::vector<Benchmark> kBenchmarks = {
    {1, "Durable tap",
     "`segue-bench tap`: each sample first overwrites a 4 KiB block of a preallocated file and "
     "`fdatasync`s it (the baseline: the cheapest durable write in the data directory), then stamps "
     "and commits one response with `store::saveResponse` on a WAL + `synchronous=FULL` database "
     "in the same directory (submit → committed, as the controller does before the thank-you "
     "screen), on a connection opened as the kiosk opens its own (`Checkpoints::Deferred`: no "
     "checkpoint inside a commit); between customers, untimed, the kiosk's "
     "`store::checkpointBetweenCustomers`. Samples alternate so both see the same disk. p50/p99 "
     "per repeat of 2 000; the table shows the median over 5 repeats. "
     "`durable_tap_p99_in_commit_checkpoints`: the same with SQLite's automatic checkpoint "
     "inside the commits (how the kiosk committed before), for reference."},
    {2, "Idle terminal",
     "`segue-bench-probe idle` under `xvfb-run` (Mesa llvmpipe): CPU time (utime+stime of the "
     "whole process from /proc) of the real `segue-kiosk` on its attract screen over 30 s, after "
     "its first frame and 2 s to settle; the baseline is `segue-bench-kiosk-driver --busy`, the "
     "kiosk's own window, fonts, screens and controller (segue_app + segue_platform) drawing the "
     "attract screen on every loop iteration, measured the same way. Median of 3 repeats."},
    {3, "Memory and start",
     "`segue-bench-probe start`: exec → the line each program logs right after its first "
     "presented frame (read from its stderr pipe), and VmRSS from /proc 1.5 s later; the "
     "baseline is `segue-bench-bare-window`, an SDL2 + OpenGL 3.0 window made exactly as "
     "platform/ makes it, which clears and presents one frame and then waits. The two alternate, "
     "5 starts each, on an existing data directory. After 10 000 responses: "
     "`segue-bench-kiosk-driver --responses 10000` serves the customers (5 stars, Enter, Enter) "
     "through the kiosk's controller, store and screens, one frame each, with the clock stepped "
     "past each feedback moment and thank-you screen, and past the 2 s of quiet after which the "
     "kiosk checkpoints between customers (typed through the real window they would "
     "take ~50 min: the flow holds each screen at least 150 ms); the figure is the terminal's "
     "RSS after start plus the growth the driver showed over those responses. "
     "`start_to_first_frame_large_store`: the same starts (5, after one untimed start that "
     "migrates it) on a copy of benchmark 4's 1 000 000-response file, against the same bare "
     "window; its RSS 3 s after the first frame, past the start-up check, is in the details. "
     "The memory goals (issue 19) are `rss_after_start_vs_drawing_window` and "
     "`rss_after_10000_responses_vs_drawing_window`: the same two kiosk figures against "
     "`segue-bench-bare-window --imgui`, the same window drawing its one frame through Dear "
     "ImGui's backends (a rounded rectangle and a line of ImGui's built-in font), started in "
     "the same loop, so what the renderer costs to draw anything is in the baseline; at most "
     "12 MiB above it. `rss_after_start` and `rss_after_10000_responses` against the bare "
     "window stay as reference rows."},
    {4, "Staff screen",
     "`segue-bench stats`: a terminal database with 1 000 000 synthetic responses over 730 days "
     "(~1 370 a day, opening-hours shape, 20% low ratings with reason tags), written with "
     "`store::saveResponses`. Times `store::dayStats(today)` and `store::trend(today, 30)` on "
     "one open connection, against `SELECT COUNT(*)` over the same dates (the floor of any "
     "per-row computation). Median of 200 repeats; p99 in the details. (The file is reused by the next run when it holds the same dataset.)"},
    {5, "Backlog drain",
     "`segue-bench-hq drain`: `segue-hq init-demo`'s store and device, a kiosk data directory "
     "with 100 000 pending responses of that device, then the real `segue-kiosk sync --once` "
     "against a real `segue-hq serve` (SQLite) over HTTPS on 127.0.0.1, through a TCP relay in "
     "the bench that counts the bytes both ways (TLS records included). The baseline is the raw "
     "insert rate of the same schema: prepared INSERTs of the same records into a fresh HQ "
     "database, 1 000 a transaction (the terminal's batch), timed in the same run. "
     "`backlog_drain_cpu_ceiling`: the CPU time the two processes used (the "
     "terminal's from `wait4`, segue-hq's from /proc, the relay's left out) gives the rate "
     "the drain would reach if their work overlapped perfectly on all of the machine's cores: "
     "cores ÷ CPU seconds per response. The goal (issue 19): `backlog_drain_rate` at least 80% "
     "of that ceiling, and `backlog_drain_hq_cpu_us_per_response` (segue-hq's CPU time, user + "
     "system of all its threads, over the responses it accepted; baseline: one raw insert's "
     "wall time; `raw_insert_cpu_us_per_response` in its details: the baseline's CPU time per "
     "row, the cost of storing alone) at most 8 µs. `backlog_drain_rate_vs_raw_insert` (the drain against the raw "
     "insert rate, the goal before) and the ceiling against the raw rate are reference rows. "
     "CPU time per response is steadier than wall time on a shared machine; the rate against "
     "the ceiling needs the machine's cores free (it is wall time over CPU time)."},
    {6, "HQ ingest under a fleet",
     "`segue-bench-hq fleet`: one process, 200 simulated terminals (50 stores of 4), each "
     "enrolled with its own token and its own keep-alive HTTPS connection (a thread each, "
     "cpp-httplib client, certificate verified), posting gzip batches of 50 for 60 s. The "
     "baseline is measured first: the same back end's raw insert rate (SQLite: prepared INSERTs; "
     "PostgreSQL: COPY), 50 a transaction. Each terminal encodes its batches, then opens its "
     "connection with a `GET /healthz` (TCP, TLS handshake, certificate check), all before the "
     "clock starts: a fleet at work holds kept-alive connections, and 200 handshakes in the first "
     "half second were the whole tail of earlier runs (`connect_*_ms` in the details: those 200 "
     "at once). The terminals then send on a fixed schedule that "
     "offers 32% of that rate in all (phases spread evenly), and a request's latency counts from "
     "its scheduled time, so a server that falls behind shows it in full (no coordinated "
     "omission); the value is the accepted responses/s, with p50/p99 and every error counted. "
     "`back_to_back_*` in the details: a second fresh database and the same fleet posting back to "
     "back for 30 s, the server's capacity (there, latency is terminals ÷ throughput by Little's "
     "law, whatever the server does). PostgreSQL is a throwaway 15 cluster on 127.0.0.1 "
     "(`tests/hq/start_pg.sh`, fsync off for both the server and the baseline). "
     "`hq_fleet_*_hq_cpu_us_per_response` (a goal, issue 19: at most 8 µs): segue-hq's CPU time "
     "(user + system, all threads, from /proc) from the paced run's start to its end over the "
     "responses it accepted, batches of 50 (PostgreSQL's own server process is not in it); "
     "`back_to_back_hq_cpu_us_per_response` in the details: the same over the back-to-back run; "
     "`raw_insert_cpu_us_per_response`: the CPU time of the thread doing the baseline's inserts "
     "per row (on SQLite the whole cost of storing them, commits included; on PostgreSQL the "
     "client's side of COPY only)."},
    {7, "HQ read path",
     "`segue-bench-hq read`: an HQ database of 10 000 000 responses (100 stores × 365 days, "
     "written in bulk straight into HQ's schema, each store enrolled), then over HTTPS with a "
     "read token: `GET /api/v1/stores/{store}/daily` for 30 days and `GET /api/v1/overview` for "
     "the same 30 days (with the period before, as the dashboard asks). Median of 20; baseline "
     "`GET /healthz` on the same connection (the cost of a request)."},
    {8, "HQ reads of a chain",
     "`segue-bench-hq chain`: an HQ database of a chain of 10 000 stores in 100 regions (each "
     "store named, in a region, with one terminal) and the day sums of 60 days (a 30-day period "
     "and the 30 days before it, written by SQL in bulk: the raw responses play no part in these "
     "reads), then over HTTPS with a read token: `GET /api/v1/stores?from=&to=&limit=50` (the "
     "first page in the default order), the same sorted by CSAT (`by_csat_p50_ms`), `GET "
     "/api/v1/regions` for the same 30 days, and `GET /api/v1/overview` (its goal: benchmark 7's, "
     "now at 10 000 stores). Median of 20 after one untimed read (`first_after_start_ms`: the first "
     "read after a start; serve reads the recent dates into memory at start, on a thread of its "
     "own); baseline `GET /healthz` on the same connection. `after_a_write_*` and the "
     "`after_a_write` row: the same reads, each after an UPDATE of one store's sums of today (as "
     "a terminal's batch makes), so that store's row of today is read again each time; the goal "
     "counts both. The `first_read_after_start` row: the first `/stores` page right after serve "
     "listens (`start_ms`: until it listens; `first_healthz_ms` just before), for reference."},
    {9, "Soak, terminal",
     "`segue-bench-soak terminal` under `xvfb-run` (Mesa llvmpipe): `segue-hq init-demo`'s store "
     "and device, a real `segue-hq serve` (SQLite) on 127.0.0.1, and one run of "
     "`segue-bench-kiosk-driver --soak 100000`: benchmark 3's driver (the kiosk's controller, store "
     "and screens, one frame drawn per customer, the clock stepped past each wait) with the "
     "terminal's own sync worker wired as `segue-kiosk` wires it (its own connection, "
     "`CurlTransport` over HTTPS, the configuration fetched after each drain, the WAL checkpointed "
     "after each drain). Every 50 customers a sync cycle: \"sync now\", waited for (2 000 cycles; "
     "a cycle that fails stops the run). Every 1 000 customers the driver reads its own VmRSS and "
     "Threads (/proc/self/status) and counts /proc/self/fd, right after that cycle. "
     "`soak_terminal_rss_growth`: the most RSS reached over the second half (samples from 50 000 "
     "on) less the RSS at 50 000 (the baseline column). `soak_terminal_open_fds`: files and pipes "
     "at the end against after the first 1 000 customers, and sockets (the display's, the sync's "
     "connection to HQ, which HQ closes after 1 000 requests) never more than then. "
     "`soak_terminal_threads`: the count at the end against the count after the first 1 000 "
     "customers. At the end HQ must hold every response."},
    {10, "Soak, HQ",
     "`segue-bench-soak hq`: benchmark 6's fleet for 10 minutes against one `segue-hq serve` "
     "(SQLite): 200 terminals (50 stores of 4), each with its own token and keep-alive HTTPS "
     "connection, posting gzip batches of 50 on a fixed schedule (phases spread evenly) that "
     "offers 20 000 responses/s in all (benchmark 6 offers 32% of the raw insert rate for 60 s, "
     "~35 000/s; for 10 minutes that would be 21 M rows, and a soak looks for drift, not the peak), "
     "each terminal encoding its next batch while it waits; "
     "latency counts from the scheduled time. segue-hq's VmRSS and Threads from /proc every 5 s, "
     "and from its /metrics (on `--ops-listen`) the heap in use, the heap kept free and SQLite's "
     "share (`heap_s_in_use_free_sqlite_mib`; over the last 5 minutes as RSS is judged: "
     "`heap_in_use_last_half_mib`, `heap_free_last_half_mib`, `sqlite_last_half_mib`). "
     "`soak_hq_rss_last_half`: the most RSS reached over the last 5 minutes against the first "
     "sample of those 5 minutes (goal: at most 2% more). `soak_hq_p99_last_window`: p99 of the "
     "requests scheduled in the last minute against those of the first minute (goal: at most "
     "1.5×); every minute's p99 is in results.json (`p99_ms_per_window`)."},
    {11, "Reconnect storm",
     "`segue-bench-soak storm`: 1 000 terminals in one process, each the kiosk's own "
     "`sync::SyncWorker` on its own SQLite store holding 600 pending responses of its own enrolled "
     "device, with the kiosk's `CurlTransport` and default retry policy (full-jitter exponential "
     "backoff from 1 s to 5 min, Retry-After honoured; a tally around the transport times each "
     "post and checks that no post leaves before a refusal's Retry-After). All start with HQ "
     "down (connection refused) for 10 s; then `segue-hq serve` (SQLite) starts on that port. "
     "The figure is the time from HQ listening until every store has nothing pending; the "
     "baseline is the total (600 000) ÷ the capacity measured first in the same run: 4 of the "
     "same workers draining 50 000 responses each in batches of 600, HQ up from the start. "
     "`storm_errors`: posts that failed once HQ was up other than a 429/503 refusal, plus "
     "refusals not honoured; refusals, p50/p99 of posts answered by HQ, HQ's peak RSS and "
     "threads (/proc every 100 ms), when each terminal first posted after HQ was up "
     "(`first_post_after_up_p50_s`, `_max_s`) and the CPU seconds of HQ and of the 1 000 "
     "terminals' process while HQ was down and while the backlogs drained are in the details."},
    {12, "HQ behind HAProxy, one node and two",
     "`segue-bench-hq cluster` (reference, no goal): benchmark 6's fleet (200 terminals, 50 stores "
     "of 4, gzip batches of 50, one keep-alive HTTPS connection each, opened before the clock) "
     "posting back to back for 30 s through HAProxy 2.6 with the shipped `deploy/haproxy.cfg` (TLS "
     "terminated and re-encrypted to the nodes, `leastconn`, health checks; only the loopback "
     "addresses, file names, global `maxconn` 4000 and the per-address cap, lifted because the "
     "whole fleet connects from 127.0.0.1, changed) to one, then two `segue-hq serve` nodes on one "
     "PostgreSQL 15 (a fresh database each). Accepted responses/s, p50/p99 and errors; "
     "`cpu_s`: the CPU seconds each process used over the run, from /proc (utime + stime of each "
     "node and of HAProxy; PostgreSQL's postmaster with its reaped children plus every live child; "
     "the driver's own from `getrusage`), and the load average at the end."},
};

int benchmarkOf(const std::string& name) {
    static const std::vector<std::pair<std::string, int>> prefixes = {
        {"durable_tap", 1}, {"idle_", 2},       {"rss_", 3},        {"start_", 3},
        {"staff_stats", 4}, {"backlog_", 5},    {"hq_fleet", 6},    {"hq_read", 7},    {"hq_chain", 8},
        {"hq_cluster", 12},
        {"soak_terminal", 9}, {"soak_hq", 10}, {"storm_", 11},
    };
    for (const auto& [p, n] : prefixes)
        if (name.starts_with(p)) return n;
    return 0;
}

std::string fmt(double v) {
    if (!std::isfinite(v)) return "—";
    char buf[64];
    const double a = std::fabs(v);
    if (a < 1e15 && v == std::floor(v)) {
        std::snprintf(buf, sizeof buf, "%.0f", v);
        return buf;
    }
    if (a >= 1000) std::snprintf(buf, sizeof buf, "%.0f", v);
    else if (a >= 100) std::snprintf(buf, sizeof buf, "%.1f", v);
    else if (a >= 1) std::snprintf(buf, sizeof buf, "%.2f", v);
    else std::snprintf(buf, sizeof buf, "%.3g", v);
    return buf;
}

std::string num(const nlohmann::json& j) {
    return j.is_number() ? fmt(j.get<double>()) : std::string("—");
}

std::string detailsText(const nlohmann::json& d) {
    std::ostringstream out;
    bool first = true;
    for (const auto& [k, v] : d.items()) {
        if (v.is_array() || v.is_object()) continue;
        out << (first ? "" : ", ") << k << " " << (v.is_number() ? fmt(v.get<double>()) : v.is_string() ? v.get<std::string>() : v.dump());
        first = false;
    }
    return out.str();
}

std::string readFile(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

} // namespace

int runReport(const Args& args) {
    args.allowOnly({"rows", "json", "markdown", "machine", "quick", "findings", "command", "merge"});
    const auto rowsPath = args.value("rows");
    const auto jsonPath = args.value("json");
    if (!rowsPath || !jsonPath) fail("report needs --rows FILE and --json OUT");

    std::ifstream in(*rowsPath);
    if (!in) fail("cannot read " + *rowsPath);
    nlohmann::json rows = nlohmann::json::array();
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] != '{') continue;
        auto j = nlohmann::json::parse(line, nullptr, false);
        if (j.is_discarded() || !j.contains("name")) continue;
        // Rows of a benchmark that could not run keep the contract keys, with nulls.
        for (const char* k : {"value", "baseline", "ratio"})
            if (!j.contains(k)) j[k] = nullptr;
        if (!j.contains("unit")) j["unit"] = "";
        if (!j.contains("goal")) j["goal"] = "";
        if (!j.contains("met")) j["met"] = false;
        j["kind"] = j.value("reference", false) ? "reference" : "goal";
        rows.push_back(std::move(j));
    }
    // --merge FILE: the rows of a previous results.json that this run did not measure again (a
    // benchmark re-run with `bench/run --only` replaces all of its own rows, and only those).
    if (const auto merge = args.value("merge"); merge && std::filesystem::exists(*merge)) {
        std::set<int> rerun;
        std::set<std::string> names;
        for (const auto& r : rows) {
            names.insert(r["name"].get<std::string>());
            rerun.insert(benchmarkOf(r["name"].get<std::string>()));
        }
        auto old = nlohmann::json::parse(readFile(*merge), nullptr, false);
        if (old.is_discarded() || !old.is_array()) fail("cannot merge " + *merge + ": not a results.json array");
        for (auto& r : old) {
            if (!r.is_object() || !r.contains("name") || !r["name"].is_string()) continue;
            const std::string name = r["name"].get<std::string>();
            const int n = benchmarkOf(name);
            if (names.contains(name) || (n != 0 && rerun.contains(n))) continue;
            if (!r.contains("kind")) r["kind"] = r.value("reference", false) ? "reference" : "goal";
            rows.push_back(std::move(r));
        }
    }
    {
        std::ofstream out(*jsonPath);
        out << rows.dump(2) << "\n";
        if (!out) fail("cannot write " + *jsonPath);
    }
    int met = 0, missed = 0, broken = 0;
    for (const auto& r : rows) {
        if (r.value("reference", false)) continue;   // shown for comparison, not a goal
        if (r.contains("error")) ++broken;
        else if (r.contains("missing")) ++missed;
        else if (r["met"].get<bool>()) ++met;
        else ++missed;
    }
    std::cerr << "segue-bench: " << rows.size() << " results (" << met << " met, " << missed << " missed, "
              << broken << " did not run) in " << *jsonPath << "\n";

    const auto mdPath = args.value("markdown");
    if (!mdPath) return broken ? 1 : 0;

    std::ostringstream md;
    char when[64];
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    std::strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", &tm);
    md << "# Benchmarks\n\n"
       << "Generated by `" << args.text("command", "bench/run") << "` on " << when
       << (args.flag("quick") ? " (**quick run: small sizes, figures not meaningful**)" : "") << ".\n"
       << "Machine: " << args.text("machine", "unknown") << ".\n\n"
       << "Every figure is set against a baseline measured in the same run on the same machine: the "
          "machines are shared and noisy, so absolute times drift while ratios hold. Medians over "
          "repeats; p99 where latency matters. Raw figures: `build/bench/results.json`.\n\n"
       << "**" << met << " goals met, " << missed << " missed"
       << (broken ? ", " + std::to_string(broken) + " not run" : std::string()) << ".**\n\n";
    // Each row says when and on what it was measured: rows merged from earlier runs may come
    // from another machine. Machines are lettered in the order they first appear.
    std::vector<std::string> machines;
    auto machineOf = [&](const nlohmann::json& r) -> std::string {
        const std::string m = r.contains("machine") && r["machine"].is_string() ? r["machine"].get<std::string>() : "";
        if (m.empty()) return "";
        auto at = std::find(machines.begin(), machines.end(), m);
        if (at == machines.end()) at = machines.insert(machines.end(), m);
        return std::string(1, static_cast<char>('A' + (at - machines.begin()) % 26));
    };
    for (const auto& r : rows) (void)machineOf(r);
    if (!machines.empty()) {
        md << "Machines the rows ran on (the `measured` column names one):\n\n";
        for (std::size_t i = 0; i < machines.size(); ++i)
            md << "- **" << static_cast<char>('A' + i % 26) << "**: " << machines[i] << "\n";
        md << "\n";
    }
    md << "| # | figure | kind | value | baseline | ratio | goal | met | measured |\n"
       << "|---|---|---|---|---|---|---|---|---|\n";
    auto measured = [&](const nlohmann::json& r) {
        std::string out = machineOf(r);
        auto text = [&](const char* k) {
            return r.contains(k) && r[k].is_string() ? r[k].get<std::string>() : std::string();
        };
        for (const std::string& part : {text("measured_at"), text("load") .empty() ? "" : "load " + text("load"),
                                        text("display").empty() ? "" : "under " + text("display")})
            if (!part.empty()) out += (out.empty() ? "" : ", ") + part;
        return out.empty() ? std::string("not recorded") : out;
    };
    // In the order; rows of one benchmark stay in the order they were measured.
    std::vector<nlohmann::json> ordered(rows.begin(), rows.end());
    std::stable_sort(ordered.begin(), ordered.end(), [](const nlohmann::json& a, const nlohmann::json& b) {
        return benchmarkOf(a["name"].get<std::string>()) < benchmarkOf(b["name"].get<std::string>());
    });
    for (const auto& r : ordered) {
        const int n = benchmarkOf(r["name"].get<std::string>());
        const std::string unit = r["unit"].get<std::string>();
        md << "| " << (n ? std::to_string(n) : "") << " | `" << r["name"].get<std::string>() << "` | "
           << (r.value("reference", false) ? "reference" : "goal") << " | ";
        if (r.contains("error")) {
            md << "not run | | | " << r["goal"].get<std::string>() << " | **not run**: " << r["error"].get<std::string>()
               << " | " << measured(r) << " |\n";
            continue;
        }
        if (r.contains("missing")) {
            md << "— | | | " << r["goal"].get<std::string>() << " | **MISSED**: " << r["missing"].get<std::string>()
               << " | " << measured(r) << " |\n";
            continue;
        }
        md << num(r["value"]) << " " << unit << " | " << num(r["baseline"]) << " " << unit << " | "
           << num(r["ratio"]) << " | " << r["goal"].get<std::string>() << " | "
           << (r.value("reference", false) ? (r["met"].get<bool>() ? "reference (would meet)" : "reference (would miss)")
                                             : (r["met"].get<bool>() ? "met" : "**MISSED**"))
           << " | " << measured(r) << " |\n";
    }
    md << "\n## Details\n\n";
    for (const auto& r : ordered)
        if (r.contains("details") && !r["details"].empty())
            md << "- `" << r["name"].get<std::string>() << "`: " << detailsText(r["details"]) << "\n";
    md << "\n## Method\n\n";
    for (const auto& b : kBenchmarks) md << b.number << ". **" << b.title << "** — " << b.method << "\n";
    if (const auto f = args.value("findings"); f && std::filesystem::exists(*f)) md << "\n" << readFile(*f);

    std::ofstream out(*mdPath);
    out << md.str();
    if (!out) fail("cannot write " + *mdPath);
    return broken ? 1 : 0;
}

} // namespace segue::bench
