// HQ's auth module and admin changes over real storage (SQLite, and PostgreSQL through
// run_with_pg.sh): logins with Argon2id, throttling, sessions and their ends, CSRF, roles,
// scoped read tokens, and the audit trail they leave.
#include <algorithm>
#include <chrono>

#include <catch2/catch.hpp>

#include "hq/admin.hpp"
#include "hq/auth.hpp"
#include "hq/token.hpp"
#include "tests/hq/hq_test_support.hpp"

using namespace segue;
using hq::AuthError;
using hq::Scope;

namespace {

constexpr std::int64_t kT0 = 1'795'000'000'000;
constexpr std::int64_t kMinute = 60'000;
const hq::Actor kTestActor{"cli", ""};

void addUser(hq::Storage& s, const std::string& email, const std::string& role, const std::string& password,
             std::optional<std::string> region = std::nullopt, std::optional<std::string> store = std::nullopt) {
    const auto u = hq::addUser(s, {email, role, std::move(region), std::move(store), password}, kTestActor, kT0);
    INFO((u ? "" : u.error().message));
    REQUIRE(u);
}

AuthError::Code codeOf(const auto& result) {
    REQUIRE_FALSE(result);
    return result.error().code;
}

} // namespace

TEST_CASE("auth: a login opens a database session with the user's role and scope, and CSRF guards changes", "[storage]") {
    test::TempDir dir;
    for (const auto& url : test::storageUrls(dir)) {
        INFO(url);
        auto s = test::openStorage(url);
        REQUIRE(hq::addRegion(*s, "east", "East", kTestActor, kT0));
        REQUIRE(hq::setStore(*s, "s1", std::string("One"), std::string("east"), kTestActor, kT0));
        addUser(*s, "Rita@Example.com ", "region", "correct horse battery", "east");
        hq::Auth auth(*s);

        const auto in = auth.login("rita@example.COM", "correct horse battery", "10.1.1.1", kT0);
        REQUIRE(in);
        CHECK(in->principal.kind == hq::Principal::Kind::Session);
        CHECK(in->principal.user == "rita@example.com");
        CHECK(in->principal.role == "region");
        CHECK(in->principal.scope == Scope::region("east"));
        CHECK(in->sessionToken.size() == 43);
        CHECK(in->csrfToken.size() == 43);
        CHECK(in->csrfToken != in->sessionToken);

        // Another HQ node (another Auth on its own connection) accepts the session: it is in the database.
        auto other = test::openStorage(url);
        hq::Auth otherNode(*other);
        const auto p = otherNode.session(in->sessionToken, kT0 + kMinute);
        REQUIRE(p);
        CHECK(p->user == "rita@example.com");
        CHECK(p->scope == Scope::region("east"));

        CHECK(hq::Auth::authorize(*p, false, false, std::nullopt));
        CHECK(codeOf(hq::Auth::authorize(*p, false, true, std::nullopt)) == AuthError::Code::Csrf);
        CHECK(codeOf(hq::Auth::authorize(*p, false, true, std::string("wrong"))) == AuthError::Code::Csrf);
        CHECK(codeOf(hq::Auth::authorize(*p, false, true, in->sessionToken)) == AuthError::Code::Csrf);
        CHECK(hq::Auth::authorize(*p, false, true, in->csrfToken));
        CHECK(codeOf(hq::Auth::authorize(*p, true, true, in->csrfToken)) == AuthError::Code::Forbidden);
        CHECK(codeOf(hq::Auth::authorize(*p, true, false, std::nullopt)) == AuthError::Code::Forbidden);

        REQUIRE(auth.logout(*p, "10.1.1.1", kT0 + 2 * kMinute));
        CHECK(codeOf(auth.session(in->sessionToken, kT0 + 3 * kMinute)) == AuthError::Code::Unauthorized);
        CHECK(codeOf(auth.session("", kT0)) == AuthError::Code::Unauthorized);
        CHECK(codeOf(auth.session(hq::generateToken(), kT0)) == AuthError::Code::Unauthorized);

        const auto log = s->people().auditLog(0, kT0 + kMinute * 60, 100).value();
        std::vector<std::string> actions;
        for (const auto& e : log) actions.push_back(e.action);
        CHECK(actions == std::vector<std::string>{"logout", "login", "user_add", "store_set", "region_add"});
        CHECK(log[1].address == "10.1.1.1");
        CHECK(log[1].subject == "rita@example.com");
        CHECK(log[2].actor == "cli");
    }
}

TEST_CASE("auth: an unknown email and a wrong password get the same answer in the same time", "[storage]") {
    test::TempDir dir;
    const auto url = test::storageUrls(dir).front();
    auto s = test::openStorage(url);
    addUser(*s, "ann@example.com", "viewer", "correct horse battery");
    hq::Auth auth(*s);
    auto timed = [&](const std::string& email, std::int64_t at) {
        const auto start = std::chrono::steady_clock::now();
        const auto r = auth.login(email, "wrong password 123", "10.2.2." + std::to_string(at % 200), kT0 + at);
        const auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
        REQUIRE_FALSE(r);
        CHECK(r.error().code == AuthError::Code::Unauthorized);
        return std::pair{ms, r.error().message};
    };
    std::vector<double> wrong, unknown;
    std::string wrongMessage, unknownMessage;
    for (int i = 0; i < 3; ++i) {
        auto [w, wm] = timed("ann@example.com", 2 * i);
        auto [u, um] = timed("nobody" + std::to_string(i) + "@example.com", 2 * i + 1);
        wrong.push_back(w);
        unknown.push_back(u);
        wrongMessage = wm;
        unknownMessage = um;
    }
    CHECK(wrongMessage == unknownMessage);
    std::sort(wrong.begin(), wrong.end());
    std::sort(unknown.begin(), unknown.end());
    INFO("median wrong password " << wrong[1] << " ms, unknown email " << unknown[1] << " ms");
    // Both verify one Argon2id hash (~70 ms here); skipping it for unknown emails would take ~1 ms.
    CHECK(unknown[1] > 0.3 * wrong[1]);
    CHECK(wrong[1] > 0.3 * unknown[1]);
}

TEST_CASE("auth: 5 failures per email or 20 per address in 15 minutes refuse even the right password", "[storage]") {
    test::TempDir dir;
    for (const auto& url : test::storageUrls(dir)) {
        INFO(url);
        auto s = test::openStorage(url);
        addUser(*s, "ann@example.com", "viewer", "correct horse battery");
        addUser(*s, "bob@example.com", "viewer", "correct horse battery");
        hq::Auth auth(*s);
        for (int i = 0; i < 5; ++i)
            CHECK(codeOf(auth.login("ann@example.com", "guess " + std::to_string(i), "10.0.0." + std::to_string(i),
                                    kT0 + i * kMinute)) == AuthError::Code::Unauthorized);
        const auto sixth = auth.login("ann@example.com", "correct horse battery", "10.0.0.9", kT0 + 5 * kMinute);
        REQUIRE_FALSE(sixth);
        CHECK(sixth.error().code == AuthError::Code::Throttled);
        CHECK(sixth.error().retryAfterS > 0);
        CHECK(sixth.error().retryAfterS <= 15 * 60);
        // Another user from another address is not held back.
        CHECK(auth.login("bob@example.com", "correct horse battery", "10.0.1.1", kT0 + 5 * kMinute));
        // Refused attempts are not failures: once the window has passed the first five, the right password works.
        CHECK(codeOf(auth.login("ann@example.com", "correct horse battery", "10.0.0.9", kT0 + 14 * kMinute)) ==
              AuthError::Code::Throttled);
        CHECK(auth.login("ann@example.com", "correct horse battery", "10.0.0.9", kT0 + 15 * kMinute + 1));

        // 20 failures from one address over many emails hold back every email from it.
        const std::int64_t t1 = kT0 + 60 * kMinute;
        for (int i = 0; i < 20; ++i)
            CHECK(codeOf(auth.login("user" + std::to_string(i) + "@example.com", "guess", "192.0.2.7", t1 + i)) ==
                  AuthError::Code::Unauthorized);
        CHECK(codeOf(auth.login("bob@example.com", "correct horse battery", "192.0.2.7", t1 + 30)) ==
              AuthError::Code::Throttled);
        CHECK(auth.login("bob@example.com", "correct horse battery", "192.0.2.8", t1 + 30));

        std::int64_t throttled = 0;
        const auto log = s->people().auditLog(0, t1 + kMinute, 1000).value();
        for (const auto& e : log) throttled += e.action == "login_throttled";
        CHECK(throttled == 3);
    }
}

TEST_CASE("auth: sessions end after 12 h idle, 7 days in all, and at once on disable or a new password", "[storage]") {
    test::TempDir dir;
    for (const auto& url : test::storageUrls(dir)) {
        INFO(url);
        auto s = test::openStorage(url);
        addUser(*s, "ann@example.com", "admin", "correct horse battery");
        hq::Auth auth(*s);
        constexpr std::int64_t kHour = 60 * kMinute;

        const auto idle = auth.login("ann@example.com", "correct horse battery", "10.0.0.1", kT0).value();
        CHECK(auth.session(idle.sessionToken, kT0 + 12 * kHour));
        CHECK(auth.session(idle.sessionToken, kT0 + 24 * kHour));   // used at 12 h: idle only 12 h again
        CHECK(codeOf(auth.session(idle.sessionToken, kT0 + 36 * kHour + 1)) == AuthError::Code::Unauthorized);
        CHECK(codeOf(auth.session(idle.sessionToken, kT0 + 24 * kHour)) == AuthError::Code::Unauthorized);   // gone

        const auto busy = auth.login("ann@example.com", "correct horse battery", "10.0.0.1", kT0).value();
        std::int64_t t = kT0;
        for (int i = 0; i < 16; ++i) {   // used every 10 h for 6 days 16 h
            t += 10 * kHour;
            CHECK(auth.session(busy.sessionToken, t));
        }
        CHECK(codeOf(auth.session(busy.sessionToken, kT0 + 7 * 24 * kHour + 1)) == AuthError::Code::Unauthorized);

        const auto a = auth.login("ann@example.com", "correct horse battery", "10.0.0.1", kT0).value();
        REQUIRE(hq::setUserPassword(*s, "ann@example.com", "another long password", kTestActor, kT0 + 1).value());
        CHECK(codeOf(auth.session(a.sessionToken, kT0 + 2)) == AuthError::Code::Unauthorized);
        CHECK(codeOf(auth.login("ann@example.com", "correct horse battery", "10.0.0.1", kT0 + 3)) ==
              AuthError::Code::Unauthorized);
        const auto b = auth.login("ann@example.com", "another long password", "10.0.0.1", kT0 + 4).value();
        REQUIRE(hq::disableUser(*s, "ANN@example.com", kTestActor, kT0 + 5).value());
        CHECK(codeOf(auth.session(b.sessionToken, kT0 + 6)) == AuthError::Code::Unauthorized);
        CHECK(codeOf(auth.login("ann@example.com", "another long password", "10.0.0.1", kT0 + 7)) ==
              AuthError::Code::Unauthorized);
    }
}

TEST_CASE("auth: read tokens work as before, scoped or not, and need no CSRF header", "[storage]") {
    test::TempDir dir;
    for (const auto& url : test::storageUrls(dir)) {
        INFO(url);
        auto s = test::openStorage(url);
        REQUIRE(hq::addRegion(*s, "east", "East", kTestActor, kT0));
        REQUIRE(hq::setStore(*s, "s1", std::nullopt, std::string("east"), kTestActor, kT0));
        const auto old = hq::generateToken();
        REQUIRE(s->addToken(hq::hashToken(old), "read", kT0));
        const auto east = hq::issueScopedToken(*s, Scope::region("east"), kTestActor, kT0).value().token;
        const auto one = hq::issueScopedToken(*s, Scope::store("s1"), kTestActor, kT0).value().token;
        hq::Auth auth(*s);
        const auto p = auth.token(old);
        REQUIRE(p);
        CHECK(p->kind == hq::Principal::Kind::Token);
        CHECK(p->role == "read");
        CHECK(p->scope == Scope::chain());
        CHECK_FALSE(p->isAdmin());
        CHECK(hq::Auth::authorize(*p, false, true, std::nullopt));
        CHECK(codeOf(hq::Auth::authorize(*p, true, false, std::nullopt)) == AuthError::Code::Forbidden);
        CHECK(auth.token(east)->scope == Scope::region("east"));
        CHECK(auth.token(one)->scope == Scope::store("s1"));
        CHECK(codeOf(auth.token("not-a-token")) == AuthError::Code::Unauthorized);
        CHECK(codeOf(auth.token("")) == AuthError::Code::Unauthorized);
    }
}

TEST_CASE("auth: admin changes check their input and say why", "[storage]") {
    test::TempDir dir;
    auto s = test::openStorage(test::storageUrls(dir).front());
    auto invalid = [](const auto& r) {
        REQUIRE_FALSE(r);
        CHECK(r.error().kind == hq::StorageError::Kind::Invalid);
        return r.error().message;
    };
    CHECK(invalid(hq::addUser(*s, {"ann@example.com", "viewer", {}, {}, "short"}, kTestActor, kT0)).find("10") !=
          std::string::npos);
    CHECK(invalid(hq::addUser(*s, {"not-an-email", "viewer", {}, {}, "long enough pw"}, kTestActor, kT0))
              .find("email") != std::string::npos);
    invalid(hq::addRegion(*s, "bad id", "Name", kTestActor, kT0));
    invalid(hq::addRegion(*s, "ok", "", kTestActor, kT0));
    invalid(hq::setStore(*s, "s1", std::nullopt, std::nullopt, kTestActor, kT0));
    invalid(hq::setStore(*s, "s/1", std::string("x"), std::nullopt, kTestActor, kT0));
    CHECK(s->people().listUsers().value().empty());
    CHECK(s->people().auditLog(0, kT0 * 2, 10).value().empty());   // nothing refused is logged as done
}

TEST_CASE("auth: the session cookie's flags and reading it back from a Cookie header", "[auth]") {
    const std::string c = hq::sessionCookie("abc");
    CHECK(c.starts_with("segue_session=abc; "));
    for (const char* flag : {"; HttpOnly", "; Secure", "; SameSite=Strict", "; Path=/"}) CHECK(c.find(flag) != std::string::npos);
    CHECK(hq::clearedSessionCookie().find("Max-Age=0") != std::string::npos);
    CHECK(hq::cookieValue("a=1; segue_session=tok; b=2", "segue_session") == std::optional<std::string>("tok"));
    CHECK(hq::cookieValue("segue_session=tok", "segue_session") == std::optional<std::string>("tok"));
    CHECK_FALSE(hq::cookieValue("xsegue_session=tok; b=2", "segue_session"));
    CHECK_FALSE(hq::cookieValue("", "segue_session"));
    CHECK(hq::normalizeEmail("  Ann@Example.COM ") == std::optional<std::string>("ann@example.com"));
    for (const char* bad : {"", "ann", "@x", "ann@", "a@b@c", "a b@c"}) CHECK_FALSE(hq::normalizeEmail(bad));
    const auto hash = hq::hashPassword("correct horse battery").value();
    CHECK(hash.starts_with("$argon2id$"));
    CHECK(hq::verifyPassword(hash, "correct horse battery"));
    CHECK_FALSE(hq::verifyPassword(hash, "correct horse batterY"));
    CHECK_FALSE(hq::verifyPassword("", ""));
}
