#include "hq/contact_key.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <vector>

#include <sodium.h>

namespace segue::hq {
namespace {

/// Creates `path` with `mode` (never over an existing file) and writes `text`.
std::expected<void, std::string> writeNew(const std::filesystem::path& path, const std::string& text, mode_t mode) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) return std::unexpected("cannot create " + path.string() + ": " + std::strerror(errno));
    // The umask may have taken bits away from `mode`; the public file must stay readable.
    const bool ok = ::fchmod(fd, mode) == 0 &&
                    ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
    const int err = errno;
    ::close(fd);
    if (!ok) return std::unexpected("cannot write " + path.string() + ": " + std::strerror(err));
    return {};
}

} // namespace

std::string toBase64(std::string_view bytes) {
    std::string out(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
    sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                      sodium_base64_VARIANT_ORIGINAL);
    out.resize(std::strlen(out.c_str()));
    return out;
}

std::optional<std::string> fromBase64(std::string_view text) {
    std::string out(text.size(), '\0');
    std::size_t len = 0;
    const char* end = nullptr;
    if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(), text.size(), nullptr,
                          &len, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
        end != text.data() + text.size())
        return std::nullopt;
    out.resize(len);
    return out;
}

std::string ContactKey::publicBase64() const {
    return toBase64(std::string_view(reinterpret_cast<const char*>(publicKey.data()), publicKey.size()));
}

std::expected<ContactKey, std::string> writeContactKeys(const std::filesystem::path& dir) {
    if (sodium_init() < 0) return std::unexpected("libsodium could not be initialised");
    const auto secretFile = dir / "contact.key", publicFile = dir / "contact.pub";
    std::error_code ec;
    for (const auto& f : {secretFile, publicFile})
        if (std::filesystem::exists(f, ec)) return std::unexpected(f.string() + " exists already; not overwritten");
    ContactKey key;
    crypto_box_keypair(key.publicKey.data(), key.secret.data());
    const std::string secret =
        toBase64(std::string_view(reinterpret_cast<const char*>(key.secret.data()), key.secret.size())) + "\n";
    if (auto w = writeNew(secretFile, secret, 0600); !w) return std::unexpected(w.error());
    if (auto w = writeNew(publicFile, key.publicBase64() + "\n", 0644); !w) {
        std::filesystem::remove(secretFile, ec);
        return std::unexpected(w.error());
    }
    return key;
}

std::expected<ContactKey, std::string> loadContactKey(const std::filesystem::path& file) {
    if (sodium_init() < 0) return std::unexpected("libsodium could not be initialised");
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0) return std::unexpected("cannot read " + file.string() + ": " + std::strerror(errno));
    if (st.st_mode & 077)
        return std::unexpected(file.string() + " may be read by group or others (chmod 600 it)");
    std::ifstream in(file);
    std::string line;
    if (!in || !std::getline(in, line)) return std::unexpected("cannot read " + file.string());
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    const auto bytes = fromBase64(line);
    ContactKey key;
    if (!bytes || bytes->size() != key.secret.size())
        return std::unexpected(file.string() + " does not hold a contact key (32 bytes, standard base64)");
    std::copy(bytes->begin(), bytes->end(), key.secret.begin());
    sodium_memzero(line.data(), line.size());
    if (crypto_scalarmult_base(key.publicKey.data(), key.secret.data()) != 0)
        return std::unexpected(file.string() + " does not hold a usable contact key");
    return key;
}

bool sealedContactLengthOk(std::size_t bytes) {
    return bytes >= kSealOverhead + kMinContactDigits && bytes <= kSealOverhead + kMaxContactDigits;
}

std::optional<std::string> openContact(const ContactKey& key, std::string_view sealed) {
    if (!sealedContactLengthOk(sealed.size())) return std::nullopt;
    std::string digits(sealed.size() - crypto_box_SEALBYTES, '\0');
    if (crypto_box_seal_open(reinterpret_cast<unsigned char*>(digits.data()),
                             reinterpret_cast<const unsigned char*>(sealed.data()), sealed.size(),
                             key.publicKey.data(), key.secret.data()) != 0)
        return std::nullopt;
    if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) return std::nullopt;
    return digits;
}

} // namespace segue::hq
