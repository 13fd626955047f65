#include "tests/store/support.hpp"

#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <sqlite3.h>

#include "core/time.hpp"

namespace segue::store::test {

const std::vector<std::string>& sampleTags() {
    static const std::vector<std::string> tags = {"waited_too_long", "attitude", "not_solved",
                                                  "unclear", "environment", "price"};
    return tags;
}

core::Response randomResponse(std::mt19937_64& rng, core::UuidV7Generator& ids,
                              std::int64_t createdAtMs, int offsetMin) {
    auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    core::Response r;
    r.id = ids.next(createdAtMs);
    r.storeId = pick(0, 1) ? "store-001" : "store-002";
    r.deviceId = "kiosk-" + std::to_string(pick(1, 3));
    r.surveyId = "segue-default";
    r.surveyVersion = pick(1, 2);
    r.language = pick(0, 2) ? "zh-CN" : "en";
    r.createdAtMs = createdAtMs;
    r.utcOffsetMin = offsetMin;
    r.localDate = core::localDate(createdAtMs, offsetMin);
    r.localHour = core::localHour(createdAtMs, offsetMin);
    r.stars = pick(1, 5);
    for (auto& item : r.segue)
        if (pick(0, 9) >= 3) item = pick(1, 5);
    if (r.stars <= 3 || pick(0, 9) == 0) {
        std::vector<std::string> tags = sampleTags();
        std::shuffle(tags.begin(), tags.end(), rng);
        tags.resize(static_cast<std::size_t>(pick(0, 3)));
        r.tags = std::move(tags);
    }
    r.complete = pick(0, 9) >= 2;
    r.misuse = pick(0, 9) == 0;
    r.synthetic = pick(0, 3) == 0;
    r.durationMs = pick(500, 60'000);
    return r;
}

std::vector<core::Response> randomResponses(std::uint64_t seed, int count, int days, std::int64_t lastDayMs) {
    std::mt19937_64 rng(seed);
    core::UuidV7Generator ids(seed);
    constexpr std::int64_t kDayMs = 86'400'000;
    std::vector<std::int64_t> times;
    times.reserve(static_cast<std::size_t>(count));
    std::uniform_int_distribution<std::int64_t> when(lastDayMs - kDayMs * days, lastDayMs);
    for (int i = 0; i < count; ++i) times.push_back(when(rng));
    std::sort(times.begin(), times.end());
    std::vector<core::Response> out;
    out.reserve(times.size());
    for (auto t : times) out.push_back(randomResponse(rng, ids, t));
    return out;
}

namespace {
sqlite3_stmt* prepareProbe(const Database& db, const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db.handle(), sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
        const std::string msg = sqlite3_errmsg(db.handle());
        sqlite3_finalize(st);
        throw std::runtime_error("probe '" + sql + "' failed: " + msg);
    }
    return st;
}
} // namespace

std::int64_t queryInt(const Database& db, const std::string& sql, const std::vector<std::string>& params) {
    sqlite3_stmt* st = prepareProbe(db, sql);
    for (std::size_t i = 0; i < params.size(); ++i)
        sqlite3_bind_text(st, static_cast<int>(i) + 1, params[i].c_str(), -1, SQLITE_TRANSIENT);
    const int rc = sqlite3_step(st);
    const std::int64_t v = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW) throw std::runtime_error("probe '" + sql + "' returned no row");
    return v;
}

std::int64_t rowsFor(const Database& db, const std::string& id) {
    return queryInt(db,
                    "SELECT (SELECT COUNT(*) FROM responses WHERE id = ?1)"
                    " + (SELECT COUNT(*) FROM response_tags WHERE response_id = ?1)"
                    " + (SELECT COUNT(*) FROM outbox WHERE response_id = ?1)",
                    {id});
}

std::vector<std::string> queryTexts(const Database& db, const std::string& sql) {
    sqlite3_stmt* st = prepareProbe(db, sql);
    std::vector<std::string> out;
    int rc = SQLITE_OK;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
        out.emplace_back(p != nullptr ? p : "");
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) throw std::runtime_error("probe '" + sql + "' failed");
    return out;
}

std::string readBytes(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + file.string());
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

void writeBytes(const std::filesystem::path& file, const std::string& bytes) {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) throw std::runtime_error("cannot write " + file.string());
}

bool ChildResult::skipped() const {
    return std::any_of(lines.begin(), lines.end(), [](const std::string& l) { return l.starts_with("SKIP "); });
}

std::vector<std::string> ChildResult::failures() const {
    std::vector<std::string> out;
    for (const auto& l : lines)
        if (l.starts_with("FAIL ")) out.push_back(l);
    return out;
}

std::string ChildResult::log() const {
    std::string s;
    for (const auto& l : lines) s += l + "\n";
    return s;
}

void ChildReporter::line(const std::string& text) {
    std::string out = text;
    std::replace(out.begin(), out.end(), '\n', ' ');
    out += '\n';
    const char* p = out.data();
    std::size_t left = out.size();
    while (left > 0) {
        const ssize_t n = ::write(m_fd, p, left);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) ::_exit(90);   // the parent is gone or the pipe broke: nothing to report to
        p += n;
        left -= static_cast<std::size_t>(n);
    }
}

void ChildReporter::check(bool ok, const std::string& what) { line((ok ? "PASS " : "FAIL ") + what); }
void ChildReporter::note(const std::string& what) { line("NOTE " + what); }
void ChildReporter::skip(const std::string& why) { line("SKIP " + why); }

ChildResult runInChild(const std::function<void(ChildReporter&)>& body) {
    int fds[2];
    if (::pipe(fds) != 0) throw std::runtime_error("pipe failed: " + std::string(std::strerror(errno)));
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed: " + std::string(std::strerror(errno)));
    if (pid == 0) {
        ::close(fds[0]);
        ChildReporter rep(fds[1]);
        int code = 0;
        try {
            body(rep);
        } catch (const std::exception& e) {
            rep.check(false, std::string("exception: ") + e.what());
            code = 2;
        } catch (...) {
            rep.check(false, "unknown exception");
            code = 2;
        }
        ::_exit(code);
    }
    ::close(fds[1]);
    ChildResult result;
    std::string buffer;
    char chunk[4096];
    for (;;) {
        const ssize_t n = ::read(fds[0], chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        buffer.append(chunk, static_cast<std::size_t>(n));
    }
    ::close(fds[0]);
    std::istringstream in(buffer);
    for (std::string l; std::getline(in, l);) result.lines.push_back(l);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    result.exitedNormally = WIFEXITED(status);
    result.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return result;
}

std::string enterPrivateMountNamespace() {
    if (::unshare(CLONE_NEWNS) != 0)
        return std::string("unshare(CLONE_NEWNS): ") + std::strerror(errno);
    // Without this a shared root would propagate our test mounts to the host.
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
        return std::string("making / private: ") + std::strerror(errno);
    return {};
}

} // namespace segue::store::test
