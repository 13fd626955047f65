#include "core/response.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>

#include <nlohmann/json.hpp>

#include "core/response_fields.hpp"
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
    nlohmann::json j = nlohmann::json::object();
    for (const ResponseField& f : kResponseFields) {
        nlohmann::json& v = j[std::string(f.key)];
        switch (f.type) {
        case FieldType::Text: v = r.*f.text; break;
        case FieldType::Int: v = r.*f.small; break;
        case FieldType::Int64: v = r.*f.large; break;
        case FieldType::Timestamp: v = formatUtc(r.*f.large); break;
        case FieldType::Bool: v = r.*f.flag; break;
        case FieldType::Segue:
            v = nlohmann::json::object();
            for (std::size_t i = 0; i < r.segue.size(); ++i)
                v[std::string(kSegueKeys[i])] = r.segue[i] ? nlohmann::json(*r.segue[i]) : nlohmann::json();
            break;
        case FieldType::Tags: v = r.tags; break;
        }
    }
    return j;
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

/// Indices in the order a JSON object (std::map) keeps its keys: byte order.
template <std::size_t N>
std::array<std::size_t, N> keyOrder(const std::array<std::string_view, N>& keys) {
    std::array<std::size_t, N> order{};
    for (std::size_t i = 0; i < N; ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return keys[a] < keys[b]; });
    return order;
}

std::array<std::string_view, kResponseFields.size()> fieldKeys() {
    std::array<std::string_view, kResponseFields.size()> keys{};
    for (std::size_t i = 0; i < keys.size(); ++i) keys[i] = kResponseFields[i].key;
    return keys;
}

} // namespace

void appendJson(std::string& out, const Response& r) {
    static const auto fieldOrder = keyOrder(fieldKeys());
    static const auto segueOrder = keyOrder(kSegueKeys);
    auto key = [&](std::string_view k) {
        out += '"';
        out += k;
        out += "\":";
    };
    out += '{';
    bool first = true;
    for (const std::size_t index : fieldOrder) {
        const ResponseField& f = kResponseFields[index];
        if (!first) out += ',';
        first = false;
        key(f.key);
        switch (f.type) {
        case FieldType::Text: appendJsonString(out, r.*f.text); break;
        case FieldType::Int: appendInt(out, r.*f.small); break;
        case FieldType::Int64: appendInt(out, r.*f.large); break;
        case FieldType::Timestamp: appendJsonString(out, formatUtc(r.*f.large)); break;
        case FieldType::Bool: out += r.*f.flag ? "true" : "false"; break;
        case FieldType::Segue:
            out += '{';
            for (std::size_t n = 0; n < segueOrder.size(); ++n) {
                const std::size_t i = segueOrder[n];
                if (n) out += ',';
                key(kSegueKeys[i]);
                if (r.segue[i]) appendInt(out, *r.segue[i]);
                else out += "null";
            }
            out += '}';
            break;
        case FieldType::Tags:
            out += '[';
            for (std::size_t i = 0; i < r.tags.size(); ++i) {
                if (i) out += ',';
                appendJsonString(out, r.tags[i]);
            }
            out += ']';
            break;
        }
    }
    out += '}';
}

std::optional<Response> fromJson(const nlohmann::json& j, std::string* error) {
    auto fail = [&](std::string why) -> std::optional<Response> {
        if (error) *error = std::move(why);
        return std::nullopt;
    };
    if (!j.is_object()) return fail("record is not an object");
    Response r;
    for (const ResponseField& f : kResponseFields) {
        const std::string name(f.key);
        const auto it = j.find(name);
        if (it == j.end() && !f.required) continue;
        // A required field is "missing or not …"; an optional one that is there is "not …".
        const std::string wrong = name + (f.required ? ": missing or not " : ": not ");
        const bool present = it != j.end();
        switch (f.type) {
        case FieldType::Text:
            if (!present || !it->is_string()) return fail(wrong + "a string");
            r.*f.text = it->get<std::string>();
            break;
        case FieldType::Int:
            if (!present || !readInteger(*it, r.*f.small)) return fail(wrong + "an integer");
            break;
        case FieldType::Int64:
            if (!present || !readInteger(*it, r.*f.large)) return fail(wrong + "an integer");
            break;
        case FieldType::Timestamp: {
            if (!present || !it->is_string()) return fail(wrong + "a string");
            const auto ms = parseUtc(it->get_ref<const std::string&>());
            if (!ms) return fail(name + ": not an RFC 3339 timestamp");
            r.*f.large = *ms;
            break;
        }
        case FieldType::Bool:
            if (!present || !it->is_boolean()) return fail(wrong + "a boolean");
            r.*f.flag = it->get<bool>();
            break;
        case FieldType::Segue:
            if (!present || !it->is_object()) return fail(wrong + "an object");
            for (const auto& [key, value] : it->items()) {
                const auto idx = segueIndex(key);
                if (!idx) return fail(name + ": unknown key \"" + key + "\"");
                if (value.is_null()) continue;
                int v = 0;
                if (!readInteger(value, v)) return fail(name + "." + key + ": not an integer or null");
                r.segue[static_cast<std::size_t>(*idx)] = v;
            }
            break;
        case FieldType::Tags:
            if (!present || !it->is_array()) return fail(wrong + "an array");
            for (const auto& t : *it) {
                if (!t.is_string()) return fail(name + ": not all strings");
                r.tags.push_back(t.get<std::string>());
            }
            break;
        }
    }
    return r;
}

} // namespace segue::core
