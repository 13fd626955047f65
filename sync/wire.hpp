// The batch wire format between terminal and HQ (JSON, optionally gzip), and the CSV row
// format both export paths share. Used by the sync worker (encode) and segue-hq (decode).
#pragma once
#include <cstddef>
#include <cstdint>
#include <expected>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/response.hpp"

namespace segue::wire {

/// The only protocol version this build speaks; any other is refused with 409.
inline constexpr int kProtocol = 1;
/// A request body (after gzip decoding) may be at most this large; larger is refused with 413.
inline constexpr std::size_t kMaxBodyBytes = 4 * 1024 * 1024;
/// A batch may carry at most this many records; more is refused with 413.
inline constexpr std::size_t kMaxRecords = 1000;
/// Longest app_version accepted (it is shown in the fleet view, not parsed).
inline constexpr std::size_t kMaxAppVersion = 64;

/// One POST /api/v1/batches body.
struct Batch {
    int protocol = kProtocol;
    std::string batchId;                          ///< UUID, made by the terminal per attempt
    std::string deviceId;
    /// Terminal wall clock (UTC) when the batch was made: during a backlog drain the next batch
    /// is made while the one before it is in flight, up to 2 s before it leaves.
    std::int64_t sentAtMs = 0;
    std::int64_t pending = 0;                     ///< responses still pending on the terminal behind this batch
    std::string appVersion;
    std::optional<std::int64_t> clockOffsetMs;    ///< terminal clock minus HQ clock, last measured
    std::vector<core::Response> responses;
    /// Sealed callback contacts (standard base64) by response id: written as the record's
    /// "callback_contact" (issue 17). Never part of core::Response, so never in an export.
    std::map<std::string, std::string> sealedContacts;
    // The terminal's configuration (optional keys: an older terminal sends none, an older HQ
    // ignores them).
    std::optional<std::string> appliedSurveyId = {};///< "applied_survey_id": the survey it runs now
    std::optional<int> appliedSurveyVersion = {};   ///< "applied_survey_version"
    std::optional<std::string> configError = {};  ///< "config_error": why it refused the last definition HQ sent

    bool operator==(const Batch&) const = default;
};

/// A record HQ did not store, and why. `id` is empty when none could be read.
struct Rejected {
    std::string id;
    std::string reason;
    bool operator==(const Rejected&) const = default;
};

/// HQ's 200 reply: every record of the batch is in exactly one list (unless its id repeats).
struct BatchAck {
    std::vector<std::string> accepted;
    std::vector<std::string> duplicates;          ///< already stored with identical content
    std::vector<Rejected> rejected;
    std::int64_t serverTimeMs = 0;
    /// Open callback requests (cases) of the sending device's store; absent from older HQs.
    std::optional<std::int64_t> openCallbacks = std::nullopt;
};

/// A record of a received batch that failed decoding or validation, with its JSON text kept
/// so HQ can store what it refused.
struct InvalidRecord {
    Rejected rejection;
    std::string json;

    bool operator==(const InvalidRecord&) const = default;
};

/// A received batch: the records that decoded and validated, and the ones that did not.
struct DecodedBatch {
    Batch batch;
    std::vector<InvalidRecord> invalid;

    bool operator==(const DecodedBatch&) const = default;
};

/// Why a whole body was refused.
enum class DecodeError {
    Malformed,   ///< not JSON, wrong types, missing keys (HTTP 400)
    Protocol,    ///< a protocol version this build does not speak (HTTP 409)
    TooLarge,    ///< more than kMaxRecords records (HTTP 413)
};

struct DecodeFailure {
    DecodeError kind = DecodeError::Malformed;
    std::string message;
};

/// The body as compact JSON: {"protocol","batch_id","device_id","sent_at","pending",
/// "app_version","clock_offset_ms"?,"applied_survey_id"?,"applied_survey_version"?,
/// "config_error"?,"responses":[core::toJson(...)]}; a record with a sealed contact in
/// batch.sealedContacts also has "callback_contact".
std::string encodeBatch(const Batch& batch);

/// Decodes a body. Envelope errors refuse the whole body; a record that fails core::fromJson or
/// core::validate becomes an InvalidRecord (reason from core) and the others still decode.
/// Unknown keys are ignored at every level. In library segue_batch_decode (sync/batch_reader.cpp).
std::expected<DecodedBatch, DecodeFailure> decodeBatch(std::string_view body);

/// {"accepted":[..],"duplicates":[..],"rejected":[{"id","reason"}],"server_time"}; decodeAck
/// also reads an optional "open_callbacks" (a non-negative integer).
std::string encodeAck(const BatchAck& ack);
/// Strict decode of a reply; the error says what was wrong.
std::expected<BatchAck, std::string> decodeAck(std::string_view body);

/// gzip (RFC 1952) of `data` at libdeflate's `level` (1 fastest .. 12 smallest; 6 as zlib's default).
std::expected<std::string, std::string> gzip(std::string_view data, int level = 6);
/// Inflates a gzip stream; fails rather than produce more than `maxOutput` bytes (gzip bombs).
std::expected<std::string, std::string> gunzip(std::string_view data, std::size_t maxOutput);

/// The CSV header line of a response export (terminal and HQ), CRLF-terminated. With
/// `receivedAt` the HQ column "received_at" is appended.
std::string csvHeader(bool receivedAt = false);
/// One CSV record (RFC 4180 quoting, CRLF-terminated). Tags are joined by '|', unanswered SEGUE
/// items are empty, booleans are "true"/"false", created_at is RFC 3339 UTC. The text cells (ids,
/// language, local date, tags: what a terminal sent) go through csvTextField; numbers, booleans
/// and timestamps, which this code formats itself, are never prefixed (a negative
/// utc_offset_min stays a number).
std::string csvRow(const core::Response& r, std::optional<std::int64_t> receivedAtMs = std::nullopt);
/// One field quoted per RFC 4180 when it holds a comma, quote, CR or LF.
std::string csvField(std::string_view text);
/// A text cell: csvField, with a ' put in front when the text begins with =, +, -, @, tab or CR
/// (OWASP's CSV injection rule), so a spreadsheet shows it as text instead of running a formula.
std::string csvTextField(std::string_view text);

} // namespace segue::wire
