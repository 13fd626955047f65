// Files from assets/ compiled into the binary (survey/default.json, translations/<lang>.json).
#pragma once
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace segue::assets {

/// Every embedded file, by path relative to assets/ (e.g. "translations/en.json").
const std::vector<std::pair<std::string_view, std::string_view>>& embeddedFiles();

/// The text of one embedded file, or nullopt.
std::optional<std::string_view> find(std::string_view relativePath);

} // namespace segue::assets
