#include "hq/cases_api.hpp"

#include <algorithm>
#include <cctype>
#include <set>

#include <spdlog/spdlog.h>

#include "core/time.hpp"
#include "hq/dashboard.hpp"

namespace segue::hq {
namespace {

using Json = nlohmann::json;

constexpr std::int64_t kDayMs = 86'400'000;
constexpr int kCasesListed = 500;
constexpr int kCasesSummarised = 100'000;
constexpr std::size_t kMaxNoteBytes = 2000;

ApiReply ok(Json body, int status = 200) { return ApiReply{status, std::move(body), {}}; }

Json optional(const std::optional<std::string>& v) { return v ? Json(*v) : Json(); }
Json time(const std::optional<std::int64_t>& v) { return v ? Json(core::formatUtc(*v)) : Json(); }

bool plainId(const std::string& s) {
    if (s.empty() || s.size() > 64) return false;
    return std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isalnum(c) || c == '-' || c == '_' || c == '.'; });
}

std::optional<std::int64_t> caseId(const std::string& s) {
    if (s.empty() || s.size() > 18 || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return std::nullopt;
    return std::stoll(s);
}

/// UTC ms of the start of a calendar date, and of the last ms of another, in HQ's calendar.
std::int64_t dayStartMs(const std::string& date, int offsetMin) {
    return *core::daysFromIsoDate(date) * kDayMs - std::int64_t{offsetMin} * 60'000;
}
std::int64_t dayEndMs(const std::string& date, int offsetMin) { return dayStartMs(date, offsetMin) + kDayMs - 1; }

std::expected<Period, ApiError> period(const ParamFn& param, const std::string& today) {
    auto p = resolvePeriod(param("period") || param("from") || param("to") ? param("period") : std::optional<std::string>("30d"),
                           param("from"), param("to"), today);
    if (!p) return std::unexpected(ApiError::badRequest(p.error()));
    return *p;
}

ApiError forbiddenForTokens(const char* what) {
    return ApiError{403, "forbidden", std::string(what) + " needs a person's session: a read token may not", {}};
}

} // namespace

Json caseJson(const Case& c, std::int64_t nowMs) {
    Json segue = Json::object();
    for (std::size_t i = 0; i < c.segue.size(); ++i)
        segue[std::string(core::kSegueKeys[i])] = c.segue[i] ? Json(*c.segue[i]) : Json();
    return {{"id", c.id},
            {"response_id", c.responseId},
            {"store", c.storeId},
            {"device", c.deviceId},
            {"created_at", core::formatUtc(c.createdAtMs)},
            {"local_date", c.localDate},
            {"due_at", core::formatUtc(c.dueAtMs)},
            {"status", c.status},
            {"overdue", c.status == "open" && c.dueAtMs < nowMs},
            {"first_moved_at", time(c.firstMovedAtMs)},
            {"closed_at", time(c.closedAtMs)},
            {"root_cause", optional(c.rootCause)},
            {"contact_kept", c.hasContact},
            {"contact_erased_at", time(c.contactErasedAtMs)},
            {"language", c.language},
            {"stars", c.stars},
            {"segue", std::move(segue)},
            {"tags", c.tags}};
}

CasesApi::CasesApi(Storage& storage, CaseConfig config, std::optional<ContactKey> key)
    : m_storage(storage), m_config(std::move(config)), m_key(std::move(key)) {}

std::expected<CaseFilter, ApiError> CasesApi::placeFilter(const Principal& p, const ParamFn& param) {
    CaseFilter f;
    f.scope = p.scope;
    f.store = param("store");
    f.region = param("region");
    if (f.store && !plainId(*f.store)) return std::unexpected(ApiError::badRequest("store must be 1-64 of [A-Za-z0-9._-]"));
    if (f.region && !plainId(*f.region))
        return std::unexpected(ApiError::badRequest("region must be 1-64 of [A-Za-z0-9._-]"));
    return f;
}

std::expected<Case, ApiError> CasesApi::caseInScope(const Principal& p, const std::string& id) {
    const auto n = caseId(id);
    if (!n) return std::unexpected(ApiError::notFound("no case " + id));
    auto found = m_storage.cases().caseById(*n);
    if (!found) return std::unexpected(ApiError::internal(found.error().message));
    if (!*found) return std::unexpected(ApiError::notFound("no case " + id));
    auto in = m_storage.people().storeInScope((*found)->storeId, p.scope);
    if (!in) return std::unexpected(ApiError::internal(in.error().message));
    // Never 403: that would tell a reader that a case outside their scope exists.
    if (!*in) return std::unexpected(ApiError::notFound("no case " + id));
    return std::move(**found);
}

ApiResult CasesApi::list(const Principal& p, const ParamFn& param, const CaseNow& now) {
    auto f = placeFilter(p, param);
    if (!f) return std::unexpected(f.error());
    const std::string status = param("status").value_or("open");
    if (status == "open") f->status = CaseFilter::Status::Open;
    else if (status == "overdue") f->status = CaseFilter::Status::Overdue;
    else if (status == "closed") f->status = CaseFilter::Status::Closed;
    else if (status == "all") f->status = CaseFilter::Status::All;
    else return std::unexpected(ApiError::badRequest("status must be open, overdue, closed or all"));
    for (const char* name : {"from", "to"})
        if (const auto d = param(name); d && !core::isIsoDate(*d))
            return std::unexpected(ApiError::badRequest(std::string(name) + " must be a date YYYY-MM-DD"));
    f->from = param("from");
    f->to = param("to");
    f->nowMs = now.utcMs;
    f->limit = kCasesListed;
    auto cases = m_storage.cases().listCases(*f);
    if (!cases) return std::unexpected(ApiError::internal(cases.error().message));
    Json rows = Json::array();
    for (const auto& c : *cases) rows.push_back(caseJson(c, now.utcMs));
    return ok({{"cases", std::move(rows)},
               {"status", status},
               {"sla_hours", m_config.slaHours},
               {"root_causes", m_config.rootCauses},
               {"limit", kCasesListed}});
}

ApiResult CasesApi::get(const Principal& p, const std::string& id, const CaseNow& now) {
    auto c = caseInScope(p, id);
    if (!c) return std::unexpected(c.error());
    auto events = m_storage.cases().caseEvents(c->id);
    if (!events) return std::unexpected(ApiError::internal(events.error().message));
    Json body = caseJson(*c, now.utcMs);
    Json history = Json::array();
    for (const auto& e : *events)
        history.push_back({{"at", core::formatUtc(e.atMs)},
                           {"by", e.actor},
                           {"from", e.fromStatus},
                           {"to", e.toStatus},
                           {"note", e.note},
                           {"root_cause", optional(e.rootCause)}});
    body["history"] = std::move(history);
    body["root_causes"] = m_config.rootCauses;
    return ok(std::move(body));
}

ApiResult CasesApi::contact(const Principal& p, const std::string& id, const std::string& address, const CaseNow& now) {
    auto c = caseInScope(p, id);
    if (!c) return std::unexpected(c.error());
    if (p.kind != Principal::Kind::Session) return std::unexpected(forbiddenForTokens("opening a number"));
    auto sealed = m_storage.cases().sealedContact(c->id);
    if (!sealed) return std::unexpected(ApiError::internal(sealed.error().message));
    if (!*sealed) return std::unexpected(ApiError{410, "contact_erased", "the number was erased after the retention period", {}});
    if (!m_key)
        return std::unexpected(ApiError{503, "contact_key_missing", "segue-hq runs without --contact-key", {}});
    const auto bytes = fromBase64(**sealed);
    const auto phone = bytes ? openContact(*m_key, *bytes) : std::nullopt;
    // Recorded before the number leaves: every opening is in the audit log, failed ones too.
    const Json details = {{"store", c->storeId}, {"opened", phone.has_value()}};
    if (auto a = m_storage.people().audit({0, now.utcMs, p.actor(), "case_contact_view", std::to_string(c->id), address,
                                           details.dump()});
        !a)
        return std::unexpected(ApiError::internal(a.error().message));
    if (!phone)
        return std::unexpected(ApiError{500, "contact_unreadable", "the number does not open with this HQ's key", {}});
    return ok({{"phone", *phone}});
}

ApiResult CasesApi::move(const Principal& p, const std::string& id, const std::string& body, const std::string& address,
                         const CaseNow& now) {
    auto c = caseInScope(p, id);
    if (!c) return std::unexpected(c.error());
    if (p.kind != Principal::Kind::Session) return std::unexpected(forbiddenForTokens("changing a case"));
    const Json j = Json::parse(body, nullptr, false);
    if (!j.is_object()) return std::unexpected(ApiError::badRequest("the body must be a JSON object"));
    const auto status = j.find("status");
    if (status == j.end() || !status->is_string() || !isCaseStatus(status->get<std::string>()))
        return std::unexpected(ApiError::badRequest("status must be contacted, resolved or unreachable"));
    CaseEvent e;
    e.atMs = now.utcMs;
    e.actor = p.actor();
    e.fromStatus = c->status;
    e.toStatus = status->get<std::string>();
    if (const auto note = j.find("note"); note != j.end() && !note->is_null()) {
        if (!note->is_string() || note->get_ref<const std::string&>().size() > kMaxNoteBytes)
            return std::unexpected(ApiError::badRequest("note must be a string of at most 2000 bytes"));
        e.note = note->get<std::string>();
    }
    const auto cause = j.find("root_cause");
    const bool hasCause = cause != j.end() && !cause->is_null();
    if (e.toStatus == "resolved") {
        if (!hasCause || !cause->is_string() ||
            std::find(m_config.rootCauses.begin(), m_config.rootCauses.end(), cause->get<std::string>()) ==
                m_config.rootCauses.end())
            return std::unexpected(ApiError::badRequest("root_cause is required when resolving and must be one of [cases] root_causes"));
        e.rootCause = cause->get<std::string>();
    } else if (hasCause) {
        return std::unexpected(ApiError::badRequest("root_cause is given only when resolving"));
    }
    if (!caseMoveAllowed(e.fromStatus, e.toStatus))
        return std::unexpected(ApiError{409, "bad_transition",
                                        "status: a case that is " + e.fromStatus + " cannot become " + e.toStatus, {}});
    auto moved = m_storage.cases().moveCase(c->id, e);
    if (!moved) return std::unexpected(ApiError::internal(moved.error().message));
    if (!*moved) return std::unexpected(ApiError{409, "case_changed", "the case changed meanwhile; reload it", {}});
    const Json details = {{"store", c->storeId}, {"from", e.fromStatus}, {"to", e.toStatus}};
    if (auto a = m_storage.people().audit({0, now.utcMs, p.actor(), "case_status", std::to_string(c->id), address,
                                           details.dump()});
        !a)
        spdlog::warn("case {} moved but not audited: {}", c->id, a.error().message);
    return get(p, id, now);
}

ApiResult CasesApi::summary(const Principal& p, const ParamFn& param, const CaseNow& now) {
    auto f = placeFilter(p, param);
    if (!f) return std::unexpected(f.error());
    auto per = period(param, now.today);
    if (!per) return std::unexpected(per.error());
    f->from = per->from;
    f->to = per->to;
    f->status = CaseFilter::Status::All;
    f->limit = kCasesSummarised;
    auto cases = m_storage.cases().listCases(*f);
    if (!cases) return std::unexpected(ApiError::internal(cases.error().message));
    std::int64_t within = 0, open = 0, overdue = 0;
    std::vector<double> hours;
    for (const auto& c : *cases) {
        if (c.firstMovedAtMs) {
            hours.push_back(static_cast<double>(*c.firstMovedAtMs - c.createdAtMs) / 3'600'000.0);
            if (*c.firstMovedAtMs < c.dueAtMs) ++within;
        }
        if (c.status == "open") {
            ++open;
            if (c.dueAtMs < now.utcMs) ++overdue;
        }
    }
    Json median;
    if (!hours.empty()) {
        std::sort(hours.begin(), hours.end());
        const std::size_t n = hours.size();
        median = n % 2 ? hours[n / 2] : (hours[n / 2 - 1] + hours[n / 2]) / 2;
    }
    const auto requests = static_cast<std::int64_t>(cases->size());
    return ok({{"from", per->from},
               {"to", per->to},
               {"requests", requests},
               {"contacted_within_sla", within},
               {"share_within_sla", requests ? Json(static_cast<double>(within) / static_cast<double>(requests)) : Json()},
               {"median_hours_to_contact", median},
               {"open", open},
               {"overdue", overdue},
               {"target_share", kCaseSlaTarget},
               {"sla_hours", m_config.slaHours}});
}

ApiResult CasesApi::reasons(const Principal& p, const ParamFn& param, const CaseNow& now) {
    auto f = placeFilter(p, param);
    if (!f) return std::unexpected(f.error());
    auto per = period(param, now.today);
    if (!per) return std::unexpected(per.error());
    const Period prev = previousPeriod(*per);
    auto stores = m_storage.people().storesIn({p.scope, f->region, std::nullopt});
    if (!stores) return std::unexpected(ApiError::internal(stores.error().message));
    std::set<std::string> kept;
    for (const auto& s : *stores)
        if (!f->store || s.id == *f->store) kept.insert(s.id);
    if (f->store && kept.empty()) return std::unexpected(ApiError::notFound("no store " + *f->store));
    auto all = m_storage.dailyTalliesAll(prev.from, per->to);
    if (!all) return std::unexpected(ApiError::internal(all.error().message));
    std::map<std::string, std::int64_t> nowTags, beforeTags;
    std::int64_t nowLow = 0, beforeLow = 0;
    for (const auto& [store, days] : *all) {
        if (!kept.contains(store)) continue;
        for (const auto& [date, t] : days) {
            const bool current = date >= per->from;
            auto& tags = current ? nowTags : beforeTags;
            (current ? nowLow : beforeLow) += t.counted - t.satisfied;
            for (const auto& [tag, n] : t.tags) tags[tag] += n;
        }
    }
    std::vector<std::pair<std::string, std::int64_t>> sorted(nowTags.begin(), nowTags.end());
    for (const auto& [tag, n] : beforeTags)
        if (!nowTags.contains(tag)) sorted.emplace_back(tag, 0);
    std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    std::int64_t total = 0;
    for (const auto& [tag, n] : sorted) total += n;
    Json rows = Json::array();
    std::int64_t running = 0;
    for (const auto& [tag, n] : sorted) {
        running += n;
        const auto before = beforeTags.find(tag);
        rows.push_back({{"tag", tag},
                        {"count", n},
                        {"previous", before == beforeTags.end() ? 0 : before->second},
                        {"share", total ? Json(static_cast<double>(n) / static_cast<double>(total)) : Json()},
                        {"cumulative_share", total ? Json(static_cast<double>(running) / static_cast<double>(total)) : Json()}});
    }
    auto causes = m_storage.cases().rootCauses(*f, dayStartMs(per->from, now.calendarOffsetMin),
                                               dayEndMs(per->to, now.calendarOffsetMin));
    if (!causes) return std::unexpected(ApiError::internal(causes.error().message));
    std::vector<std::pair<std::string, std::int64_t>> bySize(causes->begin(), causes->end());
    std::stable_sort(bySize.begin(), bySize.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    Json causeRows = Json::array();
    for (const auto& [cause, n] : bySize) causeRows.push_back({{"root_cause", cause}, {"count", n}});
    return ok({{"from", per->from},
               {"to", per->to},
               {"previous", {{"from", prev.from}, {"to", prev.to}}},
               {"not_satisfied", nowLow},
               {"previous_not_satisfied", beforeLow},
               {"reasons", std::move(rows)},
               {"root_causes", std::move(causeRows)}});
}

Result<int> raiseOverdueAlerts(Storage& storage, std::int64_t nowMs) {
    CaseFilter f;
    f.status = CaseFilter::Status::Overdue;
    f.nowMs = nowMs;
    f.limit = kCasesSummarised;
    auto cases = storage.cases().listCases(f);
    if (!cases) return std::unexpected(cases.error());
    int raised = 0;
    for (const auto& c : *cases) {
        NewAlert a;
        a.rule = "case_overdue";
        a.subject = "case-" + std::to_string(c.id);
        a.storeId = c.storeId;
        a.deviceId = c.deviceId;
        // The day the case fell due: the same for every evaluation, so one alert per case.
        a.day = core::localDate(c.dueAtMs, 0);
        a.raisedAtMs = nowMs;
        a.message = "callback case " + std::to_string(c.id) + " at store " + c.storeId + " is past its due time";
        a.details = Json{{"case", c.id}, {"store", c.storeId}, {"due_at", core::formatUtc(c.dueAtMs)}, {"stars", c.stars}}.dump();
        auto fresh = storage.raiseAlert(a);
        if (!fresh) return std::unexpected(fresh.error());
        if (*fresh) ++raised;
    }
    return raised;
}

Result<std::int64_t> eraseExpiredContacts(Storage& storage, const CaseConfig& config, std::int64_t nowMs) {
    return storage.cases().eraseContacts(nowMs - std::int64_t{config.contactRetentionDays} * kDayMs, nowMs);
}

} // namespace segue::hq

namespace segue::hq {

CaseRetention::CaseRetention(Storage& storage, const core::Clock& clock, CaseConfig config)
    : m_storage(storage), m_clock(clock), m_config(std::move(config)) {}

CaseRetention::~CaseRetention() { stop(); }

Result<std::int64_t> CaseRetention::runOnce() {
    auto erased = eraseExpiredContacts(m_storage, m_config, m_clock.now().utcMs);
    if (!erased) spdlog::error("contact retention: {}", erased.error().message);
    else spdlog::info("contact retention: erased {} sealed number(s) of cases closed more than {} days ago", *erased,
                      m_config.contactRetentionDays);
    return erased;
}

void CaseRetention::start() {
    m_thread = std::thread([this] {
        for (;;) {
            (void)runOnce();
            std::unique_lock lock(m_mutex);
            if (m_wake.wait_for(lock, std::chrono::hours(24), [this] { return m_stop; })) return;
        }
    });
}

void CaseRetention::stop() {
    {
        std::lock_guard lock(m_mutex);
        m_stop = true;
    }
    m_wake.notify_all();
    if (m_thread.joinable()) m_thread.join();
}

} // namespace segue::hq
