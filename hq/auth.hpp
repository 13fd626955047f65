// Who is calling HQ's read and admin API: a read token (scripts) or a person's session (the
// dashboard). Logins are throttled, passwords are Argon2id hashes, sessions live in the database
// (12 h idle, 7 days in all) and every state-changing request with a session carries the CSRF
// token its login returned. The HTTP router only asks this module and maps its errors to codes.
#pragma once
#include <cstdint>
#include <expected>
#include <optional>
#include <string>

#include "hq/people.hpp"
#include "hq/storage.hpp"

namespace segue::hq {

/// The caller of a request.
struct Principal {
    enum class Kind { Token, Session };
    Kind kind = Kind::Token;
    std::string role;                   ///< "read" for a token; a user's role otherwise
    Scope scope;
    std::string user;                   ///< the email of a session's user; "" for a token
    std::int64_t userId = 0;
    std::string sessionHash;            ///< the stored hash of the session token
    std::string csrfHash;

    bool isAdmin() const { return kind == Kind::Session && role == "admin"; }
    /// The name the audit log records: the email, or "token".
    std::string actor() const { return kind == Kind::Session ? user : "token"; }
};

struct AuthError {
    enum class Code {
        Unauthorized,   ///< 401: no, wrong or expired credentials
        Throttled,      ///< 429 with Retry-After: too many failed logins
        Csrf,           ///< 403 {"error":"csrf"}
        Forbidden,      ///< 403: the role may not do this
        Internal,       ///< 500: the storage failed
    };
    Code code = Code::Unauthorized;
    std::string message;
    int retryAfterS = 0;
};

/// Limits of logins and sessions.
struct AuthPolicy {
    std::int64_t throttleWindowMs = 15 * 60 * 1000;
    std::int64_t maxFailuresPerEmail = 5;
    std::int64_t maxFailuresPerAddress = 20;
    std::int64_t sessionIdleMs = 12 * 3600 * 1000;
    std::int64_t sessionMaxMs = 7 * 24 * 3600 * 1000;
    /// A session's last use is written at most this often (a read request then writes nothing).
    std::int64_t touchEveryMs = 60 * 1000;
};

/// The shortest password `user add` and `set-password` accept.
inline constexpr std::size_t kMinPasswordLength = 10;

/// An Argon2id hash (libsodium crypto_pwhash_str, interactive limits) of `password`, or a sentence.
std::expected<std::string, std::string> hashPassword(const std::string& password);
/// Whether `password` matches `hash` (constant time in the password).
bool verifyPassword(const std::string& hash, const std::string& password);

/// The email as stored: trimmed and lower-cased (ASCII); nullopt when it is not name@domain.
std::optional<std::string> normalizeEmail(const std::string& email);

/// A successful login: the principal, the session token for the cookie and the CSRF token.
struct LoginResult {
    Principal principal;
    std::string sessionToken;
    std::string csrfToken;
};

class Auth {
public:
    explicit Auth(Storage& storage, AuthPolicy policy = {});

    /// Checks the password (or a dummy hash for an unknown email, so both take the same time),
    /// throttles, records the attempt in the audit log with `address`, and opens a session.
    std::expected<LoginResult, AuthError> login(const std::string& email, const std::string& password,
                                                const std::string& address, std::int64_t nowMs);
    /// The session of a cookie's token; an unknown, expired or disabled user's session is Unauthorized
    /// (and an expired one deleted).
    std::expected<Principal, AuthError> session(const std::string& sessionToken, std::int64_t nowMs);
    /// The principal of a bearer read token.
    std::expected<Principal, AuthError> token(const std::string& bearer);
    /// Ends the session (logout).
    std::expected<void, AuthError> logout(const Principal& p, const std::string& address, std::int64_t nowMs);

    /// Whether `p` may call a route: `admin` routes need the admin role (Forbidden), and a
    /// state-changing request with a session needs `csrfHeader` to match its login's (Csrf).
    static std::expected<void, AuthError> authorize(const Principal& p, bool admin, bool changesState,
                                                    const std::optional<std::string>& csrfHeader);

private:
    std::expected<void, AuthError> throttled(const std::string& email, const std::string& address,
                                             std::int64_t nowMs);
    void record(const std::string& actor, const std::string& action, const std::string& subject,
                const std::string& address, std::int64_t nowMs);

    Storage& m_storage;
    AuthPolicy m_policy;
};

/// The value of cookie `name` in a Cookie header, if present.
std::optional<std::string> cookieValue(const std::string& cookieHeader, const std::string& name);

/// The session cookie's name.
inline constexpr const char* kSessionCookie = "segue_session";
/// Set-Cookie for a new session: HttpOnly, Secure, SameSite=Strict, Path=/.
std::string sessionCookie(const std::string& token, const AuthPolicy& policy = {});
/// Set-Cookie that removes the session cookie.
std::string clearedSessionCookie();

} // namespace segue::hq
