// Reading an API request's JSON body: the object itself and its optional string fields, each
// refusal a 400 that names what was wrong. Shared by the admin, people and enrolment routes.
#pragma once
#include <expected>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "hq/api_error.hpp"

namespace segue::hq {

/// A request body that must be a JSON object; with `emptyIsObject`, an empty body counts as {}.
inline std::expected<nlohmann::json, ApiError> jsonObjectBody(const std::string& body, bool emptyIsObject = false) {
    if (emptyIsObject && body.find_first_not_of(" \t\r\n") == std::string::npos) return nlohmann::json::object();
    auto j = nlohmann::json::parse(body, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return std::unexpected(ApiError::badRequest("the body must be a JSON object"));
    return j;
}

/// A field that is absent or null (nullopt), or a string; anything else is a 400.
inline std::expected<std::optional<std::string>, ApiError> optionalText(const nlohmann::json& j, const char* key) {
    const auto it = j.find(key);
    if (it == j.end() || it->is_null()) return std::nullopt;
    if (!it->is_string()) return std::unexpected(ApiError::badRequest(std::string(key) + " must be a string"));
    return it->get<std::string>();
}

} // namespace segue::hq
