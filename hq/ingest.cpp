#include "hq/ingest.hpp"

#include <algorithm>
#include <map>
#include <memory>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "hq/cases.hpp"
#include "hq/contact_key.hpp"

namespace segue::hq {

Ingest::Ingest(Storage& storage, const core::Clock& clock, std::int64_t caseSlaMs)
    : m_storage(storage), m_clock(clock), m_caseSlaMs(caseSlaMs), m_surveys(storage) {}

std::optional<std::string> Ingest::callbackContact(const core::Response& r, const wire::Batch& batch) {
    const auto it = batch.sealedContacts.find(r.id);
    if (!r.callbackRequested) return it == batch.sealedContacts.end() ? std::optional<std::string>("") : std::nullopt;
    if (it == batch.sealedContacts.end()) return std::nullopt;
    const auto bytes = fromBase64(it->second);
    if (!bytes || !sealedContactLengthOk(bytes->size())) return std::nullopt;
    return it->second;
}

const char* Ingest::refusal(const core::Response& r, const core::Survey* survey, std::int64_t nowMs,
                            std::int64_t offsetMs) {
    // The record passed core::validate without a survey (decodeBatch): only its tags are left to
    // check, and validating the whole record again cost HQ ~4% of its CPU per batch.
    if (survey)
        for (const auto& t : r.tags)
            if (std::find(survey->tags.begin(), survey->tags.end(), t) == survey->tags.end()) return kReasonUnknownTag;
    // The terminal stamped created_at on its own clock, `offsetMs` ahead of ours.
    if (r.createdAtMs - offsetMs > nowMs + kMaxAheadMs) return kReasonFutureTimestamp;
    return nullptr;
}

std::string errorBody(const ApiError& e) {
    nlohmann::json j = {{"error", e.code}, {"message", e.message}};
    if (e.field) j["field"] = *e.field;
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::expected<wire::BatchAck, ApiError> Ingest::handle(const DeviceAuth& device, std::string_view body) {
    auto decoded = wire::decodeBatch(body);
    if (!decoded) {
        switch (decoded.error().kind) {
        case wire::DecodeError::Protocol: return std::unexpected(ApiError::protocol(decoded.error().message));
        case wire::DecodeError::TooLarge: return std::unexpected(ApiError::tooLarge(decoded.error().message));
        case wire::DecodeError::Malformed: break;
        }
        return std::unexpected(ApiError::badRequest(decoded.error().message));
    }
    wire::Batch& batch = decoded->batch;
    if (batch.deviceId != device.deviceId)
        return std::unexpected(ApiError{400, "device_mismatch",
                                        "the batch names device " + batch.deviceId + " but the token belongs to " +
                                            device.deviceId,
                                        {}});

    const std::int64_t now = m_clock.now().utcMs;
    IngestRequest req;
    req.deviceId = device.deviceId;
    req.batchId = batch.batchId;
    req.receivedAtMs = now;
    req.pending = batch.pending;
    req.appVersion = batch.appVersion;
    // A terminal that does not report its offset still shows a skew: its send time against ours
    // (late by the transfer time, which is small against the minutes that matter).
    const bool plausible = batch.clockOffsetMs && *batch.clockOffsetMs >= -kMaxReportedOffsetMs &&
                           *batch.clockOffsetMs <= kMaxReportedOffsetMs;
    req.clockOffsetMs = plausible ? *batch.clockOffsetMs : batch.sentAtMs - now;
    // The future check trusts only an offset the terminal measured and reported: sent_at is
    // whatever the sender wrote (a replayed or hand-made body), not a measurement.
    const std::int64_t reportedOffset = plausible ? *batch.clockOffsetMs : 0;
    if (batch.appliedSurveyId && batch.appliedSurveyVersion) {
        std::string error = batch.configError.value_or("");
        if (error.size() > kMaxConfigErrorBytes) {   // a reason, not a payload: cut, never refused
            std::size_t n = kMaxConfigErrorBytes;
            while (n > 0 && (static_cast<unsigned char>(error[n]) & 0xC0) == 0x80) --n;
            error.resize(n);
        }
        req.survey = DeviceSurveyReport{*batch.appliedSurveyId, *batch.appliedSurveyVersion,
                                        batch.configError ? std::optional<std::string>(std::move(error)) : std::nullopt,
                                        now};
    }

    wire::BatchAck ack;
    auto refuse = [&](std::string id, std::string reason, std::string json) {
        ack.rejected.push_back({id, reason});
        req.refused.push_back({std::move(id), std::move(reason), std::move(json)});
    };
    for (auto& bad : decoded->invalid) refuse(bad.rejection.id, bad.rejection.reason, std::move(bad.json));

    std::map<std::pair<std::string, int>, std::shared_ptr<const core::Survey>> surveysNamed;
    std::unordered_map<std::string, std::size_t> firstById;
    firstById.reserve(batch.responses.size());
    req.records.reserve(batch.responses.size());
    for (auto& r : batch.responses) {
        if (r.storeId != device.storeId) {
            refuse(r.id, kReasonWrongStore, canonicalJson(r));
            continue;
        }
        if (r.deviceId != device.deviceId) {
            refuse(r.id, kReasonWrongDevice, canonicalJson(r));
            continue;
        }
        // A batch names one or two versions: each is looked up once per batch.
        const auto key = std::make_pair(r.surveyId, r.surveyVersion);
        auto known = surveysNamed.find(key);
        if (known == surveysNamed.end()) {
            auto found = m_surveys.find(r.surveyId, r.surveyVersion);
            if (!found) return std::unexpected(ApiError::internal("survey lookup: " + found.error().message));
            known = surveysNamed.emplace(key, std::move(*found)).first;
        }
        if (const char* why = refusal(r, known->second.get(), now, reportedOffset)) {
            refuse(r.id, why, canonicalJson(r));
            continue;
        }
        const auto contact = callbackContact(r, batch);
        if (!contact) {
            refuse(r.id, kReasonBadCallbackContact, canonicalJson(r));
            continue;
        }
        const auto [it, fresh] = firstById.emplace(r.id, req.records.size());
        if (fresh) {
            if (!contact->empty()) req.callbackContacts.emplace(r.id, *contact);
            req.records.push_back(std::move(r));
        } else if (!(req.records[it->second] == r)) {
            // The same id twice in one body with different content: the first decides, the second
            // is kept as a conflict. An identical repeat is answered once, with the first.
            ack.rejected.push_back({r.id, kReasonConflict});
            req.conflicts.push_back(std::move(r));
        }
    }

    req.caseSlaMs = m_caseSlaMs;
    auto outcomes = m_storage.ingest(req);
    if (!outcomes) return std::unexpected(ApiError::internal("storage failure: " + outcomes.error().message));
    for (std::size_t i = 0; i < req.records.size(); ++i) {
        const auto& id = req.records[i].id;
        switch ((*outcomes)[i]) {
        case Outcome::Accepted: ack.accepted.push_back(id); break;
        case Outcome::Duplicate: ack.duplicates.push_back(id); break;
        case Outcome::Conflict: ack.rejected.push_back({id, kReasonConflict}); break;
        }
    }
    auto open = m_storage.cases().openCases(device.storeId);
    if (!open) return std::unexpected(ApiError::internal("counting open cases: " + open.error().message));
    ack.openCallbacks = *open;
    ack.serverTimeMs = m_clock.now().utcMs;
    return ack;
}

} // namespace segue::hq
