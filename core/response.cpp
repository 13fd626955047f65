#include "core/response.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>

#include <nlohmann/json.hpp>

#include "core/time.hpp"
#include "core/uuid.hpp"

namespace segue::core {
namespace {

constexpr std::size_t kMaxIdLength = 64;     // store, device and survey ids
constexpr std::size_t kMaxTags = 16;

bool plainId(const std::string& s) {
    if (s.empty() || s.size() > kMaxIdLength) return false;
    return std::all_of(s.begin(), s.end(), [](unsigned char c) {
        return std::isalnum(c) || c == '-' || c == '_' || c == '.';
    });
}

// Reads an integer that fits T exactly; a 2^32+1 must not wrap into a valid star rating.
template <typename T>
bool readInteger(const nlohmann::json& v, T& out) {
    if (!v.is_number_integer()) return false;
    if (v.is_number_unsigned()) {
        const auto u = v.get<std::uint64_t>();
        if (u > static_cast<std::uint64_t>(std::numeric_limits<T>::max())) return false;
        out = static_cast<T>(u);
        return true;
    }
    const auto i = v.get<std::int64_t>();
    if (i < static_cast<std::int64_t>(std::numeric_limits<T>::min()) ||
        i > static_cast<std::int64_t>(std::numeric_limits<T>::max()))
        return false;
    out = static_cast<T>(i);
    return true;
}

} // namespace

std::optional<std::string> validate(const Response& r, const Survey* survey) {
    if (!isUuid(r.id)) return "id is not a UUID";
    if (!plainId(r.storeId)) return "store_id must be 1-64 of [A-Za-z0-9._-]";
    if (!plainId(r.deviceId)) return "device_id must be 1-64 of [A-Za-z0-9._-]";
    if (!plainId(r.surveyId)) return "survey_id must be 1-64 of [A-Za-z0-9._-]";
    if (r.surveyVersion < 1) return "survey_version must be >= 1";
    if (r.language != "zh-CN" && r.language != "en") return "language must be zh-CN or en";
    // Plausible wall-clock range: 2020-01-01 .. 2100-01-01.
    if (r.createdAtMs < 1'577'836'800'000 || r.createdAtMs > 4'102'444'800'000)
        return "created_at is out of range";
    if (r.utcOffsetMin < -14 * 60 || r.utcOffsetMin > 14 * 60) return "utc_offset_min out of range";
    if (r.localDate != localDate(r.createdAtMs, r.utcOffsetMin))
        return "local_date does not match created_at and utc_offset_min";
    if (r.localHour != localHour(r.createdAtMs, r.utcOffsetMin))
        return "local_hour does not match created_at and utc_offset_min";
    if (r.stars < 1 || r.stars > 5) return "stars must be 1..5";
    for (std::size_t i = 0; i < r.segue.size(); ++i)
        if (r.segue[i] && (*r.segue[i] < 1 || *r.segue[i] > 5))
            return "segue." + std::string(kSegueKeys[i]) + " must be 1..5 or null";
    if (r.tags.size() > kMaxTags) return "too many tags";
    for (const auto& t : r.tags) {
        if (!plainId(t)) return "tag ids must be 1-64 of [A-Za-z0-9._-]";
        if (std::count(r.tags.begin(), r.tags.end(), t) > 1) return "tag listed twice: " + t;
        if (survey && std::find(survey->tags.begin(), survey->tags.end(), t) == survey->tags.end())
            return "unknown tag: " + t;
    }
    if (r.durationMs < 0) return "duration_ms must be >= 0";
    return std::nullopt;
}

nlohmann::json toJson(const Response& r) {
    nlohmann::json segue = nlohmann::json::object();
    for (std::size_t i = 0; i < r.segue.size(); ++i)
        segue[std::string(kSegueKeys[i])] = r.segue[i] ? nlohmann::json(*r.segue[i]) : nlohmann::json();
    return {
        {"id", r.id},
        {"store_id", r.storeId},
        {"device_id", r.deviceId},
        {"survey_id", r.surveyId},
        {"survey_version", r.surveyVersion},
        {"language", r.language},
        {"created_at", formatUtc(r.createdAtMs)},
        {"local_date", r.localDate},
        {"local_hour", r.localHour},
        {"utc_offset_min", r.utcOffsetMin},
        {"stars", r.stars},
        {"segue", segue},
        {"tags", r.tags},
        {"complete", r.complete},
        {"misuse", r.misuse},
        {"synthetic", r.synthetic},
        {"duration_ms", r.durationMs},
    };
}

void appendJsonString(std::string& out, std::string_view s, BadUtf8 bad) {
    // Ids, dates and tags are plain ASCII: copied as they are. Anything else (quotes, control
    // characters, non-ASCII) is written by the library, so escaping and UTF-8 checks stay its own.
    const bool plain = std::all_of(s.begin(), s.end(), [](unsigned char c) {
        return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
    });
    if (!plain) {
        const auto handler = bad == BadUtf8::Replace ? nlohmann::json::error_handler_t::replace
                                                     : nlohmann::json::error_handler_t::strict;
        out += nlohmann::json(std::string(s)).dump(-1, ' ', false, handler);
        return;
    }
    out += '"';
    out += s;
    out += '"';
}

namespace {

void appendInt(std::string& out, std::int64_t v) {
    char buf[24];
    const auto end = std::to_chars(buf, buf + sizeof buf, v).ptr;
    out.append(buf, end);
}

/// The SEGUE keys in the order a JSON object (std::map) keeps them.
std::array<std::size_t, kSegueCount> sortedSegueOrder() {
    std::array<std::size_t, kSegueCount> order{};
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [](std::size_t a, std::size_t b) { return kSegueKeys[a] < kSegueKeys[b]; });
    return order;
}

} // namespace

void appendJson(std::string& out, const Response& r) {
    static const auto segueOrder = sortedSegueOrder();
    bool first = true;
    auto key = [&](std::string_view k) {
        if (!first) out += ',';
        first = false;
        out += '"';
        out += k;
        out += "\":";
    };
    auto str = [&](std::string_view k, std::string_view v) { key(k); appendJsonString(out, v); };
    auto integer = [&](std::string_view k, std::int64_t v) { key(k); appendInt(out, v); };
    auto boolean = [&](std::string_view k, bool v) { key(k); out += v ? "true" : "false"; };

    // Keys in byte order, as nlohmann's object (a std::map) dumps them.
    out += '{';
    boolean("complete", r.complete);
    str("created_at", formatUtc(r.createdAtMs));
    str("device_id", r.deviceId);
    integer("duration_ms", r.durationMs);
    str("id", r.id);
    str("language", r.language);
    str("local_date", r.localDate);
    integer("local_hour", r.localHour);
    boolean("misuse", r.misuse);
    key("segue");
    out += '{';
    first = true;
    for (const std::size_t i : segueOrder) {
        if (r.segue[i]) {
            integer(kSegueKeys[i], *r.segue[i]);
        } else {
            key(kSegueKeys[i]);
            out += "null";
        }
    }
    out += '}';
    integer("stars", r.stars);
    str("store_id", r.storeId);
    str("survey_id", r.surveyId);
    integer("survey_version", r.surveyVersion);
    boolean("synthetic", r.synthetic);
    key("tags");
    out += '[';
    for (std::size_t i = 0; i < r.tags.size(); ++i) {
        if (i) out += ',';
        appendJsonString(out, r.tags[i]);
    }
    out += ']';
    integer("utc_offset_min", r.utcOffsetMin);
    out += '}';
}

std::optional<Response> fromJson(const nlohmann::json& j, std::string* error) {
    auto fail = [&](std::string why) -> std::optional<Response> {
        if (error) *error = std::move(why);
        return std::nullopt;
    };
    if (!j.is_object()) return fail("record is not an object");
    auto str = [&](const char* key, std::string& out) {
        const auto it = j.find(key);
        if (it == j.end() || !it->is_string()) return false;
        out = it->get<std::string>();
        return true;
    };
    auto integer = [&](const char* key, auto& out) {
        const auto it = j.find(key);
        return it != j.end() && readInteger(*it, out);
    };
    auto boolean = [&](const char* key, bool& out) {
        const auto it = j.find(key);
        if (it == j.end() || !it->is_boolean()) return false;
        out = it->get<bool>();
        return true;
    };
    Response r;
    std::string created;
    if (!str("id", r.id)) return fail("id: missing or not a string");
    if (!str("store_id", r.storeId)) return fail("store_id: missing or not a string");
    if (!str("device_id", r.deviceId)) return fail("device_id: missing or not a string");
    if (!str("survey_id", r.surveyId)) return fail("survey_id: missing or not a string");
    if (!integer("survey_version", r.surveyVersion)) return fail("survey_version: missing or not an integer");
    if (!str("language", r.language)) return fail("language: missing or not a string");
    if (!str("created_at", created)) return fail("created_at: missing or not a string");
    const auto ms = parseUtc(created);
    if (!ms) return fail("created_at: not an RFC 3339 timestamp");
    r.createdAtMs = *ms;
    if (!str("local_date", r.localDate)) return fail("local_date: missing or not a string");
    if (!integer("local_hour", r.localHour)) return fail("local_hour: missing or not an integer");
    if (!integer("utc_offset_min", r.utcOffsetMin)) return fail("utc_offset_min: missing or not an integer");
    if (!integer("stars", r.stars)) return fail("stars: missing or not an integer");
    const auto seg = j.find("segue");
    if (seg == j.end() || !seg->is_object()) return fail("segue: missing or not an object");
    for (const auto& [key, value] : seg->items()) {
        const auto idx = segueIndex(key);
        if (!idx) return fail("segue: unknown key \"" + key + "\"");
        if (value.is_null()) continue;
        int v = 0;
        if (!readInteger(value, v)) return fail("segue." + key + ": not an integer or null");
        r.segue[static_cast<std::size_t>(*idx)] = v;
    }
    const auto tags = j.find("tags");
    if (tags == j.end() || !tags->is_array()) return fail("tags: missing or not an array");
    for (const auto& t : *tags) {
        if (!t.is_string()) return fail("tags: not all strings");
        r.tags.push_back(t.get<std::string>());
    }
    if (!boolean("complete", r.complete)) return fail("complete: missing or not a boolean");
    if (!boolean("misuse", r.misuse)) return fail("misuse: missing or not a boolean");
    if (j.contains("synthetic") && !boolean("synthetic", r.synthetic)) return fail("synthetic: not a boolean");
    if (j.contains("duration_ms") && !integer("duration_ms", r.durationMs))
        return fail("duration_ms: not an integer");
    return r;
}

} // namespace segue::core
