#include "hq/auth.hpp"

#include <sodium.h>

#include "hq/token.hpp"

namespace segue::hq {
namespace {

using Code = AuthError::Code;

std::unexpected<AuthError> unauthorized() {
    return std::unexpected(AuthError{Code::Unauthorized, "wrong email or password, or the session has ended", 0});
}

std::unexpected<AuthError> internal(const StorageError& e) {
    return std::unexpected(AuthError{Code::Internal, e.message, 0});
}

/// Verified against when the email is unknown, so that answer takes as long as a wrong password.
const std::string& dummyHash() {
    static const std::string hash = hashPassword("segue-dummy-password-never-matches").value_or("");
    return hash;
}

Principal fromUser(const User& u) {
    Principal p;
    p.kind = Principal::Kind::Session;
    p.role = u.role;
    p.scope = scopeOf(u.role, u.region, u.store);
    p.user = u.email;
    p.userId = u.id;
    return p;
}

} // namespace

std::expected<std::string, std::string> hashPassword(const std::string& password) {
    if (sodium_init() < 0) return std::unexpected("libsodium failed to initialise");
    char out[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str(out, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        return std::unexpected("out of memory hashing the password");
    return std::string(out);
}

bool verifyPassword(const std::string& hash, const std::string& password) {
    if (hash.empty() || hash.size() >= crypto_pwhash_STRBYTES) return false;
    return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

std::optional<std::string> normalizeEmail(const std::string& email) {
    const auto first = email.find_first_not_of(" \t\r\n");
    const auto last = email.find_last_not_of(" \t\r\n");
    if (first == std::string::npos) return std::nullopt;
    std::string out = email.substr(first, last - first + 1);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    const auto at = out.find('@');
    if (out.size() > 254 || at == std::string::npos || at == 0 || at + 1 == out.size() ||
        out.find('@', at + 1) != std::string::npos || out.find_first_of(" \t\r\n,;<>\"") != std::string::npos)
        return std::nullopt;
    return out;
}

Auth::Auth(Storage& storage, AuthPolicy policy) : m_storage(storage), m_policy(policy) { (void)dummyHash(); }

void Auth::record(const std::string& actor, const std::string& action, const std::string& subject,
                  const std::string& address, std::int64_t nowMs) {
    // The audit write failing must not turn a login into a 500; the next read of it will fail loudly.
    (void)m_storage.people().audit({0, nowMs, actor, action, subject, address, "{}"});
}

std::expected<void, AuthError> Auth::throttled(const std::string& email, const std::string& address,
                                               std::int64_t nowMs) {
    const std::int64_t since = nowMs - m_policy.throttleWindowMs;
    auto byEmail = m_storage.people().countRecent("login_failed", email, false, since);
    if (!byEmail) return internal(byEmail.error());
    auto byAddress = m_storage.people().countRecent("login_failed", address, true, since);
    if (!byAddress) return internal(byAddress.error());
    if (*byEmail < m_policy.maxFailuresPerEmail && *byAddress < m_policy.maxFailuresPerAddress) return {};
    return std::unexpected(AuthError{Code::Throttled, "too many failed logins; try again later",
                                     static_cast<int>(m_policy.throttleWindowMs / 1000)});
}

std::expected<LoginResult, AuthError> Auth::login(const std::string& rawEmail, const std::string& password,
                                                  const std::string& address, std::int64_t nowMs) {
    const std::string email = normalizeEmail(rawEmail).value_or(rawEmail.substr(0, 254));
    if (auto t = throttled(email, address, nowMs); !t) {
        if (t.error().code == Code::Throttled) record(email, "login_throttled", email, address, nowMs);
        return std::unexpected(t.error());
    }
    auto user = m_storage.people().userByEmail(email);
    if (!user) return internal(user.error());
    // Always one Argon2id verification: an unknown email costs what a wrong password costs.
    const bool match = verifyPassword(*user ? (*user)->passwordHash : dummyHash(), password);
    if (!*user || !match || (*user)->disabled) {
        // Throttling counts these rows: a failure that cannot be recorded fails the request
        // rather than going uncounted.
        if (auto r = m_storage.people().audit({0, nowMs, email, "login_failed", email, address, "{}"}); !r)
            return internal(r.error());
        return unauthorized();
    }
    LoginResult out{fromUser(**user), generateToken(), generateToken()};
    out.principal.sessionHash = hashToken(out.sessionToken);
    out.principal.csrfHash = hashToken(out.csrfToken);
    if (auto s = m_storage.people().addSession(out.principal.sessionHash, (*user)->id, out.principal.csrfHash, nowMs); !s)
        return internal(s.error());
    record(email, "login", email, address, nowMs);
    return out;
}

std::expected<Principal, AuthError> Auth::session(const std::string& sessionToken, std::int64_t nowMs) {
    if (sessionToken.empty()) return unauthorized();
    const std::string hash = hashToken(sessionToken);
    auto found = m_storage.people().sessionByTokenHash(hash);
    if (!found) return internal(found.error());
    if (!*found) return unauthorized();
    const SessionInfo& s = **found;
    if (s.user.disabled || nowMs - s.lastSeenMs > m_policy.sessionIdleMs || nowMs - s.createdAtMs > m_policy.sessionMaxMs) {
        (void)m_storage.people().endSession(hash);
        return unauthorized();
    }
    if (nowMs - s.lastSeenMs >= m_policy.touchEveryMs)
        if (auto t = m_storage.people().touchSession(hash, nowMs); !t) return internal(t.error());
    Principal p = fromUser(s.user);
    p.sessionHash = hash;
    p.csrfHash = s.csrfHash;
    return p;
}

std::expected<Principal, AuthError> Auth::token(const std::string& bearer) {
    if (bearer.empty()) return unauthorized();
    // tokenRole is the storage's live-token check (it also notes the token's last use); the scope
    // is read beside it.
    auto role = m_storage.tokenRole(hashToken(bearer));
    if (!role) return internal(role.error());
    if (!*role) return unauthorized();
    auto found = m_storage.people().readToken(hashToken(bearer));
    if (!found) return internal(found.error());
    if (!*found || (*found)->role != "read") return unauthorized();
    Principal p;
    p.kind = Principal::Kind::Token;
    p.role = "read";
    p.scope = (*found)->scope;
    return p;
}

std::expected<void, AuthError> Auth::logout(const Principal& p, const std::string& address, std::int64_t nowMs) {
    if (p.kind != Principal::Kind::Session) return {};
    if (auto e = m_storage.people().endSession(p.sessionHash); !e) return internal(e.error());
    record(p.user, "logout", p.user, address, nowMs);
    return {};
}

std::expected<void, AuthError> Auth::authorize(const Principal& p, bool admin, bool changesState,
                                               const std::optional<std::string>& csrfHeader) {
    if (changesState && p.kind == Principal::Kind::Session) {
        const std::string given = csrfHeader ? hashToken(*csrfHeader) : std::string();
        if (!csrfHeader || given.size() != p.csrfHash.size() ||
            sodium_memcmp(given.data(), p.csrfHash.data(), given.size()) != 0)
            return std::unexpected(AuthError{Code::Csrf, "missing or wrong X-CSRF-Token header", 0});
    }
    if (admin && !p.isAdmin())
        return std::unexpected(AuthError{Code::Forbidden, "only an administrator may do this", 0});
    return {};
}

std::optional<std::string> cookieValue(const std::string& header, const std::string& name) {
    std::size_t pos = 0;
    while (pos < header.size()) {
        const auto end = std::min(header.find(';', pos), header.size());
        const auto first = header.find_first_not_of(' ', pos);
        if (first < end) {
            const auto eq = header.find('=', first);
            if (eq < end && header.compare(first, eq - first, name) == 0)
                return header.substr(eq + 1, end - eq - 1);
        }
        pos = end + 1;
    }
    return std::nullopt;
}

std::string sessionCookie(const std::string& token, const AuthPolicy& policy) {
    return std::string(kSessionCookie) + "=" + token + "; Path=/; Max-Age=" + std::to_string(policy.sessionMaxMs / 1000) +
           "; HttpOnly; Secure; SameSite=Strict";
}

std::string clearedSessionCookie() {
    return std::string(kSessionCookie) + "=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Strict";
}

} // namespace segue::hq
