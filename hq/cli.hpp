// segue-hq's command line: serve, device add/list/revoke, token add, init-demo.
#pragma once
#include <string>
#include <vector>

namespace segue::hq {

/// Exit status: 0 ok, 2 usage or configuration error, 1 any other failure; the reason is one
/// line on stderr.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

/// Runs one command; `args` excludes the program name.
int runCli(const std::vector<std::string>& args);

} // namespace segue::hq
