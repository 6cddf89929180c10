// SPDX-License-Identifier: MIT
// TLS over any byte stream (anyio.streams.tls, trio's SSLStream), with
// OpenSSL 3 driven through memory BIOs in runtime/tls.cpp, so it runs over a
// real socket, a simulated one or an in-memory pair alike. OpenSSL never
// appears in this header: a tls_context is a handle to a configured
// SSL_CTX. Verification of the peer's certificate and host name is on by
// default; a refused certificate is a tls_error that says why (self-signed,
// expired, wrong host). On sim, OpenSSL's randomness comes from the run's
// seeded generator and certificate times are checked against the
// simulation's wall clock, so a TLS run replays bit for bit.
#pragma once
#include <anyio/streams.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace anyio {

/// A TLS handshake or record-layer failure; what() says what failed and,
/// for a refused certificate, why.
class tls_error : public broken_resource_error {
 public:
  using broken_resource_error::broken_resource_error;
};

/// anyio's TLSAttribute.
namespace tls_attribute {
inline constexpr typed_attribute<std::optional<std::string>> alpn_protocol{
    "tls_attribute::alpn_protocol"};
inline constexpr typed_attribute<std::string> cipher{"tls_attribute::cipher"};
/// The peer's certificate, DER-encoded; nullopt if it sent none.
inline constexpr typed_attribute<std::optional<std::string>> peer_certificate{
    "tls_attribute::peer_certificate"};
inline constexpr typed_attribute<std::string> tls_version{"tls_attribute::tls_version"};
inline constexpr typed_attribute<bool> server_side{"tls_attribute::server_side"};
inline constexpr typed_attribute<bool> standard_compatible{"tls_attribute::standard_compatible"};
}  // namespace tls_attribute

struct tls_client_options {
  /// Trusted CA certificates (PEM). Empty: the system's default store.
  std::string ca_pem{};
  bool verify = true;  ///< verify the peer's certificate and host name
  std::vector<std::string> alpn{};
  /// Client certificate and key (PEM), for mutual TLS.
  std::string cert_pem{};
  std::string key_pem{};
};

struct tls_server_options {
  std::string cert_pem{};  ///< certificate chain (PEM), leaf first
  std::string key_pem{};
  std::vector<std::string> alpn{};
  /// Require and verify a client certificate signed by one of these (PEM).
  std::string client_ca_pem{};
};

/// A configured TLS context (a shared handle; cheap to copy). Throws
/// tls_error if a certificate or key does not parse or does not match.
class tls_context {
 public:
  static tls_context client(const tls_client_options& options = {});
  static tls_context server(const tls_server_options& options);
  bool is_server() const noexcept;

  struct impl;
  const std::shared_ptr<impl>& get() const noexcept { return impl_; }

 private:
  explicit tls_context(std::shared_ptr<impl> p) noexcept : impl_(std::move(p)) {}
  std::shared_ptr<impl> impl_;
};

struct tls_wrap_options {
  std::string hostname{};  ///< client: SNI and the name verified
  /// Send and expect close_notify on close (anyio's standard_compatible).
  /// When false, end of the transport is taken as end of stream.
  bool standard_compatible = true;
};

/// A TLS stream over another byte stream. After a cancelled send or a
/// failed operation it is broken: every later call raises broken_resource_error.
class tls_stream final : public byte_stream {
 public:
  /// Wrap `transport` and run the handshake. Throws tls_error (the
  /// certificate was refused, the handshake failed), cancelled.
  static task<std::unique_ptr<tls_stream>> wrap(std::unique_ptr<byte_stream> transport,
                                                tls_context context,
                                                tls_wrap_options options = {});
  ~tls_stream() override;
  /// Send close_notify (and wait for the peer's), then return the transport.
  task<std::unique_ptr<byte_stream>> unwrap();

  struct state;

 protected:
  task<std::size_t> do_receive(std::span<std::byte> buffer) override;
  task<> do_send(std::span<const std::byte> data) override;
  task<> do_send_eof() override;
  task<> do_aclose() override;
  std::any find_attribute(const void* key) const override;

 private:
  explicit tls_stream(std::unique_ptr<state> s) noexcept;
  std::unique_ptr<state> s_;
};

/// Wraps every accepted connection of a listener in TLS (anyio's
/// TLSListener). A failed handshake is logged and does not stop serve().
class tls_listener final : public listener<byte_stream> {
 public:
  template <class Stream>
  tls_listener(std::unique_ptr<listener<Stream>> inner, tls_context context,
               bool standard_compatible = true);

 protected:
  task<std::unique_ptr<byte_stream>> do_accept() override;
  task<> do_aclose() override;
  std::any find_attribute(const void* key) const override;

 private:
  std::function<task<std::unique_ptr<byte_stream>>()> accept_inner_;
  std::function<task<>()> close_inner_;
  std::function<std::any(const void*)> find_inner_;
  tls_context context_;
  bool standard_compatible_;
};

}  // namespace anyio
