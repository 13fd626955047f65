#include "sync/transport.hpp"

#include <array>
#include <utility>

namespace segue::sync {

Disposition dispositionOf(SendError kind) {
    switch (kind) {
    case SendError::Offline:
    case SendError::Timeout:
    case SendError::TlsHandshake:
    case SendError::ServerError:
    case SendError::RateLimited: return Disposition::Retry;
    case SendError::TooLarge: return Disposition::Split;
    case SendError::Tls:
    case SendError::Unauthorized: return Disposition::ConfigProblem;
    case SendError::Protocol:
    case SendError::Rejected: return Disposition::Parked;
    case SendError::Aborted: return Disposition::Stop;
    }
    return Disposition::Retry;
}

std::string_view plainWords(SendError kind) {
    switch (kind) {
    case SendError::Offline: return "HQ cannot be reached";
    case SendError::Timeout: return "the connection to HQ timed out";
    case SendError::TlsHandshake: return "the secure connection to HQ broke off";
    case SendError::Tls: return "HQ's certificate is not trusted (check server_url and ca_file)";
    case SendError::Unauthorized: return "HQ refused this terminal's token (check [sync] token, or the device was revoked)";
    case SendError::ServerError: return "HQ had a server error";
    case SendError::RateLimited: return "HQ asked this terminal to slow down";
    case SendError::TooLarge: return "HQ refused the batch as too large";
    case SendError::Protocol: return "HQ does not speak this terminal's protocol version (update needed)";
    case SendError::Rejected: return "HQ refused the request";
    case SendError::Aborted: return "sync was stopped";
    }
    return "unknown sync error";
}

std::string describe(const SendFailure& failure) {
    std::string out(plainWords(failure.kind));
    std::string detail = failure.message;
    if (failure.httpStatus) detail = "HTTP " + std::to_string(*failure.httpStatus) + (detail.empty() ? "" : ": " + detail);
    if (!detail.empty()) out += " (" + detail + ")";
    return out;
}

namespace {
constexpr std::array<std::pair<SendError, std::string_view>, 11> kNames = {{
    {SendError::Offline, "offline"},
    {SendError::Timeout, "timeout"},
    {SendError::TlsHandshake, "tls_handshake"},
    {SendError::Tls, "tls"},
    {SendError::Unauthorized, "unauthorized"},
    {SendError::ServerError, "server_error"},
    {SendError::RateLimited, "rate_limited"},
    {SendError::TooLarge, "too_large"},
    {SendError::Protocol, "protocol"},
    {SendError::Rejected, "rejected"},
    {SendError::Aborted, "aborted"},
}};
} // namespace

std::string_view errorName(SendError kind) {
    for (const auto& [k, name] : kNames)
        if (k == kind) return name;
    return "unknown";
}

std::optional<SendError> errorFromName(std::string_view name) {
    for (const auto& [k, n] : kNames)
        if (n == name) return k;
    return std::nullopt;
}

} // namespace segue::sync
