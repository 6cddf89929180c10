// SPDX-License-Identifier: MIT
// What runtime/tls_context.cpp (contexts, certificates, randomness) shares
// with runtime/tls.cpp (the stream and the listener); private to runtime/,
// the only place OpenSSL is included. On sim, every OpenSSL call a stream
// makes runs inside an entropy_scope naming the stream's own generator
// (seeded by one recorded draw), so the bytes of a handshake depend only on
// the seed; elsewhere the scope names none and OpenSSL's DRBG serves.
#pragma once
#include <anyio/tls.hpp>

#include <openssl/ssl.h>

#include <cstdint>
#include <string>

namespace anyio {

struct tls_context::impl {
  SSL_CTX* ctx = nullptr;
  bool server = false;
  bool verify = true;
  std::string alpn_wire{};  // the server's ALPN list, in wire format
  impl() = default;
  impl(const impl&) = delete;
  impl& operator=(const impl&) = delete;
  ~impl() { SSL_CTX_free(ctx); }
};

namespace detail {

/// A per-connection generator for OpenSSL on sim (splitmix64: fast and
/// seedable; sim keys are meant to be predictable from the seed, so
/// cryptographic strength is not the point).
class tls_entropy {
 public:
  explicit tls_entropy(std::uint64_t seed) noexcept : state_(seed) {}
  void fill(unsigned char* out, std::size_t n) noexcept;

 private:
  std::uint64_t state_;
};

/// While alive, OpenSSL's randomness on this thread comes from `source`
/// (null: OpenSSL's own DRBG). Installs the dispatching RAND_METHOD once.
class entropy_scope {
 public:
  explicit entropy_scope(tls_entropy* source) noexcept;
  ~entropy_scope();
  entropy_scope(const entropy_scope&) = delete;
  entropy_scope& operator=(const entropy_scope&) = delete;

 private:
  tls_entropy* previous_;
};

/// Installs the dispatching RAND_METHOD (idempotent, thread-safe).
void install_tls_entropy();

/// OpenSSL's error queue as text (emptied); sets `unexpected_eof` if one of
/// the errors is a transport that ended without close_notify.
std::string take_openssl_errors(bool* unexpected_eof = nullptr);

}  // namespace detail
}  // namespace anyio
