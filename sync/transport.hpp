// How a batch travels to HQ: the Transport interface the worker drains through, the ways a
// send can fail, and what the worker does about each. libcurl stays behind this interface.
#pragma once
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>

#include "sync/wire.hpp"

namespace segue::sync {

enum class SendError {
    Offline,        ///< HQ not reachable: connect refused, DNS, reset, no reply (retry)
    Timeout,        ///< connect timeout or the low-speed limit fired on a stalled link (retry)
    TlsHandshake,   ///< the TLS handshake broke off without a verdict on the certificate (retry)
    Tls,            ///< certificate not trusted / hostname mismatch / bad CA file (configuration)
    Unauthorized,   ///< 401/403: wrong or revoked device token (configuration)
    ServerError,    ///< 408, 5xx, or a 200 whose body is not an ack (retry)
    RateLimited,    ///< 429 (retry, honouring Retry-After)
    TooLarge,       ///< 413: the worker halves the batch and tries again
    Protocol,       ///< 409: HQ does not speak this protocol version (parked)
    Rejected,       ///< any other 4xx: HQ refused the whole request (parked)
    Aborted,        ///< the worker is stopping; not an error
};

/// What the worker does after a failure of this kind.
enum class Disposition {
    Retry,           ///< exponential backoff with jitter, Retry-After honoured
    Split,           ///< send a smaller batch at once
    ConfigProblem,   ///< staff must fix the configuration; slow retry, "sync now" always tries
    Parked,          ///< HQ refuses the request as sent; slow retry, shown on the staff screen
    Stop,            ///< shutting down
};

struct SendFailure {
    SendError kind = SendError::Offline;
    std::string message;                    ///< curl's error buffer or HQ's error body
    std::optional<int> httpStatus;
    std::optional<std::int64_t> retryAfterMs;
};

Disposition dispositionOf(SendError kind);

/// A short phrase in plain words for the staff screen and the CLI ("HQ cannot be reached").
std::string_view plainWords(SendError kind);

/// Plain words, then the detail: "HQ cannot be reached (Failed to connect to ...)".
std::string describe(const SendFailure& failure);

/// Stable lowercase name used in the persisted status ("offline", "tls", ...).
std::string_view errorName(SendError kind);
std::optional<SendError> errorFromName(std::string_view name);

/// Posts one batch and returns HQ's ack. Implementations never throw.
struct Transport {
    virtual ~Transport() = default;
    virtual std::expected<wire::BatchAck, SendFailure> post(const wire::Batch& batch) = 0;
    /// The body post() would send for `batch`, made ahead of time, or nullopt when this transport
    /// encodes as it sends. Thread-safe: the drainer encodes the next batch on another thread
    /// while this one is in flight.
    virtual std::optional<std::string> encode(const wire::Batch& /*batch*/) const { return std::nullopt; }
    /// post() with the body encode() made for `batch`.
    virtual std::expected<wire::BatchAck, SendFailure> post(const wire::Batch& batch, const std::string& /*body*/) {
        return post(batch);
    }
    /// Makes the post in flight, and every later one, end soon with SendError::Aborted.
    /// Thread-safe: the worker calls it from the thread that stops it.
    virtual void cancel() {}
};

} // namespace segue::sync
