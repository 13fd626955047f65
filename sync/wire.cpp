#include "sync/wire.hpp"

#include <algorithm>
#include <limits>
#include <memory>

#include <libdeflate.h>
#include <nlohmann/json.hpp>
#include <zlib.h>

#include "core/response_fields.hpp"
#include "core/time.hpp"
#include "core/uuid.hpp"
#include "sync/batch_reader.hpp"

namespace segue::wire {
namespace {

using nlohmann::json;

using detail::kMaxEchoedIdLength;
using detail::kMaxNesting;

bool nestingWithin(std::string_view text, int maxDepth) {
    int depth = 0;
    bool inString = false;
    bool escaped = false;
    for (const char c : text) {
        if (inString) {
            if (escaped) escaped = false;
            else if (c == '\\') escaped = true;
            else if (c == '"') inString = false;
            continue;
        }
        if (c == '"') inString = true;
        else if (c == '[' || c == '{') {
            if (++depth > maxDepth) return false;
        } else if (c == ']' || c == '}') --depth;
    }
    return true;
}

std::expected<json, std::string> parseJson(std::string_view text) {
    if (!nestingWithin(text, kMaxNesting)) return std::unexpected("JSON nested deeper than 32 levels");
    try {
        return json::parse(text.begin(), text.end());
    } catch (const json::exception& e) {
        return std::unexpected(std::string(e.what()));
    }
}

std::optional<std::int64_t> readInt64(const json& v) {
    if (v.is_number_unsigned()) {
        const auto u = v.get<std::uint64_t>();
        if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return std::nullopt;
        return static_cast<std::int64_t>(u);
    }
    if (v.is_number_integer()) return v.get<std::int64_t>();
    return std::nullopt;
}

std::unexpected<DecodeFailure> malformed(std::string message) {
    return std::unexpected(DecodeFailure{DecodeError::Malformed, std::move(message)});
}

const json* member(const json& j, const char* key) {
    const auto it = j.find(key);
    return it == j.end() ? nullptr : &*it;
}

std::string boolText(bool b) { return b ? "true" : "false"; }

} // namespace

std::string encodeBatch(const Batch& b) {
    // Written straight into one string, byte for byte what the JSON tree's dump() gives (keys in
    // byte order): a tree of a thousand records costs more than sending them.
    std::string out;
    out.reserve(160 + 420 * b.responses.size());
    out += "{\"app_version\":";
    core::appendJsonString(out, b.appVersion);
    if (b.appliedSurveyId) {
        out += ",\"applied_survey_id\":";
        core::appendJsonString(out, *b.appliedSurveyId);
    }
    if (b.appliedSurveyVersion) out += ",\"applied_survey_version\":" + std::to_string(*b.appliedSurveyVersion);
    out += ",\"batch_id\":";
    core::appendJsonString(out, b.batchId);
    if (b.clockOffsetMs) out += ",\"clock_offset_ms\":" + std::to_string(*b.clockOffsetMs);
    if (b.configError) {
        out += ",\"config_error\":";
        core::appendJsonString(out, *b.configError);
    }
    out += ",\"device_id\":";
    core::appendJsonString(out, b.deviceId);
    out += ",\"pending\":" + std::to_string(b.pending);
    out += ",\"protocol\":" + std::to_string(b.protocol);
    out += ",\"responses\":[";
    std::string record;
    for (std::size_t i = 0; i < b.responses.size(); ++i) {
        if (i) out += ',';
        const auto contact = b.sealedContacts.find(b.responses[i].id);
        if (contact == b.sealedContacts.end()) {
            core::appendJson(out, b.responses[i]);
            continue;
        }
        // "callback_contact" sorts before every field key: it opens the object.
        out += "{\"callback_contact\":";
        core::appendJsonString(out, contact->second);
        out += ',';
        record.clear();
        core::appendJson(record, b.responses[i]);
        out.append(record, 1);
    }
    out += "],\"sent_at\":";
    core::appendJsonString(out, core::formatUtc(b.sentAtMs));
    out += '}';
    return out;
}

std::expected<DecodedBatch, DecodeFailure> detail::decodeBatchWithTree(std::string_view body) {
    auto parsed = parseJson(body);
    if (!parsed) return malformed("malformed JSON: " + parsed.error());
    const json& j = *parsed;
    if (!j.is_object()) return malformed("the body is not a JSON object");

    // The protocol is checked before anything else, so a future shape is refused as such.
    const json* protocol = member(j, "protocol");
    if (!protocol) return malformed("protocol: missing");
    const auto version = readInt64(*protocol);
    if (!version) return malformed("protocol: not an integer");
    if (*version != kProtocol)
        return std::unexpected(DecodeFailure{
            DecodeError::Protocol,
            "protocol " + std::to_string(*version) + " is not supported (this server speaks " +
                std::to_string(kProtocol) + ")"});

    DecodedBatch out;
    Batch& b = out.batch;
    const json* v = member(j, "batch_id");
    if (!v || !v->is_string() || !core::isUuid(v->get_ref<const std::string&>()))
        return malformed("batch_id: missing or not a UUID");
    b.batchId = v->get<std::string>();

    v = member(j, "device_id");
    if (!v || !v->is_string() || v->get_ref<const std::string&>().empty() ||
        v->get_ref<const std::string&>().size() > kMaxEchoedIdLength)
        return malformed("device_id: missing or not a string of 1-64 characters");
    b.deviceId = v->get<std::string>();

    v = member(j, "sent_at");
    if (!v || !v->is_string()) return malformed("sent_at: missing or not a string");
    const auto sentAt = core::parseUtc(v->get_ref<const std::string&>());
    if (!sentAt) return malformed("sent_at: not an RFC 3339 timestamp");
    b.sentAtMs = *sentAt;

    v = member(j, "pending");
    const auto pending = v ? readInt64(*v) : std::nullopt;
    if (!pending || *pending < 0) return malformed("pending: missing or not a non-negative integer");
    b.pending = *pending;

    v = member(j, "app_version");
    if (!v || !v->is_string() || v->get_ref<const std::string&>().size() > kMaxAppVersion)
        return malformed("app_version: missing or not a string of at most 64 characters");
    b.appVersion = v->get<std::string>();

    v = member(j, "clock_offset_ms");
    if (v && !v->is_null()) {
        const auto offset = readInt64(*v);
        if (!offset) return malformed("clock_offset_ms: not an integer");
        b.clockOffsetMs = *offset;
    }

    v = member(j, "applied_survey_id");
    if (v && !v->is_null()) {
        if (!v->is_string()) return malformed("applied_survey_id: not a string");
        b.appliedSurveyId = v->get<std::string>();
    }
    v = member(j, "applied_survey_version");
    if (v && !v->is_null()) {
        const auto version = readInt64(*v);
        if (!version || *version < 0 || *version > std::numeric_limits<int>::max())
            return malformed("applied_survey_version: not a non-negative integer");
        b.appliedSurveyVersion = static_cast<int>(*version);
    }
    v = member(j, "config_error");
    if (v && !v->is_null()) {
        if (!v->is_string()) return malformed("config_error: not a string");
        b.configError = v->get<std::string>();
    }

    v = member(j, "responses");
    if (!v || !v->is_array()) return malformed("responses: missing or not an array");
    if (v->size() > kMaxRecords)
        return std::unexpected(DecodeFailure{
            DecodeError::TooLarge, "a batch may carry at most " + std::to_string(kMaxRecords) +
                                       " responses, this one has " + std::to_string(v->size())});

    b.responses.reserve(v->size());
    for (const json& record : *v) {
        std::string error;
        auto r = core::fromJson(record, &error);
        if (r) {
            if (auto why = core::validate(*r)) error = std::move(*why);
        }
        if (r && error.empty()) {
            if (const json* contact = member(record, "callback_contact"))
                // Not a string: kept as "" so that HQ refuses it as a bad contact.
                b.sealedContacts[r->id] = contact->is_string() ? contact->get<std::string>() : std::string();
            b.responses.push_back(std::move(*r));
            continue;
        }
        InvalidRecord bad;
        const json* id = record.is_object() ? member(record, "id") : nullptr;
        if (id && id->is_string() && id->get_ref<const std::string&>().size() <= kMaxEchoedIdLength)
            bad.rejection.id = id->get<std::string>();
        bad.rejection.reason = std::move(error);
        bad.json = record.dump();
        out.invalid.push_back(std::move(bad));
    }
    return out;
}

std::string encodeAck(const BatchAck& ack) {
    // Written straight into a string, as the tree's dump() would (keys in byte order). Ids and
    // reasons echo what the terminal sent: bytes that are not UTF-8 become U+FFFD, never a throw.
    constexpr auto kReplace = core::BadUtf8::Replace;
    std::string out;
    out.reserve(64 + 40 * (ack.accepted.size() + ack.duplicates.size()) + 96 * ack.rejected.size());
    auto ids = [&](const char* key, const std::vector<std::string>& list) {
        out += key;
        out += '[';
        for (std::size_t i = 0; i < list.size(); ++i) {
            if (i) out += ',';
            core::appendJsonString(out, list[i], kReplace);
        }
        out += ']';
    };
    ids("{\"accepted\":", ack.accepted);
    ids(",\"duplicates\":", ack.duplicates);
    if (ack.openCallbacks) out += ",\"open_callbacks\":" + std::to_string(*ack.openCallbacks);
    out += ",\"rejected\":[";
    for (std::size_t i = 0; i < ack.rejected.size(); ++i) {
        out += i ? ",{\"id\":" : "{\"id\":";
        core::appendJsonString(out, ack.rejected[i].id, kReplace);
        out += ",\"reason\":";
        core::appendJsonString(out, ack.rejected[i].reason, kReplace);
        out += '}';
    }
    out += "],\"server_time\":";
    core::appendJsonString(out, core::formatUtc(ack.serverTimeMs));
    out += '}';
    return out;
}

std::expected<BatchAck, std::string> decodeAck(std::string_view body) {
    auto parsed = parseJson(body);
    if (!parsed) return std::unexpected("malformed JSON: " + parsed.error());
    const json& j = *parsed;
    if (!j.is_object()) return std::unexpected("the reply is not a JSON object");
    BatchAck ack;
    auto strings = [&](const char* key, std::vector<std::string>& out) -> bool {
        const json* v = member(j, key);
        if (!v || !v->is_array()) return false;
        for (const auto& s : *v) {
            if (!s.is_string()) return false;
            out.push_back(s.get<std::string>());
        }
        return true;
    };
    if (!strings("accepted", ack.accepted)) return std::unexpected("accepted: missing or not an array of strings");
    if (!strings("duplicates", ack.duplicates))
        return std::unexpected("duplicates: missing or not an array of strings");
    const json* rejected = member(j, "rejected");
    if (!rejected || !rejected->is_array()) return std::unexpected("rejected: missing or not an array");
    for (const auto& r : *rejected) {
        const json* id = r.is_object() ? member(r, "id") : nullptr;
        const json* reason = r.is_object() ? member(r, "reason") : nullptr;
        if (!id || !id->is_string() || !reason || !reason->is_string())
            return std::unexpected("rejected: entries need string id and reason");
        ack.rejected.push_back({id->get<std::string>(), reason->get<std::string>()});
    }
    const json* time = member(j, "server_time");
    if (!time || !time->is_string()) return std::unexpected("server_time: missing or not a string");
    const auto ms = core::parseUtc(time->get_ref<const std::string&>());
    if (!ms) return std::unexpected("server_time: not an RFC 3339 timestamp");
    ack.serverTimeMs = *ms;
    if (const json* open = member(j, "open_callbacks")) {
        if (!open->is_number_integer() || open->get<std::int64_t>() < 0)
            return std::unexpected("open_callbacks: not a non-negative integer");
        ack.openCallbacks = open->get<std::int64_t>();
    }
    return ack;
}

std::expected<std::string, std::string> gzip(std::string_view data, int level) {
    // libdeflate compresses a whole buffer at once: at level 6 (zlib's default) it takes half
    // zlib's time on a batch and writes a few percent fewer bytes. The output is plain gzip.
    struct Free {
        void operator()(libdeflate_compressor* c) const { libdeflate_free_compressor(c); }
    };
    const std::unique_ptr<libdeflate_compressor, Free> compressor(libdeflate_alloc_compressor(std::clamp(level, 1, 12)));
    if (!compressor) return std::unexpected("out of memory for the gzip compressor");
    std::string out(libdeflate_gzip_compress_bound(compressor.get(), data.size()), '\0');
    const std::size_t written =
        libdeflate_gzip_compress(compressor.get(), data.data(), data.size(), out.data(), out.size());
    if (written == 0) return std::unexpected("gzip compression failed");   // the bound always fits
    out.resize(written);
    return out;
}

std::expected<std::string, std::string> gunzip(std::string_view data, std::size_t maxOutput) {
    if (data.size() > std::numeric_limits<uInt>::max()) return std::unexpected("input too large for gunzip");
    z_stream zs{};
    if (inflateInit2(&zs, 15 + 16) != Z_OK) return std::unexpected("inflateInit2 failed");
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    zs.avail_in = static_cast<uInt>(data.size());
    std::string out;
    char chunk[64 * 1024];
    int rc = Z_OK;
    std::string error;
    while (rc != Z_STREAM_END) {
        zs.next_out = reinterpret_cast<Bytef*>(chunk);
        zs.avail_out = sizeof chunk;
        rc = inflate(&zs, Z_NO_FLUSH);
        if (rc != Z_OK && rc != Z_STREAM_END) {
            error = rc == Z_BUF_ERROR ? "truncated gzip stream"
                                      : std::string("corrupt gzip stream: ") + (zs.msg ? zs.msg : "?");
            break;
        }
        const std::size_t produced = sizeof chunk - zs.avail_out;
        if (out.size() + produced > maxOutput) {
            error = "inflated data exceeds " + std::to_string(maxOutput) + " bytes";
            break;
        }
        out.append(chunk, produced);
    }
    if (error.empty() && zs.avail_in != 0) error = "trailing data after the gzip stream";
    inflateEnd(&zs);
    if (!error.empty()) return std::unexpected(error);
    return out;
}

std::string csvField(std::string_view text) {
    if (text.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(text);
    std::string out = "\"";
    for (const char c : text) {
        if (c == '"') out += '"';
        out += c;
    }
    out += '"';
    return out;
}

std::string csvTextField(std::string_view text) {
    if (text.empty() || std::string_view("=+-@\t\r").find(text.front()) == std::string_view::npos)
        return csvField(text);
    return csvField("'" + std::string(text));
}

std::string csvHeader(bool receivedAt) {
    std::string h;
    for (const auto& column : core::csvColumns()) {
        if (!h.empty()) h += ',';
        h += column;
    }
    if (receivedAt) h += ",received_at";
    h += "\r\n";
    return h;
}

std::string csvRow(const core::Response& r, std::optional<std::int64_t> receivedAtMs) {
    std::string row;
    row.reserve(256);
    bool first = true;
    auto add = [&](std::string_view field) {
        if (!first) row += ',';
        first = false;
        row += csvField(field);
    };
    auto addText = [&](std::string_view field) {
        if (!first) row += ',';
        first = false;
        row += csvTextField(field);
    };
    for (const core::ResponseField& f : core::kResponseFields) {
        switch (f.type) {
        case core::FieldType::Text: addText(r.*f.text); break;
        case core::FieldType::Int: add(std::to_string(r.*f.small)); break;
        case core::FieldType::Int64: add(std::to_string(r.*f.large)); break;
        case core::FieldType::Timestamp: add(core::formatUtc(r.*f.large)); break;
        case core::FieldType::Bool: add(boolText(r.*f.flag)); break;
        case core::FieldType::Segue:
            for (const auto& s : r.segue) add(s ? std::to_string(*s) : std::string());
            break;
        case core::FieldType::Tags: {
            std::string tags;
            for (std::size_t i = 0; i < r.tags.size(); ++i) {
                if (i) tags += '|';
                tags += r.tags[i];
            }
            addText(tags);
            break;
        }
        }
    }
    if (receivedAtMs) add(core::formatUtc(*receivedAtMs));
    row += "\r\n";
    return row;
}

} // namespace segue::wire
