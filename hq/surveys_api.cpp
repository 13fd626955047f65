#include "hq/surveys_api.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <map>

#include "assets/assets.hpp"
#include "core/time.hpp"
#include "hq/admin.hpp"
#include "hq/people.hpp"
#include "hq/surveys.hpp"

namespace segue::hq {
namespace {

using Json = nlohmann::json;

// The terminal's words a preview needs: the star question, the SEGUE items, the reasons screen,
// the thank-you screen, the callback offer, the built-in tags.
constexpr std::array kPreviewPrefixes = {"attract.", "stars.",      "item.",       "reasons.",      "tag.",       "thanks.",
                                         "callback.", "button.done", "button.skip", "button.submit", "button.back"};

ApiError badRequest(const char* code, std::string field, std::string message) {
    return ApiError{400, code, std::move(message), {}, std::move(field)};
}

bool plainId(const std::string& s) {
    return !s.empty() && s.size() <= 64 &&
           std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isalnum(c) || c == '-' || c == '_' || c == '.'; });
}

std::optional<int> versionNumber(const std::string& text) {
    if (text.empty() || text.size() > 9 || !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return std::nullopt;
    const int v = std::stoi(text);
    return v >= 1 ? std::optional<int>(v) : std::nullopt;
}

/// {"scope": {"kind", "id"?}} of a request body.
std::expected<SurveyScope, ApiError> scopeOf(const Json& body) {
    const auto it = body.find("scope");
    if (it == body.end() || !it->is_object())
        return std::unexpected(badRequest("invalid_scope", "scope", "scope must be an object {\"kind\", \"id\"}"));
    const auto kind = it->find("kind");
    const std::string k = kind != it->end() && kind->is_string() ? kind->get<std::string>() : "";
    if (k != "chain" && k != "region" && k != "store")
        return std::unexpected(badRequest("invalid_scope", "scope.kind", "scope.kind must be chain, region or store"));
    const auto id = it->find("id");
    if (k == "chain") {
        if (id != it->end() && !id->is_null())
            return std::unexpected(badRequest("invalid_scope", "scope.id", "the chain takes no scope.id"));
        return SurveyScope{ScopeKind::Chain, ""};
    }
    if (id == it->end() || !id->is_string() || !plainId(id->get<std::string>()))
        return std::unexpected(badRequest("invalid_scope", "scope.id", "scope.id must be a " + k + " id (1-64 of [A-Za-z0-9._-])"));
    return SurveyScope{k == "region" ? ScopeKind::Region : ScopeKind::Store, id->get<std::string>()};
}

/// The scope as the replies write it.
Json scopeJson(ScopeKind kind, const std::string& id) {
    return {{"kind", scopeKindName(kind)}, {"id", kind == ScopeKind::Chain ? Json() : Json(id)}};
}

/// A scope HQ does not know (or a storage failure) as the reply says it.
ApiError scopeRefusal(const StorageError& e) {
    if (e.kind == StorageError::Kind::Invalid) return badRequest("invalid_scope", "scope.id", e.message);
    return ApiError::internal(e.message);
}

const Json& terminalWords() {
    static const Json words = [] {
        Json out = Json::object();
        for (const auto& [path, text] : assets::embeddedFiles()) {
            constexpr std::string_view kDir = "translations/";
            if (!path.starts_with(kDir) || !path.ends_with(".json")) continue;
            const std::string lang(path.substr(kDir.size(), path.size() - kDir.size() - 5));
            const auto all = Json::parse(text, nullptr, false);
            if (!all.is_object()) continue;
            Json kept = Json::object();
            for (const auto& [key, value] : all.items())
                if (std::any_of(kPreviewPrefixes.begin(), kPreviewPrefixes.end(), [&](const char* p) { return key.starts_with(p); }))
                    kept[key] = value;
            out[lang] = std::move(kept);
        }
        return out;
    }();
    return words;
}

/// Every store's (id, name, region) and every region's (id, name).
struct Places {
    std::vector<StoreInfo> stores;
    std::vector<Region> regions;
};

std::expected<Places, ApiError> places(Storage& storage) {
    auto stores = storage.people().storesIn({Scope::chain(), std::nullopt, std::nullopt});
    if (!stores) return std::unexpected(apiError(stores.error()));
    auto regions = storage.people().listRegions();
    if (!regions) return std::unexpected(apiError(regions.error()));
    return Places{std::move(*stores), std::move(*regions)};
}

/// What a scope runs: the assignment that applies, or the built-in version.
Json resolved(const std::optional<SurveyAssignment>& a) {
    const auto& builtIn = builtInSurvey();
    if (!a) return {{"survey_id", builtIn.id}, {"version", builtIn.version}, {"assigned_by", "built-in"}};
    return {{"survey_id", a->surveyId}, {"version", a->version}, {"assigned_by", scopeKindName(a->scopeKind)}};
}

Json scopesJson(const std::vector<SurveyAssignment>& assignments, const Places& p,
                std::map<std::pair<std::string, int>, int>& storesRunning) {
    Json out = Json::array();
    Json chain = {{"kind", "chain"}, {"id", nullptr}, {"name", nullptr}, {"region", nullptr}};
    chain.update(resolved(resolveAssignment(assignments, "", std::nullopt)));
    out.push_back(std::move(chain));
    for (const auto& r : p.regions) {
        Json region = {{"kind", "region"}, {"id", r.id}, {"name", r.name}, {"region", nullptr}};
        region.update(resolved(resolveAssignment(assignments, "", r.id)));
        out.push_back(std::move(region));
    }
    for (const auto& s : p.stores) {
        Json store = {{"kind", "store"}, {"id", s.id}, {"name", s.name ? Json(*s.name) : Json()},
                      {"region", s.region ? Json(*s.region) : Json()}};
        store.update(resolved(resolveAssignment(assignments, s.id, s.region)));
        ++storesRunning[{store["survey_id"].get<std::string>(), store["version"].get<int>()}];
        out.push_back(std::move(store));
    }
    return out;
}

Json versionJson(const std::string& surveyId, int version, bool builtIn, std::optional<std::int64_t> publishedAtMs,
                 const std::vector<SurveyAssignment>& assignments, const std::map<std::pair<std::string, int>, int>& running) {
    Json assigned = Json::array();
    for (const auto& a : assignments)
        if (a.surveyId == surveyId && a.version == version) {
            Json one = scopeJson(a.scopeKind, a.scopeId);
            one["assigned_at"] = core::formatUtc(a.assignedAtMs);
            assigned.push_back(std::move(one));
        }
    const auto n = running.find({surveyId, version});
    return {{"version", version},
            {"built_in", builtIn},
            {"published_at", publishedAtMs ? Json(core::formatUtc(*publishedAtMs)) : Json()},
            {"assigned_to", std::move(assigned)},
            {"stores", n == running.end() ? 0 : n->second}};
}

/// The definition of a publish request: an object, or the JSON text of one.
std::expected<std::string, ApiError> definitionText(const Json& body) {
    const auto it = body.find("definition");
    if (it == body.end()) return std::unexpected(badRequest("invalid_survey", "definition", "definition is required"));
    if (it->is_string()) return it->get<std::string>();
    if (!it->is_object())
        return std::unexpected(badRequest("invalid_survey", "definition", "definition must be a JSON object"));
    return it->dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::expected<Json, ApiError> object(const std::string& body) {
    auto j = Json::parse(body, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return std::unexpected(ApiError::badRequest("the body must be a JSON object"));
    return j;
}

Actor actorOf(const Principal& p, const std::string& address) { return {p.actor(), address}; }

} // namespace

ApiResult SurveysApi::list() {
    auto versions = m_storage.listSurveyVersions();
    if (!versions) return std::unexpected(apiError(versions.error()));
    auto assignments = m_storage.surveyAssignments();
    if (!assignments) return std::unexpected(apiError(assignments.error()));
    auto p = places(m_storage);
    if (!p) return std::unexpected(p.error());
    std::map<std::pair<std::string, int>, int> running;
    Json scopes = scopesJson(*assignments, *p, running);

    // By survey id (the built-in one first), each survey's versions ascending.
    const auto& builtIn = builtInSurvey();
    Json surveys = Json::array();
    surveys.push_back({{"survey_id", builtIn.id},
                       {"versions", Json::array({versionJson(builtIn.id, builtIn.version, true, std::nullopt, *assignments, running)})}});
    for (const auto& v : *versions) {
        auto same = std::find_if(surveys.begin(), surveys.end(), [&](const Json& s) { return s["survey_id"] == v.surveyId; });
        if (same == surveys.end()) {
            surveys.push_back({{"survey_id", v.surveyId}, {"versions", Json::array()}});
            same = surveys.end() - 1;
        }
        (*same)["versions"].push_back(versionJson(v.surveyId, v.version, false, v.publishedAtMs, *assignments, running));
    }
    return ApiReply{200, {{"surveys", std::move(surveys)}, {"scopes", std::move(scopes)}, {"terminal_words", terminalWords()}}, {}};
}

ApiResult SurveysApi::show(const std::string& surveyId, const std::string& versionText) {
    const auto version = versionNumber(versionText);
    const auto notFound = ApiError::notFound("no survey " + surveyId + " version " + versionText.substr(0, 20));
    if (!version) return std::unexpected(notFound);
    const auto& builtIn = builtInSurvey();
    if (surveyId == builtIn.id && *version == builtIn.version)
        return ApiReply{200, {{"survey_id", builtIn.id}, {"version", builtIn.version}, {"built_in", true},
                              {"published_at", nullptr}, {"definition", Json::parse(builtInSurveyText())}}, {}};
    auto stored = m_storage.surveyVersion(surveyId, *version);
    if (!stored) return std::unexpected(apiError(stored.error()));
    if (!*stored) return std::unexpected(notFound);
    auto definition = Json::parse((*stored)->definition, nullptr, false);
    if (definition.is_discarded()) return std::unexpected(ApiError::internal("stored survey " + surveyId + " is not JSON"));
    return ApiReply{200, {{"survey_id", surveyId}, {"version", *version}, {"built_in", false},
                          {"published_at", core::formatUtc((*stored)->publishedAtMs)}, {"definition", std::move(definition)}}, {}};
}

ApiResult SurveysApi::publish(const Principal& by, const std::string& body, const std::string& address, std::int64_t nowMs) {
    auto j = object(body);
    if (!j) return std::unexpected(j.error());
    auto text = definitionText(*j);
    if (!text) return std::unexpected(text.error());
    // The checks `survey publish` makes, with the field they refuse.
    if (auto p = publishProblem(*text))
        return std::unexpected(badRequest("invalid_survey", p->field.empty() ? "definition" : "definition." + p->field,
                                          std::move(p->message)));
    const auto surveyId = Json::parse(*text).at("id").get<std::string>();
    // The routes address a survey by its id in the path.
    if (!plainId(surveyId))
        return std::unexpected(badRequest("invalid_survey", "definition.id",
                                          "survey: \"id\" must be 1-64 of [A-Za-z0-9._-] to be published from the dashboard"));
    auto scope = scopeOf(*j);
    if (!scope) return std::unexpected(scope.error());
    if (auto known = checkScopeExists(m_storage, *scope); !known) return std::unexpected(scopeRefusal(known.error()));
    auto version = publishSurveyBy(m_storage, *text, *scope, actorOf(by, address), nowMs);
    if (!version) return std::unexpected(apiError(version.error()));
    return ApiReply{201, {{"survey_id", surveyId}, {"version", *version}, {"scope", scopeJson(scope->kind, scope->id)}}, {}};
}

ApiResult SurveysApi::assign(const Principal& by, const std::string& surveyId, const std::string& versionText,
                             const std::string& body, const std::string& address, std::int64_t nowMs) {
    const auto version = versionNumber(versionText);
    const auto notFound = ApiError::notFound("no survey " + surveyId + " version " + versionText.substr(0, 20));
    if (!version) return std::unexpected(notFound);
    const auto& builtIn = builtInSurvey();
    if (surveyId != builtIn.id || *version != builtIn.version) {
        auto stored = m_storage.surveyVersion(surveyId, *version);
        if (!stored) return std::unexpected(apiError(stored.error()));
        if (!*stored) return std::unexpected(notFound);
    }
    auto j = object(body);
    if (!j) return std::unexpected(j.error());
    auto scope = scopeOf(*j);
    if (!scope) return std::unexpected(scope.error());
    if (auto known = checkScopeExists(m_storage, *scope); !known) return std::unexpected(scopeRefusal(known.error()));
    auto previous = assignSurveyBy(m_storage, surveyId, *version, *scope, actorOf(by, address), nowMs);
    if (!previous) return std::unexpected(apiError(previous.error()));
    const Json was = *previous ? Json{{"survey_id", (*previous)->surveyId}, {"version", (*previous)->version}} : Json();
    return ApiReply{200, {{"survey_id", surveyId}, {"version", *version}, {"scope", scopeJson(scope->kind, scope->id)},
                          {"previous", was}}, {}};
}

} // namespace segue::hq
