// The terminal itself: window, render-on-demand loop, screens and store, wired together.
#pragma once
#include <filesystem>
#include <functional>
#include <optional>

#include "app/cli_enrol.hpp"
#include "app/config.hpp"
#include "app/sync_panel.hpp"

namespace segue::app {

struct RunOptions {
    std::optional<int> width;              ///< --window WxH
    std::optional<int> height;
    bool fullscreen = false;               ///< --fullscreen
    /// Write "<dir>/<screen>-<lang>-<W>x<H>.png" after each screen change (tests). When empty,
    /// the SEGUE_SCREENSHOT_DIR environment variable is used if set.
    std::filesystem::path screenshotDir;
    /// The sync worker's status for the staff screen; empty when sync is disabled.
    std::function<SyncPanelVM()> syncPanel;
    /// Staff pressed "Sync now".
    std::function<void()> onSyncNow;
    /// A response was committed (wake the sync worker).
    std::function<void()> onResponseSaved;
    /// The database is open (ControllerHooks::onStoreOpened).
    std::function<void()> onStoreOpened;
    /// ControllerHooks::surveyFetched.
    std::function<bool()> surveyFetched;
    /// ControllerHooks::enrol and onEnrolled: set when the terminal starts on the enrolment screen.
    std::function<std::expected<Identity, EnrolFailure>(const std::string&)> enrol = {};
    std::function<void(const Identity&)> onEnrolled = {};
};

/// Runs the terminal until the window closes or SIGTERM/SIGINT. Returns the process exit code
/// (0 clean exit, 1 when the window or fonts cannot start). Logs to cfg.logPath() and stderr.
int runKiosk(const KioskConfig& cfg, const RunOptions& options);

} // namespace segue::app
