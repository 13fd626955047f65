// Callback numbers sealed for HQ (issue 17): libsodium's crypto_box_seal with HQ's X25519
// public key. The terminal can seal but never open; only the sealed text is ever stored.
#pragma once
#include <array>
#include <expected>
#include <optional>
#include <string>
#include <string_view>

#include "store/database.hpp"

namespace segue::app {

/// HQ's public key (crypto_box_PUBLICKEYBYTES).
using ContactKey = std::array<unsigned char, 32>;

/// The key from its standard base64 (HQ's "contact_public_key"), or nullopt when it is not 32 bytes.
std::optional<ContactKey> contactKeyFromBase64(std::string_view base64);

/// `digits` sealed with `key`, as standard base64 (48 + digits bytes before encoding).
std::expected<std::string, std::string> sealContact(std::string_view digits, const ContactKey& key);

/// The key the terminal's database keeps with HQ's applied config, if any (a bad one: none).
std::expected<std::optional<ContactKey>, store::Error> storedContactKey(store::Database& db);

/// Overwrites a string's bytes before it is dropped (the typed number).
void wipe(std::string& s);

} // namespace segue::app
