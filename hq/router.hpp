// The HTTP API of segue-hq: routes, authentication, body limits, error bodies, request log
// and metrics. Transport-agnostic: it installs itself on an httplib::Server (TLS or not).
#pragma once
#include <functional>
#include <string>

#include "core/time.hpp"
#include "hq/config.hpp"
#include "hq/ingest.hpp"
#include "hq/metrics.hpp"
#include "hq/rate_limiter.hpp"
#include "hq/storage.hpp"

namespace httplib {
class Server;
struct Request;
struct Response;
class ContentReader;
} // namespace httplib

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
};

class Router {
public:
    Router(Storage& storage, const core::Clock& clock, RouterOptions options);

    /// Registers every route and the error, exception and log handlers on `server`.
    void install(httplib::Server& server);

    const Metrics& metrics() const { return m_metrics; }

    /// The route pattern a path belongs to, for metrics ("other" when none).
    static std::string routeLabel(const std::string& path);

private:
    void postBatch(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader);
    void getDaily(const httplib::Request& req, httplib::Response& res);
    void getResponsesCsv(const httplib::Request& req, httplib::Response& res);
    void getDevices(const httplib::Request& req, httplib::Response& res);
    void getHealth(const httplib::Request& req, httplib::Response& res);
    void getOverview(const httplib::Request& req, httplib::Response& res);
    void getStores(const httplib::Request& req, httplib::Response& res);
    void getStoreSummary(const httplib::Request& req, httplib::Response& res);
    void getFleet(const httplib::Request& req, httplib::Response& res);
    void getAlerts(const httplib::Request& req, httplib::Response& res);
    /// The dashboard's page and its static files, compiled into the binary.
    void getWebFile(const httplib::Request& req, httplib::Response& res);
    /// HQ's calendar date now.
    std::string today() const;
    void getMetrics(const httplib::Request& req, httplib::Response& res);

    /// nullopt when the request carries a live read token.
    std::optional<ApiError> checkReadToken(const httplib::Request& req);
    void sendError(httplib::Response& res, const ApiError& e);

    Storage& m_storage;
    const core::Clock& m_clock;
    RouterOptions m_options;
    Ingest m_ingest;
    RateLimiter m_limiter;
    Metrics m_metrics;
};

} // namespace segue::hq
