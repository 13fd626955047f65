#include "app/font_texts.hpp"

namespace segue::app {

std::vector<std::string_view> fontTexts(const Strings& strings, const KioskConfig& cfg, const core::Survey& survey) {
    std::vector<std::string_view> texts = strings.allTexts();
    texts.push_back(cfg.storeId);
    texts.push_back(cfg.deviceId);
    for (const auto& [tag, labels] : survey.tagLabels)
        for (const auto& [language, label] : labels) texts.push_back(label);
    return texts;
}

std::string surveyLabelText(const core::Survey& survey) {
    std::string out;
    for (const auto& [tag, labels] : survey.tagLabels)
        for (const auto& [language, label] : labels) out += label + "\n";
    return out;
}

} // namespace segue::app
