// Turns one batch body from an authenticated device into stored rows and the reply: envelope
// checks, per-record refusals (invalid, wrong store, wrong device), dedup through Storage.
#pragma once
#include <expected>
#include <string_view>

#include "core/time.hpp"
#include "hq/api_error.hpp"
#include "hq/storage.hpp"
#include "sync/wire.hpp"

namespace segue::hq {

/// Reasons HQ gives for records it refuses on its own account (others come from core::validate).
inline constexpr const char* kReasonConflict = "conflict";
inline constexpr const char* kReasonWrongStore = "wrong store";
inline constexpr const char* kReasonWrongDevice = "wrong device";

class Ingest {
public:
    Ingest(Storage& storage, const core::Clock& clock) : m_storage(storage), m_clock(clock) {}

    /// The 200 reply for `body`, or the whole-request error (400, 409, 413, 500).
    std::expected<wire::BatchAck, ApiError> handle(const DeviceAuth& device, std::string_view body);

private:
    Storage& m_storage;
    const core::Clock& m_clock;
};

} // namespace segue::hq
