#include "app/string_keys.hpp"

namespace segue::app::keys {
namespace {

std::string itemPrefix(int segueIndex) {
    return "item." + std::string(core::kSegueKeys.at(static_cast<std::size_t>(segueIndex)));
}

} // namespace

std::string itemName(int segueIndex) { return itemPrefix(segueIndex) + ".name"; }
std::string itemQuestion(int segueIndex) { return itemPrefix(segueIndex) + ".question"; }
std::string itemOption(int segueIndex, int value) {
    return itemPrefix(segueIndex) + ".option." + std::to_string(value);
}
std::string tag(std::string_view id) { return "tag." + std::string(id); }

std::vector<std::string> surveyKeys(const core::Survey& survey) {
    std::vector<std::string> out;
    for (int item : survey.items) {
        out.push_back(itemName(item));
        out.push_back(itemQuestion(item));
        for (int v = 1; v <= 5; ++v) out.push_back(itemOption(item, v));
    }
    for (const auto& t : survey.tags) out.push_back(tag(t));
    return out;
}

} // namespace segue::app::keys
