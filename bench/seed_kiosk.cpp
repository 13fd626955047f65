// A kiosk data directory holding a synthetic backlog (every response pending sync), written in
// large transactions through the store, as `segue-kiosk demo-data` would but faster.
#include <filesystem>
#include <iostream>

#include "bench/commands.hpp"
#include "bench/support.hpp"
#include "store/database.hpp"
#include "store/responses.hpp"

namespace segue::bench {

int runSeedKiosk(const Args& args) {
    args.allowOnly({"data-dir", "count", "days", "store", "device", "last-date", "seed"});
    TrafficOptions to;
    to.count = args.integer("count", 100'000);
    to.days = static_cast<int>(args.integer("days", 30));
    to.storeId = args.text("store", to.storeId);
    to.deviceId = args.text("device", to.deviceId);
    to.lastDate = args.text("last-date", to.lastDate);
    to.seed = static_cast<std::uint64_t>(args.integer("seed", 11));
    const auto dir = std::filesystem::path(args.text("data-dir", "kiosk-data"));
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    const auto file = dir / "kiosk.sqlite";
    for (const char* s : {"", "-wal", "-shm"}) std::filesystem::remove(file.string() + s, ec);

    auto db = store::Database::open(file);
    if (!db) fail("creating " + file.string() + ": " + db.error().message);
    Traffic traffic(to);
    std::vector<core::Response> batch;
    std::int64_t written = 0;
    const double t0 = monoMs();
    for (;;) {
        auto day = traffic.nextDay();
        const bool done = day.empty();
        for (auto& r : day) batch.push_back(std::move(r));
        if (batch.size() >= 2'000 || (done && !batch.empty())) {
            if (auto ok = store::saveResponses(*db, batch); !ok) fail("saving responses: " + ok.error().message);
            written += static_cast<std::int64_t>(batch.size());
            batch.clear();
        }
        if (done) break;
    }
    if (auto ok = db->exec("PRAGMA wal_checkpoint(TRUNCATE)"); !ok) fail("checkpoint: " + ok.error().message);
    std::cerr << "segue-bench: " << written << " pending responses in " << file.string() << " ("
              << static_cast<long long>(static_cast<double>(written) / ((monoMs() - t0) / 1000)) << "/s)\n";
    return 0;
}

} // namespace segue::bench
