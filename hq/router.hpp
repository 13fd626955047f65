// The HTTP API of segue-hq: the route table, authentication, body limits, error bodies, request
// log and metrics. Transport-agnostic: the server (hq/server.cpp) hands it parsed requests on a
// handler thread and sends what it returns.
#pragma once
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/time.hpp"
#include "hq/api_error.hpp"
#include "hq/auth.hpp"
#include "hq/cases_api.hpp"
#include "hq/config.hpp"
#include "hq/http_log.hpp"
#include "hq/http_types.hpp"
#include "hq/ingest.hpp"
#include "hq/metrics.hpp"
#include "hq/people_api.hpp"
#include "hq/rate_limiter.hpp"
#include "hq/storage.hpp"
#include "hq/surveys_api.hpp"

namespace segue::hq {

struct RouterOptions {
    /// Sustained batch requests per second per device. A terminal sends one batch at a time, so
    /// a backlog drain stays well below this; a terminal sending in a loop does not.
    double deviceRatePerS = 50;
    double deviceBurst = 100;     ///< requests a device may send at once
    DashboardConfig dashboard;    ///< target, calendar and fleet thresholds of the dashboard API
    AlertConfig alerts;           ///< shown by GET /api/v1/alerts (the worker evaluates them)
    /// Called with the store id after a batch stored new responses; must return at once.
    std::function<void(const std::string& storeId)> afterIngest;
    /// With a value, GET /metrics on the main listener answers a request bearing this token;
    /// without, it is served only on the operations listener (404 on the main one).
    std::optional<std::string> metricsToken;
    bool tls = false;             ///< replies carry Strict-Transport-Security
    /// Addresses of reverse proxies (HAProxy) whose X-Forwarded-For is believed: a request from
    /// one of them is logged and limited per address as coming from the last address of that
    /// header (the hop the proxy appended). Written as normalizeAddress() gives them.
    std::vector<std::string> trustedProxies;
    CaseConfig cases;             ///< callback cases: SLA, retention, root causes
    /// HQ's contact key (serve --contact-key): its public half goes to terminals with their
    /// config, its secret half opens numbers. Absent: terminals never offer a callback.
    std::optional<ContactKey> contactKey;
};

/// An IPv4 or IPv6 address in its canonical text form (IPv4-mapped IPv6 as plain IPv4), or
/// nullopt when `text` is not an address.
std::optional<std::string> normalizeAddress(std::string_view text);

/// Who may call a route.
enum class Access {
    None,      ///< anyone (the dashboard's files, /healthz)
    Device,    ///< a live device token (the handler checks it: it needs the device)
    Read,      ///< a live read token or a session (reading what its scope holds); a change with
               ///< a session also needs its CSRF header
    Admin,     ///< a session of an administrator, with the CSRF header on changes
    Metrics,   ///< the operations listener, or the metrics token on the main listener
};

class Router;

/// Enrolment attempts a minute per client address (a 12-digit code must not be guessable).
inline constexpr int kEnrolPerMinute = 10;
/// Addresses the enrolment limiter remembers at most.
inline constexpr std::size_t kEnrolAddressesKept = 100'000;

/// One row of the route table: everything about a route, declared once.
struct Route {
    const char* method;
    /// Literal segments, `{name}` for one segment of [A-Za-z0-9._-]{1,64}, or a final `{name*}`
    /// for the rest of the path (1-200 of [A-Za-z0-9._/-]).
    const char* pattern;
    const char* label;    ///< the metrics label (a bounded set, never the raw path)
    Access access;
    bool opsListener;     ///< also served on the operations listener
    void (Router::*handler)(const HttpRequest&, HttpResponse&);
};

class Router {
public:
    /// HQ's calendar date now (the dashboard's "today").
    std::string today() const;
    Router(Storage& storage, const core::Clock& clock, RouterOptions options);

    /// Answers one request (runs on a handler thread; may block on storage). Fills the route's
    /// label and the device into `res` for the log; counts the request in the metrics.
    HttpResponse handle(HttpRequest& req);
    /// The reply to a request the server refused before routing (unparsable, headers too large):
    /// status and an error body; counted and logged like any other.
    HttpResponse refuse(int status, const std::string& message);

    /// Logs one finished request (see RequestLog); `nowMs` is monotonic.
    void log(const HttpRequest& req, const HttpResponse& res, double ms, std::int64_t nowMs);
    /// Replaces a trusted proxy's address in `req` by the client's from X-Forwarded-For (see
    /// RouterOptions::trustedProxies); handle() starts with it.
    void resolveClient(HttpRequest& req) const;
    void flushLog(std::int64_t nowMs) { m_log.flush(nowMs); }

    const Metrics& metrics() const { return m_metrics; }
    Metrics& metrics() { return m_metrics; }
    /// The route table.
    static std::span<const Route> routes();
    /// The table's label for a method and path ("other" when no route matches).
    static std::string routeLabel(const std::string& method, const std::string& path);

private:
    void postBatch(const HttpRequest& req, HttpResponse& res);
    void getDaily(const HttpRequest& req, HttpResponse& res);
    void getResponsesCsv(const HttpRequest& req, HttpResponse& res);
    void getDevices(const HttpRequest& req, HttpResponse& res);
    void getHealth(const HttpRequest& req, HttpResponse& res);
    void getOverview(const HttpRequest& req, HttpResponse& res);
    void getStores(const HttpRequest& req, HttpResponse& res);
    void getStoreSummary(const HttpRequest& req, HttpResponse& res);
    void getFleet(const HttpRequest& req, HttpResponse& res);
    void getAlerts(const HttpRequest& req, HttpResponse& res);
    void getRegions(const HttpRequest& req, HttpResponse& res);
    void postSession(const HttpRequest& req, HttpResponse& res);
    void deleteSession(const HttpRequest& req, HttpResponse& res);
    void getMe(const HttpRequest& req, HttpResponse& res);
    void getUsers(const HttpRequest& req, HttpResponse& res);
    void postUser(const HttpRequest& req, HttpResponse& res);
    void patchUser(const HttpRequest& req, HttpResponse& res);
    void postRegion(const HttpRequest& req, HttpResponse& res);
    void patchRegion(const HttpRequest& req, HttpResponse& res);
    void patchStore(const HttpRequest& req, HttpResponse& res);
    void postToken(const HttpRequest& req, HttpResponse& res);
    void getTokens(const HttpRequest& req, HttpResponse& res);
    void deleteToken(const HttpRequest& req, HttpResponse& res);
    void getAudit(const HttpRequest& req, HttpResponse& res);
    /// The dashboard's page and its static files, compiled into the binary.
    void getWebFile(const HttpRequest& req, HttpResponse& res);
    void getMetrics(const HttpRequest& req, HttpResponse& res);
    /// POST /api/v1/enrol: a one-time code for the device's token (at most kEnrolPerMinute a
    /// minute per address).
    void postEnrol(const HttpRequest& req, HttpResponse& res);
    /// POST /api/v1/devices, POST and DELETE /api/v1/devices/{device}/enrolment-code: the
    /// dashboard's enrolment codes (hq/enrolment_api.hpp).
    void postDevice(const HttpRequest& req, HttpResponse& res);
    void postEnrolmentCode(const HttpRequest& req, HttpResponse& res);
    void deleteEnrolmentCode(const HttpRequest& req, HttpResponse& res);
    /// GET /api/v1/terminal/config: the device's store's survey definition, with an ETag.
    void getTerminalConfig(const HttpRequest& req, HttpResponse& res);
    void getCases(const HttpRequest& req, HttpResponse& res);
    void getCasesSummary(const HttpRequest& req, HttpResponse& res);
    void getCase(const HttpRequest& req, HttpResponse& res);
    void postCaseContact(const HttpRequest& req, HttpResponse& res);
    void postCase(const HttpRequest& req, HttpResponse& res);
    void getReasons(const HttpRequest& req, HttpResponse& res);
    /// The dashboard's survey page: versions and assignments, one definition, publish, assign.
    void getSurveys(const HttpRequest& req, HttpResponse& res);
    void getSurveyVersion(const HttpRequest& req, HttpResponse& res);
    void postSurvey(const HttpRequest& req, HttpResponse& res);
    void postSurveyAssign(const HttpRequest& req, HttpResponse& res);
    /// What the cases API needs to know of now.
    CaseNow caseNow() const;

    /// The live, unrevoked device behind the request's bearer token (its id goes to res for the
    /// log), or the error to answer.
    std::expected<DeviceAuth, ApiError> authDevice(const HttpRequest& req, HttpResponse& res);
    /// nullopt when the request may call a route of `access` (Device is checked by its handler);
    /// for Read and Admin it sets `req.principal`.
    std::optional<ApiError> checkAccess(HttpRequest& req, Access access);
    void sendError(HttpResponse& res, const ApiError& e);
    /// Sends a people route's reply or its error.
    void sendReply(HttpResponse& res, const ApiResult& reply);
    /// Whether `store` is one the caller may read: a store outside the scope is "not found".
    std::optional<ApiError> checkStoreInScope(const HttpRequest& req, const std::string& store);

    Storage& m_storage;
    const core::Clock& m_clock;
    RouterOptions m_options;
    Ingest m_ingest;
    RateLimiter m_limiter;
    RateLimiter m_enrolLimiter;   ///< per client address
    Metrics m_metrics;
    RequestLog m_log;
    Auth m_auth;
    PeopleApi m_people;
    CasesApi m_cases;
    SurveysApi m_surveys;
};

} // namespace segue::hq
