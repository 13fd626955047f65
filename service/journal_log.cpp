#include "service/journal_log.hpp"

#include <cstdlib>
#include <cstdio>

#include <spdlog/pattern_formatter.h>
#include <sys/stat.h>
#include <unistd.h>

namespace segue::service {
namespace {

/// `%*`: the journal's priority prefix (sd-daemon.h's SD_ERR … SD_DEBUG).
class PriorityFlag final : public spdlog::custom_flag_formatter {
public:
    void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
        const char* p = "<6>";
        switch (msg.level) {
        case spdlog::level::trace:
        case spdlog::level::debug: p = "<7>"; break;
        case spdlog::level::info: p = "<6>"; break;
        case spdlog::level::warn: p = "<4>"; break;
        case spdlog::level::err: p = "<3>"; break;
        case spdlog::level::critical: p = "<2>"; break;
        default: break;
        }
        dest.append(p, p + 3);
    }
    std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<PriorityFlag>(); }
};

} // namespace

bool stderrIsJournal() {
    const char* stream = std::getenv("JOURNAL_STREAM");
    if (stream == nullptr || *stream == '\0') return false;
    unsigned long long dev = 0, ino = 0;
    if (std::sscanf(stream, "%llu:%llu", &dev, &ino) != 2) return false;
    struct stat st {};
    if (fstat(STDERR_FILENO, &st) != 0) return false;
    return static_cast<unsigned long long>(st.st_dev) == dev && static_cast<unsigned long long>(st.st_ino) == ino;
}

std::unique_ptr<spdlog::formatter> journalFormatter() {
    auto f = std::make_unique<spdlog::pattern_formatter>();
    f->add_flag<PriorityFlag>('*').set_pattern("%*%v");
    return f;
}

std::unique_ptr<spdlog::formatter> stderrFormatter(const std::string& pattern) {
    if (stderrIsJournal()) return journalFormatter();
    return std::make_unique<spdlog::pattern_formatter>(pattern);
}

} // namespace segue::service
