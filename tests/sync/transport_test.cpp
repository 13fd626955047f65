// CurlTransport's refusals at creation and its verdict on a refused connection. Exchanges
// with a real segue-hq are in the end-to-end tests.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <memory>
#include <thread>
#include <utility>

#include "sync/curl_transport.hpp"
#include "tests/sync/support.hpp"

using namespace segue;

namespace {

/// A TCP socket bound to a free loopback port (listening when asked); its descriptor and port.
std::pair<int, int> loopbackSocket(bool listening) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    if (listening) REQUIRE(listen(fd, 4) == 0);
    socklen_t len = sizeof a;
    REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    return {fd, ntohs(a.sin_port)};
}

/// A loopback port nobody listens on: bound, then closed.
int closedPort() {
    const auto [fd, port] = loopbackSocket(false);
    close(fd);
    return port;
}

wire::Batch oneRecordBatch() {
    wire::Batch b;
    b.batchId = "01900000-0000-7000-8000-000000000001";
    b.deviceId = "kiosk-1";
    b.sentAtMs = 1'795'000'000'000;
    b.pending = 1;
    b.appVersion = "test";
    b.responses = test::makeResponses(1, "store-1", "kiosk-1", b.sentAtMs);
    return b;
}

} // namespace

TEST_CASE("the batches URL is built from server_url", "[transport]") {
    CHECK(sync::batchesUrl("https://hq.example.com:8443") == "https://hq.example.com:8443/api/v1/batches");
    CHECK(sync::batchesUrl("https://hq.example.com/segue/") == "https://hq.example.com/segue/api/v1/batches");
}

TEST_CASE("the curl transport refuses what would weaken or break it", "[transport]") {
    sync::CurlOptions o;
    o.serverUrl = "http://127.0.0.1:8443";
    o.token = "abc";
    auto t = sync::CurlTransport::create(o);
    REQUIRE_FALSE(t.has_value());
    CHECK(t.error().find("https://") != std::string::npos);

    o.serverUrl = "https://127.0.0.1:8443";
    o.token = "";
    CHECK_FALSE(sync::CurlTransport::create(o).has_value());
    o.token = "abc\r\nX-Injected: 1";
    t = sync::CurlTransport::create(o);
    REQUIRE_FALSE(t.has_value());
    CHECK(t.error().find("token") != std::string::npos);

    o.token = "abc";
    o.caFile = "/nonexistent/ca.pem";
    t = sync::CurlTransport::create(o);
    REQUIRE_FALSE(t.has_value());
    CHECK(t.error().find("/nonexistent/ca.pem") != std::string::npos);

    o.caFile.clear();
    CHECK(sync::CurlTransport::create(o).has_value());
}

TEST_CASE("a refused connection is 'offline', retryable, with curl's own words", "[transport]") {
    sync::CurlOptions o;
    o.serverUrl = "https://127.0.0.1:" + std::to_string(closedPort());
    o.token = "abc";
    auto t = sync::CurlTransport::create(o);
    REQUIRE(t.has_value());
    auto r = (*t)->post(oneRecordBatch());
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().kind == sync::SendError::Offline);
    CHECK(sync::dispositionOf(r.error().kind) == sync::Disposition::Retry);
    CHECK(r.error().message.find("127.0.0.1") != std::string::npos);   // CURLOPT_ERRORBUFFER text
    CHECK_FALSE(r.error().httpStatus.has_value());
}

TEST_CASE("after cancel() every post ends as aborted without touching the network", "[transport]") {
    sync::CurlOptions o;
    o.serverUrl = "https://127.0.0.1:" + std::to_string(closedPort());
    o.token = "abc";
    auto t = sync::CurlTransport::create(o);
    REQUIRE(t.has_value());
    (*t)->cancel();
    auto r = (*t)->post(oneRecordBatch());
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().kind == sync::SendError::Aborted);
}

TEST_CASE("a one-off HTTPS request (the config fetch) ends as aborted when cancelled mid-wait", "[transport]") {
    // A listener that never answers: the kernel completes the TCP handshake, the TLS hello waits.
    const auto [fd, port] = loopbackSocket(true);

    auto cancel = std::make_shared<std::atomic<bool>>(false);
    sync::HttpsRequest request;
    request.serverUrl = "https://127.0.0.1:" + std::to_string(port);
    request.path = "/api/v1/terminal/config";
    request.cancel = cancel;
    SECTION("cancelled while waiting: Aborted, not the timeout's verdict") {
        std::thread stopper([cancel] {
            std::this_thread::sleep_for(std::chrono::milliseconds(300));
            cancel->store(true);
        });
        const auto reply = sync::httpsRequest(request);
        stopper.join();
        REQUIRE_FALSE(reply.has_value());
        CHECK(reply.error().kind == sync::SendError::Aborted);
    }
    SECTION("cancelled before: Aborted without connecting") {
        cancel->store(true);
        const auto reply = sync::httpsRequest(request);
        REQUIRE_FALSE(reply.has_value());
        CHECK(reply.error().kind == sync::SendError::Aborted);
    }
    close(fd);
}
