// The callback cases API: list and read cases, open a case's sealed number (session users only,
// every opening in the audit log), move a case, the 24-hour figure, and the complaint analysis
// (reason counts against the previous period, root causes of resolved cases). Every read is
// limited to the caller's scope; a case outside it is "not found".
#pragma once
#include <cstdint>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/time.hpp"
#include "hq/auth.hpp"
#include "hq/cases.hpp"
#include "hq/config.hpp"
#include "hq/contact_key.hpp"
#include "hq/people_api.hpp"
#include "hq/storage.hpp"

namespace segue::hq {

/// The share of cases the service-level plan wants handled within the SLA.
inline constexpr double kCaseSlaTarget = 0.8;

/// A request's query parameter, or nullopt when absent.
using ParamFn = std::function<std::optional<std::string>(const char*)>;

/// When a request is handled: HQ's time and its calendar.
struct CaseNow {
    std::int64_t utcMs = 0;
    std::string today;          ///< HQ's calendar date
    int calendarOffsetMin = 0;  ///< HQ's calendar offset from UTC
};

class CasesApi {
public:
    /// Without `key` no number can be opened (503 contact_key_missing).
    CasesApi(Storage& storage, CaseConfig config, std::optional<ContactKey> key);

    /// GET /api/v1/cases?status=open|overdue|closed|all&store=&region=&from=&to= →
    /// {"cases":[caseJson…],"sla_hours","root_causes":[…]}. No phone numbers.
    ApiResult list(const Principal& p, const ParamFn& param, const CaseNow& now);
    /// GET /api/v1/cases/{id} → caseJson plus "history":[{"at","by","from","to","note","root_cause"}].
    ApiResult get(const Principal& p, const std::string& id, const CaseNow& now);
    /// POST /api/v1/cases/{id}/contact → {"phone"}; 403 for a read token, 410 contact_erased.
    ApiResult contact(const Principal& p, const std::string& id, const std::string& address, const CaseNow& now);
    /// POST /api/v1/cases/{id} {"status","note","root_cause"?} → caseJson; 409 when the case
    /// moved meanwhile.
    ApiResult move(const Principal& p, const std::string& id, const std::string& body, const std::string& address,
                   const CaseNow& now);
    /// GET /api/v1/cases/summary?from=&to=&period=&store=&region= → {"from","to","requests",
    /// "contacted_within_sla","share_within_sla","median_hours_to_contact","open","overdue",
    /// "target_share","sla_hours"}.
    ApiResult summary(const Principal& p, const ParamFn& param, const CaseNow& now);
    /// GET /api/v1/reasons?from=&to=&period=&store=&region= → {"from","to","previous":{"from","to"},
    /// "low_ratings","previous_low_ratings","reasons":[{"tag","count","previous","share","cumulative_share"}]
    /// (by count, descending),"root_causes":[{"root_cause","count"}]}.
    ApiResult reasons(const Principal& p, const ParamFn& param, const CaseNow& now);

private:
    /// The case `id` when it exists and lies in the caller's scope; 404 otherwise.
    std::expected<Case, ApiError> caseInScope(const Principal& p, const std::string& id);
    /// The store/region filters of a request within the caller's scope (400 on a bad id).
    std::expected<CaseFilter, ApiError> placeFilter(const Principal& p, const ParamFn& param);

    Storage& m_storage;
    CaseConfig m_config;
    std::optional<ContactKey> m_key;
};

/// Raises one "case_overdue" alert per case still open past its due time (the alerts table's
/// unique key on rule, subject and day keeps it to one per case across nodes and restarts); how
/// many were new.
Result<int> raiseOverdueAlerts(Storage& storage, std::int64_t nowMs);
/// Erases the sealed numbers of cases closed more than contact_retention_days before `nowMs`;
/// how many.
Result<std::int64_t> eraseExpiredContacts(Storage& storage, const CaseConfig& config, std::int64_t nowMs);

/// The retention pass on a thread of its own: once at start, then every 24 hours (of `clock`'s
/// monotonic time), logging how many numbers it erased.
class CaseRetention {
public:
    CaseRetention(Storage& storage, const core::Clock& clock, CaseConfig config);
    ~CaseRetention();
    CaseRetention(const CaseRetention&) = delete;
    CaseRetention& operator=(const CaseRetention&) = delete;
    void start();
    /// Idempotent.
    void stop();
    /// One pass now; how many numbers it erased.
    Result<std::int64_t> runOnce();

private:
    Storage& m_storage;
    const core::Clock& m_clock;
    CaseConfig m_config;
    std::mutex m_mutex;
    std::condition_variable m_wake;
    bool m_stop = false;
    std::thread m_thread;
};

/// A case as the API shows it (never the number): {"id","response_id","store","device","created_at",
/// "local_date","due_at","status","overdue","first_moved_at","closed_at","root_cause","contact_kept",
/// "contact_erased_at","language","stars","segue":{…},"tags":[…]}.
nlohmann::json caseJson(const Case& c, std::int64_t nowMs);

} // namespace segue::hq
