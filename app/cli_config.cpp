#include "app/cli_config.hpp"

#include <iostream>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "app/cli.hpp"
#include "app/survey_accept.hpp"
#include "assets/assets.hpp"
#include "core/time.hpp"
#include "core/system_clock.hpp"
#include "store/config_store.hpp"

namespace segue::app {
namespace {

nlohmann::json timeOrNull(const std::optional<std::int64_t>& ms) {
    return ms ? nlohmann::json(core::formatUtc(*ms)) : nlohmann::json(nullptr);
}

} // namespace

sync::ConfigFetchOptions configFetchOptions(const KioskConfig& cfg) {
    return {cfg.sync.serverUrl, cfg.sync.caFile, cfg.sync.token, nullptr};
}

std::optional<sync::ConfigFetch> fetchAndRecord(store::Database& db, const sync::ConfigFetchOptions& options) {
    const auto check = [](const std::string& definition) -> std::optional<std::string> {
        auto survey = acceptSurvey(definition);
        if (survey) return std::nullopt;
        return survey.error();
    };
    auto fetched = sync::fetchConfig(db, options, check, core::SystemClock().now().utcMs);
    if (!fetched) {
        spdlog::warn("could not fetch the configuration from HQ: {}", fetched.error().message);
        return std::nullopt;
    }
    if (*fetched == sync::ConfigFetch::Refused) {
        auto state = store::loadSurveyConfig(db);
        spdlog::error("the survey definition HQ sent is refused: {}",
                      state && state->lastError ? *state->lastError : std::string("?"));
    }
    return *fetched;
}

sync::ConfigReport configReport(store::Database& db) {
    sync::ConfigReport report;
    auto state = store::loadSurveyConfig(db);
    if (!state) return report;   // advisory: the batch goes without it
    std::optional<core::Survey> running;
    if (state->applied)
        if (auto s = acceptSurvey(*state->applied)) running = std::move(*s);
    if (!running)
        if (const auto text = assets::find("survey/default.json"))
            if (auto s = core::parseSurvey(*text)) running = std::move(*s);
    if (running) {
        report.surveyId = running->id;
        report.surveyVersion = running->version;
    }
    report.configError = state->lastError;
    return report;
}

int runConfigStatus(const KioskConfig& cfg, bool json) {
    auto db = openForCommand(cfg.databasePath(), StoreAccess::Read);
    if (!db) {
        std::cerr << "segue-kiosk: " << db.error() << "\n";
        return kExitFailure;
    }
    auto state = store::loadSurveyConfig(*db);
    if (!state) {
        std::cerr << "segue-kiosk: " << state.error().message << "\n";
        return kExitFailure;
    }
    // What the terminal runs at its next start, as it decides: the stored definition if this
    // build accepts it, else the built-in one.
    std::optional<core::Survey> fromHq;
    if (state->applied)
        if (auto s = acceptSurvey(*state->applied)) fromHq = std::move(*s);
    auto builtIn = core::parseSurvey(*assets::find("survey/default.json"));
    if (!builtIn) {
        std::cerr << "segue-kiosk: embedded survey: " << builtIn.error() << "\n";
        return kExitFailure;
    }
    const core::Survey& running = fromHq ? *fromHq : *builtIn;
    const nlohmann::json out = {{"survey_id", running.id},
                                {"survey_version", running.version},
                                {"source", fromHq ? "hq" : "built-in"},
                                {"fetched_at", timeOrNull(state->fetchedAtMs)},
                                {"applied_at", fromHq ? timeOrNull(state->appliedAtMs) : nlohmann::json(nullptr)},
                                {"last_error", state->lastError ? nlohmann::json(*state->lastError) : nlohmann::json(nullptr)}};
    if (json) {
        std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
        return kExitOk;
    }
    std::cout << "Survey          " << running.id << " version " << running.version << " ("
              << (fromHq ? "from HQ" : "built-in") << ")\n"
              << "Fetched         " << (state->fetchedAtMs ? core::formatUtc(*state->fetchedAtMs) : "never") << "\n"
              << "Applied         " << (fromHq && state->appliedAtMs ? core::formatUtc(*state->appliedAtMs) : "-") << "\n"
              << "Last error      " << state->lastError.value_or("-") << "\n";
    return kExitOk;
}

} // namespace segue::app
