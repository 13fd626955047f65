// segue-hq: the central collector of SEGUE Kiosk responses.
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "hq/cli.hpp"

int main(int argc, char** argv) {
    try {
        return segue::hq::runCli(std::vector<std::string>(argv + 1, argv + argc));
    } catch (const std::exception& e) {
        // Nothing below throws on purpose; this keeps an allocation failure to one line and status 1.
        std::cerr << "segue-hq: " << e.what() << "\n";
        return segue::hq::kExitFailure;
    }
}
