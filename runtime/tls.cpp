// SPDX-License-Identifier: MIT
// tls_stream and tls_listener: OpenSSL over two memory BIOs, pumped through
// any byte_stream (trio's SSLStream, whose _retry loop this follows): call
// SSL_*, send whatever OpenSSL wrote to the outgoing BIO, and when it wants
// to read, receive from the transport into the incoming BIO, then call again.
// Rules kept from trio: one task receiving and one sending at a time (else
// busy_resource_error); the transport's two directions each have a lock, so
// a receive that must send (a handshake, a key update) and a send never mix
// their bytes; bytes taken from the outgoing BIO and not sent — a cancelled
// or failed transport send — break the stream for good; a cancelled
// transport receive consumed nothing and leaves it usable.
#include "runtime/tls_internal.hpp"

#include <anyio/detail/assert.hpp>
#include <anyio/lowlevel.hpp>
#include <anyio/sync.hpp>
#include <anyio/time.hpp>

#include "runtime/kernel.hpp"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace anyio {

namespace {

enum class tls_status : std::uint8_t { open, broken, closed };
enum class ssl_op : std::uint8_t { handshake, read, write, shutdown };

const char* op_name(ssl_op op) noexcept {
  switch (op) {
    case ssl_op::handshake:
      return "handshake";
    case ssl_op::read:
      return "receive";
    case ssl_op::write:
      return "send";
    case ssl_op::shutdown:
      return "close_notify";
  }
  return "operation";
}

/// One SSL_* call to retry until it completes.
struct ssl_call {
  ssl_op op;
  void* buffer = nullptr;
  int size = 0;
  /// Do not wait for the peer (aclose's close_notify: send ours, done).
  bool ignore_want_read = false;
};

bool is_ip_address(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

// Holds a flag for the duration of an outer call (trio's ConflictDetector).
class conflict_guard {
 public:
  conflict_guard(bool& flag, const char* what) : flag_(flag) {
    if (flag_) throw busy_resource_error(what);
    flag_ = true;
  }
  ~conflict_guard() { flag_ = false; }
  conflict_guard(const conflict_guard&) = delete;
  conflict_guard& operator=(const conflict_guard&) = delete;

 private:
  bool& flag_;
};

}  // namespace

struct tls_stream::state {
  std::unique_ptr<byte_stream> transport;
  tls_context context;
  SSL* ssl = nullptr;
  BIO* incoming = nullptr;  // owned by ssl
  BIO* outgoing = nullptr;  // owned by ssl
  std::string hostname{};
  bool server_side = false;
  bool standard_compatible = true;
  bool handshook = false;
  bool receiving = false;  // an outer receive is running
  bool sending = false;    // an outer send is running
  tls_status status = tls_status::open;
  std::optional<detail::tls_entropy> entropy{};  // sim only
  lock handshake_lock{};
  lock send_lock{};                 // the transport's sending side
  lock receive_lock{};              // the transport's receiving side
  std::uint64_t receive_count = 0;  // transport receives so far
  std::vector<std::byte> scratch = std::vector<std::byte>(17 * 1024);

  explicit state(tls_context c) : context(std::move(c)) {}
  state(const state&) = delete;
  state& operator=(const state&) = delete;
  ~state() { SSL_free(ssl); }

  detail::tls_entropy* entropy_source() noexcept { return entropy ? &*entropy : nullptr; }
  void check_usable() const {
    if (status == tls_status::closed) throw closed_resource_error("the TLS stream is closed");
    if (status == tls_status::broken)
      throw broken_resource_error(
          "the TLS stream is broken (an earlier operation failed, or a send was cancelled)");
  }
  int invoke(const ssl_call& c);
  std::string take_outgoing();
  std::string failure_message(const ssl_call& c, int ssl_error);
  /// Breaks the stream and throws tls_error, after sending OpenSSL's alert.
  task<> fail(ssl_call c, int ssl_error);
  task<int> retry(ssl_call c);
  task<> send_out(std::string data);
  task<> receive_in();
};

int tls_stream::state::invoke(const ssl_call& c) {
  detail::entropy_scope scope(entropy_source());
  ERR_clear_error();
  switch (c.op) {
    case ssl_op::handshake:
      return SSL_do_handshake(ssl);
    case ssl_op::read:
      return SSL_read(ssl, c.buffer, c.size);
    case ssl_op::write:
      return SSL_write(ssl, c.buffer, c.size);
    case ssl_op::shutdown:
      return SSL_shutdown(ssl);
  }
  return -1;
}

std::string tls_stream::state::take_outgoing() {
  std::string out(BIO_ctrl_pending(outgoing), '\0');
  if (!out.empty()) {
    const int n = BIO_read(outgoing, out.data(), static_cast<int>(out.size()));
    ANYIO_ASSERT(n == static_cast<int>(out.size()));
  }
  return out;
}

std::string tls_stream::state::failure_message(const ssl_call& c, int ssl_error) {
  bool unexpected_eof = false;
  const std::string errors = detail::take_openssl_errors(&unexpected_eof);
  std::string msg = std::string("TLS ") + op_name(c.op) + " failed: ";
  const long verify = SSL_get_verify_result(ssl);
  if (verify != X509_V_OK) {
    msg +=
        std::string("the peer's certificate was refused: ") + X509_verify_cert_error_string(verify);
    if (!server_side && !hostname.empty()) msg += " (connecting to \"" + hostname + "\")";
  } else if (unexpected_eof || (ssl_error == SSL_ERROR_SYSCALL && errors.empty()) ||
             ssl_error == SSL_ERROR_ZERO_RETURN) {
    msg += c.op == ssl_op::handshake
               ? "the transport ended during the handshake"
               : "the transport ended without close_notify (a truncated stream; wrap with "
                 "standard_compatible = false to take that as end of stream)";
  } else if (errors.find("alert") != std::string::npos) {
    msg += "the peer refused the connection (" + errors + ")";  // e.g. it refused our certificate
  } else {
    msg += errors.empty() ? "SSL error " + std::to_string(ssl_error) : errors;
  }
  return msg;
}

task<> tls_stream::state::fail(ssl_call c, int ssl_error) {
  // The message first: OpenSSL's error queue is per thread, and other
  // streams' calls clear it while this one sends the alert.
  const std::string msg = failure_message(c, ssl_error);
  const bool was_open = status == tls_status::open;
  status = tls_status::broken;
  // Send the alert OpenSSL wrote (a refused certificate), so the peer
  // learns why instead of waiting; best effort.
  std::string alert = take_outgoing();
  if (!alert.empty() && was_open) {
    try {
      co_await transport->send(std::string_view(alert));
    } catch (const std::exception&) {
    }
  }
  throw tls_error(msg);
}

task<> tls_stream::state::send_out(std::string data) {
  // The bytes have left the BIO: if they do not all reach the transport,
  // the record stream is cut and the stream is broken (cancellation too).
  try {
    auto held = co_await send_lock.guard();
    co_await transport->send(std::string_view(data));
  } catch (...) {
    if (status == tls_status::open) status = tls_status::broken;
    if (status == tls_status::closed) throw closed_resource_error("the TLS stream was closed");
    throw;
  }
}

task<> tls_stream::state::receive_in() {
  const std::uint64_t seen = receive_count;
  auto held = co_await receive_lock.guard();
  // Another task fed the incoming BIO while this one waited: try OpenSSL first.
  if (seen != receive_count) co_return;
  std::size_t n = 0;
  bool eof = false;
  try {
    n = co_await transport->receive(std::span<std::byte>(scratch));
  } catch (const end_of_stream&) {
    eof = true;
  } catch (const std::exception&) {
    if (status == tls_status::closed) throw closed_resource_error("the TLS stream was closed");
    status = tls_status::broken;
    throw;
  }
  ++receive_count;
  if (eof) {
    BIO_set_mem_eof_return(incoming, 0);  // an empty BIO now reads as end of file
  } else {
    const int w = BIO_write(incoming, scratch.data(), static_cast<int>(n));
    ANYIO_ASSERT(w == static_cast<int>(n));
  }
}

// trio: SSLStream._retry.
task<int> tls_stream::state::retry(ssl_call c) {
  co_await checkpoint_if_cancelled();
  bool yielded = false;
  for (;;) {
    bool finished = false;
    bool want_read = false;
    int ret = invoke(c);
    if (ret > 0) {
      finished = true;
    } else if (c.op == ssl_op::shutdown && ret == 0) {
      want_read = true;  // our close_notify is out; the peer's has not come
    } else {
      const int err = SSL_get_error(ssl, ret);
      if (err == SSL_ERROR_WANT_READ) {
        want_read = true;
      } else if (err == SSL_ERROR_ZERO_RETURN && c.op == ssl_op::read) {
        finished = true;  // the peer's close_notify: end of stream
        ret = 0;
      } else {
        co_await fail(c, err);
      }
    }
    if (c.ignore_want_read) {
      want_read = false;
      finished = true;
    }
    std::string to_send = take_outgoing();
    if (!to_send.empty()) {
      yielded = true;
      co_await send_out(std::move(to_send));
    } else if (want_read) {
      yielded = true;
      co_await receive_in();
    }
    if (finished) {
      if (!yielded) co_await cancel_shielded_checkpoint();
      co_return ret;
    }
  }
}

// -------------------------------------------------------------- tls_stream

tls_stream::tls_stream(std::unique_ptr<state> s) noexcept : s_(std::move(s)) {}
tls_stream::~tls_stream() = default;

namespace {

std::unique_ptr<tls_stream::state> make_state(std::unique_ptr<byte_stream> transport,
                                              tls_context context, const tls_wrap_options& o) {
  auto& k = detail::kernel::require("anyio::tls_stream::wrap()");
  if (!transport) throw usage_error("tls_stream::wrap(): the transport is null");
  if (!context.get()) throw usage_error("tls_stream::wrap(): the context is empty");
  const tls_context::impl& ctx = *context.get();
  if (!ctx.server && ctx.verify && o.hostname.empty())
    throw usage_error(
        "tls_stream::wrap(): a client that verifies the server needs the name to check its "
        "certificate against: pass {.hostname = \"example.com\"} (or a context made with "
        "{.verify = false})");
  auto s = std::make_unique<tls_stream::state>(std::move(context));
  s->transport = std::move(transport);
  s->server_side = ctx.server;
  s->standard_compatible = o.standard_compatible;
  s->hostname = o.hostname;
  // sim: one recorded draw seeds this connection's randomness, so the run
  // replays; the draws of OpenSSL itself stay out of the trace.
  if (k.backend_.name().starts_with("sim"))  // "sim seed 7"
    s->entropy.emplace(random_below(std::numeric_limits<std::uint64_t>::max(), "tls"));
  detail::entropy_scope scope(s->entropy_source());
  s->ssl = SSL_new(ctx.ctx);
  s->incoming = BIO_new(BIO_s_mem());
  s->outgoing = BIO_new(BIO_s_mem());
  if (s->ssl == nullptr || s->incoming == nullptr || s->outgoing == nullptr)
    throw tls_error("tls_stream::wrap(): out of memory (" + detail::take_openssl_errors() + ")");
  BIO_set_mem_eof_return(s->incoming, -1);  // empty: "try again", until the transport ends
  SSL_set_bio(s->ssl, s->incoming, s->outgoing);
  if (ctx.server)
    SSL_set_accept_state(s->ssl);
  else
    SSL_set_connect_state(s->ssl);
  if (!o.standard_compatible) SSL_set_options(s->ssl, SSL_OP_IGNORE_UNEXPECTED_EOF);
  // Certificate dates against the backend's wall clock (sim: virtual).
  X509_VERIFY_PARAM* param = SSL_get0_param(s->ssl);
  X509_VERIFY_PARAM_set_time(param, std::chrono::system_clock::to_time_t(wall_clock_now()));
  if (!ctx.server && !o.hostname.empty()) {
    const bool ip = is_ip_address(o.hostname);
    if (!ip) SSL_set_tlsext_host_name(s->ssl, o.hostname.c_str());  // SNI takes names only
    if (ctx.verify && (ip ? X509_VERIFY_PARAM_set1_ip_asc(param, o.hostname.c_str())
                          : SSL_set1_host(s->ssl, o.hostname.c_str())) != 1)
      throw tls_error("tls_stream::wrap(): cannot verify against host name \"" + o.hostname + "\"");
  }
  return s;
}

}  // namespace

std::unique_ptr<tls_stream> tls_stream::wrap_lazily(std::unique_ptr<byte_stream> transport,
                                                    tls_context context, tls_wrap_options options) {
  return std::unique_ptr<tls_stream>(
      new tls_stream(make_state(std::move(transport), std::move(context), options)));
}

task<std::unique_ptr<tls_stream>> tls_stream::wrap(std::unique_ptr<byte_stream> transport,
                                                   tls_context context, tls_wrap_options options) {
  auto stream = wrap_lazily(std::move(transport), std::move(context), options);
  co_await stream->do_handshake();
  co_return stream;
}

task<> tls_stream::do_handshake() {
  state& s = *s_;
  s.check_usable();
  auto held = co_await s.handshake_lock.guard();  // trio: _handshook.ensure()
  if (s.handshook) co_return;
  s.check_usable();
  co_await s.retry({ssl_op::handshake});
  s.handshook = true;
}

task<std::size_t> tls_stream::do_receive(std::span<std::byte> buffer) {
  state& s = *s_;
  conflict_guard busy(s.receiving, "another task is already receiving on this TLS stream");
  s.check_usable();
  if (buffer.empty())
    throw usage_error("tls_stream::receive(): the buffer is empty (it needs room for a byte)");
  if (!s.handshook) co_await do_handshake();
  const int size = static_cast<int>(std::min<std::size_t>(buffer.size(), INT_MAX));
  const int n = co_await s.retry({ssl_op::read, buffer.data(), size});
  if (n == 0) throw end_of_stream("the peer closed the TLS stream (close_notify)");
  co_return static_cast<std::size_t>(n);
}

task<> tls_stream::do_send(std::span<const std::byte> data) {
  state& s = *s_;
  conflict_guard busy(s.sending, "another task is already sending on this TLS stream");
  s.check_usable();
  if (!s.handshook) co_await do_handshake();
  if (data.empty()) {
    co_await checkpoint();  // SSL_write of nothing means nothing, but a send is a checkpoint
    co_return;
  }
  // Pieces of 64 KiB bound the ciphertext held at once.
  constexpr std::size_t piece = 65536;
  for (std::size_t at = 0; at < data.size(); at += piece) {
    const std::size_t n = std::min(piece, data.size() - at);
    void* p = const_cast<std::byte*>(data.data() + at);  // SSL_write only reads it
    co_await s.retry({ssl_op::write, p, static_cast<int>(n)});
  }
}

task<> tls_stream::do_send_eof() {
  throw usage_error(
      "tls_stream::send_eof(): TLS has no half-close (as trio's SSLStream); close with "
      "aclose(), or take the transport back with unwrap()");
  co_return;
}

task<> tls_stream::do_aclose() {
  state& s = *s_;
  if (s.status == tls_status::closed) {
    co_await checkpoint();
    co_return;
  }
  const bool notify = s.status == tls_status::open && s.standard_compatible && s.handshook;
  std::exception_ptr cancel;
  if (notify) {
    // Send our close_notify without waiting for the peer's (trio's aclose).
    try {
      co_await s.retry({ssl_op::shutdown, nullptr, 0, true});
    } catch (const std::exception&) {
      // The peer is gone or the stream broke meanwhile: closing anyway.
    } catch (...) {
      cancel = std::current_exception();  // cancelled: still close the transport
    }
  }
  s.status = tls_status::closed;  // before closing: a parked receive then sees "closed"
  co_await s.transport->aclose();
  if (cancel) std::rethrow_exception(cancel);
}

task<std::unique_ptr<byte_stream>> tls_stream::unwrap() {
  state& s = *s_;
  conflict_guard receiving(s.receiving, "another task is receiving on this TLS stream");
  conflict_guard sending(s.sending, "another task is sending on this TLS stream");
  s.check_usable();
  if (!s.handshook) co_await do_handshake();
  co_await s.retry({ssl_op::shutdown});
  s.status = tls_status::closed;
  co_return std::move(s.transport);
}

std::any tls_stream::find_attribute(const void* key) const {
  const state& s = *s_;
  if (is_attribute(key, tls_attribute::alpn_protocol)) {
    const unsigned char* p = nullptr;
    unsigned int n = 0;
    SSL_get0_alpn_selected(s.ssl, &p, &n);
    return n == 0 ? std::optional<std::string>()
                  : std::optional<std::string>(std::string(reinterpret_cast<const char*>(p), n));
  }
  if (is_attribute(key, tls_attribute::cipher)) return std::string(SSL_get_cipher_name(s.ssl));
  if (is_attribute(key, tls_attribute::tls_version)) return std::string(SSL_get_version(s.ssl));
  if (is_attribute(key, tls_attribute::server_side)) return s.server_side;
  if (is_attribute(key, tls_attribute::standard_compatible)) return s.standard_compatible;
  if (is_attribute(key, tls_attribute::peer_certificate)) {
    X509* peer = SSL_get0_peer_certificate(s.ssl);
    if (peer == nullptr) return std::optional<std::string>();
    unsigned char* der = nullptr;
    const int n = i2d_X509(peer, &der);
    if (n <= 0) return std::optional<std::string>();
    std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(n));
    OPENSSL_free(der);
    return std::optional<std::string>(std::move(out));
  }
  if (!s.transport) return {};
  return s.transport->lookup_attribute(key);
}

// ------------------------------------------------------------ tls_listener

task<std::unique_ptr<byte_stream>> tls_listener::do_accept() {
  std::unique_ptr<byte_stream> inner = co_await accept_inner_();
  co_return tls_stream::wrap_lazily(std::move(inner), context_,
                                    {.hostname = {}, .standard_compatible = standard_compatible_});
}

task<> tls_listener::do_aclose() { co_await close_inner_(); }

std::any tls_listener::find_attribute(const void* key) const {
  if (is_attribute(key, tls_attribute::standard_compatible)) return standard_compatible_;
  return find_inner_(key);
}

task<> tls_listener::handshake_then(std::function<void(const std::exception&)> on_error,
                                    handler_type handler, std::unique_ptr<byte_stream> stream) {
  auto* tls = static_cast<tls_stream*>(stream.get());  // do_accept made every stream
  bool ok = true;
  try {
    co_await tls->do_handshake();
  } catch (const std::exception& e) {
    ok = false;
    if (on_error)
      on_error(e);
    else
      std::fprintf(stderr, "anyio: tls_listener: a client's TLS handshake failed: %s\n", e.what());
  }
  if (ok) co_await handler(std::move(stream));
}

task<> tls_listener::serve(handler_type handler, task_group* group) {
  if (group == nullptr) {
    co_await with_task_group([&](task_group& tg) -> task<> { co_await serve(handler, &tg); });
    co_return;
  }
  for (;;) {
    std::unique_ptr<byte_stream> stream = co_await accept();
    group->start_soon(&tls_listener::handshake_then, on_handshake_error_, handler,
                      std::move(stream));
  }
}

}  // namespace anyio
