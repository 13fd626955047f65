// The data directory keeps its secrets: the directory owner-only (0700), every file in it 0600.
#pragma once
#include <expected>
#include <filesystem>
#include <string>
#include <vector>

#include "store/database.hpp"

namespace segue::store {

/// One permission taken away.
struct ModeChange {
    std::filesystem::path path;
    unsigned from = 0;   ///< permission bits before (e.g. 0755)
    unsigned to = 0;     ///< after (e.g. 0700)
};

/// What securing the data directory did.
struct DataDirReport {
    bool created = false;                 ///< the directory did not exist; made 0700
    std::vector<ModeChange> tightened;    ///< the directory or files that were group/other accessible
    std::vector<std::string> problems;    ///< an entry that could not be tightened (not ours, vanished)
};

/// Creates `dir` (mode 0700; missing parents with the process umask) and takes every group and
/// other permission bit off it and off each file the terminal writes directly in it
/// (kiosk.sqlite and its -wal/-shm/-journal, moved-aside kiosk.sqlite.corrupt-… copies,
/// kiosk.log); other files are not the terminal's and are left alone, as are symbolic links (a
/// chmod would follow them) and a shared directory with the sticky bit (/tmp: reported as a
/// problem). Fails only when the directory cannot be created or is not a directory.
std::expected<DataDirReport, Error> secureDataDir(const std::filesystem::path& dir);

/// "PATH: 0755 -> 0700"
std::string describe(const ModeChange& change);

} // namespace segue::store
