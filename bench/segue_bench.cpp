// segue-bench: the benchmark programs that need only core/ and store/, plus the report writer.
// bench/run drives them; each prints its results as JSON lines on standard output.
#include <iostream>
#include <string>

#include "bench/commands.hpp"
#include "bench/support.hpp"

namespace {

constexpr const char* kUsage = R"(segue-bench — SEGUE Kiosk benchmarks (driven by bench/run)

Usage:
  segue-bench tap --dir DIR [--samples N] [--repeats R] [--warmup N] [--checkpoint-every N] [--in-commit-checkpoints]
  segue-bench stats --db FILE [--count N] [--days D] [--repeats R] [--batch N]
  segue-bench seed-kiosk --data-dir DIR --count N [--days D] [--store S] [--device D] [--last-date YYYY-MM-DD]
  segue-bench report --rows FILE --json OUT [--markdown OUT] [--machine TEXT] [--quick]
)";

} // namespace

int main(int argc, char** argv) {
    using namespace segue::bench;
    if (argc < 2 || std::string(argv[1]) == "--help") {
        std::cout << kUsage;
        return argc < 2 ? 2 : 0;
    }
    const std::string cmd = argv[1];
    const Args args(argc, argv, 2);
    if (cmd == "tap") return runDurableTap(args);
    if (cmd == "stats") return runStaffStats(args);
    if (cmd == "seed-kiosk") return runSeedKiosk(args);
    if (cmd == "report") return runReport(args);
    std::cerr << "segue-bench: unknown command '" << cmd << "'\n" << kUsage;
    return 2;
}
