// SPDX-License-Identifier: MIT
// Certificates for the tls_* conformance tests, made by the tests with the
// OpenSSL API (never checked in): a test CA, a server certificate for
// "localhost" and 127.0.0.1, an expired one, one for the wrong host, a
// self-signed one, a short-lived one and a client certificate. Their dates
// are relative to the day of anyio::wall_clock_now() — today on realio, the
// simulated wall clock's start on sim — and their keys and signatures come
// from a fixed seed, so on sim they are the same bytes on every machine,
// compiler and day. Also the helpers the tests share: a handshake over an
// in-memory pair, a recording transport and a memory listener.
#pragma once
#include <anyio/testing/catch.hpp>
#include <anyio/tls.hpp>

#include "runtime/tls_internal.hpp"
#include "tests/conformance/sync_test_support.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>

namespace tls_test {

struct key_pair {
  std::string cert_pem;
  std::string key_pem;
};

struct test_certs {
  std::string ca_pem;        ///< the test CA
  std::string other_ca_pem;  ///< a CA that signed nothing here
  key_pair server;           ///< "localhost", 127.0.0.1; valid a year around the day
  key_pair expired;          ///< "localhost", ended the day before
  key_pair wrong_host;       ///< "example.com" only
  key_pair self_signed;      ///< "localhost", signed by its own key
  key_pair short_lived;      ///< "localhost", ends one hour into the day
  key_pair client;           ///< a client certificate from the test CA
};

namespace detail {

inline void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("tls_test_certs: ") + what + " failed");
}

struct pkey_free {
  void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};
struct x509_free {
  void operator()(X509* x) const noexcept { X509_free(x); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;
using x509_ptr = std::unique_ptr<X509, x509_free>;

inline std::string to_pem(X509* x) {
  BIO* b = BIO_new(BIO_s_mem());
  check(PEM_write_bio_X509(b, x) == 1, "PEM_write_bio_X509");
  char* data = nullptr;
  const long n = BIO_get_mem_data(b, &data);
  std::string out(data, static_cast<std::size_t>(n));
  BIO_free(b);
  return out;
}

inline std::string to_pem(EVP_PKEY* k) {
  BIO* b = BIO_new(BIO_s_mem());
  check(PEM_write_bio_PrivateKey(b, k, nullptr, nullptr, 0, nullptr, nullptr) == 1,
        "PEM_write_bio_PrivateKey");
  char* data = nullptr;
  const long n = BIO_get_mem_data(b, &data);
  std::string out(data, static_cast<std::size_t>(n));
  BIO_free(b);
  return out;
}

inline pkey_ptr new_key() {
  pkey_ptr k(EVP_EC_gen("P-256"));
  check(k != nullptr, "EVP_EC_gen");
  return k;
}

inline void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  check(ext != nullptr, "X509V3_EXT_conf_nid");
  check(X509_add_ext(cert, ext, -1) == 1, "X509_add_ext");
  X509_EXTENSION_free(ext);
}

/// A certificate for `cn` valid from `not_before` to `not_after` (Unix
/// seconds), signed by `issuer_key` (issuer null: self-signed).
inline x509_ptr make_cert(EVP_PKEY* key, const char* cn, const char* san, std::int64_t not_before,
                          std::int64_t not_after, X509* issuer, EVP_PKEY* issuer_key, bool ca,
                          long serial) {
  x509_ptr cert(X509_new());
  check(X509_set_version(cert.get(), 2) == 1, "X509_set_version");
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
  check(ASN1_TIME_set(X509_getm_notBefore(cert.get()), static_cast<time_t>(not_before)) != nullptr,
        "notBefore");
  check(ASN1_TIME_set(X509_getm_notAfter(cert.get()), static_cast<time_t>(not_after)) != nullptr,
        "notAfter");
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn),
                             -1, -1, 0);
  X509* signer = issuer != nullptr ? issuer : cert.get();
  check(X509_set_issuer_name(cert.get(), X509_get_subject_name(signer)) == 1, "issuer name");
  check(X509_set_pubkey(cert.get(), key) == 1, "X509_set_pubkey");
  add_ext(cert.get(), signer, NID_basic_constraints, ca ? "critical,CA:TRUE" : "CA:FALSE");
  if (ca) add_ext(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  if (san != nullptr) add_ext(cert.get(), signer, NID_subject_alt_name, san);
  check(X509_sign(cert.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256()) > 0,
        "X509_sign");
  return cert;
}

inline test_certs make_all(std::int64_t day_start) {
  // A fixed seed: the same day gives the same certificates, byte for byte.
  anyio::detail::install_tls_entropy();
  anyio::detail::tls_entropy seed(0x7e57'ce27'5eedULL);
  anyio::detail::entropy_scope scope(&seed);
  constexpr std::int64_t day = 86400;
  const char* localhost = "DNS:localhost,IP:127.0.0.1";
  test_certs out;
  auto ca_key = new_key();
  auto ca = make_cert(ca_key.get(), "anyio test CA", nullptr, day_start - 30 * day,
                      day_start + 3650 * day, nullptr, nullptr, true, 1);
  out.ca_pem = to_pem(ca.get());
  auto other_key = new_key();
  out.other_ca_pem =
      to_pem(make_cert(other_key.get(), "anyio other CA", nullptr, day_start - 30 * day,
                       day_start + 3650 * day, nullptr, nullptr, true, 2)
                 .get());
  auto leaf = [&](const char* cn, const char* san, std::int64_t from, std::int64_t to,
                  bool self_signed, long serial) {
    auto key = new_key();
    auto cert =
        self_signed
            ? make_cert(key.get(), cn, san, from, to, nullptr, nullptr, false, serial)
            : make_cert(key.get(), cn, san, from, to, ca.get(), ca_key.get(), false, serial);
    return key_pair{to_pem(cert.get()), to_pem(key.get())};
  };
  out.server = leaf("localhost", localhost, day_start - day, day_start + 365 * day, false, 10);
  out.expired = leaf("localhost", localhost, day_start - 30 * day, day_start - day, false, 11);
  out.wrong_host =
      leaf("example.com", "DNS:example.com", day_start - day, day_start + 365 * day, false, 12);
  out.self_signed = leaf("localhost", localhost, day_start - day, day_start + 365 * day, true, 13);
  out.short_lived = leaf("localhost", localhost, day_start - day, day_start + 3600, false, 14);
  out.client =
      leaf("anyio test client", nullptr, day_start - day, day_start + 365 * day, false, 15);
  return out;
}

}  // namespace detail

/// The certificates for the day of anyio::wall_clock_now() (call inside a run).
inline const test_certs& certs() {
  static std::mutex m;
  static std::map<std::int64_t, test_certs> by_day;
  const auto now =
      std::chrono::duration_cast<std::chrono::seconds>(anyio::wall_clock_now().time_since_epoch())
          .count();
  const std::int64_t day_start = now - now % 86400;
  std::lock_guard<std::mutex> held(m);
  auto it = by_day.find(day_start);
  if (it == by_day.end()) it = by_day.emplace(day_start, detail::make_all(day_start)).first;
  return it->second;
}

inline anyio::tls_context server_context(const key_pair& kp, std::vector<std::string> alpn = {},
                                         std::string client_ca = {}) {
  return anyio::tls_context::server({.cert_pem = kp.cert_pem,
                                     .key_pem = kp.key_pem,
                                     .alpn = std::move(alpn),
                                     .client_ca_pem = std::move(client_ca)});
}

inline anyio::tls_context client_context(std::vector<std::string> alpn = {},
                                         const key_pair* cert = nullptr) {
  return anyio::tls_context::client({.ca_pem = certs().ca_pem,
                                     .verify = true,
                                     .alpn = std::move(alpn),
                                     .cert_pem = cert ? cert->cert_pem : std::string(),
                                     .key_pem = cert ? cert->key_pem : std::string()});
}

/// The DER bytes of the first certificate in `pem`.
inline std::string der_of(const std::string& pem) {
  BIO* b = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* x = PEM_read_bio_X509(b, nullptr, nullptr, nullptr);
  BIO_free(b);
  detail::check(x != nullptr, "PEM_read_bio_X509");
  unsigned char* der = nullptr;
  const int n = i2d_X509(x, &der);
  X509_free(x);
  std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(n));
  OPENSSL_free(der);
  return out;
}

/// Both ends of a TLS connection over an in-memory byte stream pair.
struct tls_pair {
  std::unique_ptr<anyio::tls_stream> client;
  std::unique_ptr<anyio::tls_stream> server;
};

/// What each side's wrap() threw (empty: it succeeded).
struct handshake_result {
  tls_pair streams;
  std::string client_error;
  std::string server_error;
};

/// Trivially destructible on purpose: g++ 12 destroys a braced aggregate
/// temporary twice when it is created inside a co_await expression, which
/// is harmless only for such types (docs/tls.md).
struct pair_options {
  const char* hostname = "localhost";
  bool client_standard = true;
  bool server_standard = true;
  std::size_t max_buffer = 65536;
};

/// Handshake client and server concurrently over a fresh memory pair;
/// failures are caught per side (a tls_error's message is kept).
inline anyio::task<handshake_result> handshake(anyio::tls_context client_ctx,
                                               anyio::tls_context server_ctx, pair_options o = {}) {
  auto transports = anyio::create_memory_byte_stream_pair(o.max_buffer);
  handshake_result r;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      try {
        anyio::tls_wrap_options server_options{.hostname = {},
                                               .standard_compatible = o.server_standard};
        r.streams.server = co_await anyio::tls_stream::wrap(std::move(transports.second),
                                                            server_ctx, server_options);
      } catch (const anyio::broken_resource_error& e) {
        r.server_error = e.what();
      }
    });
    try {
      anyio::tls_wrap_options client_options{.hostname = o.hostname,
                                             .standard_compatible = o.client_standard};
      r.streams.client =
          co_await anyio::tls_stream::wrap(std::move(transports.first), client_ctx, client_options);
    } catch (const anyio::broken_resource_error& e) {
      r.client_error = e.what();
    }
  });
  co_return r;
}

/// A handshake that must succeed.
inline anyio::task<tls_pair> connected(anyio::tls_context client_ctx, anyio::tls_context server_ctx,
                                       pair_options o = {}) {
  auto r = co_await handshake(std::move(client_ctx), std::move(server_ctx), o);
  INFO("client: " << r.client_error << " server: " << r.server_error);
  REQUIRE(r.client_error.empty());
  REQUIRE(r.server_error.empty());
  co_return std::move(r.streams);
}

}  // namespace tls_test
