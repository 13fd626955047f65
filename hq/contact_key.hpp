// HQ's contact key pair: terminals seal a customer's phone number with the public key
// (crypto_box_seal, X25519); only segue-hq, given the secret key file, opens it. The secret key
// lives in a file, never in the database, so a database dump alone reveals no number.
#pragma once
#include <array>
#include <cstddef>
#include <expected>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace segue::hq {

/// A sealed contact is 48 bytes (ephemeral key + MAC) plus the digits.
inline constexpr std::size_t kSealOverhead = 48;
inline constexpr std::size_t kMinContactDigits = 6;
inline constexpr std::size_t kMaxContactDigits = 15;

struct ContactKey {
    std::array<unsigned char, 32> secret{};
    std::array<unsigned char, 32> publicKey{};

    /// The public key as standard base64 (what terminals get as "contact_public_key").
    std::string publicBase64() const;
};

/// Writes DIR/contact.key (0600, the secret key as standard base64 + newline) and DIR/contact.pub
/// (0644, the public key likewise) from a new key pair. Refuses (and writes nothing) when either
/// file exists.
std::expected<ContactKey, std::string> writeContactKeys(const std::filesystem::path& dir);

/// Reads a secret key file and derives its public key. Refuses a file that group or others may
/// read, or that does not hold 32 bytes of standard base64.
std::expected<ContactKey, std::string> loadContactKey(const std::filesystem::path& file);

/// Standard base64 (with padding) of bytes, and back; nullopt when `text` is not that.
std::string toBase64(std::string_view bytes);
std::optional<std::string> fromBase64(std::string_view text);

/// Whether `sealed` (bytes) has the length of a sealed number of 6..15 digits.
bool sealedContactLengthOk(std::size_t bytes);

/// Opens a sealed contact: the digits, or nullopt when it does not open with this key or what it
/// holds is not 6..15 ASCII digits.
std::optional<std::string> openContact(const ContactKey& key, std::string_view sealed);

} // namespace segue::hq
