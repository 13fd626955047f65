// Starting the terminal from the command line: wires the window, the store and the sync worker.
#pragma once
#include <optional>

#include "app/config.hpp"

namespace segue::app {

struct TerminalOptions {
    std::optional<int> width;
    std::optional<int> height;
    bool fullscreen = false;
};

/// Runs the terminal until SIGTERM / window close. Returns the exit code.
int runTerminal(const KioskConfig& cfg, const TerminalOptions& opts);

} // namespace segue::app
