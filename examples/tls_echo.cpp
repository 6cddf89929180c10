// SPDX-License-Identifier: MIT
// Tutorial, "TLS": the echo server and client of tcp_echo.cpp over TLS. At
// startup the example makes its own certificate authority and a server
// certificate for "localhost" / 127.0.0.1 signed by it (OpenSSL, in memory:
// no key ever touches the disk). The server wraps its TCP listener in a
// tls_listener; the client trusts only that CA and verifies the host name,
// as connect_tcp(..., {.tls = ...}) always does unless told not to.
//
// TLS has no half-close, so the client ends with aclose(), which sends
// close_notify: the server's receive then sees end_of_stream.
// The certificates are made inside the run: on sim, OpenSSL's randomness
// then comes from the seeded generator, so a seed replays exactly. Their
// dates are fixed (2025-12-01 to 2035-12-01): on sim, certificate dates are
// checked against the simulated wall clock, which starts at 2026-01-01.
//
// test-expect: listening on 127.0.0.1:[0-9]+ \(TLS\)
// test-expect: client: TLSv1.[23] with [A-Z0-9_-]+
// test-expect: client: echoed 'hello over TLS'
// test-expect: client: all 3 lines echoed
// test-expect: server: client closed after 3 lines
// test-expect: server stopped
#include "example_main.hpp"

#include <anyio/net.hpp>
#include <anyio/sync.hpp>
#include <anyio/tls.hpp>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <array>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

// ------------------------------------------------- certificates (OpenSSL)

struct openssl_free {
  void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
  void operator()(X509* p) const noexcept { X509_free(p); }
  void operator()(BIO* p) const noexcept { BIO_free(p); }
};
using key_ptr = std::unique_ptr<EVP_PKEY, openssl_free>;
using cert_ptr = std::unique_ptr<X509, openssl_free>;

void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("making test certificates: ") + what);
}

void add_extension(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, ctx, nid, value);
  check(ext != nullptr && X509_add_ext(cert, ext, -1) == 1, value);
  X509_EXTENSION_free(ext);
}

// A certificate for `key`, signed by `issuer` (itself when null), valid from
// 2025-12-01 to 2035-12-01 whatever day the example runs.
cert_ptr make_certificate(EVP_PKEY* key, const char* common_name, X509* issuer,
                          EVP_PKEY* issuer_key, long serial) {
  cert_ptr cert(X509_new());
  check(cert != nullptr, "X509_new");
  X509* x = cert.get();
  check(X509_set_version(x, 2) == 1, "version");
  check(ASN1_INTEGER_set(X509_get_serialNumber(x), serial) == 1, "serial");
  check(ASN1_TIME_set(X509_getm_notBefore(x), 1'764'547'200) != nullptr, "notBefore");
  check(ASN1_TIME_set(X509_getm_notAfter(x), 2'080'080'000) != nullptr, "notAfter");
  check(X509_set_pubkey(x, key) == 1, "public key");
  X509_NAME* name = X509_get_subject_name(x);
  check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>(common_name), -1, -1,
                                   0) == 1,
        "subject");
  check(X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name) == 1, "issuer");
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer ? issuer : x, x, nullptr, nullptr, 0);
  add_extension(x, &ctx, NID_subject_key_identifier, "hash");
  if (issuer == nullptr) {
    add_extension(x, &ctx, NID_basic_constraints, "critical,CA:TRUE");
    add_extension(x, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_extension(x, &ctx, NID_authority_key_identifier, "keyid:always");
    add_extension(x, &ctx, NID_basic_constraints, "critical,CA:FALSE");
    add_extension(x, &ctx, NID_key_usage, "critical,digitalSignature");
    add_extension(x, &ctx, NID_ext_key_usage, "serverAuth");
    add_extension(x, &ctx, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
  }
  check(X509_sign(x, issuer_key, EVP_sha256()) > 0, "sign");
  return cert;
}

template <class Write> std::string to_pem(Write write) {
  std::unique_ptr<BIO, openssl_free> bio(BIO_new(BIO_s_mem()));
  check(bio != nullptr && write(bio.get()) == 1, "PEM");
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

struct test_pki {
  std::string ca_pem, server_cert_pem, server_key_pem;
};

test_pki make_test_pki() {
  key_ptr ca_key(EVP_EC_gen("P-256"));
  key_ptr server_key(EVP_EC_gen("P-256"));
  check(ca_key && server_key, "EC key generation");
  cert_ptr ca = make_certificate(ca_key.get(), "anyio example CA", nullptr, ca_key.get(), 1);
  cert_ptr server = make_certificate(server_key.get(), "localhost", ca.get(), ca_key.get(), 2);
  return {to_pem([&](BIO* b) { return PEM_write_bio_X509(b, ca.get()); }),
          to_pem([&](BIO* b) { return PEM_write_bio_X509(b, server.get()); }),
          to_pem([&](BIO* b) {
            return PEM_write_bio_PrivateKey(b, server_key.get(), nullptr, nullptr, 0, nullptr,
                                            nullptr);
          })};
}

// ------------------------------------------------------------ the echo

// Set when a handler has seen its client's close_notify and closed.
anyio::event* handler_done = nullptr;

anyio::task<> handle(std::unique_ptr<anyio::byte_stream> client) {
  std::array<char, 1024> buffer;
  std::size_t lines = 0;
  try {
    for (;;) {
      const std::size_t n = co_await client->receive(std::span(buffer));
      for (std::size_t i = 0; i < n; ++i) lines += buffer[i] == '\n';
      co_await client->send(std::string_view(buffer.data(), n));
    }
  } catch (const anyio::end_of_stream&) {
    std::printf("server: client closed after %zu lines\n", lines);
  }
  co_await client->aclose();
  handler_done->set();
}

anyio::task<std::string> receive_line(anyio::byte_stream& stream, std::string& pending) {
  for (;;) {
    const auto end = pending.find('\n');
    if (end != std::string::npos) {
      std::string line = pending.substr(0, end);
      pending.erase(0, end + 1);
      co_return line;
    }
    pending += co_await stream.receive(4096);
  }
}

anyio::task<> client(std::uint16_t port, const std::string& ca_pem) {
  // Trust only our CA; the name checked against the certificate is "localhost".
  const anyio::tcp_connect_options options{
      .tls = anyio::tls_context::client({.ca_pem = ca_pem}), .tls_hostname = "localhost"};
  auto stream = co_await anyio::connect_tcp("127.0.0.1", port, options);
  std::printf("client: %s with %s\n", stream->extra(anyio::tls_attribute::tls_version).c_str(),
              stream->extra(anyio::tls_attribute::cipher).c_str());
  const std::vector<std::string> lines = {"hello over TLS", "second line", "bye"};
  std::string pending;
  for (const std::string& line : lines) {
    co_await stream->send(line + "\n");
    const std::string echo = co_await receive_line(*stream, pending);
    if (echo != line) throw std::runtime_error("client: sent '" + line + "', got '" + echo + "'");
    std::printf("client: echoed '%s'\n", echo.c_str());
  }
  co_await stream->aclose();  // close_notify
  std::printf("client: all %zu lines echoed\n", lines.size());
}

anyio::task<> amain() {
  const test_pki pki = make_test_pki();
  // A named options object, not a braced temporary: g++ 12 miscompiles a
  // braced aggregate argument of a coroutine inside co_await (it frees the
  // temporary's string twice); clang is fine.
  const anyio::tcp_listener_options options{.local_host = "127.0.0.1"};
  auto tcp = co_await anyio::create_tcp_listener(options);
  const std::uint16_t port = tcp->extra(anyio::socket_attribute::local_port);
  anyio::tls_listener listener(
      std::move(tcp),
      anyio::tls_context::server({.cert_pem = pki.server_cert_pem, .key_pem = pki.server_key_pem}));
  std::printf("listening on 127.0.0.1:%u (TLS)\n", static_cast<unsigned>(port));
  anyio::event done;
  handler_done = &done;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    // tls_listener::serve completes each handshake before the handler runs.
    tg.start_soon([&]() -> anyio::task<> { co_await listener.serve(handle, &tg); });
    co_await client(port, pki.ca_pem);
    // The client's aclose() does not wait for the server to read its
    // close_notify: let the handler finish before stopping the server.
    co_await anyio::fail_after(std::chrono::seconds(10)).run(
        [&]() -> anyio::task<> { co_await done.wait(); });
    tg.cancel_scope().cancel();
  });
  co_await listener.aclose();
  std::printf("server stopped\n");
}

}  // namespace

ANYIO_EXAMPLE_MAIN(amain)
