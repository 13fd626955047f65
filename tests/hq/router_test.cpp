// The route table (each route once, its label from the table) and the request log's escaping.
#include <memory>
#include <set>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "hq/http_log.hpp"
#include "hq/http_types.hpp"
#include "hq/router.hpp"

using namespace segue::hq;

TEST_CASE("router: every route is declared once and its metrics label comes from the table", "[router]") {
    std::set<std::pair<std::string, std::string>> seen;
    std::set<std::string> labels;
    for (const Route& r : Router::routes()) {
        INFO(r.method << " " << r.pattern);
        CHECK(seen.emplace(r.method, r.pattern).second);
        CHECK(labels.insert(r.label).second);
        CHECK(r.handler != nullptr);
    }
    CHECK(Router::routeLabel("POST", "/api/v1/batches") == "/api/v1/batches");
    CHECK(Router::routeLabel("GET", "/api/v1/stores/store-1/daily") == "/api/v1/stores/{store}/daily");
    CHECK(Router::routeLabel("GET", "/api/v1/stores/store-1/summary") == "/api/v1/stores/{store}/summary");
    CHECK(Router::routeLabel("GET", "/api/v1/stores") == "/api/v1/stores");
    CHECK(Router::routeLabel("HEAD", "/healthz") == "/healthz");
    CHECK(Router::routeLabel("GET", "/static/app.js") == "/static");
    CHECK(Router::routeLabel("GET", "/static/i18n/en.json") == "/static");
    CHECK(Router::routeLabel("GET", "/") == "/");
    CHECK(Router::routeLabel("GET", "/api/v1/batches") == "other");   // wrong method
    CHECK(Router::routeLabel("GET", "/api/v1/stores/a b/daily") == "other");
    CHECK(Router::routeLabel("GET", "/api/v1/stores/" + std::string(65, 's') + "/daily") == "other");
    CHECK(Router::routeLabel("GET", "/nothing") == "other");
}

TEST_CASE("router: query strings and percent escapes decode as before", "[router]") {
    const auto q = parseQuery("from=2026-01-01&to=2026-01-31&store=a%2Cb&x=1+2&flag");
    CHECK(q.find("from")->second == "2026-01-01");
    CHECK(q.find("store")->second == "a,b");
    CHECK(q.find("x")->second == "1 2");
    CHECK(q.find("flag")->second.empty());
    CHECK(percentDecode("/a%0ab%zz%4", false) == "/a\nb%zz%4");
    CHECK(percentDecode("a+b", false) == "a+b");
}

TEST_CASE("request log: control characters are escaped and long paths cut", "[router]") {
    CHECK(escapeForLog("/x\ny\x1b[31m\\") == "/x\\ny\\x1b[31m\\\\");
    CHECK(escapeForLog("\r\t\x7f\xc3") == "\\r\\t\\x7f\\xc3");
    const std::string longPath = "/" + std::string(5000, 'L');
    const std::string shown = loggedPath(longPath);
    CHECK(shown.starts_with("/LLL"));
    CHECK(shown.size() < kLoggedPathChars + 30);
    CHECK(shown.ends_with("...(5001 bytes)"));
    CHECK(loggedPath("/healthz") == "/healthz");
}

TEST_CASE("request log: a /healthz answered 200 stays out of the info log; a failing one and other paths do not",
          "[router]") {
    std::ostringstream out;
    const auto previous = spdlog::default_logger();
    auto capture = std::make_shared<spdlog::logger>("capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
    capture->set_level(spdlog::level::info);
    capture->set_pattern("%v");
    spdlog::set_default_logger(capture);
    RequestLog log;
    log.write("GET", "/healthz", 200, 0.2, "", "127.0.0.1", 1000);
    const std::string afterHealthy = out.str();
    log.write("GET", "/healthz", 503, 0.2, "", "127.0.0.1", 1001);
    log.write("GET", "/api/v1/overview", 200, 3.0, "", "127.0.0.1", 1002);
    spdlog::set_default_logger(previous);
    CHECK(afterHealthy.empty());
    INFO("logged: " << out.str());
    CHECK(out.str().find("GET /healthz 503") != std::string::npos);
    CHECK(out.str().find("GET /api/v1/overview 200") != std::string::npos);
}
