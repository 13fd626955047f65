// The changes an administrator makes — users, regions, stores, scoped read tokens — each
// validated and recorded in the audit log. The CLI verbs and the admin routes both call these,
// so a change made either way is checked and logged the same way.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "hq/enrolment.hpp"
#include "hq/people.hpp"
#include "hq/storage.hpp"

namespace segue::hq {

/// Who makes a change and from where, for the audit log ("cli" and "" from the command line).
struct Actor {
    std::string name;
    std::string address;
};

struct UserSpec {
    std::string email;
    std::string role;
    std::optional<std::string> region;
    std::optional<std::string> store;
    std::string password;
};

/// Adds a user (password at least kMinPasswordLength characters). Invalid input is an Invalid
/// error with a sentence; the stored email is normalised (see normalizeEmail).
Result<User> addUser(Storage& storage, const UserSpec& spec, const Actor& actor, std::int64_t nowMs);
/// Disables a user and ends their sessions; false when there is no such user.
Result<bool> disableUser(Storage& storage, const std::string& email, const Actor& actor, std::int64_t nowMs);
/// Re-enables a disabled user (audited as user_enable); false when no such user.
Result<bool> enableUser(Storage& storage, const std::string& email, const Actor& actor, std::int64_t nowMs);
/// Replaces a password and ends the user's sessions; false when there is no such user.
Result<bool> setUserPassword(Storage& storage, const std::string& email, const std::string& password,
                             const Actor& actor, std::int64_t nowMs);
/// Changes a user's role and scope and ends their sessions; false when there is no such user.
Result<bool> setUserRole(Storage& storage, const std::string& email, const std::string& role,
                         const std::optional<std::string>& region, const std::optional<std::string>& store,
                         const Actor& actor, std::int64_t nowMs);

/// Adds a region (id as a store id: 1-64 of [A-Za-z0-9._-]; a name of 1-200 characters).
Result<void> addRegion(Storage& storage, const std::string& id, const std::string& name, const Actor& actor,
                       std::int64_t nowMs);
/// Names a store and/or moves it to a region ("" takes it out of any region).
Result<void> setStore(Storage& storage, const std::string& id, const std::optional<std::string>& name,
                      const std::optional<std::string>& region, const Actor& actor, std::int64_t nowMs);

/// Issues a read token limited to `scope`; returns it (shown once) and its id.
Result<IssuedToken> issueScopedToken(Storage& storage, const Scope& scope, const Actor& actor, std::int64_t nowMs);

} // namespace segue::hq
