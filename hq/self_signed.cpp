#include "hq/self_signed.hpp"

#include <functional>
#include <memory>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace segue::hq {
namespace {

template <auto Free>
struct Deleter {
    template <typename T>
    void operator()(T* p) const { Free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO_free_all>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION_free>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BN_free>>;

std::unexpected<std::string> sslError(const std::string& what) {
    const unsigned long code = ERR_get_error();
    char buf[256] = "unknown error";
    if (code) ERR_error_string_n(code, buf, sizeof buf);
    ERR_clear_error();
    return std::unexpected(what + ": " + buf);
}

std::expected<std::string, std::string> pem(const std::function<int(BIO*)>& write) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || write(bio.get()) != 1) return sslError("writing PEM");
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(n));
}

} // namespace

std::expected<CertificatePem, std::string> makeSelfSigned(const std::string& commonName,
                                                          const std::vector<std::string>& dnsNames,
                                                          const std::vector<std::string>& ipAddresses, int days) {
    PkeyPtr key(EVP_EC_gen("P-256"));
    if (!key) return sslError("generating an EC key");
    X509Ptr cert(X509_new());
    if (!cert) return sslError("allocating a certificate");
    if (X509_set_version(cert.get(), 2) != 1) return sslError("setting version");

    unsigned char serial[16];
    if (RAND_bytes(serial, sizeof serial) != 1) return sslError("drawing a serial number");
    serial[0] &= 0x7f;   // a positive INTEGER
    BnPtr bn(BN_bin2bn(serial, sizeof serial, nullptr));
    if (!bn || !BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get()))) return sslError("setting serial");

    // Valid from an hour ago, so a client clock slightly behind still accepts it.
    if (!X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) ||
        !X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(days) * 86'400))
        return sslError("setting validity");
    if (X509_set_pubkey(cert.get(), key.get()) != 1) return sslError("setting the public key");
    X509_NAME* name = X509_get_subject_name(cert.get());
    if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(commonName.c_str()),
                                   -1, -1, 0) != 1 ||
        X509_set_issuer_name(cert.get(), name) != 1)
        return sslError("setting the name");

    std::string san;
    for (const auto& d : dnsNames) san += (san.empty() ? "DNS:" : ",DNS:") + d;
    for (const auto& ip : ipAddresses) san += (san.empty() ? "IP:" : ",IP:") + ip;
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
    const std::pair<int, std::string> extensions[] = {
        {NID_basic_constraints, "critical,CA:TRUE"},
        {NID_key_usage, "critical,digitalSignature,keyCertSign"},
        {NID_ext_key_usage, "serverAuth"},
        {NID_subject_key_identifier, "hash"},
        {NID_authority_key_identifier, "keyid:always"},
        {NID_subject_alt_name, san},
    };
    for (const auto& [nid, value] : extensions) {
        if (value.empty()) continue;
        ExtPtr ext(X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value.c_str()));
        if (!ext || X509_add_ext(cert.get(), ext.get(), -1) != 1) return sslError("adding extension " + value);
    }
    if (X509_sign(cert.get(), key.get(), EVP_sha256()) <= 0) return sslError("signing");

    auto certPem = pem([&](BIO* b) { return PEM_write_bio_X509(b, cert.get()); });
    if (!certPem) return std::unexpected(certPem.error());
    auto keyPem = pem([&](BIO* b) { return PEM_write_bio_PrivateKey(b, key.get(), nullptr, nullptr, 0, nullptr, nullptr); });
    if (!keyPem) return std::unexpected(keyPem.error());
    return CertificatePem{std::move(*certPem), std::move(*keyPem)};
}

} // namespace segue::hq
