// segue-hq's configuration file (TOML, `serve --config FILE`): the dashboard's target and
// time zone, the alert rules with their webhook, and how long raw responses are kept.
#pragma once
#include <cstdint>
#include <expected>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace segue::hq {

/// What the dashboard and the fleet view judge against.
struct DashboardConfig {
    double targetCsat = 0.9;                     ///< share of 4–5 stars a store should reach
    /// Offset of HQ's calendar ("today", alert days) from UTC in minutes; nullopt: the
    /// machine's local time zone.
    std::optional<int> utcOffsetMin;
    double silentAfterHours = 24;                ///< a terminal not heard from this long stands out
    std::int64_t maxClockOffsetMs = 120'000;     ///< a terminal clock further off stands out
};

/// A store's satisfaction today below `threshold` once it has at least `minResponses`.
struct LowSatisfactionRule {
    double threshold = 0.8;
    std::int64_t minResponses = 20;
};

/// `count` ratings of 1..maxStars within `windowMinutes` at one store.
struct LowRatingsRule {
    std::int64_t count = 3;
    std::int64_t windowMinutes = 60;
    int maxStars = 2;
};

/// A terminal not heard from for `hours`.
struct SilentTerminalRule {
    double hours = 24;
};

/// A callback case still open past its due time (one alert per case).
struct CaseOverdueRule {};

struct AlertConfig {
    std::optional<LowSatisfactionRule> lowSatisfaction;   ///< absent: the rule is off
    std::optional<LowRatingsRule> lowRatings;
    std::optional<SilentTerminalRule> silentTerminal;
    std::optional<CaseOverdueRule> caseOverdue;
    std::string webhookUrl;                  ///< https://…, or http:// to a loopback host only
    std::optional<std::string> webhookCaFile;  ///< PEM bundle for a private CA (else the system's)
    double evaluateEverySeconds = 60;        ///< the periodic evaluation (ingest also evaluates)
    int maxAttempts = 10;                    ///< delivery attempts before an alert is marked failed
    double retryInitialSeconds = 1;          ///< first retry delay; doubles per attempt
    double retryMaxSeconds = 300;            ///< the delay never exceeds this

    bool anyRule() const { return lowSatisfaction || lowRatings || silentTerminal || caseOverdue; }
};

/// Callback cases ([cases]).
struct CaseConfig {
    double slaHours = 24;                    ///< a case is due this long after its response
    int contactRetentionDays = 30;           ///< a closed case's sealed number is erased after this
    /// The root causes a resolved case may name.
    std::vector<std::string> rootCauses = {"wait_time", "staff_attitude", "product_quality", "not_solved",
                                           "price", "environment", "other"};

    std::int64_t slaMs() const { return static_cast<std::int64_t>(slaHours * 3600 * 1000); }
};

/// How long raw responses are kept (PostgreSQL's month partitions; SQLite keeps all).
struct RetentionConfig {
    /// Whole month partitions more than this many months before the current month are dropped
    /// in the daily pass; the day sums stay. nullopt: keep everything.
    std::optional<int> responsesMonths;
};

struct HqConfig {
    DashboardConfig dashboard;
    AlertConfig alerts;
    RetentionConfig retention;
    CaseConfig cases;
};

/// The parts of a webhook URL the sender needs.
struct WebhookTarget {
    bool https = true;
    std::string host;
    int port = 443;
    std::string path;   ///< with the query, "/" when none
};

/// Parses a webhook URL: https with any host, http only to 127.0.0.0/8, ::1 or localhost (a
/// receiver on the same machine). The error says why a URL is refused.
std::expected<WebhookTarget, std::string> parseWebhookUrl(std::string_view url);

/// Parses the TOML text. Unknown sections or keys, wrong types and out-of-range values are
/// errors naming the key, so a typo never silently turns a rule off.
std::expected<HqConfig, std::string> parseConfig(std::string_view toml);

/// Reads and parses FILE; the error names the file.
std::expected<HqConfig, std::string> loadConfig(const std::filesystem::path& file);

} // namespace segue::hq
