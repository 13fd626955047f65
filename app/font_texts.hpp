// What the font atlas must be able to draw: every translation string, the terminal's ids and
// every label of the survey it runs (a definition from HQ brings labels no translation has,
// such as 排队太久). The atlas holds only these codepoints (a full CJK range costs ~1 s and
// ~150 MB), so it is built again when a definition with new labels is applied.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "app/config.hpp"
#include "app/strings.hpp"
#include "core/survey.hpp"

namespace segue::app {

/// Views into `strings`, `cfg` and `survey`, which must outlive the result.
std::vector<std::string_view> fontTexts(const Strings& strings, const KioskConfig& cfg, const core::Survey& survey);

/// Every label the survey carries, all languages, in one string: what decides whether the
/// atlas needs building again after a definition is applied.
std::string surveyLabelText(const core::Survey& survey);

} // namespace segue::app
