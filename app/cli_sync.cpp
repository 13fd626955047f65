#include "app/cli_sync.hpp"

#include <algorithm>
#include <chrono>
#include <iostream>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "app/cli.hpp"
#include "app/cli_config.hpp"
#include "core/system_clock.hpp"
#include "core/time.hpp"
#include "store/database.hpp"
#include "store/outbox.hpp"
#include "sync/curl_transport.hpp"
#include "sync/drainer.hpp"
#include "sync/status.hpp"

namespace segue::app {
namespace {

constexpr int kRejectedListed = 100;
// HQ throttles a device that sends back-to-back batches (429 + Retry-After). A backlog drain
// waits as told, within reason, instead of giving up halfway.
constexpr std::int64_t kMaxRateWaitMs = 60'000;
constexpr int kMaxRateWaits = 30;

/// stderr gets one line: HQ's and curl's texts may hold newlines.
std::string oneLine(std::string s) {
    for (auto& c : s)
        if (c == '\n' || c == '\r') c = ' ';
    return s;
}

int fail(int code, const std::string& reason) {
    std::cerr << "segue-kiosk: " << oneLine(reason) << "\n";
    return code;
}

std::string describeConfigFile(const KioskConfig& cfg) {
    return cfg.configFile.empty() ? std::string("the configuration (no --config file given)") : cfg.configFile.string();
}

nlohmann::json timeOrNull(const std::optional<std::int64_t>& ms) {
    return ms ? nlohmann::json(core::formatUtc(*ms)) : nlohmann::json(nullptr);
}

std::string ageText(std::int64_t seconds) {
    if (seconds < 60) return std::to_string(seconds) + " s";
    if (seconds < 3600) return std::to_string(seconds / 60) + " min";
    if (seconds < 86'400) return std::to_string(seconds / 3600) + " h " + std::to_string(seconds % 3600 / 60) + " min";
    return std::to_string(seconds / 86'400) + " d " + std::to_string(seconds % 86'400 / 3600) + " h";
}

} // namespace

int runSyncOnce(const KioskConfig& cfg) {
    if (!cfg.sync.enabled || cfg.sync.serverUrl.empty())
        return fail(kExitUsage, "sync is not configured: set [sync] enabled = true and server_url in " +
                                    describeConfigFile(cfg));
    sync::CurlOptions options;
    options.serverUrl = cfg.sync.serverUrl;
    options.token = cfg.sync.token;
    options.caFile = cfg.sync.caFile;
    auto transport = sync::CurlTransport::create(options);
    if (!transport) return fail(kExitUsage, "[sync] in " + describeConfigFile(cfg) + ": " + transport.error());

    auto db = openForCommand(cfg.databasePath(), StoreAccess::Sync);
    if (!db) return fail(kExitFailure, db.error());

    core::SystemClock clock;
    sync::DrainSettings settings{cfg.deviceId};
    settings.configReport = configReport;
    sync::Drainer drainer(*db, **transport, clock, settings);
    if (auto ok = drainer.loadSaved(); !ok) return fail(kExitFailure, "cannot read the outbox: " + ok.error().message);

    std::size_t synced = 0, duplicates = 0, rejected = 0;
    int rateWaits = 0;
    for (;;) {
        auto step = drainer.step();
        if (!step) {
            drainer.noteLocalError("the terminal's database: " + step.error().message);
            (void)drainer.save();   // best effort: the same database just failed
            return fail(kExitFailure, "sync stopped: the terminal's database failed: " + step.error().message);
        }
        if (step->kind == sync::StepReport::Kind::NothingPending) break;
        if (step->kind == sync::StepReport::Kind::Failed) {
            const sync::SendFailure& f = *step->failure;
            if (f.kind == sync::SendError::RateLimited && rateWaits < kMaxRateWaits &&
                f.retryAfterMs.value_or(1'000) <= kMaxRateWaitMs) {
                ++rateWaits;
                std::this_thread::sleep_for(std::chrono::milliseconds(std::max<std::int64_t>(100, f.retryAfterMs.value_or(1'000))));
                continue;
            }
            const auto disposition = sync::dispositionOf(f.kind);
            const bool config = disposition == sync::Disposition::ConfigProblem;
            drainer.setSchedule(config ? sync::SyncState::ConfigProblem
                                : disposition == sync::Disposition::Retry ? sync::SyncState::Retrying
                                                                          : sync::SyncState::Parked,
                                std::nullopt);
            if (auto ok = drainer.save(); !ok)
                std::cerr << "segue-kiosk: cannot save the sync status: " << oneLine(ok.error().message) << "\n";
            const auto& st = drainer.status();
            return fail(config ? kExitSyncConfig : kExitSyncFailed,
                        "sync failed: " + sync::describe(f) + "; " + std::to_string(st.pending) +
                            " responses still pending (" + std::to_string(synced) + " synced before the failure)");
        }
        rateWaits = 0;
        synced += step->ack.synced;
        duplicates += step->ack.duplicates;
        rejected += step->ack.rejected;
    }
    drainer.setSchedule(sync::SyncState::Idle, std::nullopt);
    if (auto ok = drainer.save(); !ok)
        std::cerr << "segue-kiosk: cannot save the sync status: " << oneLine(ok.error().message) << "\n";
    const auto& st = drainer.status();
    std::cout << "synced " << synced << " responses (" << duplicates << " HQ already had), " << rejected
              << " rejected by HQ; " << st.pending << " pending, " << st.rejected << " rejected in total\n";
    return st.pending == 0 ? kExitOk : kExitSyncFailed;
}

int runSyncStatus(const KioskConfig& cfg, bool json) {
    auto db = openForCommand(cfg.databasePath(), StoreAccess::Read);
    if (!db) return fail(kExitFailure, db.error());
    auto counts = store::outboxCounts(*db);
    if (!counts) return fail(kExitFailure, "cannot read the outbox: " + counts.error().message);
    auto saved = sync::loadStatus(*db);
    if (!saved) return fail(kExitFailure, "cannot read the sync status: " + saved.error().message);
    auto rejectedRows = store::rejectedList(*db, kRejectedListed);
    if (!rejectedRows) return fail(kExitFailure, "cannot list rejected responses: " + rejectedRows.error().message);

    const sync::SyncStatus last = saved->value_or(sync::SyncStatus{});
    const std::int64_t now = core::SystemClock().now().utcMs;
    sync::SyncStatus current = last;
    current.pending = counts->pending;
    current.synced = counts->synced;
    current.rejected = counts->rejected;
    current.oldestPendingUtcMs = counts->oldestPendingUtcMs;
    const auto age = current.oldestPendingAgeS(now);
    const bool enabled = cfg.sync.enabled && !cfg.sync.serverUrl.empty();
    const std::string state = !enabled ? "disabled" : saved->has_value() ? std::string(sync::stateName(last.state)) : "never_run";

    if (json) {
        nlohmann::json j;
        j["pending"] = current.pending;
        j["rejected"] = current.rejected;
        j["oldest_pending_age_s"] = age ? nlohmann::json(*age) : nlohmann::json(nullptr);
        j["last_success"] = timeOrNull(last.lastSuccessUtcMs);
        j["last_error"] = last.lastError.empty() ? nlohmann::json(nullptr) : nlohmann::json(last.lastError);
        j["synced"] = current.synced;
        j["enabled"] = enabled;
        j["state"] = state;
        j["online"] = last.online;
        j["last_attempt"] = timeOrNull(last.lastAttemptUtcMs);
        j["last_error_kind"] = last.lastErrorKind ? nlohmann::json(sync::errorName(*last.lastErrorKind)) : nlohmann::json(nullptr);
        j["clock_offset_ms"] = last.clockOffsetMs ? nlohmann::json(*last.clockOffsetMs) : nlohmann::json(nullptr);
        j["next_attempt"] = timeOrNull(last.nextAttemptUtcMs);
        nlohmann::json list = nlohmann::json::array();
        for (const auto& r : *rejectedRows) list.push_back({{"id", r.id}, {"reason", r.reason}});
        j["rejected_records"] = std::move(list);
        std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
        return kExitOk;
    }
    std::cout << "Sync            " << (enabled ? cfg.sync.serverUrl : std::string("not configured")) << " (" << state << ")\n"
              << "Pending         " << current.pending;
    if (age) std::cout << " (oldest " << ageText(*age) << " old)";
    std::cout << "\n"
              << "Synced          " << current.synced << "\n"
              << "Rejected        " << current.rejected << "\n"
              << "Last success    " << (last.lastSuccessUtcMs ? core::formatUtc(*last.lastSuccessUtcMs) : std::string("never")) << "\n"
              << "Last error      " << (last.lastError.empty() ? std::string("none") : last.lastError) << "\n";
    if (last.clockOffsetMs) std::cout << "Clock offset    " << *last.clockOffsetMs << " ms (terminal minus HQ)\n";
    for (const auto& r : *rejectedRows) std::cout << "  rejected " << r.id << ": " << r.reason << "\n";
    return kExitOk;
}

} // namespace segue::app
