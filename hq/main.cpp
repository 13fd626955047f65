// segue-hq: the central collector of SEGUE Kiosk responses.
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include <malloc.h>

#include "hq/cli.hpp"

int main(int argc, char** argv) {
    // Each request allocates and frees a few MiB (the body, its JSON, SQLite's page cache) on one
    // of many pool threads. With glibc's defaults every free at the top of a thread arena gave
    // the memory back with madvise and the next request faulted it in again: ~12% of the server's
    // time under a 200-terminal fleet (perf). A few arenas that keep up to 32 MiB each instead.
    mallopt(M_ARENA_MAX, 4);
    mallopt(M_TRIM_THRESHOLD, 32 << 20);
    mallopt(M_MMAP_THRESHOLD, 16 << 20);
    try {
        return segue::hq::runCli(std::vector<std::string>(argv + 1, argv + argc));
    } catch (const std::exception& e) {
        // Nothing below throws on purpose; this keeps an allocation failure to one line and status 1.
        std::cerr << "segue-hq: " << e.what() << "\n";
        return segue::hq::kExitFailure;
    }
}
