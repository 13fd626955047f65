#include "hq/alerts.hpp"

#include "hq/cases_api.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>

#include <httplib.h>
#include <spdlog/spdlog.h>

#include "core/scoring.hpp"

namespace segue::hq {
namespace {

constexpr int kDeliveryBatch = 100;
constexpr std::size_t kMaxErrorText = 300;
// How long a claimed delivery attempt is this node's: longer than a webhook request can take
// (5 s connect + 10 s write + 10 s read). If the node dies mid-attempt, another one retries after it.
constexpr std::int64_t kDeliveryLeaseMs = 120'000;

std::string percent(double fraction) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f%%", fraction * 100.0);
    return buf;
}

std::string hoursText(double hours) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", hours);
    return buf;
}

} // namespace

int calendarOffsetMin(const DashboardConfig& dashboard, const core::Now& now) {
    return dashboard.utcOffsetMin.value_or(now.utcOffsetMin);
}

AlertEngine::AlertEngine(Storage& storage, const core::Clock& clock, AlertConfig alerts, DashboardConfig dashboard)
    : m_storage(storage), m_clock(clock), m_alerts(std::move(alerts)), m_dashboard(dashboard) {}

Result<int> AlertEngine::raise(NewAlert alert) {
    auto fresh = m_storage.raiseAlert(alert);
    if (!fresh) return std::unexpected(fresh.error());
    if (*fresh) spdlog::info("alert raised: {} {} {}: {}", alert.rule, alert.subject, alert.day, alert.message);
    return *fresh ? 1 : 0;
}

Result<int> AlertEngine::evaluateStore(const std::string& storeId) {
    const core::Now now = m_clock.now();
    const std::string today = core::localDate(now.utcMs, calendarOffsetMin(m_dashboard, now));
    core::Tally t;
    if (m_alerts.lowSatisfaction) {
        auto tallies = m_storage.dailyTallies(storeId, today, today);
        if (!tallies) return std::unexpected(tallies.error());
        for (const auto& [date, day] : *tallies) t.merge(day);
    }
    return evaluateStoreAt(storeId, now, today, t);
}

Result<int> AlertEngine::evaluateStoreAt(const std::string& storeId, const core::Now& now, const std::string& today,
                                         const core::Tally& todayTally) {
    int raised = 0;
    if (const auto& rule = m_alerts.lowSatisfaction) {
        const core::DayStats s = core::summarize(todayTally, today);
        if (s.responses >= rule->minResponses && s.csat && *s.csat < rule->threshold) {
            NewAlert a;
            a.rule = kRuleLowSatisfaction;
            a.subject = storeId;
            a.storeId = storeId;
            a.day = today;
            a.raisedAtMs = now.utcMs;
            a.message = "Store " + storeId + ": satisfaction today is " + percent(*s.csat) + " over " +
                        std::to_string(s.responses) + " responses, below the " + percent(rule->threshold) + " threshold";
            a.details = nlohmann::json{{"csat", *s.csat},
                                       {"mean_stars", s.meanStars ? nlohmann::json(*s.meanStars) : nlohmann::json()},
                                       {"responses", s.responses},
                                       {"threshold", rule->threshold},
                                       {"min_responses", rule->minResponses},
                                       {"date", today}}
                            .dump();
            auto r = raise(std::move(a));
            if (!r) return r;
            raised += *r;
        }
    }
    if (const auto& rule = m_alerts.lowRatings) {
        const std::int64_t windowMs = rule->windowMinutes * 60'000;
        auto n = m_storage.countRatings(storeId, now.utcMs - windowMs, now.utcMs, rule->maxStars);
        if (!n) return std::unexpected(n.error());
        if (*n >= rule->count) {
            NewAlert a;
            a.rule = kRuleLowRatings;
            a.subject = storeId;
            a.storeId = storeId;
            a.day = today;
            a.raisedAtMs = now.utcMs;
            a.message = "Store " + storeId + ": " + std::to_string(*n) + " ratings of 1-" + std::to_string(rule->maxStars) +
                        " stars within " + std::to_string(rule->windowMinutes) + " minutes";
            a.details = nlohmann::json{{"ratings", *n},
                                       {"count", rule->count},
                                       {"window_min", rule->windowMinutes},
                                       {"max_stars", rule->maxStars}}
                            .dump();
            auto r = raise(std::move(a));
            if (!r) return r;
            raised += *r;
        }
    }
    return raised;
}

Result<int> AlertEngine::evaluateAll() {
    int raised = 0;
    if (m_alerts.caseOverdue) {
        auto r = raiseOverdueAlerts(m_storage, m_clock.now().utcMs);
        if (!r) return r;
        raised += *r;
    }
    if (m_alerts.lowSatisfaction || m_alerts.lowRatings) {
        auto stores = m_storage.listStores();
        if (!stores) return std::unexpected(stores.error());
        const core::Now now = m_clock.now();
        const std::string today = core::localDate(now.utcMs, calendarOffsetMin(m_dashboard, now));
        // Today's sums of every store in one read, not one per store.
        std::map<std::string, DayTallies> tallies;
        if (m_alerts.lowSatisfaction) {
            auto all = m_storage.dailyTalliesAll(today, today);
            if (!all) return std::unexpected(all.error());
            tallies = std::move(*all);
        }
        for (const auto& s : *stores) {
            core::Tally t;
            if (const auto it = tallies.find(s); it != tallies.end())
                for (const auto& [date, day] : it->second) t.merge(day);
            auto r = evaluateStoreAt(s, now, today, t);
            if (!r) return r;
            raised += *r;
        }
    }
    if (const auto& rule = m_alerts.silentTerminal) {
        const core::Now now = m_clock.now();
        const std::string today = core::localDate(now.utcMs, calendarOffsetMin(m_dashboard, now));
        const auto limitMs = static_cast<std::int64_t>(std::llround(rule->hours * 3'600'000.0));
        auto devices = m_storage.listDevices();
        if (!devices) return std::unexpected(devices.error());
        for (const auto& d : *devices) {
            if (d.revoked) continue;
            // A terminal never heard from counts from its enrolment.
            const std::int64_t since = d.lastSeenMs.value_or(d.createdAtMs);
            const std::int64_t silentMs = now.utcMs - since;
            if (silentMs <= limitMs) continue;
            NewAlert a;
            a.rule = kRuleSilentTerminal;
            a.subject = d.id;
            a.storeId = d.storeId;
            a.deviceId = d.id;
            a.day = today;
            a.raisedAtMs = now.utcMs;
            const double silentHours = static_cast<double>(silentMs) / 3'600'000.0;
            a.message = "Terminal " + d.name + " (" + d.id + ") at store " + d.storeId + " has not been heard from for " +
                        hoursText(silentHours) + " hours" + (d.lastSeenMs ? "" : " (never since enrolment)");
            a.details = nlohmann::json{{"last_seen", d.lastSeenMs ? nlohmann::json(core::formatUtc(*d.lastSeenMs))
                                                                  : nlohmann::json()},
                                       {"silent_hours", silentHours},
                                       {"hours", rule->hours},
                                       {"device_name", d.name}}
                            .dump();
            auto r = raise(std::move(a));
            if (!r) return r;
            raised += *r;
        }
    }
    return raised;
}

std::string alertKey(const Alert& alert) { return alert.rule + ":" + alert.subject + ":" + alert.day; }

nlohmann::json alertPayload(const Alert& a) {
    auto details = nlohmann::json::parse(a.details, nullptr, false);
    if (details.is_discarded()) details = nlohmann::json::object();
    return {{"alert_id", a.id},
            {"key", alertKey(a)},
            {"rule", a.rule},
            {"store_id", a.storeId},
            {"device_id", a.deviceId ? nlohmann::json(*a.deviceId) : nlohmann::json()},
            {"day", a.day},
            {"raised_at", core::formatUtc(a.raisedAtMs)},
            {"message", a.message},
            {"details", std::move(details)}};
}

HttpWebhookSender::HttpWebhookSender(const std::string& url, std::optional<std::string> caFile)
    : m_target(parseWebhookUrl(url).value_or(WebhookTarget{})), m_caFile(std::move(caFile)) {}

std::optional<std::string> HttpWebhookSender::send(const std::string& body, const std::string& idempotencyKey) {
    if (m_target.host.empty()) return "the webhook URL is invalid";
    std::unique_ptr<httplib::ClientImpl> client;
    if (m_target.https) {
        auto tls = std::make_unique<httplib::SSLClient>(m_target.host, m_target.port);
        tls->enable_server_certificate_verification(true);
        if (m_caFile) tls->set_ca_cert_path(m_caFile->c_str());
        client = std::move(tls);
    } else {
        client = std::make_unique<httplib::ClientImpl>(m_target.host, m_target.port);
    }
    client->set_connection_timeout(5, 0);
    client->set_read_timeout(10, 0);
    client->set_write_timeout(10, 0);
    const httplib::Headers headers = {{"Idempotency-Key", idempotencyKey}, {"User-Agent", "segue-hq"}};
    auto res = client->Post(m_target.path.c_str(), headers, body, "application/json");
    if (!res) {
        std::string why = "no reply: " + httplib::to_string(res.error());
        if (m_target.https) {
            if (const long v = static_cast<httplib::SSLClient*>(client.get())->get_openssl_verify_result(); v != 0)
                why += " (certificate: " + std::string(X509_verify_cert_error_string(v)) + ")";
        }
        return why;
    }
    if (res->status >= 200 && res->status < 300) return std::nullopt;
    std::string excerpt = res->body.substr(0, 120);
    for (char& c : excerpt)
        if (static_cast<unsigned char>(c) < 0x20) c = ' ';
    return "HTTP " + std::to_string(res->status) + (excerpt.empty() ? "" : ": " + excerpt);
}

AlertDelivery::AlertDelivery(Storage& storage, const core::Clock& clock, AlertConfig alerts, WebhookSender& sender)
    : m_storage(storage), m_clock(clock), m_alerts(std::move(alerts)), m_sender(sender) {}

std::int64_t AlertDelivery::retryDelayMs(int attempts) const {
    const double initial = m_alerts.retryInitialSeconds * 1000.0;
    const double cap = m_alerts.retryMaxSeconds * 1000.0;
    const double delay = initial * std::pow(2.0, std::min(attempts - 1, 40));
    return static_cast<std::int64_t>(std::llround(std::min(delay, cap)));
}

Result<int> AlertDelivery::deliverDue() {
    int delivered = 0;
    auto due = m_storage.dueAlerts(m_clock.now().utcMs, kDeliveryBatch);
    if (!due) return std::unexpected(due.error());
    for (const auto& a : *due) {
        // Another segue-hq on the same database may have read the same due alert: one claims it.
        auto claimed = m_storage.claimAlert(a.id, a.nextAttemptAtMs, m_clock.now().utcMs + kDeliveryLeaseMs);
        if (!claimed) return std::unexpected(claimed.error());
        if (!*claimed) continue;
        const auto failure = m_sender.send(alertPayload(a).dump(), alertKey(a));
        const core::Now now = m_clock.now();
        const int attempts = a.attempts + 1;
        Result<void> saved;
        if (!failure) {
            saved = m_storage.updateAlert(a.id, AlertState::Delivered, attempts, now.utcMs, now.utcMs, "");
            ++delivered;
            spdlog::info("alert {} delivered ({} attempt{})", alertKey(a), attempts, attempts == 1 ? "" : "s");
        } else {
            const std::string error = failure->substr(0, kMaxErrorText);
            const bool giveUp = attempts >= m_alerts.maxAttempts;
            saved = m_storage.updateAlert(a.id, giveUp ? AlertState::Failed : AlertState::Pending, attempts,
                                          now.utcMs + (giveUp ? 0 : retryDelayMs(attempts)), std::nullopt, error);
            spdlog::warn("alert {}: webhook attempt {} failed: {}{}", alertKey(a), attempts, error,
                         giveUp ? "; giving up" : "");
        }
        if (!saved) return std::unexpected(saved.error());
    }
    return delivered;
}

Result<std::optional<std::int64_t>> AlertDelivery::nextAttemptAt() {
    auto next = m_storage.dueAlerts(std::numeric_limits<std::int64_t>::max(), 1);
    if (!next) return std::unexpected(next.error());
    if (next->empty()) return std::optional<std::int64_t>();
    return std::optional<std::int64_t>(next->front().nextAttemptAtMs);
}

AlertWorker::AlertWorker(std::unique_ptr<Storage> storage, const core::Clock& clock, HqConfig config,
                         std::unique_ptr<WebhookSender> sender)
    : m_storage(std::move(storage)),
      m_clock(clock),
      m_config(std::move(config)),
      m_sender(std::move(sender)),
      m_engine(*m_storage, clock, m_config.alerts, m_config.dashboard),
      m_delivery(*m_storage, clock, m_config.alerts, *m_sender) {}

AlertWorker::~AlertWorker() { stop(); }

void AlertWorker::start() {
    if (m_thread.joinable()) return;
    m_thread = std::thread([this] { run(); });
}

void AlertWorker::stop() {
    {
        std::lock_guard lock(m_mutex);
        m_stop = true;
    }
    m_wake.notify_all();
    if (m_thread.joinable()) m_thread.join();
}

void AlertWorker::storeChanged(const std::string& storeId) {
    {
        std::lock_guard lock(m_mutex);
        m_changed.insert(storeId);
    }
    m_wake.notify_all();
}

void AlertWorker::run() {
    const auto everyMs = static_cast<std::int64_t>(m_config.alerts.evaluateEverySeconds * 1000.0);
    std::int64_t nextEvaluationMono = m_clock.now().monoMs;   // at once on start
    std::unique_lock lock(m_mutex);
    while (!m_stop) {
        std::set<std::string> changed;
        changed.swap(m_changed);
        lock.unlock();

        for (const auto& store : changed)
            if (auto r = m_engine.evaluateStore(store); !r)
                spdlog::error("alert rules for store {}: {}", store, r.error().message);
        if (m_clock.now().monoMs >= nextEvaluationMono) {
            if (auto r = m_engine.evaluateAll(); !r) spdlog::error("alert rules: {}", r.error().message);
            nextEvaluationMono = m_clock.now().monoMs + everyMs;
        }
        if (auto r = m_delivery.deliverDue(); !r) spdlog::error("alert delivery: {}", r.error().message);

        const core::Now now = m_clock.now();
        std::int64_t waitMs = std::max<std::int64_t>(0, nextEvaluationMono - now.monoMs);
        if (auto next = m_delivery.nextAttemptAt(); next && *next)
            waitMs = std::min(waitMs, std::max<std::int64_t>(0, **next - now.utcMs));
        waitMs = std::clamp<std::int64_t>(waitMs, 10, everyMs);

        lock.lock();
        m_wake.wait_for(lock, std::chrono::milliseconds(waitMs), [this] { return m_stop || !m_changed.empty(); });
    }
}

} // namespace segue::hq
