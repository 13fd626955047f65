#include "sync/status.hpp"

#include <array>
#include <utility>

#include <nlohmann/json.hpp>

#include "store/meta.hpp"

namespace segue::sync {

namespace {

constexpr std::array<std::pair<SyncState, std::string_view>, 7> kStates = {{
    {SyncState::Disabled, "disabled"},
    {SyncState::Idle, "idle"},
    {SyncState::Syncing, "syncing"},
    {SyncState::Retrying, "retrying"},
    {SyncState::ConfigProblem, "config_problem"},
    {SyncState::Parked, "parked"},
    {SyncState::Stopped, "stopped"},
}};

nlohmann::json optionalInt(const std::optional<std::int64_t>& v) {
    return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

bool readOptionalInt(const nlohmann::json& j, const char* key, std::optional<std::int64_t>& out) {
    if (!j.contains(key) || j[key].is_null()) { out.reset(); return true; }
    if (!j[key].is_number_integer()) return false;
    out = j[key].get<std::int64_t>();
    return true;
}

} // namespace

std::string_view stateName(SyncState s) {
    for (const auto& [k, name] : kStates)
        if (k == s) return name;
    return "idle";
}

std::optional<SyncState> stateFromName(std::string_view name) {
    for (const auto& [k, n] : kStates)
        if (n == name) return k;
    return std::nullopt;
}

std::optional<std::int64_t> SyncStatus::oldestPendingAgeS(std::int64_t nowUtcMs) const {
    if (pending == 0 || !oldestPendingUtcMs) return std::nullopt;
    return std::max<std::int64_t>(0, (nowUtcMs - *oldestPendingUtcMs) / 1000);
}

std::string encodeStatus(const SyncStatus& s) {
    nlohmann::json j;
    j["state"] = stateName(s.state);
    j["online"] = s.online;
    j["last_success_ms"] = optionalInt(s.lastSuccessUtcMs);
    j["last_attempt_ms"] = optionalInt(s.lastAttemptUtcMs);
    j["last_error"] = s.lastError.empty() ? nlohmann::json(nullptr) : nlohmann::json(s.lastError);
    j["last_error_kind"] = s.lastErrorKind ? nlohmann::json(errorName(*s.lastErrorKind)) : nlohmann::json(nullptr);
    j["last_error_ms"] = optionalInt(s.lastErrorUtcMs);
    j["clock_offset_ms"] = optionalInt(s.clockOffsetMs);
    j["pending"] = s.pending;
    j["synced"] = s.synced;
    j["rejected"] = s.rejected;
    j["oldest_pending_ms"] = optionalInt(s.oldestPendingUtcMs);
    j["next_attempt_ms"] = optionalInt(s.nextAttemptUtcMs);
    j["batch_limit"] = s.batchLimit;
    // Error texts carry curl and server messages: replace invalid UTF-8 rather than fail.
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::expected<SyncStatus, std::string> decodeStatus(std::string_view json) {
    const auto j = nlohmann::json::parse(json, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return std::unexpected(std::string("sync status is not a JSON object"));
    SyncStatus s;
    if (j.contains("state")) {
        if (!j["state"].is_string()) return std::unexpected(std::string("sync status: state is not a string"));
        auto st = stateFromName(j["state"].get<std::string>());
        if (!st) return std::unexpected("sync status: unknown state " + j["state"].get<std::string>());
        s.state = *st;
    }
    if (j.contains("online")) {
        if (!j["online"].is_boolean()) return std::unexpected(std::string("sync status: online is not a boolean"));
        s.online = j["online"].get<bool>();
    }
    if (!readOptionalInt(j, "last_success_ms", s.lastSuccessUtcMs) ||
        !readOptionalInt(j, "last_attempt_ms", s.lastAttemptUtcMs) ||
        !readOptionalInt(j, "last_error_ms", s.lastErrorUtcMs) ||
        !readOptionalInt(j, "clock_offset_ms", s.clockOffsetMs) ||
        !readOptionalInt(j, "oldest_pending_ms", s.oldestPendingUtcMs) ||
        !readOptionalInt(j, "next_attempt_ms", s.nextAttemptUtcMs))
        return std::unexpected(std::string("sync status: a time field is not an integer"));
    if (j.contains("last_error") && !j["last_error"].is_null()) {
        if (!j["last_error"].is_string()) return std::unexpected(std::string("sync status: last_error is not a string"));
        s.lastError = j["last_error"].get<std::string>();
    }
    if (j.contains("last_error_kind") && j["last_error_kind"].is_string())
        s.lastErrorKind = errorFromName(j["last_error_kind"].get<std::string>());
    for (auto [key, field] : {std::pair{"pending", &s.pending}, std::pair{"synced", &s.synced},
                              std::pair{"rejected", &s.rejected}}) {
        if (!j.contains(key)) continue;
        if (!j[key].is_number_integer()) return std::unexpected(std::string("sync status: ") + key + " is not an integer");
        *field = j[key].get<std::int64_t>();
    }
    if (j.contains("batch_limit") && j["batch_limit"].is_number_integer()) s.batchLimit = j["batch_limit"].get<int>();
    return s;
}

std::expected<void, store::Error> saveStatus(store::Database& db, const SyncStatus& s) {
    return store::setMeta(db, store::kMetaSyncStatus, encodeStatus(s));
}

std::expected<std::optional<SyncStatus>, store::Error> loadStatus(store::Database& db) {
    auto text = store::getMeta(db, store::kMetaSyncStatus);
    if (!text) return std::unexpected(std::move(text.error()));
    if (!*text) return std::optional<SyncStatus>{};
    auto s = decodeStatus(**text);
    if (!s) return std::optional<SyncStatus>{};
    return std::optional<SyncStatus>{std::move(*s)};
}

} // namespace segue::sync
