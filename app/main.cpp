// segue-kiosk: the counter terminal and its command-line verbs.
#include <string>
#include <vector>

#include "app/cli.hpp"

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    return segue::app::runCli(args);
}
