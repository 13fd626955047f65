#include "sync/config_fetch.hpp"

#include <nlohmann/json.hpp>

#include "store/config_store.hpp"
#include "sync/curl_transport.hpp"

namespace segue::sync {

bool isContactPublicKey(std::string_view base64) {
    // 32 bytes in standard base64: 43 characters and one '=' of padding.
    if (base64.size() != 44 || base64[43] != '=') return false;
    static constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (std::size_t i = 0; i < 43; ++i)
        if (kAlphabet.find(base64[i]) == std::string_view::npos) return false;
    // The last character carries 4 bits of the 32nd byte and 2 bits of padding, which are zero.
    return kAlphabet.find(base64[42]) % 4 == 0;
}

std::expected<ConfigFetch, ConfigFetchError> fetchConfig(store::Database& db, const ConfigFetchOptions& o,
                                                         const DefinitionCheck& check, std::int64_t nowUtcMs) {
    auto state = store::loadSurveyConfig(db);
    if (!state) return std::unexpected(ConfigFetchError{{}, "the terminal's database: " + state.error().message});
    HttpsRequest request;
    request.serverUrl = o.serverUrl;
    request.caFile = o.caFile;
    request.path = "/api/v1/terminal/config";
    request.token = o.token;
    request.ifNoneMatch = state->etag.value_or("");
    request.cancel = o.cancel;
    auto reply = httpsRequest(request);
    if (!reply) return std::unexpected(ConfigFetchError{reply.error(), describe(reply.error())});

    std::optional<std::string> definition, refusal, contactKey;
    if (reply->status == 200) {
        const auto j = nlohmann::json::parse(reply->body, nullptr, /*allow_exceptions=*/false);
        if (j.is_discarded() || !j.is_object() || !j.contains("survey") || !j["survey"].is_object())
            return std::unexpected(ConfigFetchError{{}, "HQ's config reply has no \"survey\" object"});
        definition = j["survey"].dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        refusal = check(*definition);
        // Absent (an HQ without --contact-key) or not a 32-byte key: no callback offered.
        if (j.contains("contact_public_key") && j["contact_public_key"].is_string() &&
            isContactPublicKey(j["contact_public_key"].get<std::string>()))
            contactKey = j["contact_public_key"].get<std::string>();
    } else if (reply->status == 404) {
        // An HQ older than terminal configs: the terminal runs what it has.
        return ConfigFetch::Unchanged;
    } else if (reply->status != 304) {
        return std::unexpected(ConfigFetchError{
            {}, "HQ answered " + std::to_string(reply->status) + " for the config: " + replyErrorText(reply->body)});
    }
    ConfigFetch outcome = ConfigFetch::Unchanged;
    auto saved = store::updateSurveyConfig(db, [&](store::SurveyConfigState& s) {
        s.fetchedAtMs = nowUtcMs;
        if (!definition) return;
        s.contactPublicKey = contactKey;   // the key comes and goes with HQ's config
        s.etag = reply->etag.empty() ? std::nullopt : std::optional<std::string>(reply->etag);
        if (refusal) {
            if (s.lastError != refusal) s.errorReported = false;
            s.lastError = refusal;
            outcome = ConfigFetch::Refused;
            return;
        }
        s.lastError.reset();
        s.errorReported = false;
        if (definition == s.applied || definition == s.pending) return;
        s.pending = definition;
        outcome = ConfigFetch::Pending;
    });
    if (!saved) return std::unexpected(ConfigFetchError{{}, "the terminal's database: " + saved.error().message});
    return outcome;
}

} // namespace segue::sync
