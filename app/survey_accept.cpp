#include "app/survey_accept.hpp"

#include "app/string_keys.hpp"
#include "app/strings.hpp"
#include "assets/assets.hpp"

namespace segue::app {

std::expected<core::Survey, std::string> acceptSurvey(std::string_view definition) {
    auto survey = core::parseSurvey(definition);
    if (!survey) return std::unexpected(survey.error());
    for (const auto& language : survey->languages)
        if (!assets::find("translations/" + language + ".json"))
            return std::unexpected("language " + language + " is not available on this terminal");
    auto strings = Strings::loadEmbedded(survey->languages);
    if (!strings) return std::unexpected(strings.error());
    for (const auto& language : survey->languages)
        for (const auto& tag : survey->tags) {
            const auto own = survey->tagLabels.find(tag);
            const bool labelled = own != survey->tagLabels.end() && own->second.contains(language);
            if (!labelled && !strings->has(language, keys::tag(tag)))
                return std::unexpected("tag " + tag + " has no label in " + language);
        }
    return survey;
}

} // namespace segue::app
