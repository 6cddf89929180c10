// SPDX-License-Identifier: MIT
// Conformance: Unix stream sockets on realio and sim — an echo, the
// listener's file mode, a path in use refused with a clear error, a stale
// socket file reused, and the attributes.
#include "tests/conformance/net_test_support.hpp"

#include <string>
#include <sys/stat.h>
#include <unistd.h>

using namespace std::chrono_literals;
namespace sa = anyio::socket_attribute;

ANYIO_TEST_CASE("net unix: an echo over a Unix socket", "[net][unix]") {
  net_test::temp_dir dir;
  const std::string path = dir.file("echo.sock");
  auto listener = co_await anyio::create_unix_listener(path);
  CHECK(listener->extra(sa::family) == anyio::address_family::unix_domain);
  CHECK(listener->extra(sa::local_address).host == path);
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      auto s = co_await listener->accept();
      auto got = co_await net_test::receive_all(*s);
      co_await s->send(got);
      co_await s->aclose();
    });
    auto c = co_await anyio::connect_unix(path);
    CHECK(c->extra(sa::family) == anyio::address_family::unix_domain);
    CHECK(c->extra(sa::remote_address).host == path);
    co_await c->send("over unix");
    co_await c->send_eof();
    auto back = co_await net_test::receive_all(*c);
    CHECK(back == "over unix");
    co_await c->aclose();
  });
  co_await listener->aclose();
}

ANYIO_TEST_CASE("net unix: the listener's mode and a path in use",
                "[net][unix][errors]") {
  net_test::temp_dir dir;
  const std::string path = dir.file("mode.sock");
  auto listener = co_await anyio::create_unix_listener(path, 0600u);
  if (::access(path.c_str(), F_OK) == 0) {  // a real file (realio)
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
  }
  auto in_use = co_await net_test::message_of<std::system_error>(
      [&] { return anyio::create_unix_listener(path); });
  REQUIRE(in_use.has_value());
  CHECK(in_use->find(path) != std::string::npos);
  co_await listener->aclose();
  // The file a closed listener left behind is reused.
  auto again = co_await anyio::create_unix_listener(path);
  auto c = co_await anyio::connect_unix(path);
  auto s = co_await again->accept();
  co_await c->send("x");
  auto got = co_await s->receive();
  CHECK(got == "x");
  auto missing = co_await net_test::message_of<std::system_error>(
      [&] { return anyio::connect_unix(dir.file("nobody.sock")); });
  REQUIRE(missing.has_value());
  CHECK(missing->find("nobody.sock") != std::string::npos);
}
