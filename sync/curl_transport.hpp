// The production Transport: one keep-alive libcurl handle posting gzip'd batches over HTTPS
// with certificate and hostname verification always on.
#pragma once
#include <atomic>
#include <expected>
#include <memory>
#include <string>

#include "sync/transport.hpp"

namespace segue::sync {

struct CurlOptions {
    std::string serverUrl;           ///< "https://host[:port]" (a path prefix is allowed)
    std::string token;               ///< device token, sent as "Authorization: Bearer ..."
    std::string caFile;              ///< PEM bundle for a private CA; empty = system CAs
    long connectTimeoutS = 5;
    /// A transfer slower than lowSpeedBytesPerS for lowSpeedTimeS is abandoned: a stalled
    /// link fails without cutting off a slow but moving upload of a big backlog.
    long lowSpeedBytesPerS = 1;
    long lowSpeedTimeS = 30;
    std::string userAgent = "segue-kiosk";
};

/// The batches endpoint for a server URL: "https://hq:8443" -> "https://hq:8443/api/v1/batches".
std::string batchesUrl(const std::string& serverUrl);

/// One request to HQ outside the batch stream (enrolment, the terminal config), under the same
/// TLS rules as CurlTransport: https only, peer and host always verified, no redirects.
struct HttpsRequest {
    std::string serverUrl;          ///< [sync] server_url
    std::string caFile;             ///< [sync] ca_file; empty = system CAs
    std::string method = "GET";     ///< "GET" or "POST" (a JSON body)
    std::string path;               ///< e.g. "/api/v1/enrol"
    std::string body;
    std::string token;              ///< sent as a Bearer token when not empty
    std::string ifNoneMatch;        ///< sent as If-None-Match when not empty
    long timeoutS = 10;
    /// When set and true (before or during the request), the request ends at once as Aborted:
    /// a stopping worker never waits out the timeout.
    std::shared_ptr<const std::atomic<bool>> cancel;
};

/// HQ's answer, whatever its status.
struct HttpsReply {
    int status = 0;
    std::string body;
    std::string etag;               ///< the ETag header, as sent (quotes included)
};

/// Runs `request`. Transport failures (unreachable, timeout, TLS) are SendFailures classified as
/// a batch's would be; every HTTP status is a reply. Never throws.
std::expected<HttpsReply, SendFailure> httpsRequest(const HttpsRequest& request);

/// HQ's {"error","message"} body as one short text ("error: message"); other bodies shortened.
std::string replyErrorText(const std::string& body);

class CurlTransport final : public Transport {
public:
    /// Refuses anything but an https:// URL, a token with characters that cannot go in a
    /// header, and a ca_file that cannot be read. Peer and host verification cannot be disabled.
    static std::expected<std::unique_ptr<CurlTransport>, std::string> create(const CurlOptions& options);
    ~CurlTransport() override;
    CurlTransport(const CurlTransport&) = delete;
    CurlTransport& operator=(const CurlTransport&) = delete;

    std::expected<wire::BatchAck, SendFailure> post(const wire::Batch& batch) override;
    /// gzip of the batch's JSON.
    std::optional<std::string> encode(const wire::Batch& batch) const override;
    std::expected<wire::BatchAck, SendFailure> post(const wire::Batch& batch, const std::string& body) override;
    void cancel() override;

    struct Impl;

private:
    explicit CurlTransport(std::unique_ptr<Impl> impl);
    std::expected<wire::BatchAck, SendFailure> send(const std::string& gzBody);
    std::unique_ptr<Impl> m_impl;
};

} // namespace segue::sync
