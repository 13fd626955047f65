// The dashboard's static files (hq/web and the charting library from hq/web/node_modules),
// compiled into segue-hq so it serves them with nothing beside the binary.
#pragma once
#include <optional>
#include <string_view>

namespace segue::hq {

struct WebAsset {
    std::string_view body;
    std::string_view contentType;
};

/// The file served at a URL path: "/" is the page, "/static/NAME" a file of hq/web (also
/// "i18n/<lang>.json"), "/static/uplot.js" and "/static/uplot.css" the chart library.
std::optional<WebAsset> findWebAsset(std::string_view urlPath);

} // namespace segue::hq
