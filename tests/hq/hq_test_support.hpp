// Shared pieces of the HQ tests: temporary directories, response builders, the storage back
// ends under test (SQLite always, PostgreSQL when SEGUE_TEST_PG_URL names a running server).
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/response.hpp"
#include "core/time.hpp"
#include "core/uuid.hpp"
#include "hq/storage.hpp"
#include "tests/support/temp_dir.hpp"

namespace segue::test {

using segue::testing::TempDir;


/// A valid response of `store`/`device` created at `createdAtMs` (store offset +8 h).
core::Response makeResponse(const std::string& id, const std::string& store, const std::string& device,
                            std::int64_t createdAtMs, int stars = 4);

/// Makes varied valid responses (misuse, partial, unanswered items, tags) reproducibly.
class ResponseFactory {
public:
    ResponseFactory(std::string store, std::string device, std::uint64_t seed = 42,
                    std::int64_t startMs = 1'795'000'000'000)
        : m_store(std::move(store)), m_device(std::move(device)), m_rng(seed), m_ids(seed), m_nextMs(startMs) {}
    core::Response next();
    std::vector<core::Response> make(std::size_t n);

private:
    std::string m_store, m_device;
    std::mt19937_64 m_rng;
    core::UuidV7Generator m_ids;
    std::int64_t m_nextMs;
};

/// Storage URLs to run a test against: a new SQLite file in `dir`, and a new database on the
/// PostgreSQL server of SEGUE_TEST_PG_URL when that is set.
std::vector<std::string> storageUrls(const TempDir& dir);

/// Opens (and migrates) the storage at `url`; a failure fails the test.
std::unique_ptr<hq::Storage> openStorage(const std::string& url);

/// Stores `req`; a storage failure fails the test.
std::vector<hq::Outcome> ingestOk(hq::Storage& s, const hq::IngestRequest& req);

/// Runs one SQL statement with no result on the database at `url` (sqlite:… or postgresql://…).
void execSql(const std::string& url, const std::string& sql);

/// Runs one statement on the PostgreSQL database at `url`; returns the first row's first value
/// ("" when there is none). Throws with PostgreSQL's message on failure.
std::string pgExec(const std::string& url, const std::string& sql);

/// The whole file (empty when it cannot be read).
std::string readFile(const std::filesystem::path& p);

/// Starts a child with stdout and stderr in files. The child is killed when this process dies,
/// so a crashed test run leaves no server behind.
pid_t spawn(const std::vector<std::string>& args, const std::filesystem::path& out, const std::filesystem::path& err);

/// Waits for `pid`: its exit code, or 128 + the signal that ended it.
int waitExit(pid_t pid);

} // namespace segue::test
