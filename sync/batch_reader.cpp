#include "sync/batch_reader.hpp"

#include <array>
#include <bitset>
#include <cstdint>
#include <limits>
#include <string>

#include <nlohmann/json.hpp>

#include "core/response_fields.hpp"
#include "core/time.hpp"
#include "core/uuid.hpp"

namespace segue::wire::detail {
namespace {

using nlohmann::json;

enum class TopKey { Protocol, BatchId, DeviceId, SentAt, Pending, AppVersion, ClockOffset, Responses, Unknown };
constexpr std::array<std::string_view, 8> kTopKeys = {"protocol", "batch_id",    "device_id",       "sent_at",
                                                      "pending",  "app_version", "clock_offset_ms", "responses"};

/// A record's keys are core::kResponseFields' (by index); kUnknownField for any other.
constexpr std::size_t kUnknownField = core::kResponseFields.size();
/// "callback_contact": not a field of the record, kept beside it (Batch::sealedContacts).
constexpr std::size_t kContactField = kUnknownField + 1;
static_assert(kContactField < 32, "the seen-keys masks are 32 bits");
static_assert(core::kResponseFields.size() < 32, "the seen-keys masks are 32 bits");
/// The record keys packed together, for the lookup of every key of every record.
constexpr auto kRecordKeys = [] {
    std::array<std::string_view, core::kResponseFields.size()> keys{};
    for (std::size_t i = 0; i < keys.size(); ++i) keys[i] = core::kResponseFields[i].key;
    return keys;
}();
/// Every key core::fromJson requires.
constexpr std::uint32_t kRequiredRecordKeys = [] {
    std::uint32_t mask = 0;
    for (std::size_t i = 0; i < core::kResponseFields.size(); ++i)
        if (core::kResponseFields[i].required) mask |= 1u << i;
    return mask;
}();

std::size_t lookupRecordKey(std::string_view key) {
    for (std::size_t i = 0; i < kRecordKeys.size(); ++i)
        if (kRecordKeys[i] == key) return i;
    return kUnknownField;
}

template <typename Key, std::size_t N>
Key lookup(const std::array<std::string_view, N>& names, std::string_view key) {
    for (std::size_t i = 0; i < N; ++i)
        if (names[i] == key) return static_cast<Key>(i);
    return Key::Unknown;
}

/// Where the parser is. Containers inside unknown keys are skipped whole.
enum class Where { Start, Top, Records, Record, Segue, Tags, Done };

class Reader final : public nlohmann::json_sax<json> {
public:
    DecodedBatch out;

    bool finished() const { return m_where == Where::Done; }

    bool null() override {
        if (m_skip) return true;
        switch (m_where) {
        case Where::Top:
            if (m_top == TopKey::Unknown) return true;
            return m_top == TopKey::ClockOffset;   // null is "not measured"
        case Where::Record: return m_key == kUnknownField;
        case Where::Segue: return true;           // unanswered
        default: return false;
        }
    }

    bool boolean(bool value) override {
        if (m_skip) return true;
        if (m_where == Where::Top) return m_top == TopKey::Unknown;
        if (m_where != Where::Record) return false;
        if (m_key == kUnknownField) return true;
        if (m_key == kContactField) return false;   // not a string: the tree path decides
        const core::ResponseField& f = core::kResponseFields[m_key];
        if (f.type != core::FieldType::Bool) return false;
        m_record.*f.flag = value;
        return true;
    }

    bool number_integer(number_integer_t value) override { return integer(value); }

    bool number_unsigned(number_unsigned_t value) override {
        if (value > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
            return m_skip || unknownValue();
        return integer(static_cast<std::int64_t>(value));
    }

    bool number_float(number_float_t, const string_t&) override { return m_skip || unknownValue(); }

    bool string(string_t& value) override {
        if (m_skip) return true;
        if (m_where == Where::Top) {
            switch (m_top) {
            case TopKey::BatchId: out.batch.batchId = std::move(value); return true;
            case TopKey::DeviceId: out.batch.deviceId = std::move(value); return true;
            case TopKey::SentAt: {
                const auto ms = core::parseUtc(value);
                if (!ms) return false;
                out.batch.sentAtMs = *ms;
                return true;
            }
            case TopKey::AppVersion: out.batch.appVersion = std::move(value); return true;
            case TopKey::Unknown: return true;
            default: return false;
            }
        }
        if (m_where == Where::Tags) {
            m_record.tags.push_back(std::move(value));
            return true;
        }
        if (m_where != Where::Record) return false;
        if (m_key == kUnknownField) return true;
        if (m_key == kContactField) {
            m_contact = std::move(value);
            return true;
        }
        const core::ResponseField& f = core::kResponseFields[m_key];
        switch (f.type) {
        case core::FieldType::Text: m_record.*f.text = std::move(value); return true;
        case core::FieldType::Timestamp: {
            const auto ms = core::parseUtc(value);
            if (!ms) return false;
            m_record.*f.large = *ms;
            return true;
        }
        default: return false;
        }
    }

    bool binary(binary_t&) override { return false; }

    bool start_object(std::size_t) override {
        if (!deeper()) return false;
        if (m_skip) return skipDeeper();
        switch (m_where) {
        case Where::Start: m_where = Where::Top; return true;
        case Where::Top: return m_top == TopKey::Unknown && startSkip();
        case Where::Records:
            if (out.batch.responses.size() >= kMaxRecords) return false;
            m_record = core::Response{};
            m_contact.reset();
            m_recordKeys = 0;
            m_where = Where::Record;
            return true;
        case Where::Record:
            if (m_key == kUnknownField) return startSkip();
            if (m_key == kContactField || core::kResponseFields[m_key].type != core::FieldType::Segue) return false;
            m_segueKeys = 0;
            m_where = Where::Segue;
            return true;
        default: return false;
        }
    }

    bool key(string_t& name) override {
        if (m_skip) return true;
        switch (m_where) {
        case Where::Top: {
            m_top = lookup<TopKey>(kTopKeys, name);
            return m_top == TopKey::Unknown || firstTime(m_topKeys, static_cast<int>(m_top));
        }
        case Where::Record:
            m_key = name == "callback_contact" ? kContactField : lookupRecordKey(name);
            return m_key == kUnknownField || firstTime(m_recordKeys, static_cast<int>(m_key));
        case Where::Segue: {
            const auto index = core::segueIndex(name);
            if (!index) return false;
            m_segueItem = static_cast<std::size_t>(*index);
            return firstTime(m_segueKeys, *index);
        }
        default: return false;
        }
    }

    bool end_object() override {
        --m_depth;
        if (m_skip) return skipBack();
        switch (m_where) {
        case Where::Top: m_where = Where::Done; return envelopeComplete();
        case Where::Record: m_where = Where::Records; return recordComplete();
        case Where::Segue: m_where = Where::Record; return true;
        default: return false;
        }
    }

    bool start_array(std::size_t) override {
        if (!deeper()) return false;
        if (m_skip) return skipDeeper();
        switch (m_where) {
        case Where::Top:
            if (m_top == TopKey::Unknown) return startSkip();
            if (m_top != TopKey::Responses) return false;
            m_where = Where::Records;
            return true;
        case Where::Record:
            if (m_key == kUnknownField) return startSkip();
            if (m_key == kContactField || core::kResponseFields[m_key].type != core::FieldType::Tags) return false;
            m_where = Where::Tags;
            return true;
        default: return false;
        }
    }

    bool end_array() override {
        --m_depth;
        if (m_skip) return skipBack();
        switch (m_where) {
        case Where::Records: m_where = Where::Top; return true;
        case Where::Tags: m_where = Where::Record; return true;
        default: return false;
        }
    }

    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }

private:
    bool deeper() { return ++m_depth <= kMaxNesting; }
    bool startSkip() {
        m_skip = 1;
        return true;
    }
    bool skipDeeper() {
        ++m_skip;
        return true;
    }
    bool skipBack() {
        --m_skip;
        return true;
    }

    static bool firstTime(std::uint32_t& seen, int bit) {
        const std::uint32_t mask = 1u << bit;
        if (seen & mask) return false;   // a repeated key: the tree keeps the last, this gives up
        seen |= mask;
        return true;
    }

    /// A value this reader has no use for: fine under an unknown key, a give-up anywhere else.
    bool unknownValue() const {
        return (m_where == Where::Top && m_top == TopKey::Unknown) ||
               (m_where == Where::Record && m_key == kUnknownField);
    }

    /// The checks and conversions of core::fromJson's readInteger and wire's readInt64.
    bool integer(std::int64_t value) {
        if (m_skip) return true;
        auto asInt = [](std::int64_t v, int& out) {
            if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max()) return false;
            out = static_cast<int>(v);
            return true;
        };
        if (m_where == Where::Top) {
            switch (m_top) {
            case TopKey::Protocol: m_protocol = value; return true;
            case TopKey::Pending: out.batch.pending = value; return value >= 0;
            case TopKey::ClockOffset: out.batch.clockOffsetMs = value; return true;
            case TopKey::Unknown: return true;
            default: return false;
            }
        }
        if (m_where == Where::Segue) {
            int v = 0;
            if (!asInt(value, v)) return false;
            m_record.segue[m_segueItem] = v;
            return true;
        }
        if (m_where != Where::Record) return false;
        if (m_key == kUnknownField) return true;
        if (m_key == kContactField) return false;
        const core::ResponseField& f = core::kResponseFields[m_key];
        switch (f.type) {
        case core::FieldType::Int: return asInt(value, m_record.*f.small);
        case core::FieldType::Int64: m_record.*f.large = value; return true;
        default: return false;
        }
    }

    bool recordComplete() {
        if ((m_recordKeys & kRequiredRecordKeys) != kRequiredRecordKeys) return false;
        if (core::validate(m_record)) return false;
        if (m_contact) out.batch.sealedContacts[m_record.id] = std::move(*m_contact);
        out.batch.responses.push_back(std::move(m_record));
        return true;
    }

    /// wire::decodeBatch's envelope checks, all of which must pass.
    bool envelopeComplete() const {
        auto has = [&](TopKey k) { return (m_topKeys >> static_cast<int>(k)) & 1u; };
        const Batch& b = out.batch;
        return has(TopKey::Protocol) && m_protocol == kProtocol && has(TopKey::BatchId) && core::isUuid(b.batchId) &&
               has(TopKey::DeviceId) && !b.deviceId.empty() && b.deviceId.size() <= kMaxEchoedIdLength &&
               has(TopKey::SentAt) && has(TopKey::Pending) && has(TopKey::AppVersion) &&
               b.appVersion.size() <= kMaxAppVersion && has(TopKey::Responses);
    }

    Where m_where = Where::Start;
    int m_depth = 0;
    int m_skip = 0;   // > 0: inside a container under an unknown key, this many levels deep
    TopKey m_top = TopKey::Unknown;
    std::size_t m_key = kUnknownField;   // index into core::kResponseFields
    std::uint32_t m_topKeys = 0, m_recordKeys = 0, m_segueKeys = 0;
    std::size_t m_segueItem = 0;
    std::int64_t m_protocol = 0;
    core::Response m_record;
    std::optional<std::string> m_contact;   // the record's callback_contact, if it has one
};

} // namespace

std::optional<DecodedBatch> readWellFormedBatch(std::string_view body) {
    Reader reader;
    reader.out.batch.protocol = kProtocol;
    try {
        if (!json::sax_parse(body.begin(), body.end(), &reader) || !reader.finished()) return std::nullopt;
    } catch (const json::exception&) {
        return std::nullopt;
    }
    return std::move(reader.out);
}

} // namespace segue::wire::detail
