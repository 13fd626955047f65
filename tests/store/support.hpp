// Shared pieces of the store tests: temporary directories, realistic responses, raw SQL
// probes and running a check in a forked child (kill and file-system tests).
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "core/response.hpp"
#include "core/uuid.hpp"
#include "store/database.hpp"
#include "tests/support/temp_dir.hpp"

namespace segue::store::test {

using segue::testing::TempDir;

/// The reason tags the generated responses use.
const std::vector<std::string>& sampleTags();

/// A valid response created at `createdAtMs` (store offset `offsetMin`) with random answers:
/// stars, SEGUE items (some unanswered), tags in random order, partial, misuse, synthetic.
core::Response randomResponse(std::mt19937_64& rng, core::UuidV7Generator& ids,
                              std::int64_t createdAtMs, int offsetMin = 480);

/// `count` responses spread over `days` days ending near `lastDayMs`, ascending in time.
std::vector<core::Response> randomResponses(std::uint64_t seed, int count, int days,
                                            std::int64_t lastDayMs = 1'795'000'000'000);

/// One integer from a probe query; `params` are bound as text to ?1, ?2, ...
std::int64_t queryInt(const Database& db, const std::string& sql, const std::vector<std::string>& params = {});
/// Rows about one response across responses, response_tags and outbox (0 = no trace of it).
std::int64_t rowsFor(const Database& db, const std::string& id);
/// The first column of every row, as text.
std::vector<std::string> queryTexts(const Database& db, const std::string& sql);

std::string readBytes(const std::filesystem::path& file);
void writeBytes(const std::filesystem::path& file, const std::string& bytes);

/// What a forked child reported: its lines and how it ended.
struct ChildResult {
    std::vector<std::string> lines;   ///< "FAIL ...", "NOTE ...", "SKIP ..." lines
    bool exitedNormally = false;
    int exitCode = -1;
    bool skipped() const;
    std::vector<std::string> failures() const;
    std::string log() const;
};

/// Reports from inside a forked child: one line per call, written through a pipe.
class ChildReporter {
public:
    explicit ChildReporter(int fd) : m_fd(fd) {}
    void check(bool ok, const std::string& what);
    void note(const std::string& what);
    void skip(const std::string& why);
private:
    void line(const std::string& text);
    int m_fd;
};

/// Runs `body` in a forked child and returns its report. The child never returns into the
/// test runner: it ends with _exit.
ChildResult runInChild(const std::function<void(ChildReporter&)>& body);

/// Inside a child: a private mount namespace in which mounts do not leak to the host.
/// Returns an empty string on success, else why it is not possible here.
std::string enterPrivateMountNamespace();

} // namespace segue::store::test
