// CaseStorage written once as SQL over an SqlEngine (SQLite or PostgreSQL); its tables are
// migration 11 of each engine. Cases are opened by the ingest transaction (openCases below).
#pragma once
#include <map>
#include <string>
#include <vector>

#include "hq/cases.hpp"
#include "hq/sql_connection.hpp"

namespace segue::hq {

class SqlCases final : public CaseStorage {
public:
    explicit SqlCases(SqlEngine& engine);

    Result<std::vector<Case>> listCases(const CaseFilter& filter) override;
    Result<std::optional<Case>> caseById(std::int64_t id) override;
    Result<std::vector<CaseEvent>> caseEvents(std::int64_t id) override;
    Result<std::optional<std::string>> sealedContact(std::int64_t id) override;
    Result<bool> moveCase(std::int64_t id, const CaseEvent& event) override;
    Result<std::int64_t> openCases(const std::string& storeId) override;
    Result<std::int64_t> eraseContacts(std::int64_t closedBeforeMs, std::int64_t nowMs) override;
    Result<std::map<std::string, std::int64_t>> rootCauses(const CaseFilter& filter, std::int64_t fromMs,
                                                           std::int64_t toMs) override;

private:
    template <typename OnRow>
    Result<void> rows(const std::string& what, const std::string& sql, SqlParams params, OnRow&& onRow);

    SqlEngine& m_engine;
};

/// Opens a case for each accepted record of a batch that asked for a callback, inside the batch's
/// transaction: ON CONFLICT (response_id) DO NOTHING, so a response never has two cases.
/// `contacts` maps record id → sealed contact (standard base64); `slaMs` is the time to due.
SqlResult<void> insertCases(SqlConnection& c, const std::vector<const core::Response*>& accepted,
                            const std::map<std::string, std::string>& contacts, std::int64_t slaMs);

} // namespace segue::hq
