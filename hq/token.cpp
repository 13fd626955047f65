#include "hq/token.hpp"

#include <cassert>
#include <vector>

#include <sodium.h>

namespace segue::hq {
namespace {

void ensureSodium() {
    // sodium_init is idempotent and thread-safe; it fails only without a usable entropy source,
    // and then no secret can be made at all.
    [[maybe_unused]] const int rc = sodium_init();
    assert(rc >= 0);
}

std::string toHex(const unsigned char* data, std::size_t n) {
    std::string out(n * 2 + 1, '\0');
    sodium_bin2hex(out.data(), out.size(), data, n);
    out.pop_back();
    return out;
}

} // namespace

std::string generateToken() {
    ensureSodium();
    unsigned char raw[32];
    randombytes_buf(raw, sizeof raw);
    std::string out(sodium_base64_ENCODED_LEN(sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
    sodium_bin2base64(out.data(), out.size(), raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    out.resize(std::char_traits<char>::length(out.c_str()));
    sodium_memzero(raw, sizeof raw);
    return out;
}

std::string sha256Hex(std::string_view data) {
    ensureSodium();
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(data.data()), data.size());
    return toHex(digest, sizeof digest);
}

std::string hashToken(std::string_view token) { return sha256Hex(token); }

std::string randomHex(std::size_t bytes) {
    ensureSodium();
    std::vector<unsigned char> raw(bytes);
    randombytes_buf(raw.data(), raw.size());
    return toHex(raw.data(), raw.size());
}

} // namespace segue::hq
