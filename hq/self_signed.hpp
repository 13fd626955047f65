// A self-signed TLS certificate for the demo and the tests, made with OpenSSL's C API.
#pragma once
#include <expected>
#include <string>
#include <vector>

namespace segue::hq {

struct CertificatePem {
    std::string certificate;   ///< PEM "CERTIFICATE"
    std::string privateKey;    ///< PEM "PRIVATE KEY" (PKCS#8, unencrypted)
};

/// An ECDSA P-256 certificate valid for `days`, its own CA (a client trusts it with ca_file),
/// for the given DNS names and IP addresses (subjectAltName; clients check these, not the CN).
std::expected<CertificatePem, std::string> makeSelfSigned(const std::string& commonName,
                                                          const std::vector<std::string>& dnsNames,
                                                          const std::vector<std::string>& ipAddresses, int days);

} // namespace segue::hq
