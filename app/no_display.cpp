// segue-kiosk built with -DSEGUE_BUILD_UI=OFF: the verbs work; the window mode says why it cannot.
#include <iostream>

#include "app/cli_terminal.hpp"

namespace segue::app {

int runTerminal(const KioskConfig&, const TerminalOptions&) {
    std::cerr << "segue-kiosk: built without a display (SEGUE_BUILD_UI=OFF): only the verbs work; see --help\n";
    return 2;
}

} // namespace segue::app
