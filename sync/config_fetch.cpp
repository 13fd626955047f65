#include "sync/config_fetch.hpp"

#include <nlohmann/json.hpp>

#include "store/config_store.hpp"
#include "sync/curl_transport.hpp"

namespace segue::sync {

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
    auto reply = httpsRequest(request);
    if (!reply) return std::unexpected(ConfigFetchError{reply.error(), describe(reply.error())});

    std::optional<std::string> definition, refusal;
    if (reply->status == 200) {
        const auto j = nlohmann::json::parse(reply->body, nullptr, /*allow_exceptions=*/false);
        if (j.is_discarded() || !j.is_object() || !j.contains("survey") || !j["survey"].is_object())
            return std::unexpected(ConfigFetchError{{}, "HQ's config reply has no \"survey\" object"});
        definition = j["survey"].dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        refusal = check(*definition);
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
