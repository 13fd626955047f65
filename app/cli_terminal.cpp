#include "app/cli_terminal.hpp"

#include <atomic>
#include <iostream>
#include <memory>

#include "app/cli_config.hpp"
#include "app/kiosk_app.hpp"
#include "core/system_clock.hpp"
#include "store/database.hpp"
#include "sync/curl_transport.hpp"
#include "sync/worker.hpp"

namespace segue::app {
namespace {

SyncPanelVM toPanel(const sync::SyncStatus& s) {
    SyncPanelVM vm;
    vm.enabled = s.state != sync::SyncState::Disabled;
    vm.online = s.online;
    vm.syncing = s.state == sync::SyncState::Syncing;
    vm.lastSuccessUtcMs = s.lastSuccessUtcMs;
    vm.pending = s.pending;
    vm.oldestPendingUtcMs = s.oldestPendingUtcMs;
    vm.rejected = s.rejected;
    vm.lastError = s.lastError;
    vm.nextAttemptUtcMs = s.nextAttemptUtcMs;
    return vm;
}

} // namespace

int runTerminal(const KioskConfig& cfg, const TerminalOptions& opts) {
    RunOptions run;
    run.width = opts.width;
    run.height = opts.height;
    run.fullscreen = opts.fullscreen;

    // The worker runs beside the window with its own connection; the UI only copies its status.
    core::SystemClock clock;
    std::unique_ptr<sync::SyncWorker> worker;
    if (cfg.sync.enabled) {
        if (cfg.sync.token.empty()) {
            std::cerr << "segue-kiosk: [sync] has no token and this terminal is not enrolled: run segue-kiosk enrol "
                         "--code CODE (segue-hq device add --enrolment-code prints one), or set [sync] token\n";
            return 2;
        }
        sync::CurlOptions curl;
        curl.serverUrl = cfg.sync.serverUrl;
        curl.token = cfg.sync.token;
        curl.caFile = cfg.sync.caFile;
        auto transport = sync::CurlTransport::create(curl);
        if (!transport) {
            std::cerr << "segue-kiosk: [sync] " << transport.error() << "\n";
            return 2;
        }
        sync::WorkerOptions wo;
        wo.databasePath = cfg.databasePath();
        // The window's connection checks the file before the worker ever starts.
        wo.checkStore = false;
        wo.drain.deviceId = cfg.deviceId;
        auto fetched = std::make_shared<std::atomic<bool>>(false);
        wo.afterDrain = [options = configFetchOptions(cfg), fetched](store::Database& db) {
            if (fetchAndRecord(db, options) == sync::ConfigFetch::Pending) fetched->store(true);
        };
        run.surveyFetched = [fetched] { return fetched->exchange(false); };
        worker = std::make_unique<sync::SyncWorker>(std::move(wo), std::move(*transport), clock);
        // The worker opens its own connection once the window's connection has opened, checked
        // and migrated the file, so the two never race to create the schema. If that first open
        // fails (a full disk), the worker starts with the first one that succeeds.
        sync::SyncWorker* w = worker.get();
        auto started = std::make_shared<bool>(false);
        auto ensureStarted = [w, started] {
            if (*started) return;
            if (auto ok = w->start(); ok) *started = true;
            else std::cerr << "segue-kiosk: sync worker did not start: " << ok.error() << "\n";
        };
        run.onStoreOpened = ensureStarted;
        run.syncPanel = [w] { return toPanel(w->status()); };
        run.onSyncNow = [w, ensureStarted] {
            ensureStarted();
            w->wake(true);
        };
        run.onResponseSaved = [w, ensureStarted] {
            ensureStarted();
            w->wake(false);
        };
    }
    const int code = runKiosk(cfg, run);
    if (worker) worker->stop();
    return code;
}

} // namespace segue::app
