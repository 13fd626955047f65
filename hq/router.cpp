#include "hq/router.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <memory>

#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <spdlog/spdlog.h>
#include <zlib.h>

#include "core/time.hpp"
#include "hq/alerts.hpp"
#include "hq/dashboard.hpp"
#include "hq/enrolment.hpp"
#include "hq/enrolment_api.hpp"
#include "hq/terminal_config.hpp"
#include "hq/token.hpp"
#include "hq/web_assets.hpp"
#include "hq/views.hpp"
#include "sync/wire.hpp"

namespace segue::hq {
namespace {

// A gzip body is inflated to the end even when over the limit (so the reply can say 413); past
// this much (a gzip bomb) inflating stops and the connection is closed instead.
constexpr std::size_t kDrainLimit = 64 * 1024 * 1024;
constexpr int kCsvPageRows = 1000;
constexpr std::int64_t kMaxDailySpanDays = 3660;
constexpr std::size_t kMaxTokenLength = 256;
constexpr int kAlertsListed = 200;
// The page loads only its own files and talks only to its own origin.
constexpr const char* kPagePolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
// Mozilla's recommendation: two years. Sent on every reply over TLS.
constexpr const char* kHsts = "max-age=63072000";

using Clock = std::chrono::steady_clock;

bool segmentChar(unsigned char c, bool rest) {
    return std::isalnum(c) || c == '.' || c == '_' || c == '-' || (rest && c == '/');
}

/// Matches `path` against a route pattern, collecting the captures.
bool matchPattern(std::string_view pattern, std::string_view path, std::vector<std::string>& captures) {
    captures.clear();
    while (!pattern.empty()) {
        const auto open = pattern.find('{');
        const std::string_view literal = pattern.substr(0, open);
        if (!path.starts_with(literal)) return false;
        path.remove_prefix(literal.size());
        if (open == std::string_view::npos) return path.empty();
        const auto close = pattern.find('}', open);
        const bool rest = pattern[close - 1] == '*';
        pattern.remove_prefix(close + 1);
        std::size_t n = 0;
        while (n < path.size() && segmentChar(static_cast<unsigned char>(path[n]), rest)) ++n;
        if (n == 0 || n > (rest ? 200u : 64u)) return false;
        captures.emplace_back(path.substr(0, n));
        path.remove_prefix(n);
    }
    return path.empty();
}

bool knownMethod(const std::string& m) {
    for (const char* known : {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"})
        if (m == known) return true;
    return false;
}

std::optional<std::string> bearerToken(const HttpRequest& req) {
    const std::string value = req.header("Authorization");
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

std::string lowerTrimmed(std::string s) {
    while (!s.empty() && s.back() == ' ') s.pop_back();
    while (!s.empty() && s.front() == ' ') s.erase(s.begin());
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

/// Inflates a gzip or zlib stream, keeping at most wire::kMaxBodyBytes; past kDrainLimit it stops.
BodyRead inflateBody(const std::string& data) {
    BodyRead out;
    z_stream zs{};
    if (inflateInit2(&zs, 15 + 32) != Z_OK) {
        out.error = ApiError::internal("inflateInit2 failed");
        return out;
    }
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    zs.avail_in = static_cast<uInt>(data.size());
    std::size_t total = 0;
    bool over = false, broken = false, cut = false;
    char chunk[64 * 1024];
    int rc = Z_OK;
    while (rc != Z_STREAM_END) {
        zs.next_out = reinterpret_cast<Bytef*>(chunk);
        zs.avail_out = sizeof chunk;
        rc = inflate(&zs, Z_NO_FLUSH);
        if (rc != Z_OK && rc != Z_STREAM_END) {
            broken = true;
            break;
        }
        const std::size_t produced = sizeof chunk - zs.avail_out;
        total += produced;
        if (total > kDrainLimit) {
            cut = true;
            break;
        }
        if (!over && out.text.size() + produced > wire::kMaxBodyBytes) {
            over = true;
            std::string().swap(out.text);
        }
        if (!over) out.text.append(chunk, produced);
        if (produced == 0 && zs.avail_in == 0 && rc != Z_STREAM_END) {
            broken = true;   // truncated stream
            break;
        }
    }
    inflateEnd(&zs);
    const std::string limit = "the request body is larger than " + std::to_string(wire::kMaxBodyBytes) + " bytes";
    if (cut) {
        out.error = ApiError::tooLarge(limit);
        out.closeConnection = true;
    } else if (broken) {
        out.error = ApiError::badRequest("the request body could not be read (truncated, or not valid gzip)");
        out.closeConnection = true;
    } else if (over) {
        out.error = ApiError::tooLarge(limit);
    }
    if (out.error) std::string().swap(out.text);
    return out;
}

/// The body as the handler needs it: decoded from gzip when so labelled, within the limits.
BodyRead readBody(const HttpRequest& req) {
    const std::string limit = "the request body is larger than " + std::to_string(wire::kMaxBodyBytes) + " bytes";
    BodyRead out;
    if (req.bodyCut) {
        out.error = ApiError::tooLarge(limit);
        out.closeConnection = true;
        return out;
    }
    if (req.bodyTooLarge) {
        out.error = ApiError::tooLarge(limit);
        return out;
    }
    const std::string encoding = lowerTrimmed(req.header("Content-Encoding"));
    if (encoding.empty() || encoding == "identity") {
        out.text = req.body;
        return out;
    }
    if (encoding == "gzip" || encoding == "x-gzip" || encoding == "deflate") return inflateBody(req.body);
    out.error = ApiError{415, "unsupported_encoding", "Content-Encoding must be gzip or absent", {}};
    out.closeConnection = true;
    return out;
}

std::optional<std::string> dateParam(const HttpRequest& req, const char* name, std::optional<ApiError>& error) {
    if (!req.hasParam(name)) return std::nullopt;
    std::string value = req.param(name);
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
    case 431: return "headers_too_large";
    case 503: return "unavailable";
    default: return status >= 500 ? "internal" : "error";
    }
}

void sendJson(HttpResponse& res, const nlohmann::json& body) {
    res.status = 200;
    res.setHeader("Cache-Control", "no-store");
    res.setContent(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), "application/json");
}

std::optional<std::string> param(const HttpRequest& req, const char* name) {
    if (!req.hasParam(name)) return std::nullopt;
    return req.param(name);
}

bool sameSecret(const std::string& a, const std::string& b) {
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

/// What the caller may read (the whole chain on routes without a principal).
const Scope& readerScope(const HttpRequest& req) {
    static const Scope chain = Scope::chain();
    return req.principal ? req.principal->scope : chain;
}

std::optional<std::string> optionalHeader(const HttpRequest& req, const char* name) {
    std::string v = req.header(name);
    if (v.empty()) return std::nullopt;
    return v;
}

} // namespace

Router::Router(Storage& storage, const core::Clock& clock, RouterOptions options)
    : m_storage(storage),
      m_clock(clock),
      m_options(std::move(options)),
      m_ingest(storage, clock, m_options.cases.slaMs()),
      m_limiter(m_options.deviceRatePerS, m_options.deviceBurst, clock),
      m_enrolLimiter(kEnrolPerMinute / 60.0, kEnrolPerMinute, clock, kEnrolAddressesKept),
      m_auth(storage),
      m_people(storage, m_auth),
      m_cases(storage, m_options.cases, m_options.contactKey),
      m_surveys(storage) {}

CaseNow Router::caseNow() const {
    const core::Now now = m_clock.now();
    return {now.utcMs, core::localDate(now.utcMs, calendarOffsetMin(m_options.dashboard, now)),
            calendarOffsetMin(m_options.dashboard, now)};
}

std::string Router::today() const {
    const core::Now now = m_clock.now();
    return core::localDate(now.utcMs, calendarOffsetMin(m_options.dashboard, now));
}

std::span<const Route> Router::routes() {
    // The route table: each route once, with its metrics label and who may call it.
    static const std::array table = {
        Route{"POST", "/api/v1/batches", "/api/v1/batches", Access::Device, false, &Router::postBatch},
        Route{"GET", "/api/v1/stores/{store}/daily", "/api/v1/stores/{store}/daily", Access::Read, false, &Router::getDaily},
        Route{"GET", "/api/v1/responses.csv", "/api/v1/responses.csv", Access::Read, false, &Router::getResponsesCsv},
        Route{"GET", "/api/v1/devices", "/api/v1/devices", Access::Read, false, &Router::getDevices},
        // The dashboard's enrolment: admins, and region managers for their stores (checked by the handler).
        Route{"POST", "/api/v1/devices", "POST /api/v1/devices", Access::Read, false, &Router::postDevice},
        Route{"POST", "/api/v1/devices/{device}/enrolment-code", "POST /api/v1/devices/{device}/enrolment-code",
              Access::Read, false, &Router::postEnrolmentCode},
        Route{"DELETE", "/api/v1/devices/{device}/enrolment-code", "DELETE /api/v1/devices/{device}/enrolment-code",
              Access::Read, false, &Router::deleteEnrolmentCode},
        Route{"GET", "/healthz", "/healthz", Access::None, true, &Router::getHealth},
        Route{"GET", "/metrics", "/metrics", Access::Metrics, true, &Router::getMetrics},
        Route{"GET", "/api/v1/overview", "/api/v1/overview", Access::Read, false, &Router::getOverview},
        Route{"GET", "/api/v1/stores", "/api/v1/stores", Access::Read, false, &Router::getStores},
        Route{"GET", "/api/v1/stores/{store}/summary", "/api/v1/stores/{store}/summary", Access::Read, false,
              &Router::getStoreSummary},
        Route{"GET", "/api/v1/fleet", "/api/v1/fleet", Access::Read, false, &Router::getFleet},
        Route{"GET", "/api/v1/alerts", "/api/v1/alerts", Access::Read, false, &Router::getAlerts},
        Route{"POST", "/api/v1/enrol", "/api/v1/enrol", Access::None, false, &Router::postEnrol},
        Route{"GET", "/api/v1/terminal/config", "/api/v1/terminal/config", Access::Device, false,
              &Router::getTerminalConfig},
        Route{"GET", "/api/v1/regions", "/api/v1/regions", Access::Read, false, &Router::getRegions},
        Route{"POST", "/api/v1/session", "POST /api/v1/session", Access::None, false, &Router::postSession},
        Route{"DELETE", "/api/v1/session", "DELETE /api/v1/session", Access::Read, false, &Router::deleteSession},
        Route{"GET", "/api/v1/me", "/api/v1/me", Access::Read, false, &Router::getMe},
        Route{"GET", "/api/v1/users", "/api/v1/users", Access::Admin, false, &Router::getUsers},
        Route{"POST", "/api/v1/users", "POST /api/v1/users", Access::Admin, false, &Router::postUser},
        Route{"PATCH", "/api/v1/users/{id}", "PATCH /api/v1/users/{id}", Access::Admin, false, &Router::patchUser},
        Route{"POST", "/api/v1/regions", "POST /api/v1/regions", Access::Admin, false, &Router::postRegion},
        Route{"PATCH", "/api/v1/regions/{region}", "PATCH /api/v1/regions/{region}", Access::Admin, false, &Router::patchRegion},
        Route{"PATCH", "/api/v1/stores/{store}", "PATCH /api/v1/stores/{store}", Access::Admin, false, &Router::patchStore},
        Route{"POST", "/api/v1/tokens", "POST /api/v1/tokens", Access::Admin, false, &Router::postToken},
        Route{"GET", "/api/v1/tokens", "/api/v1/tokens", Access::Admin, false, &Router::getTokens},
        Route{"DELETE", "/api/v1/tokens/{id}", "DELETE /api/v1/tokens/{id}", Access::Admin, false, &Router::deleteToken},
        Route{"GET", "/api/v1/audit", "/api/v1/audit", Access::Admin, false, &Router::getAudit},
        // summary before {id}: the first matching row answers.
        Route{"GET", "/api/v1/cases", "/api/v1/cases", Access::Read, false, &Router::getCases},
        Route{"GET", "/api/v1/cases/summary", "/api/v1/cases/summary", Access::Read, false, &Router::getCasesSummary},
        Route{"GET", "/api/v1/cases/{id}", "/api/v1/cases/{id}", Access::Read, false, &Router::getCase},
        Route{"POST", "/api/v1/cases/{id}/contact", "POST /api/v1/cases/{id}/contact", Access::Read, false,
              &Router::postCaseContact},
        Route{"POST", "/api/v1/cases/{id}", "POST /api/v1/cases/{id}", Access::Read, false, &Router::postCase},
        Route{"GET", "/api/v1/reasons", "/api/v1/reasons", Access::Read, false, &Router::getReasons},
        Route{"GET", "/api/v1/surveys", "/api/v1/surveys", Access::Admin, false, &Router::getSurveys},
        Route{"POST", "/api/v1/surveys", "POST /api/v1/surveys", Access::Admin, false, &Router::postSurvey},
        Route{"GET", "/api/v1/surveys/{id}/versions/{version}", "/api/v1/surveys/{id}/versions/{version}", Access::Admin,
              false, &Router::getSurveyVersion},
        Route{"POST", "/api/v1/surveys/{id}/versions/{version}/assign", "POST /api/v1/surveys/{id}/versions/{version}/assign",
              Access::Admin, false, &Router::postSurveyAssign},
        Route{"GET", "/", "/", Access::None, false, &Router::getWebFile},
        Route{"GET", "/static/{file*}", "/static", Access::None, false, &Router::getWebFile},
    };
    return table;
}

std::string Router::routeLabel(const std::string& method, const std::string& path) {
    std::vector<std::string> captures;
    const std::string m = method == "HEAD" ? "GET" : method;
    for (const Route& r : routes())
        if (m == r.method && matchPattern(r.pattern, path, captures)) return r.label;
    return "other";
}

std::optional<std::string> normalizeAddress(std::string_view text) {
    std::string t(text);
    while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.pop_back();
    t.erase(0, std::min(t.find_first_not_of(" \t"), t.size()));
    if (t.size() > 2 && t.front() == '[' && t.back() == ']') t = t.substr(1, t.size() - 2);
    char out[INET6_ADDRSTRLEN] = {};
    unsigned char bytes[16];
    if (inet_pton(AF_INET, t.c_str(), bytes) == 1) return std::string(inet_ntop(AF_INET, bytes, out, sizeof out));
    if (inet_pton(AF_INET6, t.c_str(), bytes) != 1) return std::nullopt;
    static constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::equal(std::begin(kMapped), std::end(kMapped), bytes))
        return std::string(inet_ntop(AF_INET, bytes + 12, out, sizeof out));
    return std::string(inet_ntop(AF_INET6, bytes, out, sizeof out));
}

void Router::resolveClient(HttpRequest& req) const {
    if (m_options.trustedProxies.empty()) return;
    const auto peer = normalizeAddress(req.remoteAddress);
    if (!peer || std::find(m_options.trustedProxies.begin(), m_options.trustedProxies.end(), *peer) ==
                     m_options.trustedProxies.end())
        return;
    // The proxy appends its own header after any the client sent: the last one, its last address.
    const std::string* forwarded = nullptr;
    for (const auto& [name, value] : req.headers)
        if (name.size() == 15 && std::equal(name.begin(), name.end(), "x-forwarded-for", [](char a, char b) {
                return std::tolower(static_cast<unsigned char>(a)) == b;
            }))
            forwarded = &value;
    if (!forwarded) return;
    const auto comma = forwarded->rfind(',');
    if (auto client = normalizeAddress(comma == std::string::npos ? *forwarded : forwarded->substr(comma + 1)))
        req.remoteAddress = std::move(*client);
}

HttpResponse Router::handle(HttpRequest& req) {
    resolveClient(req);
    HttpResponse res;
    if (m_options.tls) res.setHeader("Strict-Transport-Security", kHsts);
    const std::string method = req.method == "HEAD" ? "GET" : req.method;
    const Route* route = nullptr;
    for (const Route& r : routes()) {
        if (method != r.method || (req.opsListener && !r.opsListener)) continue;
        if (matchPattern(r.pattern, req.path, req.matches)) {
            route = &r;
            break;
        }
    }
    if (!route) {
        req.matches.clear();
        if (!knownMethod(req.method)) {
            sendError(res, ApiError{400, "bad_request", "request refused (HTTP 400)", {}});
        } else {
            sendError(res, ApiError::notFound("no such route: " + req.method + " " + req.path.substr(0, 200)));
        }
    } else {
        res.routeLabel = route->label;
        if (auto refusal = checkAccess(req, route->access)) sendError(res, *refusal);
        else {
            try {
                (this->*route->handler)(req, res);
            } catch (const std::exception& e) {
                spdlog::error("{} {}: {}", escapeForLog(req.method), loggedPath(req.path), e.what());
                res = HttpResponse{};
                res.routeLabel = route->label;
                sendError(res, ApiError::internal("internal error"));
            }
        }
    }
    // A refused body that was cut short leaves the connection out of step: close it.
    if (req.bodyCut) res.close = true;
    m_metrics.countRequest(res.routeLabel, res.status);
    return res;
}

HttpResponse Router::refuse(int status, const std::string& message) {
    HttpResponse res;
    if (m_options.tls) res.setHeader("Strict-Transport-Security", kHsts);
    res.status = status;
    res.close = true;
    res.setContent(errorBody({status, errorCodeFor(status), message, {}}), "application/json");
    m_metrics.countRequest(res.routeLabel, res.status);
    return res;
}

void Router::log(const HttpRequest& req, const HttpResponse& res, double ms, std::int64_t nowMs) {
    m_log.write(req.method, req.method.empty() ? std::string_view("(unparsable request)") : std::string_view(req.path),
                res.status, ms, res.device, req.remoteAddress, nowMs);
}

std::optional<ApiError> Router::checkAccess(HttpRequest& req, Access access) {
    switch (access) {
    case Access::None:
    case Access::Device: return std::nullopt;
    case Access::Metrics: {
        if (req.opsListener) return std::nullopt;
        if (!m_options.metricsToken) return ApiError::notFound("no such route: " + req.method + " " + req.path);
        const auto token = bearerToken(req);
        if (!token || !sameSecret(*token, *m_options.metricsToken))
            return ApiError::unauthorized("missing or wrong metrics token");
        return std::nullopt;
    }
    case Access::Read:
    case Access::Admin: {
        // A script's bearer token as before; else the session cookie of a person who logged in.
        auto who = m_people.caller(!req.header("Authorization").empty(), bearerToken(req), optionalHeader(req, "Cookie"),
                                   m_clock.now().utcMs);
        if (!who) return who.error();
        const bool changes = req.method != "GET" && req.method != "HEAD";
        if (auto ok = Auth::authorize(*who, access == Access::Admin, changes, optionalHeader(req, "X-CSRF-Token")); !ok)
            return apiError(ok.error());
        req.principal = std::make_shared<const Principal>(std::move(*who));
        return std::nullopt;
    }
    }
    return std::nullopt;
}

void Router::sendError(HttpResponse& res, const ApiError& e) {
    ApiError shown = e;
    if (e.status >= 500) {
        // The detail (SQL errors) goes to the log, not to the client.
        spdlog::error("internal error: {}", e.message);
        shown.message = "internal error; retry later";
    }
    res.status = shown.status;
    if (shown.retryAfterS) res.setHeader("Retry-After", std::to_string(*shown.retryAfterS));
    res.setContent(errorBody(shown), "application/json");
}

std::expected<DeviceAuth, ApiError> Router::authDevice(const HttpRequest& req, HttpResponse& res) {
    const auto token = bearerToken(req);
    if (!token) return std::unexpected(ApiError::unauthorized("missing bearer token"));
    auto found = m_storage.deviceByTokenHash(hashToken(*token));
    if (!found) return std::unexpected(ApiError::internal("token lookup: " + found.error().message));
    if (!*found) return std::unexpected(ApiError::unauthorized("unknown device token"));
    res.device = (*found)->deviceId;
    if ((*found)->revoked) return std::unexpected(ApiError::unauthorized("device " + (*found)->deviceId + " is revoked"));
    return **found;
}

void Router::postEnrol(const HttpRequest& req, HttpResponse& res) {
    if (const auto wait = m_enrolLimiter.take(req.remoteAddress)) return sendError(res, ApiError::rateLimited(*wait));
    BodyRead body = readBody(req);
    if (body.closeConnection) res.close = true;
    if (body.error) return sendError(res, *body.error);
    auto reply = enrolByCode(m_storage, body.text, m_clock.now().utcMs);
    if (!reply) return sendError(res, reply.error());
    res.device = reply->value("device_id", "");
    sendJson(res, *reply);
}

void Router::postDevice(const HttpRequest& req, HttpResponse& res) {
    sendReply(res, addDeviceWithCode(m_storage, *req.principal, req.body, req.remoteAddress, m_clock.now().utcMs));
}

void Router::postEnrolmentCode(const HttpRequest& req, HttpResponse& res) {
    sendReply(res, reissueEnrolmentCode(m_storage, *req.principal, req.matches[0], req.body, req.remoteAddress,
                                        m_clock.now().utcMs));
}

void Router::deleteEnrolmentCode(const HttpRequest& req, HttpResponse& res) {
    sendReply(res, revokeEnrolmentCode(m_storage, *req.principal, req.matches[0], req.remoteAddress, m_clock.now().utcMs));
}

void Router::getTerminalConfig(const HttpRequest& req, HttpResponse& res) {
    auto device = authDevice(req, res);
    if (!device) return sendError(res, device.error());
    if (const auto wait = m_limiter.take(device->deviceId)) return sendError(res, ApiError::rateLimited(*wait));
    std::optional<std::string> ifNoneMatch;
    if (auto value = req.header("If-None-Match"); !value.empty()) ifNoneMatch = std::move(value);
    std::optional<std::string> contactKey;
    if (m_options.contactKey) contactKey = m_options.contactKey->publicBase64();
    auto reply = terminalConfig(m_storage, *device, ifNoneMatch, contactKey);
    if (!reply) return sendError(res, reply.error());
    res.setHeader("ETag", reply->etag);
    res.setHeader("Cache-Control", "no-cache");
    res.status = reply->status;
    if (reply->status == 200) res.setContent(std::move(reply->body), "application/json");
}

void Router::sendReply(HttpResponse& res, const ApiResult& reply) {
    if (!reply) return sendError(res, reply.error());
    res.status = reply->status;
    res.setHeader("Cache-Control", "no-store");
    for (const auto& [name, value] : reply->headers) res.setHeader(name, value);
    if (reply->status != 204)
        res.setContent(reply->body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), "application/json");
}

std::optional<ApiError> Router::checkStoreInScope(const HttpRequest& req, const std::string& store) {
    auto in = m_storage.people().storeInScope(store, readerScope(req));
    if (!in) return ApiError::internal(in.error().message);
    // Never 403: that would tell a reader that a store outside their scope exists.
    if (!*in) return ApiError::notFound("no store " + store);
    return std::nullopt;
}

void Router::postBatch(const HttpRequest& req, HttpResponse& res) {
    const auto started = Clock::now();
    auto device = authDevice(req, res);
    if (!device) return sendError(res, device.error());
    if (const auto wait = m_limiter.take(device->deviceId)) return sendError(res, ApiError::rateLimited(*wait));

    BodyRead body = readBody(req);
    if (body.closeConnection) res.close = true;
    if (body.error) return sendError(res, *body.error);

    auto ack = m_ingest.handle(*device, body.text);
    if (!ack) return sendError(res, ack.error());
    if (!ack->accepted.empty() && m_options.afterIngest) m_options.afterIngest(device->storeId);
    m_metrics.countResponses(static_cast<std::int64_t>(ack->accepted.size()),
                             static_cast<std::int64_t>(ack->duplicates.size()),
                             static_cast<std::int64_t>(ack->rejected.size()));
    res.status = 200;
    res.setContent(wire::encodeAck(*ack), "application/json");
    // A thousand ids compress about as well at level 1 (7% more bytes) for a fraction of the CPU:
    // at 6 the ack's gzip was ~5% of HQ's CPU in a backlog drain.
    res.gzipLevel = 1;
    m_metrics.observeIngest(std::chrono::duration<double>(Clock::now() - started).count());
}

void Router::getDaily(const HttpRequest& req, HttpResponse& res) {
    const std::string store = req.matches[0];
    std::optional<ApiError> error;
    const auto from = dateParam(req, "from", error);
    const auto to = dateParam(req, "to", error);
    if (error) return sendError(res, *error);
    if (!from || !to) return sendError(res, ApiError::badRequest("from and to are required (YYYY-MM-DD)"));
    const auto span = *core::daysFromIsoDate(*to) - *core::daysFromIsoDate(*from);
    if (span < 0) return sendError(res, ApiError::badRequest("from is after to"));
    if (span >= kMaxDailySpanDays)
        return sendError(res, ApiError::badRequest("at most " + std::to_string(kMaxDailySpanDays) + " days per request"));

    if (auto refusal = checkStoreInScope(req, store)) return sendError(res, *refusal);
    auto tallies = m_storage.dailyTallies(store, *from, *to);
    if (!tallies) return sendError(res, ApiError::internal(tallies.error().message));
    auto pending = m_storage.storePending(store);
    if (!pending) return sendError(res, ApiError::internal(pending.error().message));
    res.status = 200;
    res.setContent(dailyJson(store, *from, *to, *tallies, *pending).dump(), "application/json");
}

void Router::getResponsesCsv(const HttpRequest& req, HttpResponse& res) {
    std::optional<ApiError> error;
    ExportFilter filter;
    filter.from = dateParam(req, "from", error);
    filter.to = dateParam(req, "to", error);
    if (error) return sendError(res, *error);
    if (req.hasParam("store")) {
        filter.storeId = req.param("store");
        if (!plainId(*filter.storeId)) return sendError(res, ApiError::badRequest("store must be 1-64 of [A-Za-z0-9._-]"));
    }

    // A store outside the reader's scope exports nothing, as a store without responses does.
    const auto scoped = scopeExport(std::move(filter), readerScope(req));

    struct Cursor {
        ExportFilter filter;
        std::string lastId;
        bool headerSent = false;
        bool nothing = false;
    };
    auto cursor = std::make_shared<Cursor>(Cursor{scoped.value_or(ExportFilter{}), {}, false, !scoped});
    res.status = 200;
    res.setHeader("Content-Disposition", "attachment; filename=\"responses.csv\"");
    // Keyset pages of kCsvPageRows: memory stays flat however large the export, and no database
    // transaction is held open while the client reads.
    res.setHeader("Content-Type", "text/csv; charset=utf-8");
    res.stream = [this, cursor](std::string& chunk) {
        if (!cursor->headerSent) {
            chunk += wire::csvHeader(true);
            cursor->headerSent = true;
        }
        if (cursor->nothing) return StreamStep::Done;
        auto page = m_storage.exportPage(cursor->filter, cursor->lastId, kCsvPageRows);
        if (!page) {
            // The status line is gone already; ending without the last chunk tells the client the
            // export is incomplete.
            spdlog::error("CSV export stopped: {}", page.error().message);
            return StreamStep::Abort;
        }
        for (const auto& row : *page) chunk += wire::csvRow(row.response, row.receivedAtMs);
        if (!page->empty()) cursor->lastId = page->back().response.id;
        return page->size() < static_cast<std::size_t>(kCsvPageRows) ? StreamStep::Done : StreamStep::More;
    };
}

void Router::getDevices(const HttpRequest& req, HttpResponse& res) {
    auto devices = devicesInScope(m_storage, readerScope(req));
    if (!devices) return sendError(res, ApiError::internal(devices.error().message));
    nlohmann::json list = nlohmann::json::array();
    for (const auto& d : *devices) list.push_back(deviceJson(d));
    res.status = 200;
    res.setContent(nlohmann::json{{"devices", std::move(list)}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                    "application/json");
}

void Router::getHealth(const HttpRequest&, HttpResponse& res) {
    const int version = m_storage.schemaVersion();
    if (version != kSchemaVersion) {
        res.status = 503;
        res.setContent(errorBody({503, "unavailable", "the database does not answer", {}}), "application/json");
        return;
    }
    res.status = 200;
    res.setContent(R"({"status":"ok"})", "application/json");
}

void Router::getMetrics(const HttpRequest&, HttpResponse& res) {
    res.status = 200;
    res.setContent(m_metrics.render(), "text/plain; version=0.0.4");
}

void Router::getOverview(const HttpRequest& req, HttpResponse& res) {
    const auto period = resolvePeriod(param(req, "period"), param(req, "from"), param(req, "to"), today());
    if (!period) return sendError(res, ApiError::badRequest(period.error()));
    auto body = overviewJson(m_storage, *period, today(), m_options.dashboard, readerScope(req));
    if (!body) return sendError(res, ApiError::internal(body.error().message));
    sendJson(res, *body);
}

void Router::getStores(const HttpRequest& req, HttpResponse& res) {
    // Every store of the scope as before (with "total" and each row's figures for the period)
    // unless the caller pages: the dashboard asks for `limit` rows at `offset`.
    const auto query = parseStoreQuery([&](const char* name) { return param(req, name); }, today());
    if (!query) return sendError(res, ApiError::badRequest(query.error()));
    auto body = storeTableJson(m_storage, readerScope(req), *query, m_clock.now().utcMs, m_options.dashboard);
    if (!body) return sendError(res, ApiError::internal(body.error().message));
    sendJson(res, *body);
}

void Router::getStoreSummary(const HttpRequest& req, HttpResponse& res) {
    const std::string store = req.matches[0];
    const auto period = resolvePeriod(param(req, "period"), param(req, "from"), param(req, "to"), today());
    if (!period) return sendError(res, ApiError::badRequest(period.error()));
    if (auto refusal = checkStoreInScope(req, store)) return sendError(res, *refusal);
    const auto by = param(req, "by");
    if (by && *by != "survey_version") return sendError(res, ApiError::badRequest("by must be survey_version"));
    auto body = storeSummaryJson(m_storage, store, *period, m_clock.now().utcMs, m_options.dashboard);
    if (!body) return sendError(res, ApiError::internal(body.error().message));
    if (by) {
        auto versions = surveyVersionsJson(m_storage, store, *period);
        if (!versions) return sendError(res, ApiError::internal(versions.error().message));
        (*body)["survey_versions"] = std::move(*versions);
    }
    sendJson(res, *body);
}

void Router::getFleet(const HttpRequest& req, HttpResponse& res) {
    auto body = fleetJson(m_storage, m_clock.now().utcMs, m_options.dashboard, readerScope(req));
    if (!body) return sendError(res, ApiError::internal(body.error().message));
    sendJson(res, *body);
}

void Router::getAlerts(const HttpRequest& req, HttpResponse& res) {
    auto alerts = m_storage.recentAlerts(kAlertsListed);
    if (!alerts) return sendError(res, ApiError::internal(alerts.error().message));
    auto mine = alertsInScope(m_storage, std::move(*alerts), readerScope(req));
    if (!mine) return sendError(res, ApiError::internal(mine.error().message));
    sendJson(res, alertsJson(*mine, m_options.alerts));
}

void Router::getRegions(const HttpRequest& req, HttpResponse& res) {
    const auto period = resolvePeriod(param(req, "period"), param(req, "from"), param(req, "to"), today());
    if (!period) return sendError(res, ApiError::badRequest(period.error()));
    auto body = regionsJson(m_storage, readerScope(req), *period, m_options.dashboard);
    if (!body) return sendError(res, ApiError::internal(body.error().message));
    sendJson(res, *body);
}

void Router::postSession(const HttpRequest& req, HttpResponse& res) {
    sendReply(res, m_people.login(req.body, req.remoteAddress, m_clock.now().utcMs));
}

void Router::deleteSession(const HttpRequest& req, HttpResponse& res) {
    sendReply(res, m_people.logout(*req.principal, req.remoteAddress, m_clock.now().utcMs));
}

void Router::getMe(const HttpRequest& req, HttpResponse& res) { sendReply(res, m_people.me(*req.principal)); }

void Router::getUsers(const HttpRequest&, HttpResponse& res) { sendReply(res, m_people.listUsers()); }

void Router::postUser(const HttpRequest& req, HttpResponse& res) {
    sendReply(res, m_people.addUser(*req.principal, req.body, req.remoteAddress, m_clock.now().utcMs));
}

void Router::patchUser(const HttpRequest& req, HttpResponse& res) {
    const auto id = std::all_of(req.matches[0].begin(), req.matches[0].end(), [](char c) { return c >= '0' && c <= '9'; }) &&
                            req.matches[0].size() < 19
                        ? std::optional<std::int64_t>(std::stoll(req.matches[0]))
                        : std::nullopt;
    if (!id) return sendError(res, ApiError::notFound("no user " + req.matches[0]));
    sendReply(res, m_people.changeUser(*req.principal, *id, req.body, req.remoteAddress, m_clock.now().utcMs));
}

void Router::postRegion(const HttpRequest& req, HttpResponse& res) {
    sendReply(res, m_people.addRegion(*req.principal, req.body, req.remoteAddress, m_clock.now().utcMs));
}

void Router::patchRegion(const HttpRequest& req, HttpResponse& res) {
    sendReply(res, m_people.renameRegion(*req.principal, req.matches[0], req.body, req.remoteAddress, m_clock.now().utcMs));
}

void Router::patchStore(const HttpRequest& req, HttpResponse& res) {
    sendReply(res, m_people.setStore(*req.principal, req.matches[0], req.body, req.remoteAddress, m_clock.now().utcMs));
}

void Router::postToken(const HttpRequest& req, HttpResponse& res) {
    sendReply(res, m_people.addToken(*req.principal, req.body, req.remoteAddress, m_clock.now().utcMs));
}

void Router::getTokens(const HttpRequest&, HttpResponse& res) { sendReply(res, m_people.listTokens()); }

void Router::deleteToken(const HttpRequest& req, HttpResponse& res) {
    const std::string& text = req.matches[0];
    const bool number = !text.empty() && text.size() < 19 && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!number) return sendError(res, ApiError::notFound("no token " + text.substr(0, 40)));
    sendReply(res, m_people.revokeToken(*req.principal, std::stoll(text), req.remoteAddress, m_clock.now().utcMs));
}

void Router::getAudit(const HttpRequest& req, HttpResponse& res) { sendReply(res, m_people.audit(param(req, "from"), param(req, "to"))); }

void Router::getCases(const HttpRequest& req, HttpResponse& res) {
    sendReply(res, m_cases.list(*req.principal, [&](const char* n) { return param(req, n); }, caseNow()));
}

void Router::getCasesSummary(const HttpRequest& req, HttpResponse& res) {
    sendReply(res, m_cases.summary(*req.principal, [&](const char* n) { return param(req, n); }, caseNow()));
}

void Router::getCase(const HttpRequest& req, HttpResponse& res) {
    sendReply(res, m_cases.get(*req.principal, req.matches[0], caseNow()));
}

void Router::postCaseContact(const HttpRequest& req, HttpResponse& res) {
    sendReply(res, m_cases.contact(*req.principal, req.matches[0], req.remoteAddress, caseNow()));
}

void Router::postCase(const HttpRequest& req, HttpResponse& res) {
    sendReply(res, m_cases.move(*req.principal, req.matches[0], req.body, req.remoteAddress, caseNow()));
}

void Router::getReasons(const HttpRequest& req, HttpResponse& res) {
    sendReply(res, m_cases.reasons(*req.principal, [&](const char* n) { return param(req, n); }, caseNow()));
}

void Router::getSurveys(const HttpRequest&, HttpResponse& res) { sendReply(res, m_surveys.list()); }

void Router::getSurveyVersion(const HttpRequest& req, HttpResponse& res) {
    sendReply(res, m_surveys.show(req.matches[0], req.matches[1]));
}

void Router::postSurvey(const HttpRequest& req, HttpResponse& res) {
    sendReply(res, m_surveys.publish(*req.principal, req.body, req.remoteAddress, m_clock.now().utcMs));
}

void Router::postSurveyAssign(const HttpRequest& req, HttpResponse& res) {
    sendReply(res, m_surveys.assign(*req.principal, req.matches[0], req.matches[1], req.body, req.remoteAddress,
                                    m_clock.now().utcMs));
}

void Router::getWebFile(const HttpRequest& req, HttpResponse& res) {
    const auto asset = findWebAsset(req.path);
    if (!asset) return sendError(res, ApiError::notFound("no such file: " + req.path.substr(0, 200)));
    // The page holds no data: everything it shows comes from the API with the read token, so
    // serving it without one reveals nothing.
    res.status = 200;
    res.setHeader("Cache-Control", "no-cache");
    res.setHeader("X-Content-Type-Options", "nosniff");
    res.setHeader("Referrer-Policy", "no-referrer");
    if (asset->contentType.starts_with("text/html")) {
        res.setHeader("Content-Security-Policy", kPagePolicy);
        res.setHeader("X-Frame-Options", "DENY");
    }
    res.setContent(std::string(asset->body), std::string(asset->contentType));
}

} // namespace segue::hq
