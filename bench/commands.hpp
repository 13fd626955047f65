// The commands of segue-bench: each measures one benchmark and prints result rows (JSON lines).
#pragma once

namespace segue::bench {

class Args;

int runDurableTap(const Args& args);   ///< 1: durable tap vs fdatasync
int runStaffStats(const Args& args);   ///< 4: staff figures on a million responses
int runSeedKiosk(const Args& args);    ///< a kiosk database with a synthetic backlog (5, 3)
int runReport(const Args& args);       ///< results.json and BENCHMARKS.md from the rows

} // namespace segue::bench
