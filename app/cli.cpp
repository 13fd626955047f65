#include "app/cli.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <utility>

#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "app/cli_config.hpp"
#include "app/cli_enrol.hpp"
#include "app/cli_sync.hpp"
#include "app/cli_terminal.hpp"
#include "app/config.hpp"
#include "app/contact_seal.hpp"
#include "app/pin.hpp"
#include "assets/assets.hpp"
#include "core/args.hpp"
#include "core/flow.hpp"
#include "core/survey.hpp"
#include "core/system_clock.hpp"
#include "core/uuid.hpp"
#include "core/version.hpp"
#include "store/data_dir.hpp"
#include "store/meta.hpp"
#include "store/responses.hpp"
#include "store/stats.hpp"
#include "sync/wire.hpp"

namespace segue::app {
namespace {

struct Args {
    std::string verb;                       ///< "" = the terminal
    std::vector<std::string> positional;    ///< after the verb (e.g. "status")
    std::map<std::string, std::string> values;
    std::set<std::string> flags;
};

/// segue-kiosk's options (core::Args names them without the leading "--").
const core::ArgSpec kOptions{{"config", "data-dir", "window", "date", "from", "to", "format", "count", "days",
                              "code"},
                             {"fullscreen", "json", "once", "help", "version", "print-default-config",
                              "allow-insecure-config-permissions"}};

/// The command line through core's parser, as the verbs read it: the first positional is the
/// verb, option names keep their "--".
std::expected<Args, core::ArgError> parseArgs(const std::vector<std::string>& argv) {
    auto parsed = core::Args::parse(argv, 0, kOptions);
    if (!parsed) return std::unexpected(parsed.error());
    Args a;
    // Empty words before the verb are skipped, as they always were.
    const auto& words = parsed->positionals();
    auto verb = std::find_if(words.begin(), words.end(), [](const std::string& w) { return !w.empty(); });
    if (verb != words.end()) {
        a.verb = *verb;
        a.positional.assign(verb + 1, words.end());
    }
    for (const auto& [name, value] : parsed->values()) a.values["--" + name] = value;
    for (const auto& name : parsed->flags()) a.flags.insert("--" + name);
    return a;
}

std::optional<std::string> onlyOptions(const Args& a, std::set<std::string> allowed) {
    allowed.insert({"--config", "--data-dir", "--allow-insecure-config-permissions"});
    for (const auto& [k, v] : a.values)
        if (!allowed.count(k)) return k + " does not apply to " + (a.verb.empty() ? "the terminal" : a.verb);
    for (const auto& f : a.flags)
        if (!allowed.count(f)) return f + " does not apply to " + (a.verb.empty() ? "the terminal" : a.verb);
    return std::nullopt;
}

int usage(const std::string& why) {
    std::cerr << "segue-kiosk: " << why << " (see segue-kiosk --help)\n";
    return kExitUsage;
}

int failure(const std::string& why) {
    std::cerr << "segue-kiosk: " << why << "\n";
    return kExitFailure;
}

std::optional<std::filesystem::path> pathOption(const Args& a, const char* name) {
    const auto it = a.values.find(name);
    if (it == a.values.end()) return std::nullopt;
    return std::filesystem::path(it->second);
}

/// What a command does with the sync token of the config file.
enum class TokenUse { None, Sends };

std::expected<KioskConfig, int> configFor(const Args& a, TokenUse tokenUse = TokenUse::None) {
    auto cfg = loadConfig(pathOption(a, "--config"), pathOption(a, "--data-dir"));
    if (!cfg) return std::unexpected(usage(cfg.error()));
    // Those that send the token (the terminal, sync --once) refuse a file others can read.
    if (tokenUse == TokenUse::Sends && !a.flags.count("--allow-insecure-config-permissions"))
        if (const auto why = insecureConfigPermissions(*cfg)) {
            std::cerr << "segue-kiosk: " << *why << "\n";
            return std::unexpected(kExitUsage);
        }
    if (!core::setProcessTimezone(cfg->timezone))
        return std::unexpected(usage("unknown time zone \"" + cfg->timezone + "\""));
    return std::move(*cfg);
}

std::expected<store::Database, int> openStore(const KioskConfig& cfg, StoreAccess access) {
    auto db = openForCommand(cfg.databasePath(), access);
    if (!db) return std::unexpected(failure(db.error()));
    return std::move(*db);
}

std::string today() {
    const core::Now now = core::SystemClock().now();  // one reading: date and offset agree
    return core::localDate(now.utcMs, now.utcOffsetMin);
}

std::expected<std::string, int> dateOption(const Args& a, const char* name, const std::string& fallback) {
    const auto it = a.values.find(name);
    if (it == a.values.end()) return fallback;
    if (!core::isIsoDate(it->second)) return std::unexpected(usage(std::string(name) + " must be a date YYYY-MM-DD"));
    return it->second;
}

std::expected<long long, int> intOption(const Args& a, const char* name, long long lo, long long hi,
                                        std::optional<long long> fallback) {
    const auto it = a.values.find(name);
    if (it == a.values.end()) {
        if (fallback) return *fallback;
        return std::unexpected(usage(std::string(name) + " is required"));
    }
    long long v = 0;
    std::size_t used = 0;
    try {
        v = std::stoll(it->second, &used);
    } catch (...) {
        used = 0;
    }
    if (used == 0 || used != it->second.size() || v < lo || v > hi)
        return std::unexpected(usage(std::string(name) + " must be a whole number from " + std::to_string(lo) +
                                     " to " + std::to_string(hi)));
    return v;
}

// ---- stats ---------------------------------------------------------------------------------

std::string formatMean(const std::optional<double>& v, int decimals = 2) {
    if (!v) return "-";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, *v);
    return buf;
}

int runStats(const Args& a) {
    if (auto bad = onlyOptions(a, {"--date", "--json"})) return usage(*bad);
    auto cfg = configFor(a);
    if (!cfg) return cfg.error();
    const auto date = dateOption(a, "--date", today());
    if (!date) return date.error();
    auto db = openStore(*cfg, StoreAccess::Read);
    if (!db) return db.error();
    const auto stats = store::dayStats(*db, *date);
    if (!stats) return failure("cannot compute stats: " + stats.error().message);
    if (a.flags.count("--json")) {
        std::cout << core::toJson(*stats).dump() << "\n";
        return kExitOk;
    }
    const auto& s = *stats;
    std::cout << "Date            " << s.date << "\n"
              << "Responses       " << s.responses << "  (partial " << s.partial << ", misuse " << s.misuse
              << " not counted)\n"
              << "Mean stars      " << formatMean(s.meanStars) << "\n"
              << "Satisfaction    " << (s.csat ? formatMean(*s.csat * 100.0, 1) + "%" : "-") << "  (target "
              << formatMean(cfg->targetCsat * 100.0, 0) << "%" << (core::meetsTarget(s, cfg->targetCsat) ? ", met" : "")
              << ")\n";
    for (std::size_t i = 0; i < s.segue.size(); ++i)
        std::printf("  %-14s %s\n", std::string(core::kSegueKeys[i]).c_str(), formatMean(s.segue[i]).c_str());
    std::cout << "Pending sync    " << s.pendingSync << "\n";
    for (const auto& [tag, n] : s.tags) std::cout << "  tag " << tag << ": " << n << "\n";
    return kExitOk;
}

// ---- export --------------------------------------------------------------------------------

int runExport(const Args& a) {
    if (auto bad = onlyOptions(a, {"--from", "--to", "--format"})) return usage(*bad);
    const auto fmt = a.values.find("--format");
    if (fmt == a.values.end() || (fmt->second != "csv" && fmt->second != "jsonl"))
        return usage("export needs --format csv or --format jsonl");
    auto cfg = configFor(a);
    if (!cfg) return cfg.error();
    store::DateRange range;
    if (a.values.count("--from")) {
        const auto d = dateOption(a, "--from", "");
        if (!d) return d.error();
        range.from = *d;
    }
    if (a.values.count("--to")) {
        const auto d = dateOption(a, "--to", "");
        if (!d) return d.error();
        range.to = *d;
    }
    auto db = openStore(*cfg, StoreAccess::Read);
    if (!db) return db.error();
    const bool csv = fmt->second == "csv";
    if (csv) std::cout << wire::csvHeader();
    const auto done = store::forEachResponse(*db, range, [&](const core::Response& r) {
        if (csv) std::cout << wire::csvRow(r);
        else std::cout << core::toJson(r).dump() << "\n";
        return static_cast<bool>(std::cout);
    });
    std::cout.flush();
    if (!done) return failure("export failed: " + done.error().message);
    if (!std::cout) return failure("export failed: cannot write to standard output");
    return kExitOk;
}

// ---- demo-data -----------------------------------------------------------------------------

/// Synthetic but plausible responses: mostly happy, busier at lunch and after work, SEGUE
/// answers that follow the stars, reasons after low ratings, a few partial and misuse ones.
/// Only the timestamps are held for the whole run (they are sorted so ids stay time-ordered);
/// responses are made a chunk at a time.
class DemoGenerator {
public:
    DemoGenerator(const KioskConfig& cfg, const core::Survey& survey, long long count, long long days,
                  std::int64_t nowUtcMs)
        : m_cfg(cfg), m_survey(survey), m_rng(std::random_device{}()) {
        m_stamps.reserve(static_cast<std::size_t>(count));
        const std::time_t nowSecs = static_cast<std::time_t>(nowUtcMs / 1000);
        std::tm nowLocal{};
        localtime_r(&nowSecs, &nowLocal);
        for (long long i = 0; i < count; ++i) {
            std::tm t = nowLocal;
            t.tm_mday -= static_cast<int>(m_rng() % static_cast<std::uint64_t>(days));
            // Opening hours 9-21, peaks at noon and early evening.
            t.tm_hour = 9 + pick({3, 5, 8, 9, 6, 4, 4, 5, 8, 7, 4, 2});
            t.tm_min = static_cast<int>(m_rng() % 60);
            t.tm_sec = static_cast<int>(m_rng() % 60);
            t.tm_isdst = -1;
            const std::time_t secs = std::mktime(&t);
            std::int64_t ms = static_cast<std::int64_t>(secs) * 1000 + static_cast<std::int64_t>(m_rng() % 1000);
            if (ms > nowUtcMs) ms = nowUtcMs - static_cast<std::int64_t>(m_rng() % 3'600'000);  // nothing in the future
            m_stamps.push_back(ms);
        }
        std::sort(m_stamps.begin(), m_stamps.end());
    }

    /// Up to `n` further responses, oldest first; empty when all were made.
    std::vector<core::Response> next(std::size_t n) {
        std::vector<core::Response> out;
        const std::size_t end = std::min(m_stamps.size(), m_next + n);
        out.reserve(end - m_next);
        for (; m_next < end; ++m_next) out.push_back(make(m_stamps[m_next]));
        return out;
    }

private:
    int pick(std::initializer_list<double> weights) {
        std::discrete_distribution<int> d(weights);
        return d(m_rng);
    }

    core::Response make(std::int64_t ms) {
        const std::time_t secs = static_cast<std::time_t>(ms / 1000);
        std::tm local{};
        localtime_r(&secs, &local);
        const int offset = static_cast<int>(local.tm_gmtoff / 60);
        core::Response r;
        r.id = m_ids.next(ms);
        r.storeId = m_cfg.storeId;
        r.deviceId = m_cfg.deviceId;
        r.surveyId = m_survey.id;
        r.surveyVersion = m_survey.version;
        r.language = pick({80, 20}) == 0 ? "zh-CN" : "en";
        r.createdAtMs = ms;
        r.utcOffsetMin = offset;
        r.localDate = core::localDate(ms, offset);
        r.localHour = core::localHour(ms, offset);
        r.stars = 1 + pick({4, 4, 9, 27, 56});
        r.complete = pick({94, 6}) == 0;
        r.misuse = pick({98, 2}) == 1;
        r.synthetic = true;
        const int items = static_cast<int>(m_survey.items.size());
        const int answered = r.complete ? items : static_cast<int>(m_rng() % 3);
        for (int k = 0; k < answered && k < items; ++k) {
            if (pick({90, 10}) == 1) continue;  // skipped
            const int v = std::clamp(r.stars + pick({1, 6, 2}) - 1, 1, 5);
            r.segue[static_cast<std::size_t>(m_survey.items[static_cast<std::size_t>(k)])] = v;
        }
        if (r.stars <= m_survey.reasonsMaxStars && !m_survey.tags.empty()) {
            const int n = pick({15, 55, 25, 5});
            std::vector<std::string> tags = m_survey.tags;
            std::shuffle(tags.begin(), tags.end(), m_rng);
            r.tags.assign(tags.begin(), tags.begin() + std::min<std::ptrdiff_t>(n, static_cast<std::ptrdiff_t>(tags.size())));
        }
        r.durationMs = 3000 + static_cast<std::int64_t>(m_rng() % 12000);
        // With HQ's key: about a third of the complete low ratings ask for a callback, with a
        // synthetic mobile number sealed exactly as the screens seal a typed one.
        if (m_key && r.complete && r.stars <= m_survey.settings.callbackMaxStars && pick({2, 1}) == 1) {
            std::string number = "1" + std::to_string(30 + m_rng() % 70);
            while (number.size() < 11) number += static_cast<char>('0' + m_rng() % 10);
            auto sealed = sealContact(number, *m_key);
            wipe(number);
            if (sealed) {
                r.callbackRequested = true;
                m_sealed.emplace(r.id, std::move(*sealed));
            }
        }
        return r;
    }

public:
    /// HQ's key: from now on a share of the low ratings ask for a callback.
    void setContactKey(std::optional<ContactKey> key) { m_key = key; }
    /// The sealed contacts of what next() made since the last call, by response id.
    std::map<std::string, std::string> takeSealed() { return std::exchange(m_sealed, {}); }

private:

    const KioskConfig& m_cfg;
    const core::Survey& m_survey;
    std::mt19937_64 m_rng;
    core::UuidV7Generator m_ids;
    std::vector<std::int64_t> m_stamps;
    std::size_t m_next = 0;
    std::optional<ContactKey> m_key;
    std::map<std::string, std::string> m_sealed;
};

int runDemoData(const Args& a) {
    if (auto bad = onlyOptions(a, {"--count", "--days"})) return usage(*bad);
    const auto count = intOption(a, "--count", 1, 50'000'000, std::nullopt);
    if (!count) return count.error();
    const auto days = intOption(a, "--days", 1, 3650, 30);
    if (!days) return days.error();
    auto cfg = configFor(a);
    if (!cfg) return cfg.error();
    const auto survey = core::parseSurvey(*assets::find("survey/default.json"));
    if (!survey) return failure("embedded survey: " + survey.error());
    auto db = openStore(*cfg, StoreAccess::Write);
    if (!db) return db.error();
    const std::int64_t now = core::SystemClock().now().utcMs;
    constexpr std::size_t kChunk = 100'000;  // one transaction each; memory stays bounded
    long long written = 0;
    DemoGenerator gen(*cfg, *survey, *count, *days, now);
    auto key = storedContactKey(*db);
    if (!key) return failure("reading HQ's contact key: " + key.error().message);
    gen.setContactKey(*key);
    long long callbacks = 0;
    for (auto part = gen.next(kChunk); !part.empty(); part = gen.next(kChunk)) {
        const auto sealed = gen.takeSealed();
        if (auto saved = store::saveResponses(*db, part, sealed); !saved)
            return failure("demo-data stopped after " + std::to_string(written) + " responses: " + saved.error().message);
        written += static_cast<long long>(part.size());
        callbacks += static_cast<long long>(sealed.size());
    }
    std::cerr << "segue-kiosk: wrote " << written << " synthetic responses over " << *days << " days to "
              << cfg->databasePath().string() << "\n";
    if (*key)
        std::cerr << "segue-kiosk: " << callbacks << " of them ask for a callback (synthetic numbers, sealed with HQ's key)\n";
    return kExitOk;
}

// ---- set-pin -------------------------------------------------------------------------------

std::optional<std::string> readSecretLine(const char* prompt) {
    const bool tty = ::isatty(STDIN_FILENO) == 1;
    termios old{};
    if (tty) {
        std::cerr << prompt << std::flush;
        ::tcgetattr(STDIN_FILENO, &old);
        termios quiet = old;
        quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
        ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
    }
    std::string line;
    const bool ok = static_cast<bool>(std::getline(std::cin, line));
    if (tty) {
        ::tcsetattr(STDIN_FILENO, TCSANOW, &old);
        std::cerr << "\n";
    }
    if (!ok) return std::nullopt;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return line;
}

int runSetPin(const Args& a) {
    if (auto bad = onlyOptions(a, {})) return usage(*bad);
    auto cfg = configFor(a);
    if (!cfg) return cfg.error();
    const auto pin = readSecretLine("New staff PIN (6-8 digits; 4-5 accepted but weak): ");
    if (!pin) return usage("set-pin reads the PIN from standard input; none was given");
    if (!isValidPin(*pin))
        return usage("the PIN must be " + std::to_string(kPinMinDigits) + " to " + std::to_string(kPinMaxDigits) +
                     " digits");
    if (static_cast<int>(pin->size()) < kPinRecommendedDigits)
        std::cerr << "segue-kiosk: warning: a PIN of " << pin->size() << " digits is weak (anyone who copies "
                  << "kiosk.sqlite can try every one offline in minutes); use " << kPinRecommendedDigits << " to "
                  << kPinMaxDigits << " digits\n";
    if (::isatty(STDIN_FILENO) == 1) {
        const auto again = readSecretLine("Repeat the PIN: ");
        if (!again || *again != *pin) return usage("the two PINs differ; nothing was changed");
    }
    const auto hash = hashPin(*pin);
    if (!hash) return failure("cannot hash the PIN: " + hash.error());
    auto db = openStore(*cfg, StoreAccess::Write);
    if (!db) return db.error();
    const auto cleared = storeStaffPin(*db, *hash);
    if (!cleared) return failure(cleared.error());
    std::cerr << "segue-kiosk: staff PIN set (stored as an Argon2id hash)"
              << (*cleared ? "; the PIN pad's failed attempts and lock are cleared" : "") << "\n";
    return kExitOk;
}

// ---- sync ----------------------------------------------------------------------------------

int runSync(const Args& a) {
    if (auto bad = onlyOptions(a, {"--once", "--json"})) return usage(*bad);
    auto cfg = configFor(a, a.flags.count("--once") ? TokenUse::Sends : TokenUse::None);
    if (!cfg) return cfg.error();
    if (a.positional.empty()) {
        if (!a.flags.count("--once")) return usage("sync needs --once, or: sync status [--json]");
        if (cfg->sync.enabled && cfg->sync.token.empty())
            return usage("this terminal has no device token: enrol it (segue-kiosk enrol --code 1234-5678-9012) "
                         "or set [sync] token");
        return runSyncOnce(*cfg);
    }
    if (a.positional.size() == 1 && a.positional[0] == "status" && !a.flags.count("--once"))
        return runSyncStatus(*cfg, a.flags.count("--json") > 0);
    return usage("sync needs --once, or: sync status [--json]");
}

/// The data directory 0700 and its files 0600, as at the terminal's start. A command's
/// standard error belongs to its caller, so what changed goes to kiosk.log, as the terminal's
/// own lines do. A directory that cannot be made is left to the open to report.
void secureForCommand(const std::filesystem::path& dir) {
    const auto report = store::secureDataDir(dir);
    if (!report || (report->tightened.empty() && report->problems.empty())) return;
    std::ofstream log(dir / "kiosk.log", std::ios::app);
    const auto now = core::SystemClock().now();
    const std::time_t secs = static_cast<std::time_t>(now.utcMs / 1000);
    std::tm local{};
    localtime_r(&secs, &local);
    char stamp[40];
    std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &local);
    char zone[8];
    std::strftime(zone, sizeof zone, "%z", &local);
    char millis[8];
    std::snprintf(millis, sizeof millis, ".%03d", static_cast<int>(now.utcMs % 1000));
    for (const auto& change : report->tightened)
        log << stamp << millis << zone << " warning tightened permissions (group and others had access): "
            << store::describe(change) << " (segue-kiosk command)\n";
    for (const auto& problem : report->problems)
        log << stamp << millis << zone << " warning cannot tighten permissions: " << problem << " (segue-kiosk command)\n";
}

// ---- enrol / config ------------------------------------------------------------------------

int runEnrolVerb(const Args& a) {
    if (auto bad = onlyOptions(a, {"--code"})) return usage(*bad);
    const auto code = a.values.find("--code");
    if (code == a.values.end() || code->second.empty()) return usage("enrol needs --code 1234-5678-9012");
    auto cfg = configFor(a);
    if (!cfg) return cfg.error();
    return runEnrol(*cfg, code->second);
}


int runConfig(const Args& a) {
    if (auto bad = onlyOptions(a, {"--json"})) return usage(*bad);
    if (a.positional.size() != 1 || a.positional[0] != "status") return usage("config needs: config status [--json]");
    auto cfg = configFor(a);
    if (!cfg) return cfg.error();
    return runConfigStatus(*cfg, a.flags.count("--json") > 0);
}

} // namespace

std::string usageText() {
    return R"(segue-kiosk — the SEGUE customer-feedback terminal

Usage:
  segue-kiosk [--config FILE] [--data-dir DIR] [--window WxH] [--fullscreen]
        Run the terminal (window title "SEGUE Kiosk"). SIGTERM exits cleanly.
  segue-kiosk stats [--config FILE] [--data-dir DIR] [--date YYYY-MM-DD] [--json]
        The day's figures (store-local date, default today), as on the staff screen.
  segue-kiosk export [--data-dir DIR] [--from D] [--to D] --format csv|jsonl
        Every stored response (misuse and partial included) to standard output, UTF-8.
  segue-kiosk demo-data [--data-dir DIR] --count N [--days D]
        Add N synthetic responses spread over the last D days (default 30), marked synthetic.
  segue-kiosk set-pin [--config FILE] [--data-dir DIR]
        Set the staff PIN from standard input; only an Argon2id hash is kept. 6-8 digits;
        4-5 are accepted with a warning that they are weak.
  segue-kiosk sync --once [--config FILE]
        Send everything pending to HQ now. Exit 0 when nothing is left pending, 3 when HQ is
        offline or failed, 4 on a token or TLS configuration error.
  segue-kiosk sync status [--json] [--config FILE]
        Pending and rejected counts, age of the oldest pending response, last success and error.
  segue-kiosk enrol --code 1234-5678-9012 [--config FILE] [--data-dir DIR]
        Trade a one-time code from HQ (segue-hq device add --enrolment-code) for this terminal's
        identity at [sync] server_url; it is kept in the data directory (identity.json, mode
        0600), and [kiosk] store_id, device_id and [sync] token may then be left out (where
        given they must agree). Exit 0 enrolled, 4 code refused (or TLS), 3 HQ unreachable.
  segue-kiosk config status [--json] [--config FILE]
        The survey definition the terminal runs (id, version, from HQ or built-in), when it was
        fetched and applied, and why the last one HQ sent was refused, if it was.
  segue-kiosk --print-default-config | --help | --version

Every verb takes --config FILE and --data-dir DIR. Configuration is TOML; see
--print-default-config. The data directory defaults to $XDG_DATA_HOME/segue-kiosk
(or ~/.local/share/segue-kiosk) and holds kiosk.sqlite and kiosk.log. It is made mode 0700 and
those files 0600; wider ones are tightened at start (a line in kiosk.log says so).

A config file holding the sync token must be readable by its owner only: the terminal and
sync --once refuse (exit 2) one that group or others may read or write, and say the
chmod 600 FILE to run. --allow-insecure-config-permissions (any verb) lets them use it anyway.

Exit codes: 0 ok, 2 usage or configuration error, 1 other failure (one line on stderr).
)";
}

std::expected<store::Database, std::string> openForCommand(const std::filesystem::path& file, StoreAccess access) {
    const auto dir = file.parent_path().empty() ? std::filesystem::path(".") : file.parent_path();
    secureForCommand(dir);
    store::OpenOptions options;
    options.recoverCorrupt = false;
    options.check = access == StoreAccess::Write;
    auto db = store::Database::open(file, options);
    secureForCommand(dir);   // a -wal or -shm SQLite has just made
    if (db) return std::move(*db);
    std::string why = "cannot open " + file.string() + ": " + db.error().message;
    if (db.error().kind == store::ErrorKind::Corrupt)
        why += "; the terminal (segue-kiosk without a verb) moves a damaged database aside, never deleting it, "
               "and starts a fresh one the next time it starts";
    return std::unexpected(std::move(why));
}

int runCli(const std::vector<std::string>& argv) {
    // Everything the terminal and its verbs create (the data directory, kiosk.sqlite and its
    // -wal/-shm, kiosk.log) is for this user alone.
    ::umask(0077);
    const auto parsed = parseArgs(argv);
    if (!parsed) return usage(parsed.error().message);
    const Args& a = *parsed;
    if (a.flags.count("--help")) {
        std::cout << usageText();
        return kExitOk;
    }
    if (a.flags.count("--version")) {
        std::cout << "segue-kiosk " << kVersion << "\n";
        return kExitOk;
    }
    if (a.flags.count("--print-default-config")) {
        std::cout << defaultConfigText();
        return kExitOk;
    }
    if (a.verb.empty()) {
        if (auto bad = onlyOptions(a, {"--window", "--fullscreen"})) return usage(*bad);
        TerminalOptions opts;
        if (const auto w = a.values.find("--window"); w != a.values.end()) {
            int width = 0, height = 0;
            char tail = 0;
            if (std::sscanf(w->second.c_str(), "%dx%d%c", &width, &height, &tail) != 2 || width < 320 ||
                height < 240 || width > 16384 || height > 16384)
                return usage("--window must be WIDTHxHEIGHT, e.g. 1280x800");
            opts.width = width;
            opts.height = height;
        }
        opts.fullscreen = a.flags.count("--fullscreen") > 0;
        auto cfg = configFor(a, TokenUse::Sends);
        if (!cfg) return cfg.error();
        return runTerminal(*cfg, opts);
    }
    if (a.verb != "sync" && a.verb != "config" && !a.positional.empty())
        return usage("unexpected argument " + a.positional.front());
    if (a.verb == "stats") return runStats(a);
    if (a.verb == "export") return runExport(a);
    if (a.verb == "demo-data") return runDemoData(a);
    if (a.verb == "set-pin") return runSetPin(a);
    if (a.verb == "sync") return runSync(a);
    if (a.verb == "config") return runConfig(a);
    if (a.verb == "enrol") return runEnrolVerb(a);
    return usage("unknown command \"" + a.verb + "\"");
}

} // namespace segue::app
