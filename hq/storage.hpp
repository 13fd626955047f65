// HQ's storage interface: stores, enrolled devices, read tokens, received responses with
// exactly-once dedup, and the aggregates the read API serves. Two back ends implement it
// (SQLite and PostgreSQL), chosen by the --db URL; both pass the same test suite.
#pragma once
#include <cstdint>
#include <expected>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/response.hpp"
#include "core/scoring.hpp"

namespace segue::hq {

struct StorageError {
    enum class Kind {
        Config,     ///< the URL is not one this build understands
        Io,         ///< the database could not be opened, read or written
        Schema,     ///< the database has a newer schema than this build knows
        Invalid,    ///< the caller asked for something the data refuses (e.g. an id in use)
    };
    Kind kind = Kind::Io;
    std::string message;
};

template <typename T>
using Result = std::expected<T, StorageError>;

/// Who a device token belongs to.
struct DeviceAuth {
    std::string deviceId;
    std::string storeId;
    bool revoked = false;
};

/// A device to enrol; only the token's hash is kept.
struct NewDevice {
    std::string id;
    std::string storeId;
    std::string name;
    std::string tokenHash;
    std::int64_t createdAtMs = 0;
};

/// One row of the fleet view.
/// What a terminal's batch says of its configuration (newer terminals only).
struct DeviceSurveyReport {
    std::string surveyId;                  ///< the survey it runs
    int surveyVersion = 0;
    std::optional<std::string> configError;   ///< why it refused the last definition HQ sent
    std::int64_t reportedAtMs = 0;
    bool operator==(const DeviceSurveyReport&) const = default;
};

/// Longest config_error kept (a terminal's reason; cut at a character boundary).
inline constexpr std::size_t kMaxConfigErrorBytes = 1000;

struct DeviceInfo {
    std::string id;
    std::string storeId;
    std::string name;
    bool revoked = false;
    std::optional<std::int64_t> lastSeenMs;
    std::optional<std::int64_t> lastPending;      ///< backlog the terminal reported last time
    std::optional<std::string> appVersion;
    std::optional<std::int64_t> clockOffsetMs;    ///< terminal clock minus HQ clock
    std::int64_t createdAtMs = 0;
    std::int64_t rejected = 0;                    ///< refused records and conflicts it sent (kept or only counted)
    std::optional<DeviceSurveyReport> survey = {};  ///< what its batches last said of its configuration
};

/// A record refused before storage (invalid, wrong store, ...), kept with its reason.
struct RefusedRecord {
    std::string id;        ///< empty when the record had no readable id
    std::string reason;
    std::string json;      ///< the record as received
};

/// A refused or conflicting record is kept as its first kKeptRecordBytes (cut at a character
/// boundary) with its full length and the SHA-256 of all of it. Accepted records are kept whole.
inline constexpr std::size_t kKeptRecordBytes = 4096;
/// Refused and conflicting records kept per device and HQ day (UTC); past it they are counted
/// only (DeviceInfo::rejected still includes them).
inline constexpr std::int64_t kKeptRefusalsPerDay = 1000;

/// A read token as `segue-hq token list` shows it: never the token or its hash.
struct TokenInfo {
    std::int64_t id = 0;
    std::string role;
    std::int64_t createdAtMs = 0;
    std::optional<std::int64_t> lastUsedMs;   ///< to within a minute: written at most once a minute
    bool revoked = false;
};
/// How often a token's last use is written at most.
inline constexpr std::int64_t kTokenUseWriteEveryMs = 60'000;

/// One received batch, already authenticated and validated.
struct IngestRequest {
    std::string deviceId;
    std::string batchId;
    std::int64_t receivedAtMs = 0;
    std::int64_t pending = 0;
    std::string appVersion;
    std::optional<std::int64_t> clockOffsetMs;
    std::optional<DeviceSurveyReport> survey = {}; ///< the batch's applied survey and config_error, if it said
    std::vector<core::Response> records;      ///< valid, distinct ids, this device and store
    std::vector<core::Response> conflicts;    ///< known conflicting (an id repeated in the batch)
    std::vector<RefusedRecord> refused;
    /// Record id → its sealed contact (standard base64) for the records that asked for a
    /// callback: each such record, when stored now, opens a case in the same transaction.
    std::map<std::string, std::string> callbackContacts;
    std::int64_t caseSlaMs = 24LL * 3600 * 1000;   ///< a case is due this long after its response
};

enum class Outcome {
    Accepted,    ///< stored now
    Duplicate,   ///< already stored with identical content
    Conflict,    ///< the id is stored with different content; this record went to `conflicts`
};

/// A stored response and when HQ received it.
struct StoredResponse {
    core::Response response;
    std::int64_t receivedAtMs = 0;
};

/// Filters of the CSV export; dates are store-local and inclusive.
struct ExportFilter {
    std::optional<std::string> from;
    std::optional<std::string> to;
    std::optional<std::string> storeId;
    std::optional<std::string> regionId = std::nullopt;   ///< only the stores of this region (a default: older callers name three fields)
};

/// Delivery state of an alert's webhook.
enum class AlertState {
    Pending,     ///< not yet delivered; retried at nextAttemptAtMs
    Delivered,   ///< the receiver answered 2xx
    Failed,      ///< gave up after the configured number of attempts
};

/// "pending" | "delivered" | "failed".
const char* alertStateName(AlertState s);

/// An alert a rule raised. At most one exists per (rule, subject, day): the database's unique
/// key is what keeps an alert from being raised (and sent) twice, across restarts too.
struct NewAlert {
    std::string rule;                        ///< "low_satisfaction" | "low_ratings" | "silent_terminal"
    std::string subject;                     ///< the store id, or the device id for terminal rules
    std::string storeId;
    std::optional<std::string> deviceId;
    std::string day;                         ///< HQ-local "YYYY-MM-DD" the alert belongs to
    std::int64_t raisedAtMs = 0;
    std::string message;                     ///< one sentence for people (English)
    std::string details;                     ///< JSON object text: the figures behind the alert
};

/// A stored alert and its delivery state.
struct Alert : NewAlert {
    std::int64_t id = 0;
    AlertState state = AlertState::Pending;
    int attempts = 0;
    std::int64_t nextAttemptAtMs = 0;        ///< wall time of the next delivery attempt
    std::optional<std::int64_t> deliveredAtMs;
    std::string lastError;
};

/// A one-time enrolment code of a device added with `device add --enrolment-code`; only the
/// code's hash is kept.
struct NewEnrolmentCode {
    std::string codeHash;
    std::int64_t createdAtMs = 0;
    std::int64_t expiresAtMs = 0;
};

/// What issuing a fresh enrolment code for an existing device found.
enum class CodeReissue { Issued, NoDevice, Enrolled, Revoked };

/// The figures of one survey version's responses.
struct VersionTally {
    std::string surveyId;
    int version = 0;
    core::Tally tally;
};

/// One published (immutable) version of a survey definition.
struct SurveyVersion {
    std::string surveyId;
    int version = 0;
    std::string definition;      ///< the JSON text terminals are sent, "version" set to `version`
    std::int64_t publishedAtMs = 0;
};

/// Where a survey version is assigned: the whole chain, a region or a store.
enum class ScopeKind { Chain, Region, Store };

/// "chain" | "region" | "store".
const char* scopeKindName(ScopeKind k);

struct SurveyAssignment {
    ScopeKind scopeKind = ScopeKind::Chain;
    std::string scopeId;         ///< empty for the chain
    std::string surveyId;
    int version = 0;
    std::int64_t assignedAtMs = 0;
};

/// (store-local date, its Tally) per date, ascending by date.
using DayTallies = std::vector<std::pair<std::string, core::Tally>>;

class PeopleStorage;
class CaseStorage;

/// Every method is safe to call from many threads at once and never throws.
class Storage {
public:
    virtual ~Storage() = default;

    virtual int schemaVersion() = 0;

    /// Opens ahead what serving needs, so the first requests after a start do not wait for it
    /// (PostgreSQL: the whole connection pool, each with the ingest statements prepared). Returns
    /// how many connections are then open; SQLite has nothing to open and answers 0.
    virtual Result<int> warmUp() { return 0; }

    /// Enrols a device, creating its store if new. An id already in use is an Invalid error.
    virtual Result<void> addDevice(const NewDevice& device) = 0;
    virtual Result<std::vector<DeviceInfo>> listDevices() = 0;
    /// Every device with its id, store, revoked flag, last seen and enrolment time only (the
    /// rest left empty): what a store's terminal and silent counts need, without the per-device
    /// counts listDevices adds up (a chain has tens of thousands of devices).
    virtual Result<std::vector<DeviceInfo>> listDeviceActivity() = 0;
    /// False when no device has this id.
    virtual Result<bool> revokeDevice(const std::string& id) = 0;
    virtual Result<std::optional<DeviceAuth>> deviceByTokenHash(const std::string& tokenHash) = 0;

    /// Stores a token's hash; returns the token's id. A role other than "read" is Invalid.
    virtual Result<std::int64_t> addToken(const std::string& tokenHash, const std::string& role,
                                          std::int64_t createdAtMs) = 0;
    /// The role of a live (not revoked) token, or nullopt. Looked up on every call (no cache, so a
    /// revocation holds at once); notes the token's last use at most once a minute.
    virtual Result<std::optional<std::string>> tokenRole(const std::string& tokenHash) = 0;
    /// Every token, ascending by id.
    virtual Result<std::vector<TokenInfo>> listTokens() = 0;
    /// False when no token has this id.
    virtual Result<bool> revokeToken(std::int64_t id) = 0;

    /// Stores a batch in one transaction: device status, refused records, the records (insert
    /// with ON CONFLICT DO NOTHING; an id that did not insert is compared with what is stored:
    /// identical → Duplicate, different → Conflict, kept in the conflicts table).
    /// Returns one Outcome per `request.records` entry, in order.
    virtual Result<std::vector<Outcome>> ingest(const IngestRequest& request) = 0;

    virtual Result<bool> storeExists(const std::string& storeId) = 0;
    /// One Tally per store-local date in [from, to] that has responses, ascending. Read from the
    /// per-day sums the ingest transaction keeps (schema 3), not from the raw responses.
    virtual Result<DayTallies> dailyTallies(const std::string& storeId, const std::string& from,
                                            const std::string& to) = 0;
    /// dailyTallies of every store at once, by store id; a store without responses in [from, to]
    /// is absent. One query per sums table for the whole chain, not one per store.
    virtual Result<std::map<std::string, DayTallies>> dailyTalliesAll(const std::string& from,
                                                                      const std::string& to) = 0;
    /// Sum of the backlog last reported by the store's devices that are not revoked.
    virtual Result<std::int64_t> storePending(const std::string& storeId) = 0;
    /// Up to `limit` responses matching `filter` with id > `afterId`, ascending by id
    /// (UUIDv7 ids are time-ordered, so this is oldest first). Keyset paging for streaming.
    virtual Result<std::vector<StoredResponse>> exportPage(const ExportFilter& filter,
                                                           const std::string& afterId, int limit) = 0;
    /// Every store id, ascending.
    virtual Result<std::vector<std::string>> listStores() = 0;
    /// Counted (not misuse) responses of the store with 1..maxStars stars created in
    /// [fromMs, toMs] (UTC ms, terminal time).
    virtual Result<std::int64_t> countRatings(const std::string& storeId, std::int64_t fromMs, std::int64_t toMs,
                                              int maxStars) = 0;

    /// Stores a new pending alert due at once. False (and nothing stored) when an alert with the
    /// same rule, subject and day exists: the insert is ON CONFLICT DO NOTHING, never check-then-insert.
    virtual Result<bool> raiseAlert(const NewAlert& alert) = 0;
    /// Pending alerts whose next attempt is at or before `nowMs`, oldest first, at most `limit`.
    virtual Result<std::vector<Alert>> dueAlerts(std::int64_t nowMs, int limit) = 0;
    /// Claims a due alert for one delivery attempt: moves its next attempt to `leaseUntilMs` only
    /// if it is still pending and still due at `expectedNextAttemptAtMs`. True for the one caller
    /// (on any node sharing the database) whose update matched; every other gets false and skips
    /// it, so several segue-hq processes on one database send each attempt once.
    virtual Result<bool> claimAlert(std::int64_t id, std::int64_t expectedNextAttemptAtMs, std::int64_t leaseUntilMs) = 0;
    /// Records the outcome of a delivery attempt.
    virtual Result<void> updateAlert(std::int64_t id, AlertState state, int attempts, std::int64_t nextAttemptAtMs,
                                     std::optional<std::int64_t> deliveredAtMs, const std::string& lastError) = 0;
    /// The newest `limit` alerts, newest first.
    virtual Result<std::vector<Alert>> recentAlerts(int limit) = 0;

    /// Enrols a device that has no usable token yet (its token hash is of a secret nobody was
    /// shown) together with its one-time code, in one transaction.
    virtual Result<void> addDeviceWithCode(const NewDevice& device, const NewEnrolmentCode& code) = 0;
    /// Uses the code stored with hash `codeHash` (or, issued before schema 16, `legacyHash`) once:
    /// a single UPDATE that succeeds only while the code is unused and unexpired at `nowMs` (so of
    /// concurrent calls one wins), then gives its device, if not revoked, `newTokenHash`. nullopt
    /// (and nothing changed) when the code is used, expired, unknown or its device revoked.
    virtual Result<std::optional<DeviceAuth>> redeemEnrolmentCode(const std::string& codeHash,
                                                                  const std::string& legacyHash,
                                                                  const std::string& newTokenHash,
                                                                  std::int64_t nowMs) = 0;
    /// The database's secret `name`: the stored one, or `candidate` stored now when there is none
    /// (of concurrent first callers one stores it and all read that one).
    virtual Result<std::string> databaseKey(const std::string& name, const std::string& candidate, std::int64_t nowMs) = 0;
    /// Gives a device that was added with a code and has not enrolled yet (none of its codes
    /// used) the fresh code `code`, ending its other unused codes, in one transaction. A device
    /// enrolled with a token (it has no codes) or with a code already is Enrolled.
    virtual Result<CodeReissue> reissueEnrolmentCode(const std::string& deviceId, const NewEnrolmentCode& code) = 0;
    /// Ends the device's unused, unexpired codes at `nowMs`; returns how many it ended.
    virtual Result<std::int64_t> revokeEnrolmentCodes(const std::string& deviceId, std::int64_t nowMs) = 0;
    /// The counted figures of `storeId`'s responses on store-local dates [from, to], one Tally
    /// (with tags) per survey id and version answered, by id then version. Reads the raw
    /// responses (the day sums do not keep the version).
    virtual Result<std::vector<VersionTally>> versionTallies(const std::string& storeId, const std::string& from,
                                                             const std::string& to) = 0;

    /// Stores the next version of `surveyId` (one above the highest stored, and above
    /// `floorVersion`: the built-in one's) with the text `definitionAt(version)` and assigns it
    /// to the scope; returns the version.
    virtual Result<int> publishSurvey(const std::string& surveyId, int floorVersion,
                                      const std::function<std::string(int)>& definitionAt, ScopeKind scope,
                                      const std::string& scopeId, std::int64_t nowMs) = 0;
    /// Assigns a version already stored (or the built-in one) to a scope, replacing what it had.
    virtual Result<void> assignSurvey(const SurveyAssignment& assignment) = 0;
    /// Every stored version, by survey id then version.
    virtual Result<std::vector<SurveyVersion>> listSurveyVersions() = 0;
    virtual Result<std::optional<SurveyVersion>> surveyVersion(const std::string& surveyId, int version) = 0;
    /// Every assignment.
    virtual Result<std::vector<SurveyAssignment>> surveyAssignments() = 0;
    /// The region of a store, or nullopt when it has none (or HQ does not know the store).
    Result<std::optional<std::string>> storeRegion(const std::string& storeId);
    /// Users, sessions, regions, store names and regions, scoped tokens, the audit log.
    virtual PeopleStorage& people() = 0;
    /// Callback cases (hq/cases.hpp); opened by ingest().
    virtual CaseStorage& cases() = 0;

    /// Counts of the three kept tables (tests and the CLI).
    struct Counts { std::int64_t responses = 0, conflicts = 0, rejections = 0; };
    virtual Result<Counts> counts() = 0;

    // Month partitions of responses (PostgreSQL, schema 14; docs/scaling.md). SQLite keeps one
    // table: there these answer "not partitioned" and change nothing.

    /// What one pass over the month partitions did.
    struct PartitionPass {
        bool partitioned = false;            ///< responses is the partitioned table
        int created = 0;                     ///< month partitions this pass created
        std::vector<std::string> dropped;    ///< month partitions retention dropped ("responses_p202609")
        std::int64_t defaultRows = 0;        ///< rows in responses_default after the pass
    };
    /// Creates the month partitions from one month before the UTC month of `nowMs` to
    /// kPartitionMonthsAhead after it (moving any rows of those months out of the default
    /// partition) and, with `keepMonths`, drops the months more than that many whole months before
    /// it. Idempotent, and safe on several nodes at once (one runs it at a time: an advisory lock).
    virtual Result<PartitionPass> maintainPartitions(std::int64_t nowMs, std::optional<int> keepMonths) {
        (void)nowMs;
        (void)keepMonths;
        return PartitionPass{};
    }
    /// Rows in the default partition (ids of no month partition); nullopt when not partitioned.
    virtual Result<std::optional<std::int64_t>> defaultPartitionRows() { return std::optional<std::int64_t>(); }

    /// Where `segue-hq migrate` stands: rows copied from the unpartitioned table so far, of how many.
    struct MigrationStep {
        std::int64_t copied = 0;
        std::int64_t total = 0;
        bool finished = false;   ///< responses is partitioned and no unpartitioned table is left
        bool underWay = false;   ///< started and not finished: serving must wait for it
    };
    /// One step of moving an unpartitioned responses table into the partitioned layout, each in a
    /// transaction of its own, so that a kill loses at most the step in flight: the first renames
    /// it to responses_unpartitioned and creates the partitioned table (months that hold ids, from
    /// kMigrateMonthsBack before `nowMs` to kPartitionMonthsAhead after it); each next one copies up
    /// to `rows` rows in id order after the last copied (kept in responses_migration); the last
    /// drops the copied-out table. `rows` 0 changes nothing and only says where it stands.
    /// A Config error on SQLite, which has no partitioned layout.
    virtual Result<MigrationStep> migrateResponsesStep(std::int64_t nowMs, int rows) {
        (void)nowMs;
        (void)rows;
        return std::unexpected(StorageError{StorageError::Kind::Config, "only PostgreSQL has partitioned responses"});
    }

    /// Who holds the database's operation lock: every `serve` shares it; `migrate` holds it alone.
    enum class OperationLock { Serve, Migrate };
    /// Takes `kind` of the operation lock for as long as the returned handle lives (PostgreSQL: a
    /// session advisory lock, let go when the process ends, however it ends); nullptr when a holder
    /// of the other kind has it. SQLite has no such lock and always grants it.
    virtual Result<std::shared_ptr<void>> tryOperationLock(OperationLock kind) {
        (void)kind;
        return std::make_shared<int>(0);
    }
};

/// Months of partitions kept ahead of the current one (issue 18 asks for at least 2).
inline constexpr int kPartitionMonthsAhead = 3;
/// How far back `migrate` gives old rows month partitions; older ids go to the default partition.
inline constexpr int kMigrateMonthsBack = 120;

/// Opens `sqlite:PATH` or `postgresql://…` (also `postgres://…`) and migrates it to the newest
/// schema. An unknown scheme is a Config error.
Result<std::unique_ptr<Storage>> openStorage(std::string_view url);

/// The newest schema version this build knows (both back ends).
inline constexpr int kSchemaVersion = 16;

/// Classifies each record after the insert: inserted ids are Accepted, the others are compared
/// with the stored copy. Shared by the back ends so they decide the same way.
Result<std::vector<Outcome>> classifyAfterInsert(const std::vector<core::Response>& records,
                                                 const std::vector<std::string>& insertedIds,
                                                 const std::vector<core::Response>& stored);

/// The canonical JSON of a record (sorted keys, compact): what conflicts keep.
std::string canonicalJson(const core::Response& r);

} // namespace segue::hq
