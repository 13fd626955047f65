// GET /api/v1/terminal/config: what a terminal runs (its store's current survey definition),
// with an ETag so that a terminal asking every sync cycle is answered 304 while nothing changed.
#pragma once
#include <expected>
#include <optional>
#include <string>
#include <string_view>

#include "hq/api_error.hpp"
#include "hq/storage.hpp"

namespace segue::hq {

struct TerminalConfigReply {
    int status = 200;       ///< 200, or 304 when If-None-Match named the current ETag
    std::string etag;       ///< quoted, e.g. "\"3f2a…\""
    std::string body;       ///< 200: {"survey": DEFINITION, "survey_id", "survey_version", "assigned_by",
                            ///< "contact_public_key"?}; 304: empty
};

/// The config of `device`'s store; `ifNoneMatch` is the request's If-None-Match header, if any.
/// `contactPublicKey` (standard base64 of HQ's X25519 public key) is sent when HQ has one; the
/// ETag covers it, so a new key is a new config.
std::expected<TerminalConfigReply, ApiError> terminalConfig(Storage& storage, const DeviceAuth& device,
                                                            const std::optional<std::string>& ifNoneMatch,
                                                            const std::optional<std::string>& contactPublicKey = std::nullopt);

/// Whether an If-None-Match header value ("\"a\", W/\"b\"" or "*") names `etag`.
bool etagMatches(std::string_view ifNoneMatch, std::string_view etag);

} // namespace segue::hq
