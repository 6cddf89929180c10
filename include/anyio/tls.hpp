// SPDX-License-Identifier: MIT
// TLS over any byte stream (anyio.streams.tls, trio's SSLStream), with
// OpenSSL 3 driven through memory BIOs in runtime/tls.cpp, so it runs over a
// real socket, a simulated one or an in-memory pair alike. OpenSSL never
// appears in this header: a tls_context is a handle to a configured
// SSL_CTX. Verification of the peer's certificate and host name is on by
// default; a refused certificate is a tls_error that says why (self-signed,
// expired, wrong host). On sim, OpenSSL's randomness comes from the run's
// seeded generator and certificate times are checked against the
// simulation's wall clock, so a TLS run replays bit for bit. TLS has no
// half-close (trio's SSLStream is not half-closeable): send_eof() is a
// usage_error. docs/tls.md is the guide.
#pragma once
#include <anyio/streams.hpp>

#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
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
                                                tls_context context, tls_wrap_options options);
  /// wrap() with default options (a server, or a client that does not
  /// verify). An overload, not a default argument: g++ 12 destroys a
  /// default aggregate argument twice inside a co_await expression.
  static task<std::unique_ptr<tls_stream>> wrap(std::unique_ptr<byte_stream> transport,
                                                tls_context context) {
    return wrap(std::move(transport), std::move(context), tls_wrap_options{});
  }
  ~tls_stream() override;
  /// Run the handshake now if it has not run yet (a stream accepted by
  /// tls_listener handshakes on first use). Checkpoint: yes.
  /// Throws: tls_error, broken_resource_error, cancelled.
  task<> do_handshake();
  /// Send close_notify, wait for the peer's, then return the transport for
  /// plain use (STARTTLS in reverse). Bytes the peer sent after its
  /// close_notify and that arrived with it are lost. Checkpoint: yes.
  /// Throws: broken_resource_error, closed_resource_error, cancelled.
  task<std::unique_ptr<byte_stream>> unwrap();
  /// A stream whose handshake runs on first use (tls_listener's accept).
  static std::unique_ptr<tls_stream> wrap_lazily(std::unique_ptr<byte_stream> transport,
                                                 tls_context context,
                                                 tls_wrap_options options = {});

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
/// TLSListener). accept() returns a tls_stream whose handshake runs on first
/// use (trio's SSLListener), so a slow client never holds up the next
/// accept. serve() runs each handshake in the connection's own task; a
/// failed handshake goes to the handshake error handler (default: one line
/// on stderr) and neither reaches the handler nor stops serve().
class tls_listener final : public listener<byte_stream> {
 public:
  /// `inner`: any `listener<S>` of byte streams (a socket_listener, ...).
  template <class Listener>
  tls_listener(std::unique_ptr<Listener> inner, tls_context context,
               bool standard_compatible = true);

  /// Like listener::serve, with each connection's handshake done before
  /// `handler` runs (hides listener::serve: call it on a tls_listener).
  task<> serve(handler_type handler, task_group* group = nullptr);
  /// Called with each failed handshake's exception (tls_error,
  /// broken_resource_error, end_of_stream) instead of the stderr line.
  void set_handshake_error_handler(std::function<void(const std::exception&)> handler) {
    on_handshake_error_ = std::move(handler);
  }

 protected:
  task<std::unique_ptr<byte_stream>> do_accept() override;
  task<> do_aclose() override;
  std::any find_attribute(const void* key) const override;

 private:
  template <class Stream>
  static task<std::unique_ptr<byte_stream>> accept_from(std::shared_ptr<listener<Stream>> l) {
    co_return co_await l->accept();
  }
  template <class Stream> static task<> close(std::shared_ptr<listener<Stream>> l) {
    co_await l->aclose();
  }
  static task<> handshake_then(std::function<void(const std::exception&)> on_error,
                               handler_type handler, std::unique_ptr<byte_stream> stream);

  std::function<task<std::unique_ptr<byte_stream>>()> accept_inner_;
  std::function<task<>()> close_inner_;
  std::function<std::any(const void*)> find_inner_;
  tls_context context_;
  bool standard_compatible_;
  std::function<void(const std::exception&)> on_handshake_error_{};
};

template <class Listener>
tls_listener::tls_listener(std::unique_ptr<Listener> inner, tls_context context,
                           bool standard_compatible)
    : context_(std::move(context)), standard_compatible_(standard_compatible) {
  using Stream = typename Listener::stream_type;
  static_assert(std::is_base_of_v<listener<Stream>, Listener>, "tls_listener wraps a listener");
  static_assert(std::is_base_of_v<byte_stream, Stream>, "tls_listener wraps byte streams");
  std::shared_ptr<listener<Stream>> l(std::move(inner));
  accept_inner_ = [l] { return accept_from(l); };
  close_inner_ = [l] { return close(l); };
  find_inner_ = [l](const void* key) { return l->lookup_attribute(key); };
}

}  // namespace anyio
