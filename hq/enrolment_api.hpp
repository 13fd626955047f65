// The dashboard's enrolment routes, apart from HTTP: a device added with a one-time code, a fresh
// code for a device that has not enrolled yet, its unused codes revoked. Administrators may do it
// for any store, region managers for the stores of their region; a store outside the caller's
// scope is "not found", and other roles and read tokens are forbidden. Every change is audited.
#pragma once
#include <cstdint>
#include <string>

#include "hq/auth.hpp"
#include "hq/people_api.hpp"
#include "hq/storage.hpp"

namespace segue::hq {

/// POST /api/v1/devices {"store_id","name","code_ttl_h"?,"device_id"?} → 201 {"device_id",
/// "store_id","enrolment_code","expires_at"} (the keys of `device add --enrolment-code --json`;
/// the code is shown this once). An admin may name a new store; a region manager only a store of
/// their region (else 404).
ApiResult addDeviceWithCode(Storage& storage, const Principal& by, const std::string& body,
                            const std::string& address, std::int64_t nowMs);

/// POST /api/v1/devices/{device}/enrolment-code {"code_ttl_h"?} → 201 as above; the device's
/// earlier unused codes stop working. 404 outside the scope; 409 not_pending when the device
/// enrolled already (or was added with a token) or is revoked.
ApiResult reissueEnrolmentCode(Storage& storage, const Principal& by, const std::string& deviceId,
                               const std::string& body, const std::string& address, std::int64_t nowMs);

/// DELETE /api/v1/devices/{device}/enrolment-code → 200 {"device_id","revoked": codes ended}
/// (0 when it had none unused). 404 outside the scope.
ApiResult revokeEnrolmentCode(Storage& storage, const Principal& by, const std::string& deviceId,
                              const std::string& address, std::int64_t nowMs);

} // namespace segue::hq
