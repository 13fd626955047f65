// The command-line verbs of segue-kiosk: the same core/store code as the screens, no window.
#pragma once
#include <expected>
#include <filesystem>
#include <string>
#include <vector>

#include "store/database.hpp"

namespace segue::app {

/// Exit codes (contract): 0 ok, 1 other failure, 2 usage or config error.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

/// Parses argv and runs the verb (or the terminal itself). Returns the exit code.
int runCli(const std::vector<std::string>& args);

/// The --help text.
std::string usageText();

/// What a command does with the terminal's database.
enum class StoreAccess {
    Read,    ///< stats, export, sync status: header and schema are read, not the whole file
    /// sync --once: as Read, like the terminal's own sync worker. Damage in a page the drain reads
    /// or writes fails the command; what it can read still reaches HQ.
    Sync,
    Write,   ///< set-pin, demo-data: the whole-file check (PRAGMA quick_check) first
};

/// Opens the database for a command. A damaged file is reported ("cannot open …"), never moved
/// aside: the terminal may have it open while the command runs, so only segue-kiosk itself moves
/// it, when it starts.
std::expected<store::Database, std::string> openForCommand(const std::filesystem::path& file, StoreAccess access);

} // namespace segue::app
