// The kiosk's model: the flow session, the store and the PIN check behind the screens. The
// window loop and the headless tests drive the same controller.
#pragma once
#include <cstdint>
#include <deque>
#include <expected>
#include <functional>
#include <future>
#include <optional>
#include <string>

#include "app/cli_enrol.hpp"
#include "app/config.hpp"
#include "app/contact_seal.hpp"
#include "app/identity.hpp"
#include "app/survey_accept.hpp"
#include "app/sync_panel.hpp"
#include "app/view_model.hpp"
#include "core/flow.hpp"
#include "core/uuid.hpp"
#include "store/data_dir.hpp"
#include "store/database.hpp"
#include "store/pin_lock.hpp"

namespace segue::app {

/// Connections to the sync worker; each may be empty.
struct ControllerHooks {
    std::function<SyncPanelVM()> syncPanel;   ///< empty when sync is disabled
    std::function<void()> onSyncNow;
    std::function<void()> onResponseSaved;
    /// The database was opened, at start or again after an error (the sync worker may start).
    std::function<void()> onStoreOpened;
    /// Open the database on a thread of its own: start() returns at once and the attract screen
    /// is drawn while `PRAGMA quick_check` reads the whole file (1.4 s at 1 000 000 responses).
    /// A response finished before then waits for the open, still before the thank-you. The
    /// terminal sets this; tests that read the store right after start() leave it off.
    bool openInBackground = false;
    /// True (once) when the sync worker has stored a new survey definition from HQ as pending:
    /// tick() then reads it and applies it between customers. Called from the UI thread.
    std::function<bool()> surveyFetched;
    /// Enrols with a 12-digit code (enrolWithCode): blocking, so the controller runs it on a
    /// thread of its own and the screen shows progress. Needed when the flow starts on the
    /// enrolment screen (needsEnrolment(cfg)); without it an attempt fails at once.
    std::function<std::expected<Identity, EnrolFailure>(const std::string&)> enrol = {};
    /// The enrolment succeeded (UI thread, before the attract screen shows): the sync worker
    /// can start with this identity.
    std::function<void(const Identity&)> onEnrolled = {};
};

/// Logs (spdlog) what securing the data directory changed, one line each.
void logDataDirReport(const std::filesystem::path& dir, const store::DataDirReport& report);
/// store::secureDataDir with each change logged: the terminal's start.
std::expected<store::DataDirReport, store::Error> secureDataDir(const std::filesystem::path& dir);

/// The flow configuration for a kiosk config and a survey.
core::FlowConfig flowConfigFor(const KioskConfig& cfg, core::Survey survey);

class KioskController {
public:
    /// How often a store that refused a write (or would not open) is tried again.
    static constexpr std::int64_t kRetryMs = 2000;
    /// How often tick() looks whether the background open has finished.
    static constexpr std::int64_t kOpenPollMs = 50;
    /// How stale the staff figures may get while the staff screen is open.
    static constexpr std::int64_t kStaffRefreshMs = 2000;
    /// How long the attract screen stays untouched before the WAL is checkpointed (the
    /// customers' commits never checkpoint: store::Checkpoints::Deferred).
    static constexpr std::int64_t kCheckpointIdleMs = 2000;

    /// Builds the flow from `cfg` and the embedded survey. Fails only when that survey is invalid.
    static std::expected<KioskController, std::string> create(const KioskConfig& cfg, ControllerHooks hooks = {});
    /// Same with a given survey (tests).
    static KioskController withSurvey(const KioskConfig& cfg, core::Survey survey, ControllerHooks hooks = {});

    KioskController(KioskController&&) noexcept = default;
    KioskController& operator=(KioskController&&) noexcept = default;
    ~KioskController();

    /// Opens the store and shows the attract screen. A store that cannot open shows the
    /// unavailable screen and is retried on tick(); this never fails.
    void start(const core::Now& now);

    /// Runs one intent through the flow. A finished response is committed before the session
    /// moves on; when the store refuses it, it is held in memory, the unavailable screen
    /// shows, and tick() retries until it is written.
    void dispatch(const core::Intent& intent, const core::Now& now);

    /// Timers: the flow's deadlines, the store retry and the checkpoint between customers.
    void tick(const core::Now& now);

    /// The next monotonic time tick() has something to do, if any.
    std::optional<std::int64_t> nextWakeMono() const;

    /// What the screens draw now.
    FrameVM viewModel(const core::Now& now);

    const core::Session& session() const { return m_session; }
    const core::FlowConfig& flow() const { return m_flow; }
    bool storeOpen() const { return m_db.has_value(); }
    /// The background open (ControllerHooks::openInBackground) has not been adopted yet.
    bool storeOpening() const { return m_opening.valid(); }
    std::size_t unsavedCount() const { return m_unsaved.size(); }
    const std::string& lastStoreError() const { return m_storeError; }
    /// Set when the database cannot be this program's at all (a newer schema): retrying cannot
    /// help, so the terminal stops instead of taking answers it cannot keep.
    const std::optional<std::string>& fatalStoreError() const { return m_fatalStoreError; }
    /// The open database (tests read rows through it), or nullptr.
    store::Database* database() { return m_db ? &*m_db : nullptr; }
    /// Closes the store (on exit). Anything still unsaved is written to the log in full.
    void closeStore();

    /// A survey definition to run from the next customer on (`definition` is its JSON text as HQ
    /// sent it, kept in the database once applied; empty for the built-in one). Applied at once
    /// when nobody is answering, otherwise as soon as the response in progress is saved, which
    /// keeps the version it started with. The caller has checked it (acceptSurvey).
    void offerSurvey(core::Survey survey, std::string definition, const core::Now& now);
    /// Sets HQ's public key (standard base64; nullopt or a bad key: none): the callback is
    /// offered from the next customer on. The store's applied config sets it too.
    void setContactKey(const std::optional<std::string>& base64);
    bool hasContactKey() const { return m_contactKey.has_value(); }
    /// A survey offered and not yet applied.
    bool surveyWaiting() const { return m_offered.has_value(); }
    /// An enrolment is running (ControllerHooks::enrol); tick() takes its answer.
    bool enrolling() const { return m_enrolling.valid(); }
    /// The ids responses are stamped with (the enrolled ones once enrolment succeeded).
    const KioskConfig& config() const { return m_cfg; }

private:
    KioskController(KioskConfig cfg, core::FlowConfig flow, ControllerHooks hooks);
    /// What opening the store gave: the connection, or why not (for the log and for the screens).
    struct OpenFailure {
        std::string logLine;
        std::string storeError;
        bool fatal = false;
        std::optional<store::ErrorKind> kind = {};   ///< a newer schema: retrying cannot help
    };
    using OpenResult = std::expected<store::Database, OpenFailure>;
    /// Creates the data directory and opens the screens' connection. Touches no member: it may
    /// run on another thread.
    /// Logs a store failure once and keeps it (and its kind) for the staff screen.
    void noteStoreError(std::string_view what, const store::Error& e);
    static OpenResult openStore(const std::filesystem::path& dataDir, const std::filesystem::path& file);
    /// Takes the connection (or the failure) as the screens' store.
    bool adopt(OpenResult opened);
    bool tryOpen();
    /// Adopts the background open if there is one: at once, or once finished with `wait`.
    /// True when it was adopted just now.
    bool finishOpening(bool wait);
    bool flushUnsaved();
    void refreshPinHash();
    bool checkPin(const std::string& pin);
    /// Reads the persisted lockout once per opened store and puts it on the session (the lock
    /// is then timed on the monotonic clock).
    void loadPinLock(const core::Now& now);
    /// Checks a PIN the flow submitted. The attempt is stored as a failure before the hash is
    /// checked (a power cut during the check cannot save a guess from counting) and cleared
    /// when it was right. Returns whether it was right.
    bool verifySubmittedPin(const std::string& pin, const core::Now& now);
    /// The persisted count and lock onto the session after the flow took the PinResult.
    void showPinLock(const core::Now& now, bool justLocked);
    void refreshStaff(const core::Now& now);
    void apply(core::Step step, const core::Now& now);
    bool betweenCustomers() const;
    void applyOfferedSurvey(const core::Now& now);
    /// Records the applied definition in the database (when it is open).
    void persistApplied();
    /// Offers the pending definition the sync worker stored.
    void takeFetchedSurvey(const core::Now& now);
    /// Runs the definition the database keeps (pending, else applied), once, when it first opens.
    void loadStoredSurvey(const core::Now& now);
    /// Reads HQ's public key kept with the applied config (between customers).
    void loadContactKey();
    /// Seals the number the flow handed over; false (logged) when it cannot be sealed.
    std::optional<std::string> sealCallback(std::string& digits);
    /// Runs the enrolment the flow asked for (ControllerHooks::enrol) off the UI thread.
    void startEnrolment(const std::string& code, const core::Now& now);
    /// Takes the enrolment's answer once it is there: the identity, or why not, to the flow.
    void finishEnrolment(const core::Now& now);
    /// When the attract screen will have been idle long enough to checkpoint, if one is due.
    std::optional<std::int64_t> checkpointAtMono() const;

    KioskConfig m_cfg;
    core::FlowConfig m_flow;
    ControllerHooks m_hooks;
    core::Session m_session;
    core::UuidV7Generator m_ids;
    std::optional<store::Database> m_db;
    std::future<OpenResult> m_opening;   ///< the background open, until adopted
    /// A finished response not yet committed, with its callback number sealed for HQ.
    struct Unsaved {
        core::Response response;
        std::optional<std::string> sealedContact;
    };
    std::deque<Unsaved> m_unsaved;
    std::optional<ContactKey> m_contactKey;   ///< HQ's public key from the applied config
    std::string m_storeError;
    std::optional<store::ErrorKind> m_storeErrorKind;   ///< of m_storeError
    std::optional<std::string> m_fatalStoreError;
    std::int64_t m_nextRetryMono = 0;
    std::optional<std::string> m_pinHash;
    store::PinLock m_pinLock;              ///< the lockout as stored (kept here if the store fails)
    bool m_pinLockLoaded = false;          ///< read from the store opened now
    StaffVM m_staff;
    std::optional<std::int64_t> m_staffAtMono;
    std::optional<std::int64_t> m_spentDeadline;
    bool m_checkpointDue = false;   ///< the WAL holds commits not yet checkpointed
    struct OfferedSurvey {
        core::Survey survey;
        std::string definition;
    };
    std::optional<OfferedSurvey> m_offered;
    std::optional<std::string> m_appliedDefinition;   ///< from HQ; none while the built-in one runs
    std::int64_t m_appliedAtMs = 0;
    bool m_storedSurveyLoaded = false;
    core::Now m_openedAt{};
    std::future<std::expected<Identity, EnrolFailure>> m_enrolling;
    std::int64_t m_enrolPollMono = 0;   ///< when tick() looks for the enrolment's answer again
};

} // namespace segue::app
