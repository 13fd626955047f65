#include "assets/assets.hpp"

namespace segue::assets {

std::optional<std::string_view> find(std::string_view relativePath) {
    for (const auto& [name, text] : embeddedFiles())
        if (name == relativePath) return text;
    return std::nullopt;
}

} // namespace segue::assets
