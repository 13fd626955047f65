// The dashboard's survey routes (administrators only): every survey version with where it is
// assigned and what each scope runs, one version's definition, publishing a new version to a
// scope, and assigning an existing one (a rollback). Validation and storage are hq/surveys'
// (the CLI's too); this file only reads requests and shapes replies.
#pragma once
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "hq/auth.hpp"
#include "hq/people_api.hpp"
#include "hq/storage.hpp"

namespace segue::hq {

class SurveysApi {
public:
    explicit SurveysApi(Storage& storage) : m_storage(storage) {}

    /// GET /api/v1/surveys → {"surveys":[{"survey_id","versions":[{"version","built_in","published_at",
    /// "assigned_to":[{"kind","id","assigned_at"}],"stores"}]}],"scopes":[{"kind","id","name","region",
    /// "survey_id","version","assigned_by"}],"terminal_words":{LANG:{KEY:TEXT}}}. `stores` counts the
    /// stores that run the version; `scopes` is the chain, every region and every store with the
    /// version each resolves to; `terminal_words` are the terminal's own words for a preview.
    ApiResult list();
    /// GET /api/v1/surveys/{id}/versions/{version} → {"survey_id","version","built_in","published_at",
    /// "definition"}; 404 for a version HQ does not know.
    ApiResult show(const std::string& surveyId, const std::string& version);
    /// POST /api/v1/surveys {"definition": OBJECT (or its JSON text), "scope": {"kind":"chain"|"region"|
    /// "store","id"?}} → 201 {"survey_id","version","scope"}. A refused definition is 400
    /// invalid_survey, a scope HQ does not know 400 invalid_scope; both name the "field".
    ApiResult publish(const Principal& by, const std::string& body, const std::string& address, std::int64_t nowMs);
    /// POST /api/v1/surveys/{id}/versions/{version}/assign {"scope": …} → 200 {"survey_id","version",
    /// "scope","previous"} (what the scope had, or null); 404 for an unknown version.
    ApiResult assign(const Principal& by, const std::string& surveyId, const std::string& version, const std::string& body,
                     const std::string& address, std::int64_t nowMs);

private:
    Storage& m_storage;
};

} // namespace segue::hq
