// The terminal's GET of its configuration (GET /api/v1/terminal/config) on every sync cycle:
// with the last ETag as If-None-Match (HQ answers 304 while nothing changed), a new definition
// checked and kept in the database as pending for the screens to apply between customers, a
// refused one recorded with its reason for the next batch and `config status`.
#pragma once
#include <atomic>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "store/database.hpp"
#include "sync/transport.hpp"

namespace segue::sync {

/// Returns nullopt when the terminal can run `definition` (JSON text), else why not.
using DefinitionCheck = std::function<std::optional<std::string>(const std::string& definition)>;

struct ConfigFetchOptions {
    std::string serverUrl;
    std::string caFile;
    std::string token;
    std::shared_ptr<const std::atomic<bool>> cancel;   ///< see HttpsRequest::cancel
};

enum class ConfigFetch {
    Unchanged,   ///< 304, or the same definition as the one running or waiting
    Pending,     ///< a new definition passed the check and waits to be applied
    Refused,     ///< a new definition failed the check; last_error says why
};

/// What went wrong when HQ could not be asked or answered oddly (nothing is changed then).
struct ConfigFetchError {
    std::optional<SendFailure> send;   ///< unreachable, TLS, ...
    std::string message;
};

/// Whether `base64` is a 32-byte key in standard base64 (HQ's "contact_public_key").
bool isContactPublicKey(std::string_view base64);

/// Asks HQ once and records the outcome in `db` (store::SurveyConfigState).
std::expected<ConfigFetch, ConfigFetchError> fetchConfig(store::Database& db, const ConfigFetchOptions& options,
                                                         const DefinitionCheck& check, std::int64_t nowUtcMs);

} // namespace segue::sync
