// Whole-request refusals of the HTTP API: status, a stable code and a sentence for people.
#pragma once
#include <optional>
#include <string>

namespace segue::hq {

/// Rendered as {"error": code, "message": message} (and "field" when set) with HTTP `status`.
struct ApiError {
    int status = 500;
    std::string code;
    std::string message;
    std::optional<int> retryAfterS;   ///< sent as Retry-After (429)
    /// The request field a 400 refuses, as a path ("definition.tags[2].labels.en").
    std::optional<std::string> field = {};

    static ApiError badRequest(std::string message) { return {400, "bad_request", std::move(message), {}}; }
    static ApiError unauthorized(std::string message) { return {401, "unauthorized", std::move(message), {}}; }
    static ApiError notFound(std::string message) { return {404, "not_found", std::move(message), {}}; }
    static ApiError protocol(std::string message) { return {409, "unsupported_protocol", std::move(message), {}}; }
    static ApiError tooLarge(std::string message) { return {413, "payload_too_large", std::move(message), {}}; }
    static ApiError rateLimited(int retryAfterS) {
        return {429, "rate_limited", "too many requests from this device; retry after " + std::to_string(retryAfterS) + " s",
                retryAfterS};
    }
    static ApiError internal(std::string message) { return {500, "internal", std::move(message), {}}; }
};

/// The JSON body of an error.
std::string errorBody(const ApiError& e);

} // namespace segue::hq
