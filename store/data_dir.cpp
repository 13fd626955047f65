#include "store/data_dir.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <system_error>

#include <sys/stat.h>

namespace segue::store {
namespace {

constexpr unsigned kGroupOther = 0077;

ErrorKind kindOfErrno(int e) {
    if (e == ENOSPC || e == EDQUOT) return ErrorKind::Full;
    if (e == EACCES || e == EPERM || e == EROFS) return ErrorKind::ReadOnly;
    return ErrorKind::Io;
}

std::string octal(unsigned mode) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%04o", mode & 07777u);
    return buf;
}

/// What the terminal writes in its data directory: kiosk.sqlite, its -wal, -shm and -journal,
/// the copies moved aside (kiosk.sqlite.corrupt-…), kiosk.log. Nothing else is touched: a
/// --data-dir that names a directory shared with other files must not have them changed.
bool isKioskFile(const std::string& name) { return name.starts_with("kiosk.sqlite") || name.starts_with("kiosk.log"); }

/// Takes group/other bits off `path` (never following a link); records what it did.
void tighten(const std::filesystem::path& path, DataDirReport& report) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
        if (errno != ENOENT) report.problems.push_back(path.string() + ": " + std::strerror(errno));
        return;
    }
    if (S_ISLNK(st.st_mode)) return;
    if (S_ISDIR(st.st_mode) && (st.st_mode & S_ISVTX) != 0) {
        // /tmp and its kind: shared on purpose; tightening it would break every other user.
        report.problems.push_back(path.string() + " is a shared directory (sticky bit), left as it is; give the "
                                                  "terminal a directory of its own");
        return;
    }
    const unsigned mode = static_cast<unsigned>(st.st_mode) & 07777u;
    if ((mode & kGroupOther) == 0) return;
    const unsigned wanted = mode & ~kGroupOther;
    if (::chmod(path.c_str(), static_cast<mode_t>(wanted)) != 0) {
        report.problems.push_back(path.string() + ": cannot change mode " + octal(mode) + " to " + octal(wanted) +
                                  ": " + std::strerror(errno));
        return;
    }
    report.tightened.push_back(ModeChange{path, mode, wanted});
}

} // namespace

std::expected<DataDirReport, Error> secureDataDir(const std::filesystem::path& dir) {
    DataDirReport report;
    std::error_code ec;
    if (const auto parent = dir.parent_path(); !parent.empty() && !std::filesystem::exists(parent, ec)) {
        std::filesystem::create_directories(parent, ec);
        if (ec)
            return std::unexpected(Error{ErrorKind::Io, "creating " + parent.string() + ": " + ec.message()});
    }
    if (::mkdir(dir.c_str(), 0700) == 0) {
        report.created = true;
    } else if (errno != EEXIST) {
        const int e = errno;
        return std::unexpected(Error{kindOfErrno(e), "creating the data directory " + dir.string() + ": " + std::strerror(e)});
    }
    if (!std::filesystem::is_directory(dir, ec))
        return std::unexpected(Error{ErrorKind::Io, dir.string() + " is not a directory"});
    tighten(dir, report);
    for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
        if (isKioskFile(it->path().filename().string())) tighten(it->path(), report);
    if (ec) report.problems.push_back("listing " + dir.string() + ": " + ec.message());
    return report;
}

std::string describe(const ModeChange& change) {
    return change.path.string() + ": " + octal(change.from) + " -> " + octal(change.to);
}

} // namespace segue::store
