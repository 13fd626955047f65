// A kiosk process killed with SIGKILL at a random moment loses no response it had
// acknowledged (the moment the thank-you screen would appear), and leaves no half rows.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <set>

#include "store/database.hpp"
#include "store/outbox.hpp"
#include "store/responses.hpp"
#include "tests/store/support.hpp"

using namespace segue;
using namespace segue::store;
using segue::store::test::TempDir;

namespace {

void writeLine(int fd, const std::string& text) {
    const std::string line = text + "\n";
    std::size_t done = 0;
    while (done < line.size()) {
        const ssize_t n = ::write(fd, line.data() + done, line.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) ::_exit(5);
        done += static_cast<std::size_t>(n);
    }
}

/// The child: saves responses [first, last) one by one (every tenth step a batch of five),
/// acknowledging each index on `fd` only after its commit returned.
[[noreturn]] void saveUntilKilled(const std::filesystem::path& file, const std::vector<core::Response>& all,
                                  std::size_t first, std::size_t last, int fd) {
    auto db = Database::open(file);
    if (!db) {
        writeLine(fd, "E open: " + db.error().message);
        ::_exit(3);
    }
    std::size_t i = first;
    for (int step = 0; i < last; ++step) {
        const std::size_t n = (step % 10 == 9) ? std::min<std::size_t>(5, last - i) : 1;
        std::vector<core::Response> chunk(all.begin() + static_cast<std::ptrdiff_t>(i),
                                          all.begin() + static_cast<std::ptrdiff_t>(i + n));
        auto saved = n == 1 ? saveResponse(*db, chunk[0]) : saveResponses(*db, chunk);
        if (!saved) {
            writeLine(fd, "E save: " + saved.error().message);
            ::_exit(4);
        }
        for (std::size_t k = i; k < i + n; ++k) writeLine(fd, std::to_string(k));
        i += n;
    }
    // Done early (a busy machine may read acks slowly): wait for the kill like a kiosk would.
    for (;;) ::pause();
}

} // namespace

TEST_CASE("responses acknowledged before SIGKILL are all there after reopening", "[store][kill]") {
    TempDir dir;
    const auto file = dir / "kiosk.sqlite";
    constexpr std::size_t kRounds = 6;
    constexpr std::size_t kPerRound = 3000;
    constexpr std::size_t kMaxInFlight = 5;   // one batch may commit without its ack written
    const auto all = test::randomResponses(31337, static_cast<int>(kRounds * kPerRound), 30);

    const auto seed = std::random_device{}();
    CAPTURE(seed);
    std::mt19937 rng(seed);
    std::int64_t expectedRows = 0;

    for (std::size_t round = 0; round < kRounds; ++round) {
        CAPTURE(round);
        const std::size_t first = round * kPerRound;
        const std::size_t last = first + kPerRound;
        // 0 kills during open (possibly mid-migration on the first round).
        const std::size_t killAfter = std::uniform_int_distribution<std::size_t>(0, 800)(rng);
        CAPTURE(killAfter);

        int fds[2];
        REQUIRE(::pipe(fds) == 0);
        const pid_t pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            ::close(fds[0]);
            saveUntilKilled(file, all, first, last, fds[1]);
        }
        ::close(fds[1]);

        std::set<std::size_t> acked;
        std::string pending;
        std::vector<std::string> childErrors;
        bool killed = false;
        if (killAfter == 0) {
            REQUIRE(::kill(pid, SIGKILL) == 0);
            killed = true;
        }
        char buf[4096];
        for (;;) {
            const ssize_t n = ::read(fds[0], buf, sizeof buf);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            pending.append(buf, static_cast<std::size_t>(n));
            for (std::size_t nl; (nl = pending.find('\n')) != std::string::npos;) {
                const std::string line = pending.substr(0, nl);
                pending.erase(0, nl + 1);
                if (line.starts_with("E ")) childErrors.push_back(line);
                else acked.insert(std::stoul(line));
            }
            if (!killed && acked.size() >= killAfter) {
                REQUIRE(::kill(pid, SIGKILL) == 0);
                killed = true;
            }
        }
        ::close(fds[0]);
        int status = 0;
        REQUIRE(::waitpid(pid, &status, 0) == pid);
        INFO("child errors: " << (childErrors.empty() ? std::string("none") : childErrors.front()));
        REQUIRE(childErrors.empty());
        REQUIRE(WIFSIGNALED(status));
        CHECK(WTERMSIG(status) == SIGKILL);

        auto db = Database::open(file);
        REQUIRE(db.has_value());
        CHECK_FALSE(db->report().recreated);
        CHECK(db->schemaVersion() == latestSchemaVersion());

        // Every acknowledged record, exactly as sent.
        for (std::size_t k : acked) {
            auto found = findResponse(*db, all[k].id);
            REQUIRE(found.has_value());
            REQUIRE(found->has_value());
            REQUIRE(**found == all[k]);
        }
        // What is stored from this round is a prefix of what was sent: no holes, no half rows.
        std::size_t stored = 0;
        while (first + stored < last && test::queryInt(*db, "SELECT COUNT(*) FROM responses WHERE id = ?1",
                                                       {all[first + stored].id}) == 1)
            ++stored;
        for (std::size_t k = first + stored; k < last; ++k)
            REQUIRE(test::rowsFor(*db, all[k].id) == 0);
        CHECK(stored >= acked.size());
        CHECK(stored <= acked.size() + kMaxInFlight);
        if (!acked.empty()) CHECK(*acked.rbegin() == first + acked.size() - 1);

        expectedRows += static_cast<std::int64_t>(stored);
        CHECK(test::queryInt(*db, "SELECT COUNT(*) FROM responses") == expectedRows);
        auto counts = outboxCounts(*db);
        REQUIRE(counts.has_value());
        CHECK(counts->pending == expectedRows);
        CHECK(test::queryTexts(*db, "PRAGMA integrity_check") == std::vector<std::string>{"ok"});
    }
    CHECK(expectedRows > 0);
}
