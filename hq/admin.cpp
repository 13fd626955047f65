#include "hq/admin.hpp"

#include <nlohmann/json.hpp>

#include "hq/auth.hpp"
#include "hq/enrolment.hpp"
#include "hq/token.hpp"

namespace segue::hq {
namespace {

std::unexpected<StorageError> invalid(std::string message) {
    return std::unexpected(StorageError{StorageError::Kind::Invalid, std::move(message)});
}

/// Records a change; a change that succeeded but could not be logged reports the log's error.
Result<void> record(Storage& storage, const Actor& actor, const std::string& action, const std::string& subject,
                    nlohmann::json details, std::int64_t nowMs) {
    return storage.people().audit({0, nowMs, actor.name, action, subject, actor.address,
                                   details.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)});
}

Result<void> checkPassword(const std::string& password) {
    if (password.size() < kMinPasswordLength)
        return invalid("the password must have at least " + std::to_string(kMinPasswordLength) + " characters");
    if (password.size() > 1024) return invalid("the password must have at most 1024 characters");
    return {};
}

Result<std::string> hashed(const std::string& password) {
    if (auto ok = checkPassword(password); !ok) return std::unexpected(ok.error());
    auto hash = hashPassword(password);
    if (!hash) return std::unexpected(StorageError{StorageError::Kind::Io, hash.error()});
    return *hash;
}

nlohmann::json orNull(const std::optional<std::string>& v) { return v ? nlohmann::json(*v) : nlohmann::json(); }

} // namespace

Result<User> addUser(Storage& storage, const UserSpec& spec, const Actor& actor, std::int64_t nowMs) {
    const auto email = normalizeEmail(spec.email);
    if (!email) return invalid("the email must be name@domain");
    auto hash = hashed(spec.password);
    if (!hash) return std::unexpected(hash.error());
    NewUser u{*email, spec.role, spec.region, spec.store, *hash, nowMs};
    auto id = storage.people().addUser(u);
    if (!id) return std::unexpected(id.error());
    if (auto r = record(storage, actor, "user_add", *email,
                        {{"role", spec.role}, {"region", orNull(spec.region)}, {"store", orNull(spec.store)}}, nowMs);
        !r)
        return std::unexpected(r.error());
    return User{*id, *email, spec.role, spec.region, spec.store, false, nowMs, ""};
}

Result<bool> disableUser(Storage& storage, const std::string& email, const Actor& actor, std::int64_t nowMs) {
    const std::string key = normalizeEmail(email).value_or(email);
    auto done = storage.people().disableUser(key);
    if (!done || !*done) return done;
    if (auto r = record(storage, actor, "user_disable", key, nlohmann::json::object(), nowMs); !r)
        return std::unexpected(r.error());
    return true;
}

Result<bool> enableUser(Storage& storage, const std::string& email, const Actor& actor, std::int64_t nowMs) {
    const std::string key = normalizeEmail(email).value_or(email);
    auto done = storage.people().enableUser(key);
    if (!done || !*done) return done;
    if (auto r = record(storage, actor, "user_enable", key, nlohmann::json::object(), nowMs); !r)
        return std::unexpected(r.error());
    return true;
}

Result<bool> setUserPassword(Storage& storage, const std::string& email, const std::string& password,
                             const Actor& actor, std::int64_t nowMs) {
    const std::string key = normalizeEmail(email).value_or(email);
    auto hash = hashed(password);
    if (!hash) return std::unexpected(hash.error());
    auto done = storage.people().setPassword(key, *hash);
    if (!done || !*done) return done;
    if (auto r = record(storage, actor, "user_password", key, nlohmann::json::object(), nowMs); !r)
        return std::unexpected(r.error());
    return true;
}

Result<bool> setUserRole(Storage& storage, const std::string& email, const std::string& role,
                         const std::optional<std::string>& region, const std::optional<std::string>& store,
                         const Actor& actor, std::int64_t nowMs) {
    const std::string key = normalizeEmail(email).value_or(email);
    auto done = storage.people().setRole(key, role, region, store);
    if (!done || !*done) return done;
    if (auto r = record(storage, actor, "user_role", key,
                        {{"role", role}, {"region", orNull(region)}, {"store", orNull(store)}}, nowMs);
        !r)
        return std::unexpected(r.error());
    return true;
}

Result<void> addRegion(Storage& storage, const std::string& id, const std::string& name, const Actor& actor,
                       std::int64_t nowMs) {
    if (!isPlainId(id)) return invalid("a region id is 1-64 of A-Z a-z 0-9 . _ -");
    if (name.empty() || name.size() > 200) return invalid("a region name has 1-200 characters");
    if (auto r = storage.people().addRegion(id, name, nowMs); !r) return r;
    return record(storage, actor, "region_add", id, {{"name", name}}, nowMs);
}

Result<void> setStore(Storage& storage, const std::string& id, const std::optional<std::string>& name,
                      const std::optional<std::string>& region, const Actor& actor, std::int64_t nowMs) {
    if (!isPlainId(id)) return invalid("a store id is 1-64 of A-Z a-z 0-9 . _ -");
    if (name && (name->empty() || name->size() > 200)) return invalid("a store name has 1-200 characters");
    if (!name && !region) return invalid("give a name, a region, or both");
    if (auto r = storage.people().setStore(id, name, region, nowMs); !r) return r;
    return record(storage, actor, "store_set", id, {{"name", orNull(name)}, {"region", orNull(region)}}, nowMs);
}

Result<IssuedToken> issueScopedToken(Storage& storage, const Scope& scope, const Actor& actor, std::int64_t nowMs) {
    std::string token = generateToken();
    auto id = storage.people().addScopedToken(hashToken(token), "read", scope, nowMs);
    if (!id) return std::unexpected(id.error());
    const char* kind = scope.kind == Scope::Kind::Region ? "region" : scope.kind == Scope::Kind::Store ? "store" : "chain";
    if (auto r = record(storage, actor, "token_add", std::to_string(*id), {{"scope", kind}, {"id", scope.id}}, nowMs); !r)
        return std::unexpected(r.error());
    return IssuedToken{*id, token};
}

} // namespace segue::hq
