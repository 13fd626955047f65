#include "hq/config.hpp"

#include <cctype>
#include <fstream>
#include <set>
#include <sstream>

#include <toml++/toml.h>

namespace segue::hq {
namespace {

using Error = std::unexpected<std::string>;

/// Refuses keys of `table` not in `known`.
std::optional<std::string> unknownKey(const toml::table& table, const std::string& where,
                                      const std::set<std::string>& known) {
    for (const auto& [key, value] : table) {
        (void)value;
        if (!known.contains(std::string(key.str())))
            return "unknown key " + where + (where.empty() ? "" : ".") + std::string(key.str());
    }
    return std::nullopt;
}

/// A number (integer or float) in [min, max], or the default when absent.
std::expected<double, std::string> number(const toml::table& t, const std::string& where, const char* key, double def,
                                          double min, double max) {
    const toml::node* n = t.get(key);
    if (!n) return def;
    double v = 0;
    if (const auto i = n->value_exact<std::int64_t>()) v = static_cast<double>(*i);
    else if (const auto d = n->value_exact<double>()) v = *d;
    else return Error(where + "." + key + " must be a number");
    if (!(v >= min && v <= max))
        return Error(where + "." + key + " must be between " + std::to_string(min) + " and " + std::to_string(max));
    return v;
}

std::expected<std::int64_t, std::string> integer(const toml::table& t, const std::string& where, const char* key,
                                                 std::int64_t def, std::int64_t min, std::int64_t max) {
    const toml::node* n = t.get(key);
    if (!n) return def;
    const auto v = n->value_exact<std::int64_t>();
    if (!v) return Error(where + "." + key + " must be an integer");
    if (*v < min || *v > max)
        return Error(where + "." + key + " must be between " + std::to_string(min) + " and " + std::to_string(max));
    return *v;
}

std::expected<const toml::table*, std::string> section(const toml::table& t, const std::string& where, const char* key) {
    const toml::node* n = t.get(key);
    if (!n) return nullptr;
    if (!n->is_table()) return Error(where + (where.empty() ? "" : ".") + key + " must be a table");
    return n->as_table();
}

bool loopbackHost(const std::string& host) {
    if (host == "localhost" || host == "::1") return true;
    // 127.0.0.0/8 written as a dotted quad.
    if (!host.starts_with("127.")) return false;
    int dots = 0;
    for (const char c : host) {
        if (c == '.') ++dots;
        else if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    }
    return dots == 3;
}

#define TRY(var, expr)                                   \
    auto var##_r = (expr);                               \
    if (!var##_r) return Error(var##_r.error());         \
    const auto var = *var##_r

} // namespace

std::expected<WebhookTarget, std::string> parseWebhookUrl(std::string_view url) {
    WebhookTarget t;
    std::string_view rest;
    if (url.starts_with("https://")) {
        t.https = true;
        t.port = 443;
        rest = url.substr(8);
    } else if (url.starts_with("http://")) {
        t.https = false;
        t.port = 80;
        rest = url.substr(7);
    } else {
        return Error("the webhook URL must start with https:// (or http:// to a loopback host)");
    }
    const auto slash = rest.find_first_of("/?#");
    std::string_view authority = rest.substr(0, slash);
    t.path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
    if (t.path.starts_with("?")) t.path = "/" + t.path;
    if (const auto hash = t.path.find('#'); hash != std::string::npos) t.path.erase(hash);
    if (authority.find('@') != std::string_view::npos)
        return Error("the webhook URL must not carry user:password@ (put a secret in the path instead)");
    std::string_view portText;
    if (authority.starts_with("[")) {
        const auto close = authority.find(']');
        if (close == std::string_view::npos) return Error("the webhook URL has an unclosed [IPv6] host");
        t.host = std::string(authority.substr(1, close - 1));
        if (close + 1 < authority.size()) {
            if (authority[close + 1] != ':') return Error("the webhook URL has junk after the [IPv6] host");
            portText = authority.substr(close + 2);
        }
    } else {
        const auto colon = authority.rfind(':');
        t.host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos) portText = authority.substr(colon + 1);
    }
    if (t.host.empty()) return Error("the webhook URL has no host");
    for (const char c : t.host)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':'))
            return Error("the webhook URL's host has a character that is not allowed");
    if (!portText.empty() || (authority.size() && authority.back() == ':')) {
        if (portText.empty() || portText.size() > 5) return Error("the webhook URL's port must be 1..65535");
        int p = 0;
        for (const char c : portText) {
            if (!std::isdigit(static_cast<unsigned char>(c))) return Error("the webhook URL's port must be 1..65535");
            p = p * 10 + (c - '0');
        }
        if (p < 1 || p > 65535) return Error("the webhook URL's port must be 1..65535");
        t.port = p;
    }
    if (!t.https && !loopbackHost(t.host))
        return Error("plain http:// webhooks are allowed only to a loopback host (127.0.0.1, ::1, localhost); use https://");
    return t;
}

std::expected<HqConfig, std::string> parseConfig(std::string_view text) {
    toml::table root;
    try {
        root = toml::parse(text);
    } catch (const toml::parse_error& e) {
        std::ostringstream where;
        where << e.source().begin;
        return Error("TOML syntax error at " + where.str() + ": " + std::string(e.description()));
    }
    if (auto bad = unknownKey(root, "", {"dashboard", "alerts", "retention", "cases"})) return Error(*bad);
    HqConfig c;

    TRY(retention, section(root, "", "retention"));
    if (retention) {
        if (auto bad = unknownKey(*retention, "retention", {"responses_months"})) return Error(*bad);
        if (retention->contains("responses_months")) {
            TRY(months, integer(*retention, "retention", "responses_months", 0, 1, 1200));
            c.retention.responsesMonths = static_cast<int>(months);
        }
    }

    TRY(cases, section(root, "", "cases"));
    if (cases) {
        if (auto bad = unknownKey(*cases, "cases", {"sla_hours", "contact_retention_days", "root_causes"}))
            return Error(*bad);
        TRY(sla, number(*cases, "cases", "sla_hours", 24, 0.01, 24 * 365));
        c.cases.slaHours = sla;
        TRY(keep, integer(*cases, "cases", "contact_retention_days", 30, 1, 3650));
        c.cases.contactRetentionDays = static_cast<int>(keep);
        if (const toml::node* list = cases->get("root_causes")) {
            const toml::array* a = list->as_array();
            if (!a || a->empty()) return Error("cases.root_causes must be a non-empty array of strings");
            c.cases.rootCauses.clear();
            for (const auto& item : *a) {
                const auto name = item.value_exact<std::string>();
                if (!name || name->empty() || name->size() > 64)
                    return Error("cases.root_causes must hold strings of 1-64 characters");
                c.cases.rootCauses.push_back(*name);
            }
        }
    }

    TRY(dash, section(root, "", "dashboard"));
    if (dash) {
        if (auto bad = unknownKey(*dash, "dashboard", {"target_csat", "utc_offset_min", "silent_after_hours", "max_clock_offset_s"}))
            return Error(*bad);
        TRY(target, number(*dash, "dashboard", "target_csat", 0.9, 0.0, 1.0));
        c.dashboard.targetCsat = target;
        if (dash->contains("utc_offset_min")) {
            TRY(offset, integer(*dash, "dashboard", "utc_offset_min", 0, -14 * 60, 14 * 60));
            c.dashboard.utcOffsetMin = static_cast<int>(offset);
        }
        TRY(silent, number(*dash, "dashboard", "silent_after_hours", 24, 0.01, 24 * 365));
        c.dashboard.silentAfterHours = silent;
        TRY(skew, number(*dash, "dashboard", "max_clock_offset_s", 120, 1, 86'400));
        c.dashboard.maxClockOffsetMs = static_cast<std::int64_t>(skew * 1000);
    }

    TRY(alerts, section(root, "", "alerts"));
    if (!alerts) return c;
    if (auto bad = unknownKey(*alerts, "alerts",
                              {"webhook_url", "webhook_ca_file", "evaluate_every_s", "max_attempts", "retry_initial_s",
                               "retry_max_s", "low_satisfaction", "low_ratings", "silent_terminal", "case_overdue"}))
        return Error(*bad);
    AlertConfig& a = c.alerts;
    TRY(every, number(*alerts, "alerts", "evaluate_every_s", 60, 0.05, 86'400));
    a.evaluateEverySeconds = every;
    TRY(attempts, integer(*alerts, "alerts", "max_attempts", 10, 1, 1000));
    a.maxAttempts = static_cast<int>(attempts);
    TRY(initial, number(*alerts, "alerts", "retry_initial_s", 1, 0.01, 3600));
    a.retryInitialSeconds = initial;
    TRY(maxDelay, number(*alerts, "alerts", "retry_max_s", 300, 0.01, 86'400));
    a.retryMaxSeconds = maxDelay;
    if (a.retryMaxSeconds < a.retryInitialSeconds) return Error("alerts.retry_max_s must be >= alerts.retry_initial_s");

    TRY(low, section(*alerts, "alerts", "low_satisfaction"));
    if (low) {
        if (auto bad = unknownKey(*low, "alerts.low_satisfaction", {"threshold", "min_responses"})) return Error(*bad);
        LowSatisfactionRule r;
        TRY(threshold, number(*low, "alerts.low_satisfaction", "threshold", 0.8, 0.0, 1.0));
        TRY(minResponses, integer(*low, "alerts.low_satisfaction", "min_responses", 20, 1, 1'000'000));
        r.threshold = threshold;
        r.minResponses = minResponses;
        a.lowSatisfaction = r;
    }
    TRY(ratings, section(*alerts, "alerts", "low_ratings"));
    if (ratings) {
        if (auto bad = unknownKey(*ratings, "alerts.low_ratings", {"count", "window_min", "max_stars"})) return Error(*bad);
        LowRatingsRule r;
        TRY(count, integer(*ratings, "alerts.low_ratings", "count", 3, 1, 100'000));
        TRY(window, integer(*ratings, "alerts.low_ratings", "window_min", 60, 1, 24 * 60));
        TRY(maxStars, integer(*ratings, "alerts.low_ratings", "max_stars", 2, 1, 4));
        r.count = count;
        r.windowMinutes = window;
        r.maxStars = static_cast<int>(maxStars);
        a.lowRatings = r;
    }
    TRY(silent, section(*alerts, "alerts", "silent_terminal"));
    if (silent) {
        if (auto bad = unknownKey(*silent, "alerts.silent_terminal", {"hours"})) return Error(*bad);
        SilentTerminalRule r;
        TRY(hours, number(*silent, "alerts.silent_terminal", "hours", 24, 0.01, 24 * 365));
        r.hours = hours;
        a.silentTerminal = r;
    }

    TRY(overdue, section(*alerts, "alerts", "case_overdue"));
    if (overdue) {
        if (auto bad = unknownKey(*overdue, "alerts.case_overdue", {})) return Error(*bad);
        a.caseOverdue = CaseOverdueRule{};
    }

    if (const toml::node* url = alerts->get("webhook_url")) {
        const auto s = url->value_exact<std::string>();
        if (!s) return Error("alerts.webhook_url must be a string");
        if (auto t = parseWebhookUrl(*s); !t) return Error("alerts.webhook_url: " + t.error());
        a.webhookUrl = *s;
    }
    if (const toml::node* ca = alerts->get("webhook_ca_file")) {
        const auto s = ca->value_exact<std::string>();
        if (!s || s->empty()) return Error("alerts.webhook_ca_file must be a file name");
        a.webhookCaFile = *s;
    }
    if (a.anyRule() && a.webhookUrl.empty())
        return Error("alerts.webhook_url is required when an alert rule is configured");
    return c;
}

std::expected<HqConfig, std::string> loadConfig(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return Error("cannot read config " + file.string());
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) return Error("cannot read config " + file.string());
    auto c = parseConfig(text.str());
    if (!c) return Error(file.string() + ": " + c.error());
    return c;
}

} // namespace segue::hq
