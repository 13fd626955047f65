// Whether this terminal can show a survey definition from HQ (its languages and tag labels):
// used by the window's controller and by the verbs, so it links no UI.
#pragma once
#include <expected>
#include <string>
#include <string_view>

#include "core/survey.hpp"

namespace segue::app {

/// Parses a definition from HQ and checks that this terminal can show it: every language it
/// lists has a translation here, and every tag a label in each (its own, or the built-in
/// translation of a built-in tag). The error says why not.
std::expected<core::Survey, std::string> acceptSurvey(std::string_view definition);

} // namespace segue::app
