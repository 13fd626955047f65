#include "app/cli_terminal.hpp"

#include <atomic>
#include <iostream>
#include <memory>

#include <spdlog/spdlog.h>

#include "app/cli_config.hpp"
#include "app/cli_enrol.hpp"
#include "app/identity.hpp"
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
    vm.lastErrorKind = s.lastErrorKind;
    vm.nextAttemptUtcMs = s.nextAttemptUtcMs;
    return vm;
}

/// The sync worker beside the window, made at start or, on a terminal that enrols on its
/// screen, once the enrolment has given it a token. Used from the UI thread only.
class SyncWiring {
public:
    explicit SyncWiring(const core::Clock& clock) : m_clock(clock) {}

    std::expected<void, std::string> create(const KioskConfig& cfg) {
        sync::CurlOptions curl;
        curl.serverUrl = cfg.sync.serverUrl;
        curl.token = cfg.sync.token;
        curl.caFile = cfg.sync.caFile;
        auto transport = sync::CurlTransport::create(curl);
        if (!transport) return std::unexpected("[sync] " + transport.error());
        sync::WorkerOptions wo;
        wo.databasePath = cfg.databasePath();
        // The window's connection checks the file before the worker ever starts.
        wo.checkStore = false;
        wo.drain.deviceId = cfg.deviceId;
        wo.drain.configReport = configReport;
        sync::ConfigFetchOptions fetchOptions = configFetchOptions(cfg);
        fetchOptions.cancel = m_stopping;   // stop() does not wait out a config fetch's timeout
        wo.afterDrain = [options = std::move(fetchOptions), fetched = m_fetched](store::Database& db) {
            if (fetchAndRecord(db, options) == sync::ConfigFetch::Pending) fetched->store(true);
        };
        // The screens say what went wrong in a few words of their language; the log keeps the
        // whole text (curl's error buffer, HQ's reply), once each time it changes.
        wo.onStatus = [lastLogged = std::string()](const sync::SyncStatus& status) mutable {
            if (status.lastError == lastLogged) return;
            lastLogged = status.lastError;
            if (!status.lastError.empty()) spdlog::warn("sync: {}", status.lastError);
            else spdlog::info("sync: HQ reached again");
        };
        m_worker = std::make_unique<sync::SyncWorker>(std::move(wo), std::move(*transport), m_clock);
        if (m_storeOpened) ensureStarted();
        return {};
    }

    /// The worker opens its own connection once the window's connection has opened, checked and
    /// migrated the file, so the two never race to create the schema. If that first open fails
    /// (a full disk), the worker starts with the first one that succeeds.
    void storeOpened() {
        m_storeOpened = true;
        ensureStarted();
    }
    void wake(bool manual) {
        ensureStarted();
        if (m_worker) m_worker->wake(manual);
    }
    SyncPanelVM panel() const {
        if (!m_worker) {
            SyncPanelVM vm;
            vm.enabled = true;   // sync is on; the worker waits for the enrolment
            return vm;
        }
        return toPanel(m_worker->status());
    }
    bool takeFetched() { return m_fetched->exchange(false); }
    void stop() {
        m_stopping->store(true);
        if (m_worker) m_worker->stop();
    }

private:
    void ensureStarted() {
        if (m_started || !m_worker || !m_storeOpened) return;
        if (auto ok = m_worker->start(); ok) m_started = true;
        else std::cerr << "segue-kiosk: sync worker did not start: " << ok.error() << "\n";
    }

    const core::Clock& m_clock;
    std::unique_ptr<sync::SyncWorker> m_worker;
    std::shared_ptr<std::atomic<bool>> m_fetched = std::make_shared<std::atomic<bool>>(false);
    std::shared_ptr<std::atomic<bool>> m_stopping = std::make_shared<std::atomic<bool>>(false);
    bool m_storeOpened = false;
    bool m_started = false;
};

} // namespace

int runTerminal(const KioskConfig& cfg, const TerminalOptions& opts) {
    RunOptions run;
    run.width = opts.width;
    run.height = opts.height;
    run.fullscreen = opts.fullscreen;

    // The worker runs beside the window with its own connection; the UI only copies its status.
    core::SystemClock clock;
    auto wiring = std::make_shared<SyncWiring>(clock);
    if (cfg.sync.enabled) {
        if (needsEnrolment(cfg)) {
            // No token and no identity: the enrolment screen comes first, and the worker starts
            // with the identity it gives.
            run.enrol = [cfg](const std::string& code) { return enrolWithCode(cfg, code); };
            run.onEnrolled = [cfg, wiring](const Identity& id) {
                KioskConfig enrolled = cfg;
                if (auto agreed = applyIdentity(enrolled, id); !agreed) {
                    spdlog::error("enrolled, but {}", agreed.error());
                    return;
                }
                if (auto made = wiring->create(enrolled); !made) spdlog::error("sync: {}", made.error());
            };
        } else if (auto made = wiring->create(cfg); !made) {
            std::cerr << "segue-kiosk: " << made.error() << "\n";
            return 2;
        }
        run.surveyFetched = [wiring] { return wiring->takeFetched(); };
        run.onStoreOpened = [wiring] { wiring->storeOpened(); };
        run.syncPanel = [wiring] { return wiring->panel(); };
        run.onSyncNow = [wiring] { wiring->wake(true); };
        run.onResponseSaved = [wiring] { wiring->wake(false); };
    }
    const int code = runKiosk(cfg, run);
    wiring->stop();
    return code;
}

} // namespace segue::app
