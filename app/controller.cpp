#include "app/controller.hpp"

#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <system_error>
#include <utility>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "app/pin.hpp"
#include "app/string_keys.hpp"
#include "app/strings.hpp"
#include "assets/assets.hpp"
#include "core/time.hpp"
#include "store/checkpoint.hpp"
#include "store/config_store.hpp"
#include "store/data_dir.hpp"
#include "store/meta.hpp"
#include "store/outbox.hpp"
#include "store/responses.hpp"
#include "store/stats.hpp"

namespace segue::app {
namespace {

using core::Intent;
using core::Screen;
using Kind = Intent::Kind;

constexpr int kTrendDays = 30;

bool needsPinEntry(Kind k) {
    return k == Kind::Digit || k == Kind::PinDigit || k == Kind::PinDelete || k == Kind::Submit;
}

std::optional<std::string> findLabel(const std::map<std::string, std::string>& labels, const std::string& language) {
    const auto it = labels.find(language);
    return it == labels.end() ? std::nullopt : std::optional<std::string>(it->second);
}

/// "14:05" in store-local time; "12-05 14:05" when it was another day.
std::string localClockText(std::int64_t utcMs, const core::Now& now) {
    const std::int64_t local = utcMs + static_cast<std::int64_t>(now.utcOffsetMin) * 60'000;
    const std::int64_t minuteOfDay = ((local / 60'000) % (24 * 60) + 24 * 60) % (24 * 60);
    char hm[16];
    std::snprintf(hm, sizeof hm, "%02d:%02d", static_cast<int>(minuteOfDay / 60), static_cast<int>(minuteOfDay % 60));
    const std::string day = core::localDate(utcMs, now.utcOffsetMin);
    if (day == core::localDate(now.utcMs, now.utcOffsetMin) || day.size() != 10) return hm;
    return day.substr(5) + " " + hm;
}

std::string describe(const core::Response& r) {
    return core::toJson(r).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

} // namespace

void logDataDirReport(const std::filesystem::path& dir, const store::DataDirReport& report) {
    if (report.created) spdlog::info("created the data directory {} (mode 0700)", dir.string());
    for (const auto& change : report.tightened)
        spdlog::warn("tightened permissions (group and others had access): {}", store::describe(change));
    for (const auto& problem : report.problems) spdlog::warn("cannot tighten permissions: {}", problem);
}

std::expected<store::DataDirReport, store::Error> secureDataDir(const std::filesystem::path& dir) {
    auto report = store::secureDataDir(dir);
    if (report) logDataDirReport(dir, *report);
    return report;
}

core::FlowConfig flowConfigFor(const KioskConfig& cfg, core::Survey survey) {
    core::FlowConfig f;
    f.storeId = cfg.storeId;
    f.deviceId = cfg.deviceId;
    const auto& langs = survey.languages;
    f.defaultLanguage = std::find(langs.begin(), langs.end(), cfg.language) != langs.end() || langs.empty()
                            ? cfg.language
                            : langs.front();
    // A definition from HQ may carry the timings; where it does not, the TOML file's stand.
    const auto& set = survey.settings;
    f.inactivityMs = static_cast<std::int64_t>(set.inactivityTimeoutS.value_or(cfg.inactivityTimeoutS)) * 1000;
    f.thankYouMs = static_cast<std::int64_t>(set.thankYouS.value_or(cfg.thankYouS)) * 1000;
    f.misuseWindowMs = static_cast<std::int64_t>(set.misuseWindowS.value_or(cfg.misuseWindowS)) * 1000;
    f.pinLength = kPinMinDigits;
    f.pinMaxDigits = kPinMaxDigits;
    f.pinMaxFailures = kPinFailuresPerLock;
    f.pinLockMs = kPinFirstLockMs;   // the controller replaces it with the persisted, doubling lock
    f.needsEnrolment = needsEnrolment(cfg);
    f.survey = std::move(survey);
    return f;
}

std::expected<KioskController, std::string> KioskController::create(const KioskConfig& cfg, ControllerHooks hooks) {
    const auto text = assets::find("survey/default.json");
    if (!text) return std::unexpected("the survey definition is not embedded in this build");
    auto survey = core::parseSurvey(*text);
    if (!survey) return std::unexpected(survey.error());
    return withSurvey(cfg, std::move(*survey), std::move(hooks));
}

KioskController KioskController::withSurvey(const KioskConfig& cfg, core::Survey survey, ControllerHooks hooks) {
    core::FlowConfig flow = flowConfigFor(cfg, std::move(survey));
    return KioskController(cfg, std::move(flow), std::move(hooks));
}

KioskController::KioskController(KioskConfig cfg, core::FlowConfig flow, ControllerHooks hooks)
    : m_cfg(std::move(cfg)), m_flow(std::move(flow)), m_hooks(std::move(hooks)) {}

KioskController::~KioskController() { closeStore(); }

void KioskController::closeStore() {
    if (m_opening.valid()) (void)m_opening.get();   // wait for it; the connection closes unused
    for (const auto& u : m_unsaved)
        spdlog::error("exiting with a response the store never accepted; kept here in full: {}", describe(u.response));
    m_unsaved.clear();
    m_db.reset();
}

KioskController::OpenResult KioskController::openStore(const std::filesystem::path& dataDir,
                                                      const std::filesystem::path& file) {
    // 0700 before anything is written in it; then once more after the open, for a -wal or -shm
    // file SQLite has just made beside a database that was wider.
    if (auto secured = secureDataDir(dataDir); !secured)
        return std::unexpected(OpenFailure{"cannot create " + dataDir.string() + ": " + secured.error().message,
                                           secured.error().message, false, secured.error().kind});
    // The customers' taps commit on this connection: no checkpoint inside them, one between
    // customers instead (tick()).
    store::OpenOptions options;
    options.checkpoints = store::Checkpoints::Deferred;
    auto db = store::Database::open(file, options);
    if (!db)
        return std::unexpected(OpenFailure{"cannot open the database: " + db.error().message, db.error().message,
                                           db.error().kind == store::ErrorKind::Schema, db.error().kind});
    (void)secureDataDir(dataDir);
    return std::move(*db);
}

bool KioskController::adopt(OpenResult opened) {
    if (!opened) {
        if (opened.error().storeError != m_storeError) spdlog::error("{}", opened.error().logLine);
        m_storeError = opened.error().storeError;
        m_storeErrorKind = opened.error().kind;
        if (opened.error().fatal) m_fatalStoreError = opened.error().storeError;
        return false;
    }
    const store::OpenReport& report = opened->report();
    if (report.recreated)
        spdlog::error("the database failed its integrity check ({}); it was moved to {} and a fresh one started",
                      report.reason, report.movedAsidePath);
    if (report.migratedFrom > 0 && report.migratedFrom < report.schemaVersion)
        spdlog::info("database {} migrated from schema {} to {} in {} ms", m_cfg.databasePath().string(),
                     report.migratedFrom, report.schemaVersion, report.migrationMs);
    spdlog::info("database {} open (schema {} from {})", m_cfg.databasePath().string(), report.schemaVersion,
                 report.migratedFrom);
    m_db = std::move(*opened);
    m_pinLockLoaded = false;
    m_storeError.clear();
    m_storeErrorKind.reset();
    if (!m_storedSurveyLoaded) {
        m_storedSurveyLoaded = true;
        loadStoredSurvey(m_openedAt);
    } else {
        persistApplied();   // applied while the store was away
    }
    m_staffAtMono.reset();
    loadContactKey();
    m_checkpointDue = true;   // another process may have left commits in the WAL
    if (m_hooks.onStoreOpened) m_hooks.onStoreOpened();
    return true;
}

void KioskController::noteStoreError(std::string_view what, const store::Error& e) {
    // The log keeps SQLite's words; the staff screen says the kind in its own language.
    if (e.message != m_storeError) spdlog::error("{}: {}", what, e.message);
    m_storeError = e.message;
    m_storeErrorKind = e.kind;
}

bool KioskController::tryOpen() { return adopt(openStore(m_cfg.dataDir, m_cfg.databasePath())); }

bool KioskController::finishOpening(bool wait) {
    if (!m_opening.valid()) return false;
    if (!wait && m_opening.wait_for(std::chrono::seconds(0)) != std::future_status::ready) return false;
    adopt(m_opening.get());
    return true;
}

bool KioskController::flushUnsaved() {
    // Durable before the thank-you: a response finished while the store is still opening waits.
    finishOpening(true);
    if (!m_db && !tryOpen()) return false;
    while (!m_unsaved.empty()) {
        const core::Response& r = m_unsaved.front().response;
        auto saved = store::saveResponse(*m_db, r, m_unsaved.front().sealedContact);
        if (!saved) {
            const store::Error& e = saved.error();
            if (e.kind == store::ErrorKind::Invalid) {
                // A retry after a commit whose success was not reported finds the row there.
                auto found = store::findResponse(*m_db, r.id);
                if (found && *found) {
                    m_unsaved.pop_front();
                    continue;
                }
                // The schema refuses this record; retrying cannot help. It goes to the log whole.
                spdlog::error("the store refused a response ({}); kept here in full: {}", e.message, describe(r));
                m_unsaved.pop_front();
                continue;
            }
            if (e.message != m_storeError) spdlog::error("cannot save response {}: {}", r.id, e.message);
            m_storeError = e.message;
            m_storeErrorKind = e.kind;
            // A read-only, corrupt or failing file may need a fresh connection once fixed.
            if (e.kind != store::ErrorKind::Full && e.kind != store::ErrorKind::Busy) m_db.reset();
            return false;
        }
        spdlog::info("saved response {} ({} stars, {})", r.id, r.stars, r.complete ? "complete" : "partial");
        m_unsaved.pop_front();
        m_staffAtMono.reset();
        m_checkpointDue = true;
        if (m_hooks.onResponseSaved) m_hooks.onResponseSaved();
    }
    m_storeError.clear();
    m_storeErrorKind.reset();
    return true;
}

void KioskController::start(const core::Now& now) {
    m_session = core::initialSession(m_flow, now);
    m_openedAt = now;
    if (m_hooks.openInBackground) {
        m_opening = std::async(std::launch::async, openStore, m_cfg.dataDir, m_cfg.databasePath());
        m_nextRetryMono = now.monoMs + kOpenPollMs;
        return;
    }
    if (!tryOpen()) {
        m_nextRetryMono = now.monoMs + kRetryMs;
        apply(core::reduce(m_session, Intent::of(Kind::StoreFailed), now, m_flow), now);
    }
}

void KioskController::apply(core::Step step, const core::Now& now) {
    const Screen before = m_session.screen;
    bool failed = false;
    if (step.toSave) {
        core::Response r = std::move(*step.toSave);
        r.id = m_ids.next(r.createdAtMs);
        std::optional<std::string> sealed;
        if (step.callbackNumber) sealed = sealCallback(*step.callbackNumber);   // before the commit
        if (!sealed) r.callbackRequested = false;
        m_unsaved.push_back(Unsaved{std::move(r), std::move(sealed)});
        // Durable before the thank-you screen: the session moves on only after this returns.
        failed = !flushUnsaved();
        if (failed) m_nextRetryMono = now.monoMs + kRetryMs;
    }
    if (m_session.draft) wipe(m_session.draft->callbackDigits);
    m_session = std::move(step.next);
    if (failed) m_session = core::reduce(m_session, Intent::of(Kind::StoreFailed), now, m_flow).next;
    if (m_session.screen == Screen::PinPad && before != Screen::PinPad) {
        refreshPinHash();
        loadPinLock(now);
    }
    if (m_session.screen == Screen::Staff && before != Screen::Staff) m_staffAtMono.reset();
    applyOfferedSurvey(now);
    if (step.enrolCode) startEnrolment(*step.enrolCode, now);
    if (step.verifyPin) {
        const int locksBefore = m_pinLock.locks;
        const bool ok = verifySubmittedPin(*step.verifyPin, now);
        apply(core::reduce(m_session, Intent::of(Kind::PinResult, ok ? 1 : 0), now, m_flow), now);
        showPinLock(now, !ok && m_pinLock.locks > locksBefore);
    }
}

void KioskController::dispatch(const Intent& intent, const core::Now& now) {
    if (intent.kind == Kind::SyncNow && m_session.screen == Screen::Staff && m_hooks.onSyncNow) m_hooks.onSyncNow();
    // Without a stored PIN the pad has nothing to check against: it only explains and closes.
    if (m_session.screen == Screen::PinPad && !m_pinHash && needsPinEntry(intent.kind)) return;
    apply(core::reduce(m_session, intent, now, m_flow), now);
}

void KioskController::startEnrolment(const std::string& code, const core::Now& now) {
    if (!m_hooks.enrol) {
        spdlog::error("enrolment asked for, but this terminal has no way to enrol");
        apply(core::reduce(m_session, Intent::of(Kind::EnrolResult, static_cast<int>(core::EnrolProblem::Failed)), now,
                           m_flow),
              now);
        return;
    }
    spdlog::info("enrolling at {} with the code typed on the enrolment screen", m_cfg.sync.serverUrl);
    m_enrolling = std::async(std::launch::async, m_hooks.enrol, code);
    m_enrolPollMono = now.monoMs + kOpenPollMs;
}

void KioskController::finishEnrolment(const core::Now& now) {
    if (!m_enrolling.valid()) return;
    if (m_enrolling.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
        m_enrolPollMono = now.monoMs + kOpenPollMs;
        return;
    }
    auto enrolled = m_enrolling.get();
    core::EnrolProblem problem = core::EnrolProblem::None;
    if (!enrolled) {
        using FailKind = EnrolFailure::Kind;
        const FailKind kind = enrolled.error().kind;
        problem = kind == FailKind::Refused       ? core::EnrolProblem::Refused
                  : kind == FailKind::Unreachable ? core::EnrolProblem::Unreachable
                                                  : core::EnrolProblem::Failed;
        spdlog::warn("enrolment on the screen: {}", enrolled.error().message);
    } else if (auto agreed = applyIdentity(m_cfg, *enrolled); !agreed) {
        problem = core::EnrolProblem::Failed;   // enrolWithCode checked this already
        spdlog::error("enrolled, but {}", agreed.error());
    } else {
        spdlog::info("enrolled on the screen: device {} in store {}", enrolled->deviceId, enrolled->storeId);
        m_flow.storeId = m_cfg.storeId;
        m_flow.deviceId = m_cfg.deviceId;
        m_flow.needsEnrolment = false;
        m_staffAtMono.reset();
        if (m_hooks.onEnrolled) m_hooks.onEnrolled(*enrolled);
    }
    apply(core::reduce(m_session, Intent::of(Kind::EnrolResult, static_cast<int>(problem)), now, m_flow), now);
}

void KioskController::tick(const core::Now& now) {
    finishEnrolment(now);
    if (m_opening.valid()) {
        if (!finishOpening(false)) {
            m_nextRetryMono = now.monoMs + kOpenPollMs;
        } else if (!m_db) {
            // As when the open fails at start; a customer already answering keeps going, and
            // their save tries the store again (and says so if it still fails).
            m_nextRetryMono = now.monoMs + kRetryMs;
            if (m_session.screen == Screen::Attract)
                apply(core::reduce(m_session, Intent::of(Kind::StoreFailed), now, m_flow), now);
        }
    }
    const bool storeTrouble =
        !m_opening.valid() && (!m_db || !m_unsaved.empty() || m_session.screen == Screen::Unavailable);
    if (storeTrouble && now.monoMs >= m_nextRetryMono) {
        m_nextRetryMono = now.monoMs + kRetryMs;
        if (flushUnsaved() && m_session.screen == Screen::Unavailable) {
            spdlog::info("the store accepts writes again");
            apply(core::reduce(m_session, Intent::of(Kind::StoreRecovered), now, m_flow), now);
        }
    }
    if (m_hooks.surveyFetched && m_db && m_hooks.surveyFetched()) takeFetchedSurvey(now);
    if (const auto at = core::nextDeadline(m_session, m_flow); at && now.monoMs >= *at) {
        apply(core::reduce(m_session, Intent::tick(), now, m_flow), now);
        // A deadline the tick did not consume must not wake the loop again and again.
        const auto still = core::nextDeadline(m_session, m_flow);
        m_spentDeadline = still && *still <= now.monoMs ? still : std::nullopt;
    }
    if (const auto at = checkpointAtMono(); at && now.monoMs >= *at) {
        loadContactKey();   // the sync worker may have stored a new one from HQ
        m_checkpointDue = false;   // a failure waits for the next customer rather than retrying every tick
        auto done = store::checkpointBetweenCustomers(*m_db);
        if (!done) spdlog::warn("checkpoint between customers: {}", done.error().message);
        // What the last customer's session and the commit freed goes back to the system while
        // the counter is quiet, rather than waiting in malloc's free lists (benchmark 3).
        (void)malloc_trim(0);
    }
}

bool KioskController::betweenCustomers() const { return !m_session.draft; }

void KioskController::offerSurvey(core::Survey survey, std::string definition, const core::Now& now) {
    m_offered = OfferedSurvey{std::move(survey), std::move(definition)};
    applyOfferedSurvey(now);
}

void KioskController::applyOfferedSurvey(const core::Now& now) {
    // A response keeps the definition it started under: the flow's survey changes only while
    // nobody is answering (the response in progress is saved with the old one first).
    if (!m_offered || !betweenCustomers()) return;
    OfferedSurvey offered = std::move(*m_offered);
    m_offered.reset();
    const int from = m_flow.survey.version;
    const std::string fromId = m_flow.survey.id;
    m_flow = flowConfigFor(m_cfg, std::move(offered.survey));
    m_flow.callbackKey = m_contactKey.has_value();
    if (std::find(m_flow.survey.languages.begin(), m_flow.survey.languages.end(), m_session.language) ==
        m_flow.survey.languages.end())
        m_session.language = m_flow.defaultLanguage;
    m_staffAtMono.reset();
    spdlog::info("survey {} version {} applied (was {} version {})", m_flow.survey.id, m_flow.survey.version, fromId,
                 from);
    if (offered.definition.empty()) return;   // the built-in one: nothing to keep
    // The definition applied before a restart keeps the time it was first applied.
    const bool same = m_appliedDefinition == offered.definition;
    m_appliedDefinition = offered.definition;
    if (!same) m_appliedAtMs = now.utcMs;
    persistApplied();
}

void KioskController::setContactKey(const std::optional<std::string>& base64) {
    m_contactKey = base64 ? contactKeyFromBase64(*base64) : std::nullopt;
    if (base64 && !m_contactKey) spdlog::error("HQ's contact key is not a 32-byte key in base64; no callback offered");
    if (betweenCustomers()) m_flow.callbackKey = m_contactKey.has_value();
}

void KioskController::loadContactKey() {
    if (!m_db || !betweenCustomers()) return;
    auto key = storedContactKey(*m_db);
    if (!key) {
        spdlog::error("cannot read HQ's contact key: {}", key.error().message);
        return;
    }
    if (key->has_value() != m_contactKey.has_value())
        spdlog::info(key->has_value() ? "HQ's contact key is here: low ratings are offered a callback"
                                      : "no contact key from HQ: the callback is not offered");
    m_contactKey = *key;
    m_flow.callbackKey = m_contactKey.has_value();
}

std::optional<std::string> KioskController::sealCallback(std::string& digits) {
    std::optional<std::string> out;
    if (!m_contactKey) {
        spdlog::error("a callback was confirmed without HQ's contact key; the response is saved without it");
    } else if (auto sealed = sealContact(digits, *m_contactKey); !sealed) {
        spdlog::error("cannot seal the callback number ({}); the response is saved without it", sealed.error());
    } else {
        out = std::move(*sealed);
    }
    wipe(digits);
    return out;
}

void KioskController::persistApplied() {
    if (!m_appliedDefinition || !m_db) return;
    auto saved = store::updateSurveyConfig(*m_db, [&](store::SurveyConfigState& state) {
        state.applied = m_appliedDefinition;
        state.appliedAtMs = m_appliedAtMs;
        if (state.pending == m_appliedDefinition) state.pending.reset();
    });
    if (!saved) spdlog::error("cannot store the applied survey definition: {}", saved.error().message);
}

void KioskController::takeFetchedSurvey(const core::Now& now) {
    auto state = store::loadSurveyConfig(*m_db);
    if (!state) {
        spdlog::error("cannot read the fetched survey definition: {}", state.error().message);
        return;
    }
    if (!state->pending) return;
    // Checked by the worker before it stored it; checked again, as a stored one is at start.
    auto survey = acceptSurvey(*state->pending);
    if (!survey) {
        spdlog::error("the fetched survey definition is refused ({})", survey.error());
        return;
    }
    spdlog::info("survey {} version {} fetched from HQ; applied between customers", survey->id, survey->version);
    offerSurvey(std::move(*survey), *state->pending, now);
}

void KioskController::loadStoredSurvey(const core::Now& now) {
    auto state = store::loadSurveyConfig(*m_db);
    if (!state) {
        spdlog::error("cannot read the stored survey definition ({}); running {} version {}", state.error().message,
                      m_flow.survey.id, m_flow.survey.version);
        return;
    }
    // A definition fetched while a customer was answering, and not applied before the terminal
    // stopped, is newer than the applied one.
    for (const auto* text : {&state->pending, &state->applied}) {
        if (!*text) continue;
        auto survey = acceptSurvey(**text);
        if (!survey) {
            spdlog::error("the stored survey definition is refused ({}); keeping {} version {}", survey.error(),
                          m_flow.survey.id, m_flow.survey.version);
            continue;
        }
        if (state->applied) {
            m_appliedDefinition = state->applied;
            m_appliedAtMs = state->appliedAtMs.value_or(now.utcMs);
        }
        offerSurvey(std::move(*survey), **text, now);
        return;
    }
}

std::optional<std::int64_t> KioskController::checkpointAtMono() const {
    const core::Session& s = m_session;
    // Never while a customer is in the flow: only an untouched attract screen qualifies.
    if (!m_checkpointDue || !m_db || !m_unsaved.empty() || s.screen != Screen::Attract || s.draft || s.feedback)
        return std::nullopt;
    return std::max(s.screenSinceMono, s.lastInputMono) + kCheckpointIdleMs;
}

std::optional<std::int64_t> KioskController::nextWakeMono() const {
    std::optional<std::int64_t> at = core::nextDeadline(m_session, m_flow);
    if (at && m_spentDeadline && *at == *m_spentDeadline) at.reset();
    if (!m_db || !m_unsaved.empty() || m_session.screen == Screen::Unavailable)
        at = at ? std::min(*at, m_nextRetryMono) : m_nextRetryMono;
    if (const auto checkpoint = checkpointAtMono()) at = at ? std::min(*at, *checkpoint) : *checkpoint;
    if (m_enrolling.valid()) {   // poll for the enrolment's answer
        at = at ? std::min(*at, m_enrolPollMono) : m_enrolPollMono;
    }
    return at;
}

void KioskController::refreshPinHash() {
    m_pinHash.reset();
    finishOpening(true);   // staff can be quicker than the check of a large file
    if (!m_db) return;
    auto hash = store::getMeta(*m_db, store::kMetaPinHash);
    if (!hash) {
        spdlog::error("cannot read the staff PIN: {}", hash.error().message);
        return;
    }
    if (*hash && !(*hash)->empty()) m_pinHash = **hash;
}

void KioskController::loadPinLock(const core::Now& now) {
    if (!m_db) return;
    auto lock = store::loadPinLock(*m_db);
    if (!lock) {
        spdlog::error("cannot read the staff PIN lockout: {}", lock.error().message);
        return;
    }
    // Read on every opening of the pad: `segue-kiosk set-pin` clears it while the terminal runs.
    // Unchanged, the lock already running stays timed on the monotonic clock.
    if (m_pinLockLoaded && *lock == m_pinLock) return;
    m_pinLockLoaded = true;
    m_pinLock = *lock;
    const std::int64_t left = pinLockRemainingMs(m_pinLock, now.utcMs);
    m_session.pinFailures = m_pinLock.failures;
    m_session.pinLockedUntilMono = left > 0 ? now.monoMs + left : 0;
    if (left > 0) spdlog::warn("the staff PIN pad stays locked for {} s (lock {} since the last correct PIN)",
                               (left + 999) / 1000, m_pinLock.locks);
}

bool KioskController::verifySubmittedPin(const std::string& pin, const core::Now& now) {
    const store::PinLock before = m_pinLock;
    m_pinLock = afterPinFailure(m_pinLock, now.utcMs);
    if (m_db)
        if (auto saved = store::savePinLock(*m_db, m_pinLock); !saved)
            spdlog::error("cannot store the failed PIN count: {}", saved.error().message);
    const bool ok = checkPin(pin);
    if (ok) {
        spdlog::info("staff screen opened");
        m_pinLock = {};
        if (m_db)   // the attempt was stored as a failure above
            if (auto saved = store::savePinLock(*m_db, m_pinLock); !saved)
                spdlog::error("cannot clear the failed PIN count: {}", saved.error().message);
    } else if (m_pinLock.locks > before.locks) {
        spdlog::warn("a wrong staff PIN was entered; the PIN pad is locked for {} s (lock {})",
                     pinLockDurationMs(m_pinLock.locks) / 1000, m_pinLock.locks);
    } else {
        spdlog::warn("a wrong staff PIN was entered ({} of {} before the pad locks)", m_pinLock.failures,
                     kPinFailuresPerLock);
    }
    return ok;
}

void KioskController::showPinLock(const core::Now& now, bool justLocked) {
    m_session.pinFailures = m_pinLock.failures;
    // A PIN is only checked while the pad is not locked: either this attempt locked it, or it
    // stays unlocked (whatever flat lock the flow itself would have set).
    m_session.pinLockedUntilMono = justLocked ? now.monoMs + pinLockDurationMs(m_pinLock.locks) : 0;
}

bool KioskController::checkPin(const std::string& pin) {
    refreshPinHash();   // `segue-kiosk set-pin` may have changed it while the terminal runs
    return m_pinHash && verifyPin(*m_pinHash, pin);
}

void KioskController::refreshStaff(const core::Now& now) {
    const std::string today = core::localDate(now.utcMs, now.utcOffsetMin);
    const std::string date = core::addDays(today, m_session.staffDayOffset);
    if (m_staffAtMono && date == m_staff.date && now.monoMs - *m_staffAtMono < kStaffRefreshMs) {
        m_staff.nowUtcMs = now.utcMs;
        m_staff.unsaved = m_unsaved.size();
        m_staff.storeError = m_storeError;
        m_staff.storeErrorKind = m_storeErrorKind;
        return;
    }
    m_staffAtMono = now.monoMs;
    StaffVM vm;
    vm.storeId = m_cfg.storeId;
    vm.deviceId = m_cfg.deviceId;
    vm.date = date;
    vm.dayOffset = m_session.staffDayOffset;
    vm.targetCsat = m_flow.survey.settings.targetCsat.value_or(m_cfg.targetCsat);
    vm.segueItems = m_flow.survey.items;
    vm.survey.version = m_flow.survey.version;
    vm.nowUtcMs = now.utcMs;
    vm.unsaved = m_unsaved.size();
    if (m_db) {
        if (auto s = store::dayStats(*m_db, date)) vm.stats = std::move(*s);
        else noteStoreError("cannot read the day's figures", s.error());
        if (auto t = store::trend(*m_db, date, kTrendDays)) vm.trend = std::move(*t);
        else noteStoreError("cannot read the trend", t.error());
        if (auto config = store::loadSurveyConfig(*m_db); config) {
            if (config->fetchedAtMs) vm.survey.fetchedAt = localClockText(*config->fetchedAtMs, now);
            vm.survey.configRefused = config->lastError.has_value();
        }
        if (auto open = store::getMeta(*m_db, store::kMetaOpenCallbacks); open && *open) {
            try {
                vm.openCallbacks = std::stoll(**open);
            } catch (const std::exception&) {   // not a number: shown as unknown
            }
        }
        if (auto rec = store::getMeta(*m_db, store::kMetaRecovery); rec && *rec) {
            const auto j = nlohmann::json::parse(**rec, nullptr, false);
            if (j.is_object()) {
                RecoveryNotice n;
                n.when = j.value("at", "");
                n.movedTo = j.value("moved_aside_path", "");
                n.reason = j.value("reason", "");
                vm.recovery = std::move(n);
            }
        }
    }
    vm.storeError = m_storeError;
    vm.storeErrorKind = m_storeErrorKind;
    if (m_hooks.syncPanel) {
        vm.sync = m_hooks.syncPanel();
    } else if (m_db) {
        if (auto counts = store::outboxCounts(*m_db)) {
            vm.sync.pending = counts->pending;
            vm.sync.rejected = counts->rejected;
            vm.sync.oldestPendingUtcMs = counts->oldestPendingUtcMs;
        }
    }
    m_staff = std::move(vm);
}

FrameVM KioskController::viewModel(const core::Now& now) {
    FrameVM vm;
    const core::Session& s = m_session;
    vm.screen = s.screen;
    vm.language = s.language;
    vm.languages = m_flow.survey.languages;
    switch (s.screen) {
    case Screen::Attract:
        if (s.feedback && s.feedback->screen == Screen::Attract) vm.attract.litStars = s.feedback->chosen;
        else if (s.draft) vm.attract.litStars = s.draft->stars;
        break;
    case Screen::Item: {
        const auto& items = m_flow.survey.items;
        const int pos = std::clamp(s.item, 0, std::max(0, static_cast<int>(items.size()) - 1));
        vm.item.position = pos;
        vm.item.count = static_cast<int>(items.size());
        vm.item.segueIndex = items.empty() ? 0 : items[static_cast<std::size_t>(pos)];
        for (const int idx : items)
            vm.item.answered.push_back(s.draft && s.draft->segue[static_cast<std::size_t>(idx)].has_value());
        if (s.draft) vm.item.answer = s.draft->segue[static_cast<std::size_t>(vm.item.segueIndex)];
        break;
    }
    case Screen::Reasons:
        for (const auto& tag : m_flow.survey.tags) {
            vm.reasons.tagIds.push_back(tag);
            const auto labels = m_flow.survey.tagLabels.find(tag);
            const auto label = labels == m_flow.survey.tagLabels.end() ? std::nullopt : findLabel(labels->second, s.language);
            vm.reasons.tagLabels.push_back(label.value_or(""));
            vm.reasons.selected.push_back(s.draft && std::find(s.draft->tags.begin(), s.draft->tags.end(), tag) !=
                                                         s.draft->tags.end());
        }
        break;
    case Screen::CallbackOffer:
    case Screen::CallbackNumber: {
        const auto& consent = m_flow.survey.callbackConsent;
        if (const auto text = findLabel(consent, s.language)) vm.callback.consent = *text;
        vm.callback.retentionDays = m_flow.survey.settings.contactRetentionDays;
        vm.callback.maxDigits = static_cast<int>(core::kCallbackMaxDigits);
        if (s.draft) {
            vm.callback.digits = s.draft->callbackDigits;
            vm.callback.invalid = s.draft->callbackInvalid;
        }
        break;
    }
    case Screen::PinPad:
        vm.pin.configured = m_pinHash.has_value();
        vm.pin.entered = static_cast<int>(s.pinEntry.size());
        vm.pin.minDigits = m_flow.pinLength;
        vm.pin.maxDigits = m_flow.pinMaxDigits;
        vm.pin.checking = s.pinChecking;
        vm.pin.failures = s.pinFailures;
        vm.pin.maxFailures = m_flow.pinMaxFailures;
        if (s.pinLockedUntilMono > now.monoMs)
            vm.pin.lockedSeconds = static_cast<int>((s.pinLockedUntilMono - now.monoMs + 999) / 1000);
        break;
    case Screen::Staff:
        refreshStaff(now);
        vm.staff = m_staff;
        break;
    case Screen::Enrol:
        vm.enrol.digits = s.enrolEntry;
        vm.enrol.maxDigits = core::kEnrolCodeDigits;
        vm.enrol.enrolling = s.enrolling;
        if (s.enrolling) vm.enrol.waitedSeconds = static_cast<int>(std::max<std::int64_t>(0, now.monoMs - s.lastInputMono) / 1000);
        vm.enrol.problem = s.enrolProblem;
        vm.enrol.serverUrl = m_cfg.sync.serverUrl;
        break;
    default:
        break;
    }
    return vm;
}

} // namespace segue::app
