// Callback cases: a customer who rated low asked the store manager to call back. Each such
// response opens one case at ingest (store, terminal, time, stars, answers, reasons, due time);
// people move it open → contacted → resolved, or to unreachable, each move recorded with who,
// when, a note and (resolving) a root cause. The sealed number stays until the retention pass.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/response.hpp"
#include "hq/people.hpp"
#include "hq/storage.hpp"

namespace segue::hq {

/// "open" | "contacted" | "resolved" | "unreachable".
bool isCaseStatus(const std::string& s);
/// Whether a case may move from `from` to `to`: open→contacted→resolved, open|contacted→unreachable.
bool caseMoveAllowed(const std::string& from, const std::string& to);
/// resolved and unreachable are closed: no move leaves them.
bool caseClosed(const std::string& status);

/// One status change.
struct CaseEvent {
    std::int64_t atMs = 0;
    std::string actor;                       ///< the user's email
    std::string fromStatus;
    std::string toStatus;
    std::string note;
    std::optional<std::string> rootCause;    ///< when resolving
};

/// A case with what its response said.
struct Case {
    std::int64_t id = 0;
    std::string responseId;
    std::string storeId;
    std::string deviceId;
    std::int64_t createdAtMs = 0;            ///< the response's time (terminal clock)
    std::string localDate;                   ///< the response's store-local date
    std::int64_t dueAtMs = 0;                ///< createdAtMs + [cases] sla_hours
    std::string status = "open";
    std::optional<std::int64_t> firstMovedAtMs;   ///< the first move out of open
    std::optional<std::int64_t> closedAtMs;
    std::optional<std::string> rootCause;
    bool hasContact = false;                 ///< the sealed number is still kept
    std::optional<std::int64_t> contactErasedAtMs;
    std::string language;
    int stars = 0;
    std::array<std::optional<int>, core::kSegueCount> segue{};
    std::vector<std::string> tags;
};

/// What a case list keeps. Dates are store-local, inclusive, on the response's date.
struct CaseFilter {
    enum class Status { Open, Overdue, Closed, All };
    Scope scope;                             ///< the caller's
    Status status = Status::All;
    std::optional<std::string> store;
    std::optional<std::string> region;
    std::optional<std::string> from;
    std::optional<std::string> to;
    std::int64_t nowMs = 0;                  ///< what "overdue" is judged at
    int limit = 500;
};

/// A case opened at ingest (inside the batch's transaction).
struct NewCase {
    std::string responseId;
    std::string sealedContact;               ///< standard base64 of the sealed bytes
};

/// Every method is safe to call from many threads at once and never throws.
class CaseStorage {
public:
    virtual ~CaseStorage() = default;
    /// Newest first (by the response's time), at most filter.limit.
    virtual Result<std::vector<Case>> listCases(const CaseFilter& filter) = 0;
    virtual Result<std::optional<Case>> caseById(std::int64_t id) = 0;
    /// Oldest first.
    virtual Result<std::vector<CaseEvent>> caseEvents(std::int64_t id) = 0;
    /// The sealed contact (standard base64) while it is kept; nullopt once erased (or no case).
    virtual Result<std::optional<std::string>> sealedContact(std::int64_t id) = 0;
    /// Moves the case from `event.fromStatus` to `event.toStatus` and records the event, in one
    /// transaction. False (nothing changed) when the case is no longer in fromStatus: a
    /// compare-and-set, so of two concurrent moves one wins.
    virtual Result<bool> moveCase(std::int64_t id, const CaseEvent& event) = 0;
    /// Open (not yet moved) cases of a store.
    virtual Result<std::int64_t> openCases(const std::string& storeId) = 0;
    /// Erases the sealed contact of cases closed at or before `closedBeforeMs`; how many.
    virtual Result<std::int64_t> eraseContacts(std::int64_t closedBeforeMs, std::int64_t nowMs) = 0;
    /// Root causes of cases resolved in [fromMs, toMs] in the filter's scope/store/region, by cause.
    virtual Result<std::map<std::string, std::int64_t>> rootCauses(const CaseFilter& filter, std::int64_t fromMs,
                                                                   std::int64_t toMs) = 0;
};

} // namespace segue::hq
