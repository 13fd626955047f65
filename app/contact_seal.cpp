#include "app/contact_seal.hpp"

#include <tuple>
#include <vector>

#include <sodium.h>

#include "store/config_store.hpp"

namespace segue::app {

std::optional<ContactKey> contactKeyFromBase64(std::string_view base64) {
    if (sodium_init() < 0) return std::nullopt;
    ContactKey key{};
    std::size_t length = 0;
    if (sodium_base642bin(key.data(), key.size(), base64.data(), base64.size(), nullptr, &length, nullptr,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        length != key.size())
        return std::nullopt;
    return key;
}

std::expected<std::string, std::string> sealContact(std::string_view digits, const ContactKey& key) {
    static_assert(crypto_box_PUBLICKEYBYTES == std::tuple_size_v<ContactKey>);
    if (sodium_init() < 0) return std::unexpected("libsodium failed to initialise");
    std::vector<unsigned char> sealed(crypto_box_SEALBYTES + digits.size());
    if (crypto_box_seal(sealed.data(), reinterpret_cast<const unsigned char*>(digits.data()), digits.size(),
                        key.data()) != 0)
        return std::unexpected("crypto_box_seal refused HQ's public key");
    std::string out(sodium_base64_ENCODED_LEN(sealed.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
    sodium_bin2base64(out.data(), out.size(), sealed.data(), sealed.size(), sodium_base64_VARIANT_ORIGINAL);
    out.resize(out.size() - 1);   // the terminating NUL
    return out;
}

std::expected<std::optional<ContactKey>, store::Error> storedContactKey(store::Database& db) {
    auto state = store::loadSurveyConfig(db);
    if (!state) return std::unexpected(std::move(state.error()));
    if (!state->contactPublicKey) return std::optional<ContactKey>();
    return contactKeyFromBase64(*state->contactPublicKey);
}

void wipe(std::string& s) {
    if (!s.empty()) sodium_memzero(s.data(), s.size());
    s.clear();
}

} // namespace segue::app
