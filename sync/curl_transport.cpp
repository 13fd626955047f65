// The one file that includes curl.h.
#include "sync/curl_transport.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace segue::sync {

namespace {

constexpr std::size_t kMaxReplyBytes = 16 * 1024 * 1024;
constexpr std::int64_t kMaxRetryAfterMs = 60 * 60 * 1000;

std::once_flag g_curlInit;
CURLcode g_curlInitResult = CURLE_OK;

std::string lowerAscii(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
        s.remove_suffix(1);
    return s;
}

/// Retry-After is either delta-seconds or an HTTP date.
std::optional<std::int64_t> parseRetryAfter(std::string_view value) {
    value = trim(value);
    if (value.empty()) return std::nullopt;
    if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        if (value.size() > 9) return kMaxRetryAfterMs;
        return std::min<std::int64_t>(std::stoll(std::string(value)) * 1000, kMaxRetryAfterMs);
    }
    const std::string text(value);
    const time_t when = curl_getdate(text.c_str(), nullptr);
    if (when < 0) return std::nullopt;
    const auto nowS = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
    return std::clamp<std::int64_t>((static_cast<std::int64_t>(when) - nowS) * 1000, 0, kMaxRetryAfterMs);
}

SendError classifyCurl(CURLcode code) {
    switch (code) {
    case CURLE_OPERATION_TIMEDOUT: return SendError::Timeout;
    case CURLE_SSL_CONNECT_ERROR: return SendError::TlsHandshake;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_USE_SSL_FAILED:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT: return SendError::Tls;
    case CURLE_ABORTED_BY_CALLBACK: return SendError::Aborted;
    default: return SendError::Offline;   // resolve, connect, send/recv, reset, empty reply
    }
}

/// HQ's error bodies are {"error": code, "message": text}; anything else is shown shortened.
std::string errorBodyText(const std::string& body) {
    auto j = nlohmann::json::parse(body, nullptr, false);
    std::string text;
    if (j.is_object() && j.contains("message") && j["message"].is_string()) {
        text = j["message"].get<std::string>();
        if (j.contains("error") && j["error"].is_string()) text = j["error"].get<std::string>() + ": " + text;
    } else {
        text = body;
    }
    if (text.size() > 300) text = text.substr(0, 300) + "...";
    return text;
}

bool headerSafe(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

} // namespace

struct CurlTransport::Impl {
    CURL* curl = nullptr;
    curl_slist* headers = nullptr;
    std::string url;
    char errorBuffer[CURL_ERROR_SIZE] = {};
    std::string reply;
    bool replyOverflow = false;
    std::optional<std::int64_t> retryAfterMs;
    std::atomic<bool> cancelled{false};

    ~Impl() {
        if (curl) curl_easy_cleanup(curl);
        if (headers) curl_slist_free_all(headers);
    }

    static size_t onWrite(char* data, size_t size, size_t count, void* user) {
        auto* self = static_cast<Impl*>(user);
        const size_t n = size * count;
        if (self->reply.size() + n > kMaxReplyBytes) {
            self->replyOverflow = true;
            return 0;   // makes curl fail with CURLE_WRITE_ERROR
        }
        self->reply.append(data, n);
        return n;
    }

    static size_t onHeader(char* data, size_t size, size_t count, void* user) {
        auto* self = static_cast<Impl*>(user);
        const size_t n = size * count;
        const std::string_view line(data, n);
        const auto colon = line.find(':');
        if (colon != std::string_view::npos && lowerAscii(trim(line.substr(0, colon))) == "retry-after")
            self->retryAfterMs = parseRetryAfter(line.substr(colon + 1));
        return n;
    }

    static int onProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
        return static_cast<Impl*>(user)->cancelled.load() ? 1 : 0;
    }
};

std::string batchesUrl(const std::string& serverUrl) {
    std::string base = serverUrl;
    while (!base.empty() && base.back() == '/') base.pop_back();
    return base + "/api/v1/batches";
}

std::expected<std::unique_ptr<CurlTransport>, std::string> CurlTransport::create(const CurlOptions& o) {
    if (lowerAscii(o.serverUrl).rfind("https://", 0) != 0)
        return std::unexpected("server_url must start with https:// (got \"" + o.serverUrl + "\")");
    if (o.token.empty()) return std::unexpected(std::string("the device token is empty"));
    if (!headerSafe(o.token)) return std::unexpected(std::string("the device token holds spaces or control characters"));
    if (!headerSafe(o.userAgent)) return std::unexpected(std::string("bad user agent"));
    if (!o.caFile.empty()) {
        std::ifstream probe(o.caFile);
        if (!probe) return std::unexpected("ca_file " + o.caFile + " cannot be read");
    }

    std::call_once(g_curlInit, [] { g_curlInitResult = curl_global_init(CURL_GLOBAL_DEFAULT); });
    if (g_curlInitResult != CURLE_OK)
        return std::unexpected(std::string("libcurl init failed: ") + curl_easy_strerror(g_curlInitResult));

    auto impl = std::make_unique<Impl>();
    impl->curl = curl_easy_init();
    if (!impl->curl) return std::unexpected(std::string("curl_easy_init failed"));
    impl->url = batchesUrl(o.serverUrl);

    for (const std::string& h : {std::string("Content-Type: application/json"),
                                std::string("Content-Encoding: gzip"),
                                std::string("Accept: application/json"),
                                std::string("Expect:"),   // no 100-continue round trip
                                "Authorization: Bearer " + o.token}) {
        curl_slist* next = curl_slist_append(impl->headers, h.c_str());
        if (!next) return std::unexpected(std::string("out of memory building headers"));
        impl->headers = next;
    }

    CURL* c = impl->curl;
    CURLcode rc = CURLE_OK;
    auto set = [&](CURLoption opt, auto value) {
        if (rc == CURLE_OK) rc = curl_easy_setopt(c, opt, value);
    };
    set(CURLOPT_URL, impl->url.c_str());
    set(CURLOPT_PROTOCOLS_STR, "https");
    set(CURLOPT_REDIR_PROTOCOLS_STR, "https");
    set(CURLOPT_FOLLOWLOCATION, 0L);
    set(CURLOPT_SSL_VERIFYPEER, 1L);
    set(CURLOPT_SSL_VERIFYHOST, 2L);
    if (!o.caFile.empty()) set(CURLOPT_CAINFO, o.caFile.c_str());
    set(CURLOPT_NOSIGNAL, 1L);
    set(CURLOPT_CONNECTTIMEOUT, o.connectTimeoutS);
    set(CURLOPT_LOW_SPEED_LIMIT, o.lowSpeedBytesPerS);
    set(CURLOPT_LOW_SPEED_TIME, o.lowSpeedTimeS);
    set(CURLOPT_TCP_KEEPALIVE, 1L);
    set(CURLOPT_TCP_NODELAY, 1L);
    // HQ's ack lists every id; compressed it is about half of what a response costs on the wire.
    set(CURLOPT_ACCEPT_ENCODING, "gzip");
    set(CURLOPT_HTTPHEADER, impl->headers);
    set(CURLOPT_USERAGENT, o.userAgent.c_str());
    set(CURLOPT_ERRORBUFFER, impl->errorBuffer);
    set(CURLOPT_WRITEFUNCTION, &Impl::onWrite);
    set(CURLOPT_WRITEDATA, static_cast<void*>(impl.get()));
    set(CURLOPT_HEADERFUNCTION, &Impl::onHeader);
    set(CURLOPT_HEADERDATA, static_cast<void*>(impl.get()));
    set(CURLOPT_XFERINFOFUNCTION, &Impl::onProgress);
    set(CURLOPT_XFERINFODATA, static_cast<void*>(impl.get()));
    set(CURLOPT_NOPROGRESS, 0L);
    set(CURLOPT_POST, 1L);
    if (rc != CURLE_OK) return std::unexpected(std::string("libcurl option refused: ") + curl_easy_strerror(rc));
    return std::unique_ptr<CurlTransport>(new CurlTransport(std::move(impl)));
}

CurlTransport::CurlTransport(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
CurlTransport::~CurlTransport() = default;

void CurlTransport::cancel() { m_impl->cancelled = true; }

std::optional<std::string> CurlTransport::encode(const wire::Batch& batch) const {
    auto body = wire::gzip(wire::encodeBatch(batch));
    if (!body) return std::nullopt;   // post() compresses again and reports why
    return std::move(*body);
}

std::expected<wire::BatchAck, SendFailure> CurlTransport::post(const wire::Batch& batch) {
    auto body = wire::gzip(wire::encodeBatch(batch));
    if (!body) return std::unexpected(SendFailure{SendError::Rejected, "cannot compress the batch: " + body.error(), {}, {}});
    return send(*body);
}

std::expected<wire::BatchAck, SendFailure> CurlTransport::post(const wire::Batch& /*batch*/, const std::string& body) {
    return send(body);
}

std::expected<wire::BatchAck, SendFailure> CurlTransport::send(const std::string& gzBody) {
    Impl& s = *m_impl;
    if (s.cancelled) return std::unexpected(SendFailure{SendError::Aborted, "sync is stopping", {}, {}});
    const std::string* body = &gzBody;

    s.reply.clear();
    s.replyOverflow = false;
    s.retryAfterMs.reset();
    s.errorBuffer[0] = '\0';
    CURLcode rc = curl_easy_setopt(s.curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->size()));
    if (rc == CURLE_OK) rc = curl_easy_setopt(s.curl, CURLOPT_POSTFIELDS, body->data());
    if (rc == CURLE_OK) rc = curl_easy_perform(s.curl);
    // POSTFIELDS points into `body`; drop it before the string goes.
    curl_easy_setopt(s.curl, CURLOPT_POSTFIELDS, static_cast<const char*>(nullptr));
    curl_easy_setopt(s.curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(0));

    if (rc != CURLE_OK) {
        if (rc == CURLE_WRITE_ERROR && s.replyOverflow)
            return std::unexpected(SendFailure{SendError::ServerError, "HQ's reply is larger than 16 MiB", {}, {}});
        std::string message = s.errorBuffer[0] != '\0' ? std::string(s.errorBuffer) : curl_easy_strerror(rc);
        SendError kind = classifyCurl(rc);
        if (kind == SendError::Aborted && !s.cancelled) kind = SendError::Offline;
        return std::unexpected(SendFailure{kind, std::move(message), {}, {}});
    }

    long status = 0;
    if (curl_easy_getinfo(s.curl, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK)
        return std::unexpected(SendFailure{SendError::ServerError, "no HTTP status in HQ's reply", {}, {}});
    const int code = static_cast<int>(status);
    if (code == 200) {
        auto ack = wire::decodeAck(s.reply);
        if (!ack) return std::unexpected(SendFailure{SendError::ServerError, "HQ's reply is not an ack: " + ack.error(), code, {}});
        return std::move(*ack);
    }
    SendFailure f{SendError::Rejected, errorBodyText(s.reply), code, s.retryAfterMs};
    if (code == 401 || code == 403) f.kind = SendError::Unauthorized;
    else if (code == 408 || code >= 500 || (code >= 200 && code < 300)) f.kind = SendError::ServerError;
    else if (code == 429) f.kind = SendError::RateLimited;
    else if (code == 413) f.kind = SendError::TooLarge;
    else if (code == 409) f.kind = SendError::Protocol;
    else if (code >= 300 && code < 400) f.message = "HQ answered with a redirect; check server_url";
    return std::unexpected(std::move(f));
}

namespace {

struct RequestState {
    std::string reply;
    std::string etag;
    bool overflow = false;

    static size_t onWrite(char* data, size_t size, size_t count, void* user) {
        auto* self = static_cast<RequestState*>(user);
        const size_t n = size * count;
        if (self->reply.size() + n > kMaxReplyBytes) {
            self->overflow = true;
            return 0;
        }
        self->reply.append(data, n);
        return n;
    }
    static int onProgress(void* cancel, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
        return static_cast<const std::atomic<bool>*>(cancel)->load() ? 1 : 0;
    }
    static size_t onHeader(char* data, size_t size, size_t count, void* user) {
        auto* self = static_cast<RequestState*>(user);
        const size_t n = size * count;
        const std::string_view line(data, n);
        const auto colon = line.find(':');
        if (colon != std::string_view::npos && lowerAscii(trim(line.substr(0, colon))) == "etag")
            self->etag = std::string(trim(line.substr(colon + 1)));
        return n;
    }
};

} // namespace

std::expected<HttpsReply, SendFailure> httpsRequest(const HttpsRequest& r) {
    auto refuse = [](std::string why) { return std::unexpected(SendFailure{SendError::Tls, std::move(why), {}, {}}); };
    if (lowerAscii(r.serverUrl).rfind("https://", 0) != 0)
        return refuse("server_url must start with https:// (got \"" + r.serverUrl + "\")");
    if (!headerSafe(r.token.empty() ? "x" : r.token) || !headerSafe(r.ifNoneMatch.empty() ? "x" : r.ifNoneMatch))
        return refuse("a header value holds spaces or control characters");
    if (!r.caFile.empty() && !std::ifstream(r.caFile)) return refuse("ca_file " + r.caFile + " cannot be read");
    std::call_once(g_curlInit, [] { g_curlInitResult = curl_global_init(CURL_GLOBAL_DEFAULT); });
    if (g_curlInitResult != CURLE_OK)
        return refuse(std::string("libcurl init failed: ") + curl_easy_strerror(g_curlInitResult));

    std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), &curl_easy_cleanup);
    if (!curl) return refuse("curl_easy_init failed");
    std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headers(nullptr, &curl_slist_free_all);
    std::vector<std::string> lines = {"Accept: application/json", "Expect:"};
    if (r.method == "POST") lines.push_back("Content-Type: application/json");
    if (!r.token.empty()) lines.push_back("Authorization: Bearer " + r.token);
    if (!r.ifNoneMatch.empty()) lines.push_back("If-None-Match: " + r.ifNoneMatch);
    for (const auto& h : lines) {
        curl_slist* next = curl_slist_append(headers.get(), h.c_str());
        if (!next) return refuse("out of memory building headers");
        headers.release();
        headers.reset(next);
    }
    std::string base = r.serverUrl;
    while (!base.empty() && base.back() == '/') base.pop_back();
    const std::string url = base + r.path;
    RequestState state;
    char errorBuffer[CURL_ERROR_SIZE] = {};
    CURL* c = curl.get();
    CURLcode rc = CURLE_OK;
    auto set = [&](CURLoption opt, auto value) {
        if (rc == CURLE_OK) rc = curl_easy_setopt(c, opt, value);
    };
    set(CURLOPT_URL, url.c_str());
    set(CURLOPT_PROTOCOLS_STR, "https");
    set(CURLOPT_FOLLOWLOCATION, 0L);
    set(CURLOPT_SSL_VERIFYPEER, 1L);
    set(CURLOPT_SSL_VERIFYHOST, 2L);
    if (!r.caFile.empty()) set(CURLOPT_CAINFO, r.caFile.c_str());
    set(CURLOPT_NOSIGNAL, 1L);
    set(CURLOPT_CONNECTTIMEOUT, 5L);
    set(CURLOPT_TIMEOUT, r.timeoutS);
    set(CURLOPT_ACCEPT_ENCODING, "gzip");
    set(CURLOPT_HTTPHEADER, headers.get());
    set(CURLOPT_USERAGENT, "segue-kiosk");
    set(CURLOPT_ERRORBUFFER, errorBuffer);
    set(CURLOPT_WRITEFUNCTION, &RequestState::onWrite);
    set(CURLOPT_WRITEDATA, static_cast<void*>(&state));
    set(CURLOPT_HEADERFUNCTION, &RequestState::onHeader);
    set(CURLOPT_HEADERDATA, static_cast<void*>(&state));
    if (r.cancel) {
        if (r.cancel->load()) return std::unexpected(SendFailure{SendError::Aborted, "sync is stopping", {}, {}});
        set(CURLOPT_NOPROGRESS, 0L);
        set(CURLOPT_XFERINFOFUNCTION, &RequestState::onProgress);
        set(CURLOPT_XFERINFODATA, static_cast<const void*>(r.cancel.get()));
    }
    if (r.method == "POST") {
        set(CURLOPT_POST, 1L);
        set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
        set(CURLOPT_POSTFIELDS, r.body.c_str());
    }
    if (rc != CURLE_OK) return refuse(std::string("libcurl option refused: ") + curl_easy_strerror(rc));
    rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
        if (rc == CURLE_WRITE_ERROR && state.overflow)
            return std::unexpected(SendFailure{SendError::ServerError, "HQ's reply is larger than 16 MiB", {}, {}});
        std::string message = errorBuffer[0] != '\0' ? std::string(errorBuffer) : curl_easy_strerror(rc);
        SendError kind = classifyCurl(rc);
        if (kind == SendError::Aborted && r.cancel && r.cancel->load())
            return std::unexpected(SendFailure{SendError::Aborted, "sync is stopping", {}, {}});
        if (kind == SendError::Aborted) kind = SendError::Offline;
        return std::unexpected(SendFailure{kind, std::move(message), {}, {}});
    }
    long status = 0;
    if (curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK)
        return std::unexpected(SendFailure{SendError::ServerError, "no HTTP status in HQ's reply", {}, {}});
    return HttpsReply{static_cast<int>(status), std::move(state.reply), std::move(state.etag)};
}

/// HQ's {"error","message"} body as one short text (for callers of httpsRequest).
std::string replyErrorText(const std::string& body) { return errorBodyText(body); }

} // namespace segue::sync
