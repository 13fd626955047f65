#include "tests/hq/hq_test_support.hpp"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <catch2/catch.hpp>
#include <libpq-fe.h>
#include <sqlite3.h>

#include "hq/token.hpp"

namespace segue::test {

std::unique_ptr<hq::Storage> openStorage(const std::string& url) {
    auto s = hq::openStorage(url);
    if (!s) FAIL("cannot open " << url << ": " << s.error().message);
    return std::move(*s);
}

std::vector<hq::Outcome> ingestOk(hq::Storage& s, const hq::IngestRequest& req) {
    auto out = s.ingest(req);
    if (!out) FAIL("ingest failed: " << out.error().message);
    return *out;
}

core::Response makeResponse(const std::string& id, const std::string& store, const std::string& device,
                            std::int64_t createdAtMs, int stars) {
    core::Response r;
    r.id = id;
    r.storeId = store;
    r.deviceId = device;
    r.surveyId = "segue-default";
    r.surveyVersion = 1;
    r.language = "zh-CN";
    r.createdAtMs = createdAtMs;
    r.utcOffsetMin = 480;
    r.localDate = core::localDate(createdAtMs, 480);
    r.localHour = core::localHour(createdAtMs, 480);
    r.stars = stars;
    r.segue = {5, std::nullopt, 4, 3, 4};
    r.tags = stars <= 3 ? std::vector<std::string>{"wait_time"} : std::vector<std::string>{};
    r.complete = true;
    r.durationMs = 6400;
    return r;
}

core::Response ResponseFactory::next() {
    static const std::vector<std::string> kTags = {"wait_time", "attitude", "not_solved", "unclear", "environment", "price"};
    // Ten minutes to five hours apart: a few days' worth spans several local dates and hours.
    m_nextMs += std::uniform_int_distribution<std::int64_t>(600'000, 18'000'000)(m_rng);
    core::Response r = makeResponse(m_ids.next(m_nextMs), m_store, m_device, m_nextMs,
                                    std::uniform_int_distribution<int>(1, 5)(m_rng));
    for (auto& s : r.segue)
        s = std::uniform_int_distribution<int>(0, 4)(m_rng) == 0 ? std::nullopt
                                                                   : std::optional(std::uniform_int_distribution<int>(1, 5)(m_rng));
    r.tags.clear();
    for (const auto& t : kTags)
        if (std::uniform_int_distribution<int>(0, 3)(m_rng) == 0) r.tags.push_back(t);
    r.complete = std::uniform_int_distribution<int>(0, 5)(m_rng) != 0;
    r.misuse = std::uniform_int_distribution<int>(0, 9)(m_rng) == 0;
    r.synthetic = std::uniform_int_distribution<int>(0, 1)(m_rng) == 0;
    r.durationMs = std::uniform_int_distribution<std::int64_t>(0, 120'000)(m_rng);
    r.language = std::uniform_int_distribution<int>(0, 1)(m_rng) ? "en" : "zh-CN";
    return r;
}

std::vector<core::Response> ResponseFactory::make(std::size_t n) {
    std::vector<core::Response> out;
    out.reserve(n);
    for (std::size_t i = 0; i < n; ++i) out.push_back(next());
    return out;
}

std::string pgExec(const std::string& url, const std::string& sql) {
    PGconn* c = PQconnectdb(url.c_str());
    if (PQstatus(c) != CONNECTION_OK) {
        const std::string message = PQerrorMessage(c);
        PQfinish(c);
        throw std::runtime_error("cannot connect to " + url + ": " + message);
    }
    PGresult* r = PQexec(c, sql.c_str());
    const auto status = PQresultStatus(r);
    const std::string message = PQresultErrorMessage(r);
    const std::string first = status == PGRES_TUPLES_OK && PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "";
    PQclear(r);
    PQfinish(c);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) throw std::runtime_error(sql + ": " + message);
    return first;
}

std::vector<std::string> storageUrls(const TempDir& dir) {
    std::vector<std::string> urls = {"sqlite:" + (dir / "hq.sqlite").string()};
    if (const char* pg = std::getenv("SEGUE_TEST_PG_URL"); pg && *pg) {
        // A database of its own per test: the cluster is shared, the tests stay independent.
        const std::string base = pg;
        const std::string name = "segue_t_" + hq::randomHex(6);
        pgExec(base, "CREATE DATABASE " + name);
        const auto slash = base.rfind('/');
        const auto query = base.find('?', slash);
        urls.push_back(base.substr(0, slash + 1) + name + (query == std::string::npos ? "" : base.substr(query)));
    }
    return urls;
}

void execSql(const std::string& url, const std::string& sql) {
    if (url.starts_with("sqlite:")) {
        sqlite3* db = nullptr;
        if (sqlite3_open(url.substr(7).c_str(), &db) != SQLITE_OK) {
            sqlite3_close(db);
            throw std::runtime_error("cannot open " + url);
        }
        char* err = nullptr;
        const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
        const std::string message = err ? err : "";
        sqlite3_free(err);
        sqlite3_close(db);
        if (rc != SQLITE_OK) throw std::runtime_error(sql + ": " + message);
        return;
    }
    pgExec(url, sql);
}

std::string readFile(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

pid_t spawn(const std::vector<std::string>& args, const std::filesystem::path& out, const std::filesystem::path& err) {
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    const pid_t parent = getpid();
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        // Only async-signal-safe calls between fork and exec.
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) _exit(126);
        const int o = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        const int e = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0) _exit(126);
        execv(argv[0], argv.data());
        _exit(127);
    }
    return pid;
}

int waitExit(pid_t pid) {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

} // namespace segue::test
