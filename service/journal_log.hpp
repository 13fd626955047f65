// Log lines for the journal: when systemd connects stderr to journald (JOURNAL_STREAM), plain
// lines with a `<N>` priority prefix and no timestamp of our own (the journal stamps them).
#pragma once
#include <memory>
#include <string>

#include <spdlog/formatter.h>

namespace segue::service {

/// True when stderr is the journal stream systemd set up (JOURNAL_STREAM names its device and
/// inode; a stderr redirected elsewhere by a child does not count).
bool stderrIsJournal();

/// "<3>message" for an error … "<6>message" for info, "<7>" for debug and trace, "<2>" critical.
std::unique_ptr<spdlog::formatter> journalFormatter();

/// The formatter for a stderr sink: the journal's when stderr is the journal, else `pattern`.
std::unique_ptr<spdlog::formatter> stderrFormatter(const std::string& pattern);

} // namespace segue::service
