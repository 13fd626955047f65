// The people routes' work, apart from HTTP: who is calling (cookie or bearer token), the session
// routes (POST/DELETE /api/v1/session, GET /api/v1/me) and the admin routes (users, regions,
// stores, scoped tokens, the audit log). Each takes what the request carried and returns a reply
// or an ApiError, so the router's handlers only move bytes and the tests need no server.
#pragma once
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "hq/api_error.hpp"
#include "hq/auth.hpp"
#include "hq/storage.hpp"

namespace segue::hq {

/// A JSON reply with its status and extra headers (Set-Cookie).
struct ApiReply {
    int status = 200;
    nlohmann::json body;
    std::vector<std::pair<std::string, std::string>> headers;
};

using ApiResult = std::expected<ApiReply, ApiError>;

/// 401 unauthorized, 429 rate_limited (with Retry-After), 403 csrf, 403 forbidden, 500 internal.
ApiError apiError(const AuthError& e);
/// Invalid → 400 bad_request with the sentence; anything else → 500 internal.
ApiError apiError(const StorageError& e);

/// {"kind":"session"|"token","email","role","region","store"} (email null for a token).
nlohmann::json principalJson(const Principal& p);

class PeopleApi {
public:
    PeopleApi(Storage& storage, Auth& auth) : m_storage(storage), m_auth(auth) {}

    /// The caller: the bearer token when an Authorization header was sent (scripts; `bearer` is
    /// its token, nullopt when the header is not "Bearer TOKEN"), else the session cookie.
    std::expected<Principal, ApiError> caller(bool authorizationSent, const std::optional<std::string>& bearer,
                                              const std::optional<std::string>& cookieHeader, std::int64_t nowMs);

    /// POST /api/v1/session {"email","password"} → 200 {"email","role","region","store","csrf"} and
    /// the session cookie; 401 for any wrong credentials, 429 when throttled.
    ApiResult login(const std::string& body, const std::string& address, std::int64_t nowMs);
    /// DELETE /api/v1/session: ends the session and clears the cookie (204).
    ApiResult logout(const Principal& p, const std::string& address, std::int64_t nowMs);
    /// GET /api/v1/me.
    ApiResult me(const Principal& p) const;

    /// GET /api/v1/users → {"users":[userJson…]}.
    ApiResult listUsers();
    /// POST /api/v1/users {"email","role","region"?,"store"?,"password"} → 201 userJson.
    ApiResult addUser(const Principal& by, const std::string& body, const std::string& address, std::int64_t nowMs);
    /// PATCH /api/v1/users/{id} {"role"?,"region"?,"store"?,"password"?,"disabled":true? | "enabled":true?} → 200
    /// userJson (a role change needs the scope that goes with it).
    ApiResult changeUser(const Principal& by, std::int64_t userId, const std::string& body,
                         const std::string& address, std::int64_t nowMs);
    /// POST /api/v1/regions {"id","name"} → 201 {"id","name","stores"}.
    ApiResult addRegion(const Principal& by, const std::string& body, const std::string& address, std::int64_t nowMs);
    /// PATCH /api/v1/regions/{id} {"name"} → 200 {"id","name"}; 404 for an unknown id.
    ApiResult renameRegion(const Principal& by, const std::string& id, const std::string& body,
                           const std::string& address, std::int64_t nowMs);
    /// PATCH /api/v1/stores/{store} {"name"?, "region"? (null: out of its region)} → 200 {"id","name","region"}.
    ApiResult setStore(const Principal& by, const std::string& store, const std::string& body,
                       const std::string& address, std::int64_t nowMs);
    /// POST /api/v1/tokens {"role":"read","region"?|"store"?} → 201 {"id","role","token"} (shown once).
    ApiResult addToken(const Principal& by, const std::string& body, const std::string& address, std::int64_t nowMs);
    /// GET /api/v1/tokens → 200 {"tokens":[{"id","role","region","store","created_at","last_used_at","revoked"}]}
    /// (never a token or its hash; region/store: the token's scope, null for the whole chain).
    ApiResult listTokens();
    /// DELETE /api/v1/tokens/{id} → 200 {"id","revoked":true} (refused from the next request on;
    /// revoking a revoked token again is a 200 too), 404 for an unknown id.
    ApiResult revokeToken(const Principal& by, std::int64_t id, const std::string& address, std::int64_t nowMs);
    /// GET /api/v1/audit?from=&to= → auditJson (newest first, at most 1000).
    ApiResult audit(const std::optional<std::string>& from, const std::optional<std::string>& to);

private:
    Storage& m_storage;
    Auth& m_auth;
};

} // namespace segue::hq
