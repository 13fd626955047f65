#include "hq/surveys.hpp"

#include <algorithm>
#include <cassert>

#include <nlohmann/json.hpp>

#include "assets/assets.hpp"
#include "hq/people.hpp"

namespace segue::hq {
namespace {

using Kind = StorageError::Kind;

StorageError invalid(std::string message) { return {Kind::Invalid, std::move(message)}; }

std::optional<std::string> scopeError(const SurveyScope& scope) {
    if (scope.kind == ScopeKind::Chain) return scope.id.empty() ? std::nullopt : std::optional<std::string>("the chain takes no id");
    if (scope.id.empty() || scope.id.size() > 64) return std::string(scopeKindName(scope.kind)) + " id must be 1-64 bytes";
    return std::nullopt;
}

} // namespace

const std::string& builtInSurveyText() {
    static const std::string text = [] {
        const auto t = assets::find("survey/default.json");
        assert(t && "the default survey is compiled in");
        return std::string(*t);
    }();
    return text;
}

const core::Survey& builtInSurvey() {
    static const core::Survey survey = [] {
        auto s = core::parseSurvey(builtInSurveyText());
        assert(s && "the built-in survey parses");
        return *s;
    }();
    return survey;
}

std::optional<core::SurveyProblem> publishProblem(std::string_view text) {
    auto survey = core::checkSurvey(text);
    if (!survey) return std::move(survey.error());
    return core::publishableProblem(*survey);
}

Result<int> publishSurvey(Storage& storage, std::string_view text, const SurveyScope& scope, std::int64_t nowMs) {
    if (auto e = scopeError(scope)) return std::unexpected(invalid(*e));
    if (auto p = publishProblem(text)) return std::unexpected(invalid(std::move(p->message)));
    auto survey = core::parseSurvey(text);   // publishProblem accepted it
    auto json = nlohmann::json::parse(text);
    const int floor = survey->id == builtInSurvey().id ? builtInSurvey().version : 0;
    if (scope.kind == ScopeKind::Store) {
        auto exists = storage.storeExists(scope.id);
        if (!exists) return std::unexpected(exists.error());
        if (!*exists) return std::unexpected(invalid("no store " + scope.id));
    }
    return storage.publishSurvey(
        survey->id, floor,
        [&](int version) {
            json["version"] = version;
            return json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        },
        scope.kind, scope.id, nowMs);
}

Result<void> assignSurvey(Storage& storage, const std::string& surveyId, int version, const SurveyScope& scope,
                          std::int64_t nowMs) {
    if (auto e = scopeError(scope)) return std::unexpected(invalid(*e));
    const bool builtIn = surveyId == builtInSurvey().id && version == builtInSurvey().version;
    if (!builtIn) {
        auto stored = storage.surveyVersion(surveyId, version);
        if (!stored) return std::unexpected(stored.error());
        if (!*stored) return std::unexpected(invalid("no survey " + surveyId + " version " + std::to_string(version)));
    }
    return storage.assignSurvey({scope.kind, scope.id, surveyId, version, nowMs});
}

Result<void> checkScopeExists(Storage& storage, const SurveyScope& scope) {
    if (auto e = scopeError(scope)) return std::unexpected(invalid(*e));
    if (scope.kind == ScopeKind::Store) {
        auto exists = storage.storeExists(scope.id);
        if (!exists) return std::unexpected(exists.error());
        if (!*exists) return std::unexpected(invalid("no store " + scope.id));
    }
    if (scope.kind == ScopeKind::Region) {
        auto regions = storage.people().listRegions();
        if (!regions) return std::unexpected(regions.error());
        if (std::none_of(regions->begin(), regions->end(), [&](const Region& r) { return r.id == scope.id; }))
            return std::unexpected(invalid("no region " + scope.id));
    }
    return {};
}

std::string scopeText(ScopeKind kind, const std::string& id) {
    return kind == ScopeKind::Chain ? std::string("chain") : std::string(scopeKindName(kind)) + ":" + id;
}

namespace {

std::string versionText(const std::string& surveyId, int version) { return surveyId + " v" + std::to_string(version); }

Result<void> auditSurvey(Storage& storage, const Actor& by, const char* action, const std::string& surveyId, int version,
                         nlohmann::json details, std::int64_t nowMs) {
    details["survey_id"] = surveyId;
    details["version"] = version;
    return storage.people().audit({0, nowMs, by.name, action, versionText(surveyId, version), by.address,
                                   details.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)});
}

} // namespace

Result<int> publishSurveyBy(Storage& storage, std::string_view text, const SurveyScope& scope, const Actor& by,
                            std::int64_t nowMs) {
    auto version = publishSurvey(storage, text, scope, nowMs);
    if (!version) return version;
    const auto surveyId = nlohmann::json::parse(text).at("id").get<std::string>();   // publishSurvey parsed it
    if (auto r = auditSurvey(storage, by, "survey_publish", surveyId, *version, {{"scope", scopeText(scope.kind, scope.id)}}, nowMs);
        !r)
        return std::unexpected(r.error());
    return version;
}

Result<std::optional<SurveyAssignment>> assignSurveyBy(Storage& storage, const std::string& surveyId, int version,
                                                       const SurveyScope& scope, const Actor& by, std::int64_t nowMs) {
    auto before = storage.surveyAssignments();
    if (!before) return std::unexpected(before.error());
    std::optional<SurveyAssignment> previous;
    for (const auto& a : *before)
        if (a.scopeKind == scope.kind && (scope.kind == ScopeKind::Chain || a.scopeId == scope.id)) previous = a;
    if (auto r = assignSurvey(storage, surveyId, version, scope, nowMs); !r) return std::unexpected(r.error());
    const nlohmann::json was = previous ? nlohmann::json(versionText(previous->surveyId, previous->version)) : nlohmann::json();
    if (auto r = auditSurvey(storage, by, "survey_assign", surveyId, version,
                             {{"scope", scopeText(scope.kind, scope.id)}, {"previous", was}}, nowMs);
        !r)
        return std::unexpected(r.error());
    return previous;
}

std::optional<SurveyAssignment> resolveAssignment(const std::vector<SurveyAssignment>& assignments,
                                                  const std::string& storeId,
                                                  const std::optional<std::string>& regionId) {
    const SurveyAssignment* best = nullptr;
    auto rank = [](ScopeKind k) { return k == ScopeKind::Store ? 3 : k == ScopeKind::Region ? 2 : 1; };
    for (const auto& a : assignments) {
        const bool applies = a.scopeKind == ScopeKind::Chain ||
                             (a.scopeKind == ScopeKind::Store && a.scopeId == storeId) ||
                             (a.scopeKind == ScopeKind::Region && regionId && a.scopeId == *regionId);
        if (applies && (!best || rank(a.scopeKind) > rank(best->scopeKind))) best = &a;
    }
    return best ? std::optional<SurveyAssignment>(*best) : std::nullopt;
}

Result<CurrentSurvey> currentSurvey(Storage& storage, const std::string& storeId) {
    auto assignments = storage.surveyAssignments();
    if (!assignments) return std::unexpected(assignments.error());
    auto region = storage.storeRegion(storeId);
    if (!region) return std::unexpected(region.error());
    const auto chosen = resolveAssignment(*assignments, storeId, *region);
    const auto& builtIn = builtInSurvey();
    if (!chosen || (chosen->surveyId == builtIn.id && chosen->version == builtIn.version))
        return CurrentSurvey{builtIn.id, builtIn.version, builtInSurveyText(),
                             chosen ? scopeKindName(chosen->scopeKind) : "built-in"};
    auto stored = storage.surveyVersion(chosen->surveyId, chosen->version);
    if (!stored) return std::unexpected(stored.error());
    if (!*stored)
        return std::unexpected(StorageError{Kind::Io, "assigned survey " + chosen->surveyId + " version " +
                                                          std::to_string(chosen->version) + " is not stored"});
    return CurrentSurvey{chosen->surveyId, chosen->version, std::move((*stored)->definition),
                         scopeKindName(chosen->scopeKind)};
}

Result<std::shared_ptr<const core::Survey>> SurveyCatalog::find(const std::string& surveyId, int version) {
    using Out = std::shared_ptr<const core::Survey>;
    const auto& builtIn = builtInSurvey();
    if (surveyId == builtIn.id && version == builtIn.version) return Out(&builtIn, [](const core::Survey*) {});
    {
        std::lock_guard lock(m_mutex);
        if (const auto it = m_known.find({surveyId, version}); it != m_known.end()) return it->second;
    }
    auto stored = m_storage.surveyVersion(surveyId, version);
    if (!stored) return std::unexpected(stored.error());
    if (!*stored) return Out();
    auto parsed = core::parseSurvey((*stored)->definition);
    if (!parsed)
        return std::unexpected(StorageError{Kind::Io, "stored survey " + surveyId + " version " + std::to_string(version) +
                                                          " does not parse: " + parsed.error()});
    auto survey = std::make_shared<const core::Survey>(std::move(*parsed));
    std::lock_guard lock(m_mutex);
    m_known.emplace(std::make_pair(surveyId, version), survey);
    return survey;
}

} // namespace segue::hq
