#include "hq/router.hpp"

#include <cctype>
#include <chrono>
#include <memory>

#include <httplib.h>
#include <spdlog/spdlog.h>

#include "core/time.hpp"
#include "hq/alerts.hpp"
#include "hq/dashboard.hpp"
#include "hq/token.hpp"
#include "hq/web_assets.hpp"
#include "hq/views.hpp"
#include "sync/wire.hpp"

namespace segue::hq {
namespace {

// A body is read to the end even when refused, so the connection stays in step for the next
// request; past this much (a gzip bomb, an endless chunked body) reading stops and the
// connection is closed instead.
constexpr std::size_t kDrainLimit = 64 * 1024 * 1024;
constexpr int kCsvPageRows = 1000;
constexpr std::int64_t kMaxDailySpanDays = 3660;
constexpr std::size_t kMaxTokenLength = 256;
constexpr int kAlertsListed = 200;
// The page loads only its own files and talks only to its own origin.
constexpr const char* kPagePolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

// The request log line is written by the server's logger after the reply; these carry what
// the handler knew into it (each request runs start to end on one pool thread).
thread_local std::optional<std::chrono::steady_clock::time_point> t_started;
thread_local std::string t_device;

using Clock = std::chrono::steady_clock;

std::optional<std::string> bearerToken(const httplib::Request& req) {
    const std::string value = req.get_header_value("Authorization");
    constexpr std::string_view kScheme = "bearer ";
    if (value.size() <= kScheme.size()) return std::nullopt;
    for (std::size_t i = 0; i < kScheme.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(value[i])) != kScheme[i]) return std::nullopt;
    std::string token = value.substr(kScheme.size());
    while (!token.empty() && token.back() == ' ') token.pop_back();
    if (token.empty() || token.size() > kMaxTokenLength) return std::nullopt;
    return token;
}

struct BodyRead {
    std::string text;
    std::optional<ApiError> error;
    bool closeConnection = false;
};

/// Reads the (already gunzipped by httplib) body, keeping at most wire::kMaxBodyBytes.
BodyRead readBody(const httplib::ContentReader& reader, httplib::Response& res, bool keep) {
    BodyRead out;
    std::size_t total = 0;
    bool over = false;
    const bool ok = reader([&](const char* data, std::size_t n) {
        total += n;
        if (total > kDrainLimit) return false;
        if (!keep || over) return true;
        if (out.text.size() + n > wire::kMaxBodyBytes) {
            over = true;
            std::string().swap(out.text);
            return true;
        }
        out.text.append(data, n);
        return true;
    });
    const std::string limit = "the request body is larger than " + std::to_string(wire::kMaxBodyBytes) + " bytes";
    if (!ok) {
        // httplib has set res.status: 413 when Content-Length exceeds the payload limit (it skipped
        // the body), 415 for an unknown Content-Encoding, 400 for a broken body or gzip stream.
        if (total > kDrainLimit) {
            out.error = ApiError::tooLarge(limit);
            out.closeConnection = true;
        } else if (res.status == 413) {
            out.error = ApiError::tooLarge(limit);
        } else if (res.status == 415) {
            out.error = ApiError{415, "unsupported_encoding", "Content-Encoding must be gzip or absent", {}};
            out.closeConnection = true;
        } else {
            out.error = ApiError::badRequest("the request body could not be read (truncated, or not valid gzip)");
            out.closeConnection = true;
        }
    } else if (over) {
        out.error = ApiError::tooLarge(limit);
    }
    return out;
}

std::optional<std::string> dateParam(const httplib::Request& req, const char* name, std::optional<ApiError>& error) {
    if (!req.has_param(name)) return std::nullopt;
    std::string value = req.get_param_value(name);
    if (!core::isIsoDate(value)) error = ApiError::badRequest(std::string(name) + " must be a date YYYY-MM-DD");
    return value;
}

bool plainId(const std::string& s) {
    if (s.empty() || s.size() > 64) return false;
    for (const unsigned char c : s)
        if (!std::isalnum(c) && c != '-' && c != '_' && c != '.') return false;
    return true;
}

const char* errorCodeFor(int status) {
    switch (status) {
    case 400: return "bad_request";
    case 401: return "unauthorized";
    case 404: return "not_found";
    case 405: return "method_not_allowed";
    case 413: return "payload_too_large";
    case 414: return "uri_too_long";
    case 415: return "unsupported_encoding";
    case 416: return "range_not_satisfiable";
    default: return status >= 500 ? "internal" : "error";
    }
}

void sendJson(httplib::Response& res, const nlohmann::json& body) {
    res.status = 200;
    res.set_header("Cache-Control", "no-store");
    res.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), "application/json");
}

std::optional<std::string> param(const httplib::Request& req, const char* name) {
    if (!req.has_param(name)) return std::nullopt;
    return req.get_param_value(name);
}

} // namespace

Router::Router(Storage& storage, const core::Clock& clock, RouterOptions options)
    : m_storage(storage),
      m_clock(clock),
      m_options(std::move(options)),
      m_ingest(storage, clock),
      m_limiter(m_options.deviceRatePerS, m_options.deviceBurst, clock) {}

std::string Router::today() const {
    const core::Now now = m_clock.now();
    return core::localDate(now.utcMs, calendarOffsetMin(m_options.dashboard, now));
}

std::string Router::routeLabel(const std::string& path) {
    static const std::regex daily(R"(/api/v1/stores/[^/]+/daily)");
    static const std::regex summary(R"(/api/v1/stores/[^/]+/summary)");
    for (const char* fixed : {"/api/v1/batches", "/api/v1/responses.csv", "/api/v1/devices", "/healthz", "/metrics",
                              "/api/v1/overview", "/api/v1/stores", "/api/v1/fleet", "/api/v1/alerts", "/"})
        if (path == fixed) return fixed;
    if (std::regex_match(path, daily)) return "/api/v1/stores/{store}/daily";
    if (std::regex_match(path, summary)) return "/api/v1/stores/{store}/summary";
    if (path.starts_with("/static/")) return "/static";
    return "other";
}

void Router::install(httplib::Server& server) {
    using httplib::Server;
    server.set_pre_routing_handler([](const httplib::Request&, httplib::Response&) {
        t_started = Clock::now();
        t_device.clear();
        return Server::HandlerResponse::Unhandled;
    });
    server.Post("/api/v1/batches", [this](const httplib::Request& req, httplib::Response& res,
                                          const httplib::ContentReader& reader) { postBatch(req, res, reader); });
    server.Get(R"(/api/v1/stores/([A-Za-z0-9._-]{1,64})/daily)",
               [this](const httplib::Request& req, httplib::Response& res) { getDaily(req, res); });
    server.Get("/api/v1/responses.csv",
               [this](const httplib::Request& req, httplib::Response& res) { getResponsesCsv(req, res); });
    server.Get("/api/v1/devices", [this](const httplib::Request& req, httplib::Response& res) { getDevices(req, res); });
    server.Get("/healthz", [this](const httplib::Request& req, httplib::Response& res) { getHealth(req, res); });
    server.Get("/metrics", [this](const httplib::Request& req, httplib::Response& res) { getMetrics(req, res); });
    server.Get("/api/v1/overview", [this](const httplib::Request& req, httplib::Response& res) { getOverview(req, res); });
    server.Get("/api/v1/stores", [this](const httplib::Request& req, httplib::Response& res) { getStores(req, res); });
    server.Get(R"(/api/v1/stores/([A-Za-z0-9._-]{1,64})/summary)",
               [this](const httplib::Request& req, httplib::Response& res) { getStoreSummary(req, res); });
    server.Get("/api/v1/fleet", [this](const httplib::Request& req, httplib::Response& res) { getFleet(req, res); });
    server.Get("/api/v1/alerts", [this](const httplib::Request& req, httplib::Response& res) { getAlerts(req, res); });
    server.Get("/", [this](const httplib::Request& req, httplib::Response& res) { getWebFile(req, res); });
    server.Get(R"(/static/[A-Za-z0-9._/-]{1,200})",
               [this](const httplib::Request& req, httplib::Response& res) { getWebFile(req, res); });

    // Errors httplib produces itself (unknown route, bad request line, ...) get the same body shape.
    server.set_error_handler(Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty() || res.content_provider_) return Server::HandlerResponse::Unhandled;
        const std::string message = res.status == 404 ? "no such route: " + req.method + " " + req.path.substr(0, 200)
                                                      : "request refused (HTTP " + std::to_string(res.status) + ")";
        res.set_content(errorBody({res.status, errorCodeFor(res.status), message, {}}), "application/json");
        return Server::HandlerResponse::Handled;
    }));
    server.set_exception_handler([](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown exception";
        try {
            std::rethrow_exception(ep);
        } catch (const std::exception& e) {
            what = e.what();
        } catch (...) {
        }
        spdlog::error("{} {}: {}", req.method, req.path, what);
        res.status = 500;
        res.set_content(errorBody(ApiError::internal("internal error")), "application/json");
    });
    server.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
        // Requests httplib could not parse never reach routing, so they have no start time.
        const double ms = t_started ? std::chrono::duration<double, std::milli>(Clock::now() - *t_started).count() : 0.0;
        if (req.method.empty())
            spdlog::info("- (unparsable request) {} {:.1f}ms device=-", res.status, ms);
        else
            spdlog::info("{} {} {} {:.1f}ms device={}", req.method, req.path, res.status, ms,
                         t_device.empty() ? "-" : t_device);
        m_metrics.countRequest(routeLabel(req.path), res.status);
        t_started.reset();
        t_device.clear();
    });
}

void Router::sendError(httplib::Response& res, const ApiError& e) {
    ApiError shown = e;
    if (e.status >= 500) {
        // The detail (SQL errors) goes to the log, not to the client.
        spdlog::error("internal error: {}", e.message);
        shown.message = "internal error; retry later";
    }
    res.status = shown.status;
    if (shown.retryAfterS) res.set_header("Retry-After", std::to_string(*shown.retryAfterS));
    res.set_content(errorBody(shown), "application/json");
}

void Router::postBatch(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader) {
    const auto started = Clock::now();
    std::optional<ApiError> refusal;
    std::optional<DeviceAuth> device;
    if (const auto token = bearerToken(req); !token) {
        refusal = ApiError::unauthorized("missing bearer token");
    } else if (auto found = m_storage.deviceByTokenHash(hashToken(*token)); !found) {
        refusal = ApiError::internal("token lookup: " + found.error().message);
    } else if (!*found) {
        refusal = ApiError::unauthorized("unknown device token");
    } else if ((*found)->revoked) {
        t_device = (*found)->deviceId;
        refusal = ApiError::unauthorized("device " + (*found)->deviceId + " is revoked");
    } else {
        device = **found;
        t_device = device->deviceId;
        if (const auto wait = m_limiter.take(device->deviceId)) refusal = ApiError::rateLimited(*wait);
    }

    BodyRead body = readBody(reader, res, !refusal);
    if (body.closeConnection) res.set_header("Connection", "close");
    if (!refusal && body.error) refusal = std::move(body.error);
    if (refusal) return sendError(res, *refusal);

    auto ack = m_ingest.handle(*device, body.text);
    if (!ack) return sendError(res, ack.error());
    if (!ack->accepted.empty() && m_options.afterIngest) m_options.afterIngest(device->storeId);
    m_metrics.countResponses(static_cast<std::int64_t>(ack->accepted.size()),
                             static_cast<std::int64_t>(ack->duplicates.size()),
                             static_cast<std::int64_t>(ack->rejected.size()));
    res.status = 200;
    res.set_content(wire::encodeAck(*ack), "application/json");
    m_metrics.observeIngest(std::chrono::duration<double>(Clock::now() - started).count());
}

std::optional<ApiError> Router::checkReadToken(const httplib::Request& req) {
    const auto token = bearerToken(req);
    if (!token) return ApiError::unauthorized("missing bearer token");
    auto role = m_storage.tokenRole(hashToken(*token));
    if (!role) return ApiError::internal("token lookup: " + role.error().message);
    if (!*role || **role != "read") return ApiError::unauthorized("unknown or revoked read token");
    return std::nullopt;
}

void Router::getDaily(const httplib::Request& req, httplib::Response& res) {
    if (auto e = checkReadToken(req)) return sendError(res, *e);
    const std::string store = req.matches[1];
    std::optional<ApiError> error;
    const auto from = dateParam(req, "from", error);
    const auto to = dateParam(req, "to", error);
    if (error) return sendError(res, *error);
    if (!from || !to) return sendError(res, ApiError::badRequest("from and to are required (YYYY-MM-DD)"));
    const auto span = *core::daysFromIsoDate(*to) - *core::daysFromIsoDate(*from);
    if (span < 0) return sendError(res, ApiError::badRequest("from is after to"));
    if (span >= kMaxDailySpanDays)
        return sendError(res, ApiError::badRequest("at most " + std::to_string(kMaxDailySpanDays) + " days per request"));

    auto exists = m_storage.storeExists(store);
    if (!exists) return sendError(res, ApiError::internal(exists.error().message));
    if (!*exists) return sendError(res, ApiError::notFound("no store " + store));
    auto tallies = m_storage.dailyTallies(store, *from, *to);
    if (!tallies) return sendError(res, ApiError::internal(tallies.error().message));
    auto pending = m_storage.storePending(store);
    if (!pending) return sendError(res, ApiError::internal(pending.error().message));
    res.status = 200;
    res.set_content(dailyJson(store, *from, *to, *tallies, *pending).dump(), "application/json");
}

void Router::getResponsesCsv(const httplib::Request& req, httplib::Response& res) {
    if (auto e = checkReadToken(req)) return sendError(res, *e);
    std::optional<ApiError> error;
    ExportFilter filter;
    filter.from = dateParam(req, "from", error);
    filter.to = dateParam(req, "to", error);
    if (error) return sendError(res, *error);
    if (req.has_param("store")) {
        filter.storeId = req.get_param_value("store");
        if (!plainId(*filter.storeId)) return sendError(res, ApiError::badRequest("store must be 1-64 of [A-Za-z0-9._-]"));
    }

    struct Cursor {
        ExportFilter filter;
        std::string lastId;
        bool headerSent = false;
    };
    auto cursor = std::make_shared<Cursor>(Cursor{std::move(filter), {}, false});
    res.status = 200;
    res.set_header("Content-Disposition", "attachment; filename=\"responses.csv\"");
    // Keyset pages of kCsvPageRows: memory stays flat however large the export, and no database
    // transaction is held open while the client reads.
    res.set_chunked_content_provider("text/csv; charset=utf-8", [this, cursor](std::size_t, httplib::DataSink& sink) {
        std::string chunk;
        if (!cursor->headerSent) {
            chunk = wire::csvHeader(true);
            cursor->headerSent = true;
        }
        auto page = m_storage.exportPage(cursor->filter, cursor->lastId, kCsvPageRows);
        if (!page) {
            // The status line is gone already; ending without the last chunk tells the client the
            // export is incomplete.
            spdlog::error("CSV export stopped: {}", page.error().message);
            return false;
        }
        for (const auto& row : *page) chunk += wire::csvRow(row.response, row.receivedAtMs);
        if (!page->empty()) cursor->lastId = page->back().response.id;
        if (!chunk.empty() && !sink.write(chunk.data(), chunk.size())) return false;
        if (page->size() < static_cast<std::size_t>(kCsvPageRows)) sink.done();
        return true;
    });
}

void Router::getDevices(const httplib::Request& req, httplib::Response& res) {
    if (auto e = checkReadToken(req)) return sendError(res, *e);
    auto devices = m_storage.listDevices();
    if (!devices) return sendError(res, ApiError::internal(devices.error().message));
    nlohmann::json list = nlohmann::json::array();
    for (const auto& d : *devices) list.push_back(deviceJson(d));
    res.status = 200;
    res.set_content(nlohmann::json{{"devices", std::move(list)}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                    "application/json");
}

void Router::getHealth(const httplib::Request&, httplib::Response& res) {
    const int version = m_storage.schemaVersion();
    if (version != kSchemaVersion) {
        res.status = 503;
        res.set_content(errorBody({503, "unavailable", "the database does not answer", {}}), "application/json");
        return;
    }
    res.status = 200;
    res.set_content(R"({"status":"ok"})", "application/json");
}

void Router::getMetrics(const httplib::Request&, httplib::Response& res) {
    res.status = 200;
    res.set_content(m_metrics.render(), "text/plain; version=0.0.4");
}

void Router::getOverview(const httplib::Request& req, httplib::Response& res) {
    if (auto e = checkReadToken(req)) return sendError(res, *e);
    const auto period = resolvePeriod(param(req, "period"), param(req, "from"), param(req, "to"), today());
    if (!period) return sendError(res, ApiError::badRequest(period.error()));
    auto body = overviewJson(m_storage, *period, today(), m_options.dashboard);
    if (!body) return sendError(res, ApiError::internal(body.error().message));
    sendJson(res, *body);
}

void Router::getStores(const httplib::Request& req, httplib::Response& res) {
    if (auto e = checkReadToken(req)) return sendError(res, *e);
    auto body = storesJson(m_storage, m_clock.now().utcMs, m_options.dashboard);
    if (!body) return sendError(res, ApiError::internal(body.error().message));
    sendJson(res, *body);
}

void Router::getStoreSummary(const httplib::Request& req, httplib::Response& res) {
    if (auto e = checkReadToken(req)) return sendError(res, *e);
    const std::string store = req.matches[1];
    const auto period = resolvePeriod(param(req, "period"), param(req, "from"), param(req, "to"), today());
    if (!period) return sendError(res, ApiError::badRequest(period.error()));
    auto exists = m_storage.storeExists(store);
    if (!exists) return sendError(res, ApiError::internal(exists.error().message));
    if (!*exists) return sendError(res, ApiError::notFound("no store " + store));
    auto body = storeSummaryJson(m_storage, store, *period, m_clock.now().utcMs, m_options.dashboard);
    if (!body) return sendError(res, ApiError::internal(body.error().message));
    sendJson(res, *body);
}

void Router::getFleet(const httplib::Request& req, httplib::Response& res) {
    if (auto e = checkReadToken(req)) return sendError(res, *e);
    auto body = fleetJson(m_storage, m_clock.now().utcMs, m_options.dashboard);
    if (!body) return sendError(res, ApiError::internal(body.error().message));
    sendJson(res, *body);
}

void Router::getAlerts(const httplib::Request& req, httplib::Response& res) {
    if (auto e = checkReadToken(req)) return sendError(res, *e);
    auto alerts = m_storage.recentAlerts(kAlertsListed);
    if (!alerts) return sendError(res, ApiError::internal(alerts.error().message));
    sendJson(res, alertsJson(*alerts, m_options.alerts));
}

void Router::getWebFile(const httplib::Request& req, httplib::Response& res) {
    const auto asset = findWebAsset(req.path);
    if (!asset) return sendError(res, ApiError::notFound("no such file: " + req.path.substr(0, 200)));
    // The page holds no data: everything it shows comes from the API with the read token, so
    // serving it without one reveals nothing.
    res.status = 200;
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_header("Referrer-Policy", "no-referrer");
    if (asset->contentType.starts_with("text/html")) {
        res.set_header("Content-Security-Policy", kPagePolicy);
        res.set_header("X-Frame-Options", "DENY");
    }
    res.set_content(std::string(asset->body), std::string(asset->contentType));
}

} // namespace segue::hq
