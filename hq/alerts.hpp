// Alerts: the rules (evaluated against HQ's storage), the webhook that delivers them with
// retries and exponential backoff, and the background worker that runs both off the request path.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/scoring.hpp"
#include "core/time.hpp"
#include "hq/config.hpp"
#include "hq/storage.hpp"

namespace segue::hq {

inline constexpr const char* kRuleLowSatisfaction = "low_satisfaction";
inline constexpr const char* kRuleLowRatings = "low_ratings";
inline constexpr const char* kRuleSilentTerminal = "silent_terminal";
/// A callback case still open past its due time: one alert per case (hq/cases_api.hpp).
inline constexpr const char* kRuleCaseOverdue = "case_overdue";

/// Offset of HQ's calendar from UTC: the configured one, else the clock's (local time zone).
int calendarOffsetMin(const DashboardConfig& dashboard, const core::Now& now);

/// Raises the alerts whose rules fire now. Raising is idempotent per rule, subject and HQ day:
/// the storage's unique key refuses a second alert, so evaluating often costs nothing.
class AlertEngine {
public:
    AlertEngine(Storage& storage, const core::Clock& clock, AlertConfig alerts, DashboardConfig dashboard);

    /// The store rules (low satisfaction today, low ratings within the window) for one store.
    /// Returns how many alerts were newly raised.
    Result<int> evaluateStore(const std::string& storeId);
    /// Every rule: the store rules for every store, and the silent-terminal rule for every
    /// terminal that is not revoked.
    Result<int> evaluateAll();

private:
    Result<int> raise(NewAlert alert);
    /// The store rules for one store at `now`, given the store's tally of `today`.
    Result<int> evaluateStoreAt(const std::string& storeId, const core::Now& now, const std::string& today,
                                const core::Tally& todayTally);

    Storage& m_storage;
    const core::Clock& m_clock;
    AlertConfig m_alerts;
    DashboardConfig m_dashboard;
};

/// The JSON body POSTed for an alert: {"alert_id","key","rule","store_id","device_id","day",
/// "raised_at","message","details"}. Built from the stored row, so every retry sends the same.
nlohmann::json alertPayload(const Alert& alert);

/// The key a receiver can deduplicate by (also sent as the Idempotency-Key header).
std::string alertKey(const Alert& alert);

/// Delivers one alert body. Implementations never throw.
struct WebhookSender {
    virtual ~WebhookSender() = default;
    /// nullopt when the receiver answered 2xx; otherwise why the attempt failed.
    virtual std::optional<std::string> send(const std::string& body, const std::string& idempotencyKey) = 0;
};

/// POSTs to the configured URL over HTTPS with certificate and host name verification (a
/// private CA through webhook_ca_file), or plain HTTP to a loopback receiver.
class HttpWebhookSender final : public WebhookSender {
public:
    /// Precondition: parseWebhookUrl(url) succeeds (the config parser checked it).
    HttpWebhookSender(const std::string& url, std::optional<std::string> caFile);
    std::optional<std::string> send(const std::string& body, const std::string& idempotencyKey) override;

private:
    WebhookTarget m_target;
    std::optional<std::string> m_caFile;
};

/// Attempts due alerts once each and records the outcome: delivered, or pending again after
/// retry_initial_s × 2^(attempts−1) (at most retry_max_s), or failed after max_attempts.
class AlertDelivery {
public:
    AlertDelivery(Storage& storage, const core::Clock& clock, AlertConfig alerts, WebhookSender& sender);

    /// Attempts every alert due now. Returns how many were delivered by this call.
    Result<int> deliverDue();
    /// Wall time of the earliest pending attempt, or nullopt when nothing is pending.
    Result<std::optional<std::int64_t>> nextAttemptAt();

    /// The delay before attempt `attempts + 1`, after `attempts` failed ones (≥ 1).
    std::int64_t retryDelayMs(int attempts) const;

private:
    Storage& m_storage;
    const core::Clock& m_clock;
    AlertConfig m_alerts;
    WebhookSender& m_sender;
};

/// The background thread: evaluates the store rules when a store received responses, every
/// rule on a timer, and delivers due alerts. It has its own storage connection, so neither
/// evaluation nor a slow webhook ever holds up ingest.
class AlertWorker {
public:
    AlertWorker(std::unique_ptr<Storage> storage, const core::Clock& clock, HqConfig config,
                std::unique_ptr<WebhookSender> sender);
    ~AlertWorker();
    AlertWorker(const AlertWorker&) = delete;
    AlertWorker& operator=(const AlertWorker&) = delete;

    void start();
    /// Finishes the attempt in progress, then joins. Idempotent.
    void stop();
    /// Called after an ingest stored responses for `storeId`; returns at once.
    void storeChanged(const std::string& storeId);

private:
    void run();

    std::unique_ptr<Storage> m_storage;
    const core::Clock& m_clock;
    HqConfig m_config;
    std::unique_ptr<WebhookSender> m_sender;
    AlertEngine m_engine;
    AlertDelivery m_delivery;

    std::mutex m_mutex;
    std::condition_variable m_wake;
    std::set<std::string> m_changed;
    bool m_stop = false;
    std::thread m_thread;
};

} // namespace segue::hq
