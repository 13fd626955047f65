#include "hq/terminal_config.hpp"

#include <nlohmann/json.hpp>

#include "hq/surveys.hpp"
#include "hq/token.hpp"

namespace segue::hq {

bool etagMatches(std::string_view header, std::string_view etag) {
    while (!header.empty()) {
        const auto comma = header.find(',');
        std::string_view one = header.substr(0, comma);
        header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
        while (!one.empty() && (one.front() == ' ' || one.front() == '\t')) one.remove_prefix(1);
        while (!one.empty() && (one.back() == ' ' || one.back() == '\t')) one.remove_suffix(1);
        if (one == "*") return true;
        if (one.starts_with("W/")) one.remove_prefix(2);   // weak comparison, as RFC 9110 asks for If-None-Match
        if (one == etag) return true;
    }
    return false;
}

std::expected<TerminalConfigReply, ApiError> terminalConfig(Storage& storage, const DeviceAuth& device,
                                                            const std::optional<std::string>& ifNoneMatch,
                                                            const std::optional<std::string>& contactPublicKey) {
    auto current = currentSurvey(storage, device.storeId);
    if (!current) return std::unexpected(ApiError::internal("storage failure: " + current.error().message));
    const auto definition = nlohmann::json::parse(current->definition, nullptr, /*allow_exceptions=*/false);
    if (definition.is_discarded())
        return std::unexpected(ApiError::internal("the stored survey definition is not JSON"));
    TerminalConfigReply reply;
    nlohmann::json body = {{"survey", definition},
                           {"survey_id", current->surveyId},
                           {"survey_version", current->version},
                           {"assigned_by", current->source}};
    if (contactPublicKey) body["contact_public_key"] = *contactPublicKey;
    reply.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    reply.etag = "\"" + sha256Hex(reply.body).substr(0, 32) + "\"";
    if (ifNoneMatch && etagMatches(*ifNoneMatch, reply.etag)) {
        reply.status = 304;
        reply.body.clear();
    }
    return reply;
}

} // namespace segue::hq
