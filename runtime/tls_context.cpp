// SPDX-License-Identifier: MIT
// TLS contexts (tls_context::client/server): an SSL_CTX configured from PEM
// text — trusted CAs, the certificate chain and key, ALPN, client
// certificates — with verification on by default. Also OpenSSL's source of
// randomness during a stream's calls (a RAND_METHOD that serves a sim
// stream's seeded generator and otherwise OpenSSL's own DRBG) and the error
// queue as text. Session tickets and the session cache are off: resumption
// is not offered, and a ticket's key would be random outside any stream.
#define OPENSSL_SUPPRESS_DEPRECATED  // RAND_METHOD: OpenSSL 3.0's way to supply randomness
#include "runtime/tls_internal.hpp"

#include <anyio/detail/assert.hpp>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace anyio {
namespace detail {

namespace {

thread_local tls_entropy* t_entropy = nullptr;

int entropy_bytes(unsigned char* out, int num) {
  if (num < 0) return 0;
  if (t_entropy != nullptr) {
    t_entropy->fill(out, static_cast<std::size_t>(num));
    return 1;
  }
  // Straight to OpenSSL's DRBG: RAND_bytes would come back to this method.
  EVP_RAND_CTX* drbg = RAND_get0_private(nullptr);
  if (drbg == nullptr) return 0;
  return EVP_RAND_generate(drbg, out, static_cast<std::size_t>(num), 0, 0, nullptr, 0) == 1 ? 1 : 0;
}
int entropy_seed(const void*, int) { return 1; }
int entropy_add(const void*, int, double) { return 1; }
int entropy_status() { return 1; }

const RAND_METHOD entropy_method = {entropy_seed, entropy_bytes, nullptr,
                                    entropy_add,  entropy_bytes, entropy_status};

}  // namespace

void tls_entropy::fill(unsigned char* out, std::size_t n) noexcept {
  while (n > 0) {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    const std::size_t k = n < sizeof z ? n : sizeof z;
    std::memcpy(out, &z, k);
    out += k;
    n -= k;
  }
}

void install_tls_entropy() {
  static std::once_flag once;
  std::call_once(once, [] {
    const int installed = RAND_set_rand_method(&entropy_method);
    ANYIO_ASSERT(installed == 1);
  });
}

entropy_scope::entropy_scope(tls_entropy* source) noexcept : previous_(t_entropy) {
  t_entropy = source;
}
entropy_scope::~entropy_scope() { t_entropy = previous_; }

std::string take_openssl_errors(bool* unexpected_eof) {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    if (unexpected_eof != nullptr && ERR_GET_LIB(e) == ERR_LIB_SSL &&
        ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
      *unexpected_eof = true;
    const char* reason = ERR_reason_error_string(e);
    if (!out.empty()) out += "; ";
    if (reason != nullptr) {
      out += reason;
    } else {
      char buf[256];
      ERR_error_string_n(e, buf, sizeof buf);
      out += buf;
    }
  }
  return out;
}

}  // namespace detail

namespace {

struct bio_deleter {
  void operator()(BIO* b) const noexcept { BIO_free(b); }
};
struct x509_deleter {
  void operator()(X509* x) const noexcept { X509_free(x); }
};
struct pkey_deleter {
  void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};
using x509_ptr = std::unique_ptr<X509, x509_deleter>;

[[noreturn]] void config_error(const std::string& what) {
  const std::string errors = detail::take_openssl_errors();
  throw tls_error(errors.empty() ? what : what + " (" + errors + ")");
}

std::unique_ptr<BIO, bio_deleter> pem_bio(const std::string& pem) {
  return std::unique_ptr<BIO, bio_deleter>(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

/// Every certificate in `pem`, in order; `what` names the option.
std::vector<x509_ptr> read_certificates(const std::string& pem, const std::string& what) {
  auto bio = pem_bio(pem);
  std::vector<x509_ptr> out;
  while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) out.emplace_back(x);
  ERR_clear_error();  // the read that ended the loop (no more PEM blocks)
  if (out.empty()) config_error(what + " holds no PEM certificate");
  return out;
}

void use_chain_and_key(SSL_CTX* ctx, const std::string& cert_pem, const std::string& key_pem,
                       const std::string& who) {
  if (cert_pem.empty()) config_error(who + ": cert_pem is empty (the certificate chain, PEM)");
  if (key_pem.empty()) config_error(who + ": key_pem is empty (the private key, PEM)");
  auto chain = read_certificates(cert_pem, who + ": cert_pem");
  if (SSL_CTX_use_certificate(ctx, chain.front().get()) != 1)
    config_error(who + ": the certificate in cert_pem was refused");
  for (std::size_t i = 1; i < chain.size(); ++i)
    if (SSL_CTX_add1_chain_cert(ctx, chain[i].get()) != 1)
      config_error(who + ": a chain certificate in cert_pem was refused");
  auto bio = pem_bio(key_pem);
  std::unique_ptr<EVP_PKEY, pkey_deleter> key(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) config_error(who + ": key_pem holds no PEM private key");
  if (X509_check_private_key(chain.front().get(), key.get()) != 1)
    config_error(who + ": the private key does not match the certificate");
  if (SSL_CTX_use_PrivateKey(ctx, key.get()) != 1)
    config_error(who + ": the private key in key_pem was refused");
}

void trust(SSL_CTX* ctx, const std::string& ca_pem, const std::string& what) {
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  for (auto& cert : read_certificates(ca_pem, what))
    if (X509_STORE_add_cert(store, cert.get()) != 1) config_error(what + ": a CA was refused");
}

std::string alpn_wire(const std::vector<std::string>& protocols, const std::string& who) {
  std::string wire;
  for (const auto& p : protocols) {
    if (p.empty() || p.size() > 255)
      config_error(who + ": ALPN protocol names are 1 to 255 bytes long, got \"" + p + "\"");
    wire += static_cast<char>(p.size());
    wire += p;
  }
  return wire;
}

int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                unsigned int inlen, void* arg) {
  const auto* self = static_cast<const tls_context::impl*>(arg);
  unsigned char* chosen = nullptr;
  const auto* ours = reinterpret_cast<const unsigned char*>(self->alpn_wire.data());
  if (SSL_select_next_proto(&chosen, outlen, ours, static_cast<unsigned>(self->alpn_wire.size()),
                            in, inlen) != OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_NOACK;  // no common protocol: go on without ALPN (Python's ssl)
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

std::shared_ptr<tls_context::impl> new_context(bool server, const std::string& who) {
  detail::install_tls_entropy();
  auto p = std::make_shared<tls_context::impl>();
  p->server = server;
  p->ctx = SSL_CTX_new(TLS_method());
  if (p->ctx == nullptr) config_error(who + ": SSL_CTX_new failed");
  SSL_CTX_set_min_proto_version(p->ctx, TLS1_2_VERSION);
  SSL_CTX_set_session_cache_mode(p->ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(p->ctx, SSL_OP_NO_TICKET);
  SSL_CTX_set_num_tickets(p->ctx, 0);
  return p;
}

}  // namespace

tls_context tls_context::client(const tls_client_options& options) {
  const std::string who = "tls_context::client";
  auto p = new_context(false, who);
  p->verify = options.verify;
  if (options.verify) {
    SSL_CTX_set_verify(p->ctx, SSL_VERIFY_PEER, nullptr);
    if (options.ca_pem.empty()) {
      if (SSL_CTX_set_default_verify_paths(p->ctx) != 1)
        config_error(who + ": the system's CA store could not be loaded");
    } else {
      trust(p->ctx, options.ca_pem, who + ": ca_pem");
    }
  }
  if (!options.alpn.empty()) {
    const std::string wire = alpn_wire(options.alpn, who);
    // SSL_CTX_set_alpn_protos returns 0 on success (unlike the rest of the API).
    if (SSL_CTX_set_alpn_protos(p->ctx, reinterpret_cast<const unsigned char*>(wire.data()),
                                static_cast<unsigned>(wire.size())) != 0)
      config_error(who + ": the ALPN list was refused");
  }
  if (!options.cert_pem.empty() || !options.key_pem.empty())
    use_chain_and_key(p->ctx, options.cert_pem, options.key_pem, who);
  return tls_context(std::move(p));
}

tls_context tls_context::server(const tls_server_options& options) {
  const std::string who = "tls_context::server";
  auto p = new_context(true, who);
  use_chain_and_key(p->ctx, options.cert_pem, options.key_pem, who);
  p->verify = !options.client_ca_pem.empty();
  if (p->verify) {
    trust(p->ctx, options.client_ca_pem, who + ": client_ca_pem");
    STACK_OF(X509_NAME)* names = sk_X509_NAME_new_null();
    for (auto& cert : read_certificates(options.client_ca_pem, who + ": client_ca_pem"))
      sk_X509_NAME_push(names, X509_NAME_dup(X509_get_subject_name(cert.get())));
    SSL_CTX_set_client_CA_list(p->ctx, names);
    SSL_CTX_set_verify(p->ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  if (!options.alpn.empty()) {
    p->alpn_wire = alpn_wire(options.alpn, who);
    SSL_CTX_set_alpn_select_cb(p->ctx, select_alpn, p.get());
  }
  return tls_context(std::move(p));
}

bool tls_context::is_server() const noexcept { return impl_ != nullptr && impl_->server; }

}  // namespace anyio
