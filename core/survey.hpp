// The survey definition: which SEGUE items are asked, which reason tags exist. Data, not code:
// the default lives in assets/survey/default.json, the words in assets/translations.
#pragma once
#include <array>
#include <expected>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace segue::core {

/// The five SEGUE dimensions, in the order they are asked and stored.
inline constexpr std::array<std::string_view, 5> kSegueKeys = {
    "satisfactory", "efficient", "genuine", "understanding", "effective"};
inline constexpr int kSegueCount = 5;

/// Index of a SEGUE key, or nullopt for an unknown key.
std::optional<int> segueIndex(std::string_view key);

inline constexpr int kDefaultCallbackMaxStars = 2;
inline constexpr std::string_view kDefaultCallbackNumberPattern = "1[0-9]{10}";   ///< a Chinese mobile number
inline constexpr int kDefaultContactRetentionDays = 30;
/// The longest callback number a customer can type (and the pattern may allow).
inline constexpr std::size_t kCallbackMaxDigits = 15;

/// Timings and the dashboard target a definition may carry ("settings"). An absent key leaves
/// the terminal's own configuration ([kiosk] in its TOML file) in force.
struct SurveySettings {
    std::optional<int> thankYouS;            ///< the thank-you screen shows this long
    std::optional<int> inactivityTimeoutS;   ///< a survey idle this long is kept as a partial response
    std::optional<int> misuseWindowS;        ///< a response started this soon after the last is misuse
    std::optional<double> targetCsat;        ///< share of 4-5 stars a store should reach (0..1]
    /// The callback offer follows ratings of 1..this (0 = never offered).
    int callbackMaxStars = kDefaultCallbackMaxStars;
    /// What a callback number must match as a whole (ECMAScript regex over the digits).
    std::string callbackNumberPattern = std::string(kDefaultCallbackNumberPattern);
    /// Days after which HQ erases a closed case's contact: the {days} of the consent sentence.
    int contactRetentionDays = kDefaultContactRetentionDays;
    bool operator==(const SurveySettings&) const = default;
};

struct Survey {
    std::string id;                      ///< e.g. "segue-default"
    int version = 1;
    std::vector<std::string> languages;  ///< e.g. {"zh-CN", "en"}; first is the fallback
    std::vector<int> items;              ///< indices into kSegueKeys, in the order asked
    int reasonsMaxStars = 3;             ///< the reasons screen follows ratings of 1..this
    std::vector<std::string> tags;       ///< reason tag ids (max 6 shown)
    /// Labels a definition carries for its tags: tag id -> language -> text. A tag given as a
    /// bare id (the built-in definition) has none here; its words come from the translations.
    std::map<std::string, std::map<std::string, std::string>> tagLabels;
    SurveySettings settings;
    /// The consent sentence under the callback offer: language -> text with "{days}". Empty:
    /// the terminal's translations give it.
    std::map<std::string, std::string> callbackConsent;
};

/// Whether `digits` (ASCII digits only) matches the survey's callback number pattern as a whole.
bool callbackNumberMatches(const SurveySettings& settings, std::string_view digits);

/// Why a definition was refused: the field as a JSON path ("tags[2].labels.en",
/// "settings.thank_you_s"; empty for the text as a whole) and a sentence naming it.
struct SurveyProblem {
    std::string field;
    std::string message;
};

/// Parses and validates a survey definition (JSON text). The error names the bad field.
std::expected<Survey, std::string> parseSurvey(std::string_view json);
/// parseSurvey with the bad field apart from the sentence (the same check, the same sentence).
std::expected<Survey, SurveyProblem> checkSurvey(std::string_view json);

/// The first tag of `s` that has no label in `language` (among the labels the definition
/// carries), or nullopt when every tag has one.
std::optional<std::string> tagWithoutLabel(const Survey& s, std::string_view language);

/// What a definition needs besides parsing to be published from HQ: a label for every tag in
/// every language it lists. nullopt when complete, else the reason.
std::optional<std::string> publishableError(const Survey& s);
/// publishableError with the field ("tags[i].labels.LANG", "callback_consent.LANG").
std::optional<SurveyProblem> publishableProblem(const Survey& s);

} // namespace segue::core
