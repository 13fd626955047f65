#include "hq/people_api.hpp"

#include <algorithm>

#include "core/time.hpp"
#include "hq/admin.hpp"
#include "hq/api_body.hpp"
#include "hq/views.hpp"

namespace segue::hq {
namespace {

using Json = nlohmann::json;

std::expected<Json, ApiError> object(const std::string& body) { return jsonObjectBody(body); }

std::expected<std::optional<std::string>, ApiError> text(const Json& j, const char* key) { return optionalText(j, key); }

std::expected<std::string, ApiError> required(const Json& j, const char* key) {
    auto v = text(j, key);
    if (!v) return std::unexpected(v.error());
    if (!*v) return std::unexpected(ApiError::badRequest(std::string(key) + " is required"));
    return **v;
}

Json orNull(const std::optional<std::string>& v) { return v ? Json(*v) : Json(); }

Actor actorOf(const Principal& p, const std::string& address) { return {p.actor(), address}; }

std::unexpected<ApiError> failed(const StorageError& e) { return std::unexpected(apiError(e)); }

} // namespace

ApiError apiError(const AuthError& e) {
    switch (e.code) {
    case AuthError::Code::Unauthorized: return ApiError::unauthorized(e.message);
    case AuthError::Code::Throttled: return {429, "rate_limited", e.message, e.retryAfterS};
    case AuthError::Code::Csrf: return {403, "csrf", e.message, {}};
    case AuthError::Code::Forbidden: return {403, "forbidden", e.message, {}};
    case AuthError::Code::Internal: break;
    }
    return ApiError::internal(e.message);
}

ApiError apiError(const StorageError& e) {
    if (e.kind == StorageError::Kind::Invalid) return ApiError::badRequest(e.message);
    return ApiError::internal(e.message);
}

Json principalJson(const Principal& p) {
    const bool session = p.kind == Principal::Kind::Session;
    Json region, store;
    if (p.scope.kind == Scope::Kind::Region) region = p.scope.id;
    if (p.scope.kind == Scope::Kind::Store) store = p.scope.id;
    return {{"kind", session ? "session" : "token"},
            {"email", session ? Json(p.user) : Json()},
            {"role", p.role},
            {"region", region},
            {"store", store}};
}

std::expected<Principal, ApiError> PeopleApi::caller(bool authorizationSent, const std::optional<std::string>& bearer,
                                                     const std::optional<std::string>& cookieHeader, std::int64_t nowMs) {
    if (authorizationSent) {
        if (!bearer) return std::unexpected(ApiError::unauthorized("the Authorization header must be Bearer TOKEN"));
        auto p = m_auth.token(*bearer);
        if (!p) return std::unexpected(apiError(p.error()));
        return *p;
    }
    const auto cookie = cookieHeader ? cookieValue(*cookieHeader, kSessionCookie) : std::nullopt;
    if (!cookie) return std::unexpected(ApiError::unauthorized("log in, or send Authorization: Bearer TOKEN"));
    auto p = m_auth.session(*cookie, nowMs);
    if (!p) return std::unexpected(apiError(p.error()));
    return *p;
}

ApiResult PeopleApi::login(const std::string& body, const std::string& address, std::int64_t nowMs) {
    auto j = object(body);
    if (!j) return std::unexpected(j.error());
    auto email = required(*j, "email");
    if (!email) return std::unexpected(email.error());
    auto password = required(*j, "password");
    if (!password) return std::unexpected(password.error());
    auto in = m_auth.login(*email, *password, address, nowMs);
    if (!in) return std::unexpected(apiError(in.error()));
    Json reply = principalJson(in->principal);
    reply.erase("kind");
    reply["csrf"] = in->csrfToken;
    return ApiReply{200, std::move(reply), {{"Set-Cookie", sessionCookie(in->sessionToken)}}};
}

ApiResult PeopleApi::logout(const Principal& p, const std::string& address, std::int64_t nowMs) {
    if (auto r = m_auth.logout(p, address, nowMs); !r) return std::unexpected(apiError(r.error()));
    return ApiReply{204, nullptr, {{"Set-Cookie", clearedSessionCookie()}}};
}

ApiResult PeopleApi::me(const Principal& p) const { return ApiReply{200, principalJson(p), {}}; }

ApiResult PeopleApi::listUsers() {
    auto users = m_storage.people().listUsers();
    if (!users) return failed(users.error());
    Json list = Json::array();
    for (const auto& u : *users) list.push_back(userJson(u));
    return ApiReply{200, {{"users", std::move(list)}}, {}};
}

ApiResult PeopleApi::addUser(const Principal& by, const std::string& body, const std::string& address,
                             std::int64_t nowMs) {
    auto j = object(body);
    if (!j) return std::unexpected(j.error());
    UserSpec spec;
    for (auto [key, field] : {std::pair{"email", &spec.email}, std::pair{"role", &spec.role}, std::pair{"password", &spec.password}}) {
        auto v = required(*j, key);
        if (!v) return std::unexpected(v.error());
        *field = *v;
    }
    auto region = text(*j, "region");
    if (!region) return std::unexpected(region.error());
    auto store = text(*j, "store");
    if (!store) return std::unexpected(store.error());
    spec.region = *region;
    spec.store = *store;
    auto user = hq::addUser(m_storage, spec, actorOf(by, address), nowMs);
    if (!user) return failed(user.error());
    return ApiReply{201, userJson(*user), {}};
}

ApiResult PeopleApi::changeUser(const Principal& by, std::int64_t userId, const std::string& body,
                                const std::string& address, std::int64_t nowMs) {
    auto j = object(body);
    if (!j) return std::unexpected(j.error());
    const Actor actor = actorOf(by, address);
    auto users = m_storage.people().listUsers();
    if (!users) return failed(users.error());
    const auto found = std::find_if(users->begin(), users->end(), [&](const User& u) { return u.id == userId; });
    const std::string email = "#" + std::to_string(userId);
    if (found == users->end()) return std::unexpected(ApiError::notFound("no user " + email));
    const std::string key = found->email;
    auto role = text(*j, "role");
    auto region = text(*j, "region");
    auto store = text(*j, "store");
    auto password = text(*j, "password");
    for (const auto* v : {&role, &region, &store, &password})
        if (!*v) return std::unexpected(v->error());
    const auto disabled = j->find("disabled");
    if (disabled != j->end() && *disabled != Json(true))
        return std::unexpected(ApiError::badRequest("disabled can only be set to true (\"enabled\": true lets a user in again)"));
    const auto enabled = j->find("enabled");
    if (enabled != j->end() && *enabled != Json(true))
        return std::unexpected(ApiError::badRequest("enabled can only be set to true (\"disabled\": true shuts a user out)"));
    if (disabled != j->end() && enabled != j->end())
        return std::unexpected(ApiError::badRequest("give \"disabled\" or \"enabled\", not both"));
    if (!*role && (*region || *store)) return std::unexpected(ApiError::badRequest("a region or store goes with a role"));
    if (!*role && !*password && disabled == j->end() && enabled == j->end())
        return std::unexpected(ApiError::badRequest("give a role, a password, \"disabled\": true or \"enabled\": true"));
    if (*role)
        if (auto r = setUserRole(m_storage, key, **role, *region, *store, actor, nowMs); !r) return failed(r.error());
    if (*password)
        if (auto r = setUserPassword(m_storage, key, **password, actor, nowMs); !r) return failed(r.error());
    if (disabled != j->end())
        if (auto r = disableUser(m_storage, key, actor, nowMs); !r) return failed(r.error());
    if (enabled != j->end())
        if (auto r = enableUser(m_storage, key, actor, nowMs); !r) return failed(r.error());
    auto now = m_storage.people().userByEmail(key);
    if (!now) return failed(now.error());
    if (!*now) return std::unexpected(ApiError::notFound("no user " + email));
    return ApiReply{200, userJson(**now), {}};
}

ApiResult PeopleApi::addRegion(const Principal& by, const std::string& body, const std::string& address,
                               std::int64_t nowMs) {
    auto j = object(body);
    if (!j) return std::unexpected(j.error());
    auto id = required(*j, "id");
    if (!id) return std::unexpected(id.error());
    auto name = required(*j, "name");
    if (!name) return std::unexpected(name.error());
    if (auto r = hq::addRegion(m_storage, *id, *name, actorOf(by, address), nowMs); !r) return failed(r.error());
    return ApiReply{201, {{"id", *id}, {"name", *name}, {"stores", 0}}, {}};
}

ApiResult PeopleApi::renameRegion(const Principal& by, const std::string& id, const std::string& body,
                                  const std::string& address, std::int64_t nowMs) {
    auto j = object(body);
    if (!j) return std::unexpected(j.error());
    auto name = required(*j, "name");
    if (!name) return std::unexpected(name.error());
    if (name->empty() || name->size() > 200) return std::unexpected(ApiError::badRequest("a region name has 1-200 characters"));
    auto done = m_storage.people().renameRegion(id, *name);
    if (!done) return failed(done.error());
    if (!*done) return std::unexpected(ApiError::notFound("no region " + id));
    if (auto r = m_storage.people().audit({0, nowMs, by.actor(), "region_rename", id, address, Json{{"name", *name}}.dump()}); !r)
        return failed(r.error());
    return ApiReply{200, {{"id", id}, {"name", *name}}, {}};
}

ApiResult PeopleApi::setStore(const Principal& by, const std::string& store, const std::string& body,
                              const std::string& address, std::int64_t nowMs) {
    auto j = object(body);
    if (!j) return std::unexpected(j.error());
    auto name = text(*j, "name");
    if (!name) return std::unexpected(name.error());
    std::optional<std::string> region;
    if (const auto it = j->find("region"); it != j->end()) {
        if (!it->is_null() && !it->is_string()) return std::unexpected(ApiError::badRequest("region must be a string or null"));
        region = it->is_null() ? std::string() : it->get<std::string>();
    }
    auto exists = m_storage.storeExists(store);
    if (!exists) return failed(exists.error());
    if (!*exists) return std::unexpected(ApiError::notFound("no store " + store));
    if (auto r = hq::setStore(m_storage, store, *name, region, actorOf(by, address), nowMs); !r) return failed(r.error());
    auto now = m_storage.people().storesIn({Scope::store(store), std::nullopt, std::nullopt});
    if (!now) return failed(now.error());
    if (now->empty()) return std::unexpected(ApiError::notFound("no store " + store));
    return ApiReply{200, {{"id", store}, {"name", orNull(now->front().name)}, {"region", orNull(now->front().region)}}, {}};
}

ApiResult PeopleApi::addToken(const Principal& by, const std::string& body, const std::string& address,
                              std::int64_t nowMs) {
    auto j = object(body);
    if (!j) return std::unexpected(j.error());
    auto role = required(*j, "role");
    if (!role) return std::unexpected(role.error());
    if (*role != "read") return std::unexpected(ApiError::badRequest("role must be read"));
    auto region = text(*j, "region");
    auto store = text(*j, "store");
    if (!region) return std::unexpected(region.error());
    if (!store) return std::unexpected(store.error());
    if (*region && *store) return std::unexpected(ApiError::badRequest("give region or store, not both"));
    Scope scope;
    if (*region) scope = Scope::region(**region);
    if (*store) scope = Scope::store(**store);
    auto token = issueScopedToken(m_storage, scope, actorOf(by, address), nowMs);
    if (!token) return failed(token.error());
    return ApiReply{201, {{"id", token->id}, {"role", "read"}, {"token", token->token}}, {}};
}

ApiResult PeopleApi::listTokens() {
    auto tokens = m_storage.listTokens();
    if (!tokens) return failed(tokens.error());
    auto scopes = m_storage.people().tokenScopes();
    if (!scopes) return failed(scopes.error());
    Json list = Json::array();
    for (const auto& t : *tokens) {
        const auto scope = scopes->find(t.id);
        const bool region = scope != scopes->end() && scope->second.kind == Scope::Kind::Region;
        const bool store = scope != scopes->end() && scope->second.kind == Scope::Kind::Store;
        list.push_back({{"id", t.id},
                        {"role", t.role},
                        {"region", region ? Json(scope->second.id) : Json()},
                        {"store", store ? Json(scope->second.id) : Json()},
                        {"created_at", core::formatUtc(t.createdAtMs)},
                        {"last_used_at", t.lastUsedMs ? Json(core::formatUtc(*t.lastUsedMs)) : Json()},
                        {"revoked", t.revoked}});
    }
    return ApiReply{200, {{"tokens", std::move(list)}}, {}};
}

ApiResult PeopleApi::revokeToken(const Principal& by, std::int64_t id, const std::string& address, std::int64_t nowMs) {
    auto revoked = m_storage.revokeToken(id);
    if (!revoked) return failed(revoked.error());
    if (!*revoked) return std::unexpected(ApiError::notFound("no token " + std::to_string(id)));
    if (auto r = m_storage.people().audit({0, nowMs, by.actor(), "token_revoke", std::to_string(id), address, "{}"}); !r)
        return failed(r.error());
    return ApiReply{200, {{"id", id}, {"revoked", true}}, {}};
}

ApiResult PeopleApi::audit(const std::optional<std::string>& from, const std::optional<std::string>& to) {
    auto range = auditRange(from, to);
    if (!range) return std::unexpected(ApiError::badRequest(range.error()));
    auto log = m_storage.people().auditLog(range->first, range->second, 1000);
    if (!log) return failed(log.error());
    return ApiReply{200, auditJson(*log), {}};
}

} // namespace segue::hq
