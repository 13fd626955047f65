// Responses and their outbox rows: saving (one transaction each), export, tallies for stats.
#pragma once
#include <cstdint>
#include <expected>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/response.hpp"
#include "core/scoring.hpp"
#include "store/database.hpp"

namespace segue::store {

/// Saves a response, its tags and an outbox row ("pending") in one committed transaction.
/// Saving the same id twice is an Invalid error, never a silent overwrite.
std::expected<void, Error> saveResponse(Database& db, const core::Response& r);
/// The same with the customer's callback number sealed for HQ (standard base64 of
/// crypto_box_seal's output), kept in callback_contacts in the same transaction. A response
/// with callbackRequested needs one, and one without must have none (Invalid otherwise).
std::expected<void, Error> saveResponse(Database& db, const core::Response& r,
                                        const std::optional<std::string>& sealedContact);
/// Saves many in one transaction (demo-data, benchmarks).
std::expected<void, Error> saveResponses(Database& db, const std::vector<core::Response>& rs);
/// The same with sealed callback contacts by response id (demo-data).
std::expected<void, Error> saveResponses(Database& db, const std::vector<core::Response>& rs,
                                         const std::map<std::string, std::string>& sealedContacts);

struct DateRange {
    std::optional<std::string> from;   ///< local date inclusive, "YYYY-MM-DD"
    std::optional<std::string> to;     ///< local date inclusive
};

/// Every stored response in the range (misuse and partial included), oldest first.
/// Streams: the callback sees one record at a time; return false to stop.
std::expected<void, Error> forEachResponse(Database& db, const DateRange& range,
                                           const std::function<bool(const core::Response&)>& fn);

std::expected<std::optional<core::Response>, Error> findResponse(Database& db, const std::string& id);

/// Raw sums over the local dates in [from, to] (inclusive) — computed in SQL.
std::expected<core::Tally, Error> tally(Database& db, const std::string& from, const std::string& to);

/// One Tally per local date in [from, to] that has responses, ascending (trend charts).
std::expected<std::vector<std::pair<std::string, core::Tally>>, Error>
dailyTallies(Database& db, const std::string& from, const std::string& to);

} // namespace segue::store
