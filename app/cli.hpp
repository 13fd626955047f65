// The command-line verbs of segue-kiosk: the same core/store code as the screens, no window.
#pragma once
#include <string>
#include <vector>

namespace segue::app {

/// Exit codes (contract): 0 ok, 1 other failure, 2 usage or config error.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

/// Parses argv and runs the verb (or the terminal itself). Returns the exit code.
int runCli(const std::vector<std::string>& args);

/// The --help text.
std::string usageText();

} // namespace segue::app
