#include "store/config_store.hpp"

#include <nlohmann/json.hpp>

#include "store/meta.hpp"
#include "store/sqlite_support.hpp"

namespace segue::store {
namespace {

template <typename T>
void put(nlohmann::json& j, const char* key, const std::optional<T>& v) {
    j[key] = v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

template <typename T>
std::optional<T> take(const nlohmann::json& j, const char* key) {
    if (!j.contains(key) || j[key].is_null()) return std::nullopt;
    return j[key].get<T>();
}

} // namespace

std::expected<SurveyConfigState, Error> parseState(const std::optional<std::string>& text);

std::string stateText(const SurveyConfigState& s);

std::expected<SurveyConfigState, Error> loadSurveyConfig(Database& db) {
    auto text = getMeta(db, kMetaSurveyConfig);
    if (!text) return std::unexpected(text.error());
    return parseState(*text);
}

std::expected<SurveyConfigState, Error> updateSurveyConfig(Database& db,
                                                           const std::function<void(SurveyConfigState&)>& change) {
    const std::string doing = std::string("updating setting '") + kMetaSurveyConfig + "'";
    auto tx = Transaction::begin(db.handle(), doing);
    if (!tx) return std::unexpected(std::move(tx.error()));
    auto read = Statement::prepare(db.handle(), "SELECT value FROM meta WHERE key = ?1", doing);
    if (!read) return std::unexpected(std::move(read.error()));
    read->bind(1, std::string(kMetaSurveyConfig));
    auto row = read->step();
    if (!row) return std::unexpected(std::move(row.error()));
    auto state = parseState(*row ? std::optional<std::string>(read->columnText(0)) : std::nullopt);
    if (!state) return state;
    change(*state);
    auto write = Statement::prepare(db.handle(),
                                    "INSERT INTO meta (key, value) VALUES (?1, ?2) "
                                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                                    doing);
    if (!write) return std::unexpected(std::move(write.error()));
    write->bind(1, std::string(kMetaSurveyConfig)).bind(2, stateText(*state));
    if (auto r = write->run(); !r) return std::unexpected(std::move(r.error()));
    if (auto r = tx->commit(); !r) return std::unexpected(std::move(r.error()));
    return state;
}

std::expected<SurveyConfigState, Error> parseState(const std::optional<std::string>& text) {
    if (!text) return SurveyConfigState{};
    const auto j = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object())
        return std::unexpected(Error{ErrorKind::Io, std::string("setting '") + kMetaSurveyConfig + "' is not a JSON object"});
    try {
        SurveyConfigState s;
        s.applied = take<std::string>(j, "applied");
        s.appliedAtMs = take<std::int64_t>(j, "applied_at");
        s.pending = take<std::string>(j, "pending");
        s.etag = take<std::string>(j, "etag");
        s.fetchedAtMs = take<std::int64_t>(j, "fetched_at");
        s.lastError = take<std::string>(j, "last_error");
        s.errorReported = j.value("error_reported", false);
        s.contactPublicKey = take<std::string>(j, "contact_public_key");
        return s;
    } catch (const nlohmann::json::exception& e) {
        return std::unexpected(Error{ErrorKind::Io, std::string("setting '") + kMetaSurveyConfig + "': " + e.what()});
    }
}

std::expected<void, Error> saveSurveyConfig(Database& db, const SurveyConfigState& s) {
    return setMeta(db, kMetaSurveyConfig, stateText(s));
}

std::string stateText(const SurveyConfigState& s) {
    nlohmann::json j = nlohmann::json::object();
    put(j, "applied", s.applied);
    put(j, "applied_at", s.appliedAtMs);
    put(j, "pending", s.pending);
    put(j, "etag", s.etag);
    put(j, "fetched_at", s.fetchedAtMs);
    put(j, "last_error", s.lastError);
    j["error_reported"] = s.errorReported;
    if (s.contactPublicKey) j["contact_public_key"] = *s.contactPublicKey;
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

} // namespace segue::store
