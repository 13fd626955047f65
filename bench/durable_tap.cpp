// Benchmark 1: a customer's tap committed (WAL, synchronous=FULL) against one fdatasync of a
// small write in the same directory, sampled alternately so both see the same disk weather.
// The tap commits on a connection opened as the kiosk opens its own (checkpoints deferred),
// and the kiosk's checkpoint between customers runs after each tap, untimed.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "bench/commands.hpp"
#include "bench/support.hpp"
#include "core/time.hpp"
#include "store/checkpoint.hpp"
#include "store/database.hpp"
#include "store/responses.hpp"

namespace segue::bench {
namespace {

constexpr std::size_t kBlock = 4096;
constexpr std::size_t kFileBytes = 4u << 20;   // the WAL's steady-state size is of this order

void removeDb(const std::filesystem::path& p) {
    std::error_code ec;
    for (const char* s : {"", "-wal", "-shm"}) std::filesystem::remove(p.string() + s, ec);
}

/// A preallocated file overwritten block by block, as SQLite reuses its WAL after a checkpoint.
class SyncProbe {
public:
    explicit SyncProbe(const std::filesystem::path& file) : m_path(file) {
        m_fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (m_fd < 0) fail("opening " + file.string() + ": " + std::strerror(errno));
        std::vector<char> zero(kFileBytes, 0);
        if (::pwrite(m_fd, zero.data(), zero.size(), 0) != static_cast<ssize_t>(zero.size()))
            fail("preallocating " + file.string() + ": " + std::strerror(errno));
        if (::fsync(m_fd) != 0) fail("fsync " + file.string() + ": " + std::strerror(errno));
        m_block.assign(kBlock, 'x');
    }
    ~SyncProbe() {
        if (m_fd >= 0) ::close(m_fd);
        std::error_code ec;
        std::filesystem::remove(m_path, ec);
    }
    SyncProbe(const SyncProbe&) = delete;
    SyncProbe& operator=(const SyncProbe&) = delete;

    /// One small write made durable; returns its duration in ms.
    double once() {
        m_block[0] = static_cast<char>(m_next);
        const off_t at = static_cast<off_t>((m_next++ % (kFileBytes / kBlock)) * kBlock);
        const double t0 = monoMs();
        if (::pwrite(m_fd, m_block.data(), m_block.size(), at) != static_cast<ssize_t>(m_block.size()))
            fail("pwrite: " + std::string(std::strerror(errno)));
        if (::fdatasync(m_fd) != 0) fail("fdatasync: " + std::string(std::strerror(errno)));
        return monoMs() - t0;
    }

private:
    std::filesystem::path m_path;
    int m_fd = -1;
    std::size_t m_next = 0;
    std::vector<char> m_block;
};

struct Round {
    Samples tap;
    Samples sync;
};

/// How the WAL gets back into the database file during a round.
struct Policy {
    /// false: as the kiosk runs — no checkpoint inside a commit, store::checkpointBetweenCustomers
    /// after every `checkpointEvery` customers (untimed). true: SQLite's automatic checkpoint
    /// inside the commit that crosses ~1 000 WAL pages (what the kiosk did before; a reference).
    bool inCommit = false;
    int checkpointEvery = 1;
};

Round runRound(const std::filesystem::path& dir, int samples, int warmup, int round, const Policy& policy) {
    const auto dbPath = dir / ("tap-" + std::to_string(round) + ".sqlite");
    removeDb(dbPath);
    store::OpenOptions options;   // the settings KioskController opens its connection with
    options.checkpoints = policy.inCommit ? store::Checkpoints::InCommit : store::Checkpoints::Deferred;
    auto db = store::Database::open(dbPath, options);
    if (!db) fail("opening " + dbPath.string() + ": " + db.error().message);
    SyncProbe probe(dir / ("fdatasync-" + std::to_string(round) + ".bin"));

    core::UuidV7Generator ids;
    TrafficOptions to;
    to.count = 1;
    to.days = 1;
    Traffic shape(to);
    const core::Response model = shape.nextDay().at(0);

    Round out;
    for (int i = 0; i < warmup + samples; ++i) {
        const double fs = probe.once();
        // "Submit" → committed: the record is stamped and saved exactly as the controller does.
        const double t0 = monoMs();
        core::Response r = model;
        const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
        r.id = ids.next(now);
        r.createdAtMs = now;
        r.localDate = core::localDate(now, r.utcOffsetMin);
        r.localHour = core::localHour(now, r.utcOffsetMin);
        if (auto ok = store::saveResponse(*db, r); !ok) fail("saving a response: " + ok.error().message);
        const double tap = monoMs() - t0;
        // The customer is on the thank-you screen, the next one not there yet.
        if (!policy.inCommit && (i + 1) % policy.checkpointEvery == 0)
            if (auto ok = store::checkpointBetweenCustomers(*db); !ok) fail("checkpointing: " + ok.error().message);
        if (i >= warmup) {
            out.sync.add(fs);
            out.tap.add(tap);
        }
    }
    removeDb(dbPath);
    return out;
}

} // namespace

int runDurableTap(const Args& args) {
    args.allowOnly({"dir", "samples", "repeats", "warmup", "in-commit-checkpoints", "checkpoint-every"});
    Policy policy;
    policy.inCommit = args.flag("in-commit-checkpoints");
    policy.checkpointEvery = static_cast<int>(args.integer("checkpoint-every", 1));
    if (policy.checkpointEvery < 1) fail("--checkpoint-every must be at least 1");
    const std::filesystem::path dir = args.text("dir", ".");
    const int samples = static_cast<int>(args.integer("samples", 2000));
    const int repeats = static_cast<int>(args.integer("repeats", 5));
    const int warmup = static_cast<int>(args.integer("warmup", 50));
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);

    std::vector<double> tapP50, tapP99, syncP50, syncP99, tapMax, syncMax;
    for (int r = 0; r < repeats; ++r) {
        const Round round = runRound(dir, samples, warmup, r, policy);
        tapP50.push_back(round.tap.median());
        tapP99.push_back(round.tap.percentile(99));
        tapMax.push_back(round.tap.max());
        syncP50.push_back(round.sync.median());
        syncP99.push_back(round.sync.percentile(99));
        syncMax.push_back(round.sync.max());
    }

    Row row;
    row.name = policy.inCommit ? "durable_tap_p99_in_commit_checkpoints" : "durable_tap_p99";
    row.value = medianOf(tapP99);
    row.baseline = medianOf(syncP99);
    row.unit = "ms";
    row.goal = "p99 <= 2x fdatasync p99";
    row.met = row.value <= 2 * row.baseline;
    row.reference = policy.inCommit;   // how the kiosk committed before: for comparison
    row.details = {{"tap_p50_ms", medianOf(tapP50)},
                   {"fdatasync_p50_ms", medianOf(syncP50)},
                   {"tap_p50_ratio", medianOf(syncP50) > 0 ? medianOf(tapP50) / medianOf(syncP50) : 0.0},
                   {"tap_max_ms", medianOf(tapMax)},
                   {"fdatasync_max_ms", medianOf(syncMax)},
                   {"tap_p99_per_repeat", tapP99},
                   {"fdatasync_p99_per_repeat", syncP99},
                   {"checkpoints", policy.inCommit ? std::string("in the commit (SQLite's automatic)")
                                                   : "between customers, every " +
                                                         std::to_string(policy.checkpointEvery) + ", untimed"},
                   {"samples_per_repeat", samples},
                   {"repeats", repeats}};
    emit(row);
    return 0;
}

} // namespace segue::bench
