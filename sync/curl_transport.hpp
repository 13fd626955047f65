// The production Transport: one keep-alive libcurl handle posting gzip'd batches over HTTPS
// with certificate and hostname verification always on.
#pragma once
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
