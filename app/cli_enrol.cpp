#include "app/cli_enrol.hpp"

#include <iostream>

#include <nlohmann/json.hpp>

#include "app/cli.hpp"
#include "app/identity.hpp"
#include "core/version.hpp"
#include "sync/curl_transport.hpp"

namespace segue::app {
namespace {

int fail(int code, std::string reason) {
    for (auto& c : reason)
        if (c == '\n' || c == '\r') c = ' ';
    std::cerr << "segue-kiosk: " << reason << "\n";
    return code;
}

/// 12 digits, with or without dashes and spaces.
bool plausibleCode(const std::string& code) {
    int digits = 0;
    for (const char c : code) {
        if (c >= '0' && c <= '9') ++digits;
        else if (c != '-' && c != ' ') return false;
    }
    return digits == 12;
}

} // namespace

std::expected<Identity, EnrolFailure> enrolWithCode(const KioskConfig& cfg, const std::string& code) {
    using Kind = EnrolFailure::Kind;
    auto failure = [](Kind kind, std::string message) { return std::unexpected(EnrolFailure{kind, std::move(message)}); };
    if (!plausibleCode(code)) return failure(Kind::Usage, "--code must be the 12 digits HQ printed, e.g. 1234-5678-9012");
    if (cfg.sync.serverUrl.empty())
        return failure(Kind::Usage, "enrol needs [sync] server_url in " +
                                        (cfg.configFile.empty() ? std::string("the configuration (--config FILE)")
                                                                : cfg.configFile.string()));
    sync::HttpsRequest request;
    request.serverUrl = cfg.sync.serverUrl;
    request.caFile = cfg.sync.caFile;
    request.method = "POST";
    request.path = "/api/v1/enrol";
    request.body = nlohmann::json{{"code", code}, {"app_version", std::string(kVersion)}}.dump();
    auto reply = sync::httpsRequest(request);
    if (!reply) {
        const bool tls = reply.error().kind == sync::SendError::Tls;
        return failure(tls ? Kind::Tls : Kind::Unreachable, "enrolment failed: " + sync::describe(reply.error()));
    }
    if (reply->status == 401 || reply->status == 403 || reply->status == 400)
        return failure(Kind::Refused, "HQ refused the enrolment code (used, expired, revoked or unknown): " +
                                          sync::replyErrorText(reply->body));
    if (reply->status != 200)
        return failure(Kind::Unreachable,
                       "HQ answered " + std::to_string(reply->status) + ": " + sync::replyErrorText(reply->body));
    const auto j = nlohmann::json::parse(reply->body, nullptr, /*allow_exceptions=*/false);
    auto field = [&](const char* key) {
        return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
    };
    Identity id{field("device_id"), field("store_id"), field("token"), cfg.sync.serverUrl, field("server_time")};
    if (id.deviceId.empty() || id.storeId.empty() || id.token.empty())
        return failure(Kind::Unreachable, "HQ's enrolment reply is not {device_id, store_id, token}");
    if (auto saved = saveIdentity(cfg.dataDir, id); !saved)
        return failure(Kind::Failed, "enrolled as " + id.deviceId + " but " + saved.error() +
                                         "; the code is used: ask HQ for a new one");
    KioskConfig check = cfg;
    if (auto agreed = applyIdentity(check, id); !agreed)
        return failure(Kind::Mismatch, "enrolled, but the terminal will not start: " + agreed.error());
    return id;
}

int runEnrol(const KioskConfig& cfg, const std::string& code) {
    auto id = enrolWithCode(cfg, code);
    if (!id) {
        using Kind = EnrolFailure::Kind;
        switch (id.error().kind) {
        case Kind::Usage: return fail(kExitUsage, id.error().message);
        case Kind::Unreachable: return fail(kExitEnrolUnreachable, id.error().message);
        case Kind::Refused:
        case Kind::Tls: return fail(kExitEnrolRefused, id.error().message);
        case Kind::Failed: return fail(kExitFailure, id.error().message);
        case Kind::Mismatch: return fail(kExitUsage, id.error().message);
        }
    }
    std::cout << "enrolled: device " << id->deviceId << " in store " << id->storeId << " (identity in "
              << identityPath(cfg.dataDir).string() << ")\n";
    return kExitOk;
}

} // namespace segue::app
