// Survey definitions at HQ: publishing immutable versions, assigning them to the chain, a region
// or a store, resolving a store's current one (the most specific assignment wins), and knowing
// every version ever published (the built-in version 1 too) so records of any can be checked.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/survey.hpp"
#include "hq/admin.hpp"
#include "hq/storage.hpp"

namespace segue::hq {

/// The definition compiled into every build (assets/survey/default.json): terminals start with it
/// and HQ knows it without storing it.
const core::Survey& builtInSurvey();
/// Its JSON text, as terminals are sent it.
const std::string& builtInSurveyText();

/// Where a publish or an assignment goes.
struct SurveyScope {
    ScopeKind kind = ScopeKind::Chain;
    std::string id;     ///< empty for the chain
};

/// Validates `text` (core::parseSurvey, and a label for every tag in every language), stores it
/// as the next version of its survey id (its own "version" is replaced by that number) and
/// assigns it to `scope`. Returns the version. A definition refused is an Invalid error naming why.
Result<int> publishSurvey(Storage& storage, std::string_view text, const SurveyScope& scope, std::int64_t nowMs);

/// Assigns an existing version (a rollback is assigning an older one). Unknown version: Invalid.
Result<void> assignSurvey(Storage& storage, const std::string& surveyId, int version, const SurveyScope& scope,
                          std::int64_t nowMs);

/// What publishSurvey checks in a definition, with the field it refuses (core::checkSurvey and a
/// label for every tag in every language): nullopt when `text` may be published.
std::optional<core::SurveyProblem> publishProblem(std::string_view text);

/// Whether a scope names something HQ knows: a store with a terminal, a region it has. Invalid
/// (naming the id) when not. publishSurvey checks stores only (the CLI may assign a region
/// before it is made); the dashboard's API checks both.
Result<void> checkScopeExists(Storage& storage, const SurveyScope& scope);

/// "chain", "region:ID" or "store:ID": how the CLI and the audit log write a scope.
std::string scopeText(ScopeKind kind, const std::string& id);

/// publishSurvey, then its line in the audit log: action "survey_publish", subject "ID vN",
/// details {"survey_id","version","scope"}.
Result<int> publishSurveyBy(Storage& storage, std::string_view text, const SurveyScope& scope, const Actor& by,
                            std::int64_t nowMs);

/// assignSurvey, then its line in the audit log: action "survey_assign", subject "ID vN", details
/// {"survey_id","version","scope","previous"} (what the scope had: "ID vN", or null). Returns the
/// scope's previous assignment.
Result<std::optional<SurveyAssignment>> assignSurveyBy(Storage& storage, const std::string& surveyId, int version,
                                                       const SurveyScope& scope, const Actor& by, std::int64_t nowMs);

/// The assignment that applies to a store in `regionId` (if any): the store's own, else the
/// region's, else the chain's; nullopt when none does (the built-in definition then applies).
std::optional<SurveyAssignment> resolveAssignment(const std::vector<SurveyAssignment>& assignments,
                                                  const std::string& storeId,
                                                  const std::optional<std::string>& regionId);

/// A store's current definition: the text terminals are sent, its id and version, and what
/// chose it ("store" | "region" | "chain" | "built-in").
struct CurrentSurvey {
    std::string surveyId;
    int version = 0;
    std::string definition;
    std::string source;
};
Result<CurrentSurvey> currentSurvey(Storage& storage, const std::string& storeId);

/// Every version HQ knows, parsed once (published versions never change, so nothing expires).
class SurveyCatalog {
public:
    explicit SurveyCatalog(Storage& storage) : m_storage(storage) {}
    /// The definition of (id, version): the built-in one, or a published one; null if unknown.
    /// Published versions never change, so a found one is kept for good.
    Result<std::shared_ptr<const core::Survey>> find(const std::string& surveyId, int version);

private:
    Storage& m_storage;
    std::mutex m_mutex;
    std::map<std::pair<std::string, int>, std::shared_ptr<const core::Survey>> m_known;
};

} // namespace segue::hq
