#include "sync/batch_reader.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <simdjson.h>

#include "core/response_fields.hpp"
#include "core/survey.hpp"
#include "core/time.hpp"
#include "core/uuid.hpp"

namespace segue::wire::detail {
namespace {

namespace dom = simdjson::dom;
using Type = dom::element_type;

enum class TopKey {
    Protocol, BatchId, DeviceId, SentAt, Pending, AppVersion, ClockOffset, Responses,
    AppliedSurveyId, AppliedSurveyVersion, ConfigError, Unknown
};
constexpr std::array<std::string_view, 11> kTopKeys = {
    "protocol",  "batch_id",          "device_id",              "sent_at",     "pending", "app_version",
    "clock_offset_ms", "responses", "applied_survey_id", "applied_survey_version", "config_error"};

/// A record's keys are core::kResponseFields' (by index); kUnknownField for any other.
constexpr std::size_t kUnknownField = core::kResponseFields.size();
/// "callback_contact": not a field of the record, kept beside it (Batch::sealedContacts).
constexpr std::size_t kContactField = kUnknownField + 1;
static_assert(kContactField < 32, "the seen-keys masks are 32 bits");
/// Every key core::fromJson requires.
constexpr std::uint32_t kRequiredRecordKeys = [] {
    std::uint32_t mask = 0;
    for (std::size_t i = 0; i < core::kResponseFields.size(); ++i)
        if (core::kResponseFields[i].required) mask |= 1u << i;
    return mask;
}();

std::size_t lookupRecordKey(std::string_view key) {
    if (key == "callback_contact") return kContactField;
    for (std::size_t i = 0; i < core::kResponseFields.size(); ++i)
        if (core::kResponseFields[i].key == key) return i;
    return kUnknownField;
}

TopKey lookupTopKey(std::string_view key) {
    for (std::size_t i = 0; i < kTopKeys.size(); ++i)
        if (kTopKeys[i] == key) return static_cast<TopKey>(i);
    return TopKey::Unknown;
}

/// False when `bit` was seen before: a repeated key, which the tree reads as its last value.
bool firstTime(std::uint32_t& seen, std::size_t bit) {
    const std::uint32_t mask = 1u << bit;
    if (seen & mask) return false;
    seen |= mask;
    return true;
}

/// An integer as nlohmann reads it (signed, or unsigned within int64); nullopt for anything else.
std::optional<std::int64_t> integer(dom::element e) {
    std::int64_t v = 0;
    if (e.type() == Type::INT64 && !e.get_int64().get(v)) return v;
    return std::nullopt;   // UINT64 past int64, DOUBLE, or not a number
}

std::optional<int> smallInteger(dom::element e) {
    const auto v = integer(e);
    if (!v || *v < std::numeric_limits<int>::min() || *v > std::numeric_limits<int>::max()) return std::nullopt;
    return static_cast<int>(*v);
}

std::optional<std::string_view> text(dom::element e) {
    std::string_view s;
    if (e.type() != Type::STRING || e.get_string().get(s)) return std::nullopt;
    return s;
}

/// An RFC 3339 timestamp in ms, as the tree path reads sent_at and created_at.
std::optional<std::int64_t> timestamp(dom::element e) {
    const auto s = text(e);
    return s ? core::parseUtc(*s) : std::nullopt;
}

std::optional<bool> boolean(dom::element e) {
    bool b = false;
    if (e.type() != Type::BOOL || e.get_bool().get(b)) return std::nullopt;
    return b;
}

/// Stores `value` in `into`; false (give up) when there is none.
template <typename T, typename U>
bool set(const std::optional<T>& value, U& into) {
    if (!value) return false;
    into = U(*value);
    return true;
}

/// simdjson's parsers, kept for reuse. A request never waits for one (HQ's 256 request threads
/// read batches at once, and a wait here was a queue the kernel's scheduler did not see): one is
/// made when none is free. A parser holds memory in proportion to the largest body it read, about
/// three times its size in the pages a batch touches, as the tree path's nlohmann tree does, and
/// for no longer than the request; up to kKept are kept, none grown past kKeptCapacity.
class ParserPool {
public:
    static constexpr std::size_t kKept = 16;
    static constexpr std::size_t kKeptCapacity = 1024 * 1024;

    std::unique_ptr<dom::parser> take() {
        {
            std::lock_guard lock(m_mutex);
            if (!m_kept.empty()) {
                auto parser = std::move(m_kept.back());
                m_kept.pop_back();
                return parser;
            }
        }
        auto parser = std::make_unique<dom::parser>(kMaxBodyBytes);
        // simdjson refuses nesting past this, as the tree path does (tested at the boundary).
        if (parser->allocate(4096, kMaxNesting)) return nullptr;
        return parser;
    }

    void give(std::unique_ptr<dom::parser> parser) {
        if (parser->capacity() > kKeptCapacity) return;
        std::lock_guard lock(m_mutex);
        if (m_kept.size() < kKept) m_kept.push_back(std::move(parser));
    }

private:
    std::mutex m_mutex;
    std::vector<std::unique_ptr<dom::parser>> m_kept;
};

ParserPool& parsers() {
    static ParserPool pool;
    return pool;
}

/// Reads one parsed body the way the tree path would, or gives up (false) at the first thing
/// it does not expect. Values under unknown keys are skipped whole (simdjson has checked them).
class Walker {
public:
    DecodedBatch out;

    bool envelope(dom::element root) {
        dom::object top;
        if (root.get_object().get(top)) return false;
        std::uint32_t seen = 0;
        std::int64_t protocol = 0;
        Batch& b = out.batch;
        b.protocol = kProtocol;
        for (const dom::key_value_pair field : top) {
            const TopKey key = lookupTopKey(field.key);
            if (key == TopKey::Unknown) continue;
            if (!firstTime(seen, static_cast<std::size_t>(key))) return false;
            const dom::element v = field.value;
            const bool isNull = v.type() == Type::NULL_VALUE;
            bool ok = true;
            switch (key) {
            case TopKey::Protocol: ok = set(integer(v), protocol); break;
            case TopKey::BatchId: ok = set(text(v), b.batchId); break;
            case TopKey::DeviceId: ok = set(text(v), b.deviceId); break;
            case TopKey::AppVersion: ok = set(text(v), b.appVersion); break;
            case TopKey::SentAt: ok = set(timestamp(v), b.sentAtMs); break;
            case TopKey::Pending: ok = set(integer(v), b.pending) && b.pending >= 0; break;
            // null: not measured, not said
            case TopKey::ClockOffset: ok = isNull || set(integer(v), b.clockOffsetMs); break;
            case TopKey::AppliedSurveyId: ok = isNull || set(text(v), b.appliedSurveyId); break;
            case TopKey::ConfigError: ok = isNull || set(text(v), b.configError); break;
            case TopKey::AppliedSurveyVersion:
                ok = isNull || (set(smallInteger(v), b.appliedSurveyVersion) && *b.appliedSurveyVersion >= 0);
                break;
            case TopKey::Responses: {
                dom::array records;
                ok = !v.get_array().get(records) && readRecords(records);
                break;
            }
            case TopKey::Unknown: break;
            }
            if (!ok) return false;
        }
        auto has = [&](TopKey k) { return (seen >> static_cast<int>(k)) & 1u; };
        return has(TopKey::Protocol) && protocol == kProtocol && has(TopKey::BatchId) && core::isUuid(b.batchId) &&
               has(TopKey::DeviceId) && !b.deviceId.empty() && b.deviceId.size() <= kMaxEchoedIdLength &&
               has(TopKey::SentAt) && has(TopKey::Pending) && has(TopKey::AppVersion) &&
               b.appVersion.size() <= kMaxAppVersion && has(TopKey::Responses);
    }

private:
    bool readRecords(dom::array records) {
        out.batch.responses.reserve(std::min<std::size_t>(records.size(), kMaxRecords));
        for (const dom::element e : records) {
            if (out.batch.responses.size() >= kMaxRecords) return false;
            dom::object record;
            if (e.get_object().get(record) || !readRecord(record)) return false;
        }
        return true;
    }

    static bool readTags(dom::element v, std::vector<std::string>& tags) {
        dom::array items;
        if (v.get_array().get(items)) return false;
        for (const dom::element tag : items) {
            if (!set(text(tag), tags.emplace_back())) return false;
        }
        return true;
    }

    static bool readSegue(dom::element v, decltype(core::Response::segue)& segue) {
        dom::object items;
        if (v.get_object().get(items)) return false;
        std::uint32_t seen = 0;
        for (const dom::key_value_pair item : items) {
            const auto index = core::segueIndex(item.key);
            if (!index || !firstTime(seen, static_cast<std::size_t>(*index))) return false;
            if (item.value.type() == Type::NULL_VALUE) continue;   // unanswered
            if (!set(smallInteger(item.value), segue[static_cast<std::size_t>(*index)])) return false;
        }
        return true;
    }

    bool readRecord(dom::object fields) {
        core::Response r;
        std::optional<std::string_view> contact;
        std::uint32_t seen = 0;
        for (const dom::key_value_pair field : fields) {
            const std::size_t key = lookupRecordKey(field.key);
            if (key == kUnknownField) continue;
            if (!firstTime(seen, key)) return false;
            const dom::element v = field.value;
            if (key == kContactField) {
                if (!(contact = text(v))) return false;
                continue;
            }
            const core::ResponseField& f = core::kResponseFields[key];
            bool ok = false;
            switch (f.type) {
            case core::FieldType::Text: ok = set(text(v), r.*f.text); break;
            case core::FieldType::Timestamp: ok = set(timestamp(v), r.*f.large); break;
            case core::FieldType::Int: ok = set(smallInteger(v), r.*f.small); break;
            case core::FieldType::Int64: ok = set(integer(v), r.*f.large); break;
            case core::FieldType::Bool: ok = set(boolean(v), r.*f.flag); break;
            case core::FieldType::Tags: ok = readTags(v, r.tags); break;
            case core::FieldType::Segue: ok = readSegue(v, r.segue); break;
            }
            if (!ok) return false;
        }
        if ((seen & kRequiredRecordKeys) != kRequiredRecordKeys) return false;
        if (core::validate(r)) return false;
        if (contact) out.batch.sealedContacts[r.id] = std::string(*contact);
        out.batch.responses.push_back(std::move(r));
        return true;
    }
};

} // namespace

std::optional<DecodedBatch> readWellFormedBatch(std::string_view body) {
    // simdjson and nlohmann part ways on some \u escapes (a lone surrogate); a terminal escapes
    // only control characters that way, so a body with one is left to the tree.
    if (body.find("\\u") != std::string_view::npos) return std::nullopt;
    ParserPool& pool = parsers();
    std::unique_ptr<dom::parser> parser = pool.take();
    if (!parser) return std::nullopt;
    std::optional<DecodedBatch> result;
    dom::element root;
    if (!parser->parse(body.data(), body.size()).get(root)) {
        Walker walker;
        if (walker.envelope(root)) result = std::move(walker.out);
    }
    pool.give(std::move(parser));
    return result;
}

} // namespace segue::wire::detail

namespace segue::wire {

std::expected<DecodedBatch, DecodeFailure> decodeBatch(std::string_view body) {
    // The common case, a batch with nothing wrong in it, without an nlohmann tree; anything else
    // takes the tree, which says what is wrong.
    if (auto fast = detail::readWellFormedBatch(body)) return std::move(*fast);
    return detail::decodeBatchWithTree(body);
}

} // namespace segue::wire
