#include "hq/enrolment_api.hpp"

#include <algorithm>
#include <optional>

#include "core/time.hpp"
#include "hq/api_body.hpp"
#include "hq/enrolment.hpp"

namespace segue::hq {
namespace {

using Json = nlohmann::json;

std::unexpected<ApiError> refuse(ApiError e) { return std::unexpected(std::move(e)); }

ApiError forbidden() {
    return {403, "forbidden", "only administrators and region managers (for their stores) enrol terminals", {}};
}

/// nullopt when `by` may enrol terminals in `store`; a store outside their region is not found.
std::optional<ApiError> mayEnrol(Storage& storage, const Principal& by, const std::string& store) {
    if (by.kind != Principal::Kind::Session) return forbidden();
    if (by.role == "admin") return std::nullopt;
    if (by.role != "region") return forbidden();
    auto in = storage.people().storeInScope(store, by.scope);
    if (!in) return ApiError::internal(in.error().message);
    if (!*in) return ApiError::notFound("no store " + store);
    return std::nullopt;
}

/// The code's lifetime in hours from "code_ttl_h" (kDefaultCodeTtlH when absent).
std::expected<int, ApiError> ttlOf(const Json& j) {
    const auto it = j.find("code_ttl_h");
    if (it == j.end() || it->is_null()) return kDefaultCodeTtlH;
    if (!it->is_number_integer() || it->get<std::int64_t>() < 1 || it->get<std::int64_t>() > kMaxCodeTtlH)
        return std::unexpected(ApiError::badRequest("code_ttl_h must be a whole number 1.." + std::to_string(kMaxCodeTtlH)));
    return static_cast<int>(it->get<std::int64_t>());
}

std::expected<Json, ApiError> object(const std::string& body, bool emptyIsObject) {
    return jsonObjectBody(body, emptyIsObject);
}

std::expected<std::optional<std::string>, ApiError> text(const Json& j, const char* key) { return optionalText(j, key); }

/// The device `id` when it lies in a store `by` may enrol terminals in; 404 otherwise.
std::expected<DeviceInfo, ApiError> deviceFor(Storage& storage, const Principal& by, const std::string& id) {
    if (by.kind != Principal::Kind::Session || (by.role != "admin" && by.role != "region")) return std::unexpected(forbidden());
    auto devices = storage.listDevices();
    if (!devices) return std::unexpected(ApiError::internal(devices.error().message));
    const auto found = std::find_if(devices->begin(), devices->end(), [&](const DeviceInfo& d) { return d.id == id; });
    if (found == devices->end()) return std::unexpected(ApiError::notFound("no device " + id));
    if (auto refusal = mayEnrol(storage, by, found->storeId)) {
        if (refusal->status == 404) return std::unexpected(ApiError::notFound("no device " + id));
        return std::unexpected(*refusal);
    }
    return *found;
}

/// Records a change; a change that succeeded but could not be logged reports the log's error.
std::optional<ApiError> audit(Storage& storage, const Principal& by, const std::string& address, const char* action,
                              const std::string& subject, const Json& details, std::int64_t nowMs) {
    auto r = storage.people().audit({0, nowMs, by.actor(), action, subject, address,
                                     details.dump(-1, ' ', false, Json::error_handler_t::replace)});
    if (!r) return ApiError::internal(r.error().message);
    return std::nullopt;
}

} // namespace

ApiResult addDeviceWithCode(Storage& storage, const Principal& by, const std::string& body, const std::string& address,
                            std::int64_t nowMs) {
    auto j = object(body, false);
    if (!j) return refuse(j.error());
    auto store = text(*j, "store_id");
    if (!store) return refuse(store.error());
    auto name = text(*j, "name");
    if (!name) return refuse(name.error());
    auto device = text(*j, "device_id");
    if (!device) return refuse(device.error());
    if (!*store || !*name) return refuse(ApiError::badRequest("store_id and name are required"));
    const auto ttl = ttlOf(*j);
    if (!ttl) return refuse(ttl.error());
    if (!isPlainId(**store)) return refuse(ApiError::badRequest("store_id must be 1-64 of [A-Za-z0-9._-]"));
    if (auto refusal = mayEnrol(storage, by, **store)) return refuse(*refusal);
    auto e = enrolDeviceWithCode(storage, **store, **name, *device, *ttl, nowMs);
    if (!e) return refuse(apiError(e.error()));
    Json reply = codeEnrolmentJson(*e);
    if (auto failed = audit(storage, by, address, "device_add", e->deviceId,
                            {{"store", e->storeId}, {"name", **name}, {"expires_at", reply["expires_at"]}}, nowMs))
        return refuse(*failed);
    return ApiReply{201, std::move(reply), {}};
}

ApiResult reissueEnrolmentCode(Storage& storage, const Principal& by, const std::string& deviceId, const std::string& body,
                               const std::string& address, std::int64_t nowMs) {
    auto j = object(body, true);
    if (!j) return refuse(j.error());
    const auto ttl = ttlOf(*j);
    if (!ttl) return refuse(ttl.error());
    auto device = deviceFor(storage, by, deviceId);
    if (!device) return refuse(device.error());
    auto issued = reissueCode(storage, deviceId, device->storeId, *ttl, nowMs);
    if (!issued) return refuse(apiError(issued.error()));
    switch (issued->first) {
    case CodeReissue::Issued: break;
    case CodeReissue::NoDevice: return refuse(ApiError::notFound("no device " + deviceId));
    case CodeReissue::Enrolled:
        return refuse({409, "not_pending", "device " + deviceId + " has enrolled already: revoke it and add a new one", {}});
    case CodeReissue::Revoked: return refuse({409, "not_pending", "device " + deviceId + " is revoked", {}});
    }
    Json reply = codeEnrolmentJson(issued->second);
    if (auto failed = audit(storage, by, address, "enrolment_code_add", deviceId, {{"expires_at", reply["expires_at"]}}, nowMs))
        return refuse(*failed);
    return ApiReply{201, std::move(reply), {}};
}

ApiResult revokeEnrolmentCode(Storage& storage, const Principal& by, const std::string& deviceId,
                              const std::string& address, std::int64_t nowMs) {
    auto device = deviceFor(storage, by, deviceId);
    if (!device) return refuse(device.error());
    auto ended = storage.revokeEnrolmentCodes(deviceId, nowMs);
    if (!ended) return refuse(apiError(ended.error()));
    if (auto failed = audit(storage, by, address, "enrolment_code_revoke", deviceId, {{"revoked", *ended}}, nowMs))
        return refuse(*failed);
    return ApiReply{200, {{"device_id", deviceId}, {"revoked", *ended}}, {}};
}

} // namespace segue::hq
