// SPDX-License-Identifier: MIT
// net_bulk: bulk TCP throughput over loopback, sender and receiver in one
// thread. One op is one 64 KiB send (bytes_per_op, so the table also shows
// MB/s); 8,192 of them (512 MiB) a run. The receiver reads into a 64 KiB
// buffer and counts; after the sender's send_eof it answers one byte, which
// ends the timed part, so every byte is counted as received. No sim variant:
// the simulated link moves a 64 KiB send in ~100 ms of real time (it models
// bytes one piece at a time), which would make a run last hours. `asio` is
// raw Asio with completion handlers on
// io_context(1): async_write of each 64 KiB buffer and async_read_some into
// 64 KiB, TCP_NODELAY on both ends as realio sets it.
#include "harness.hpp"

#include <anyio/net.hpp>
#include <anyio/run.hpp>
#include <anyio/task_group.hpp>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <vector>

namespace {

constexpr std::size_t chunk = 64 * 1024;

// ----------------------------------------------------------------- anyio

anyio::task<> receiver(std::unique_ptr<anyio::socket_stream> stream, std::uint64_t& received) {
  std::vector<std::byte> buffer(chunk);
  bool open = true;
  while (open) {
    try {
      received += co_await stream->receive(buffer);
    } catch (const anyio::end_of_stream&) {
      open = false;
    }
  }
  co_await stream->send("k");
  co_await stream->aclose();
}

anyio::task<> anyio_bulk(std::uint64_t sends) {
  // A named options object, not a braced temporary: g++ 12 miscompiles a
  // braced aggregate argument of a coroutine inside co_await (it frees the
  // temporary's string twice); clang is fine.
  const anyio::tcp_listener_options options{.local_host = "127.0.0.1"};
  auto listener = co_await anyio::create_tcp_listener(options);
  const std::uint16_t port = listener->extra(anyio::socket_attribute::local_port);
  std::uint64_t received = 0;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      co_await receiver(co_await listener->accept(), received);
    });
    auto stream = co_await anyio::connect_tcp("127.0.0.1", port);
    const std::vector<std::byte> data(chunk, std::byte{0x5a});
    anyio_bench::begin_measure();
    for (std::uint64_t i = 0; i < sends; ++i) co_await stream->send(data);
    co_await stream->send_eof();
    const std::string ack = co_await stream->receive(16);
    anyio_bench::end_measure();
    if (ack != "k") throw std::logic_error("net_bulk: no acknowledgement");
    co_await stream->aclose();
  });
  co_await listener->aclose();
  if (received != sends * chunk) throw std::logic_error("net_bulk: bytes lost");
}

// ------------------------------------------------------------ raw Asio

using asio::ip::tcp;

struct asio_bulk {
  tcp::socket sender, receiver;
  std::vector<std::byte> out = std::vector<std::byte>(chunk, std::byte{0x5a});
  std::vector<std::byte> in = std::vector<std::byte>(chunk);
  char ack = 0;
  std::uint64_t left = 0, received = 0;

  void send() {
    asio::async_write(sender, asio::buffer(out), [this](asio::error_code ec, std::size_t) {
      if (ec) throw std::system_error(ec, "net_bulk asio: write");
      if (--left > 0) return send();
      sender.shutdown(tcp::socket::shutdown_send);
      asio::async_read(sender, asio::buffer(&ack, 1), [](asio::error_code rec, std::size_t) {
        if (rec) throw std::system_error(rec, "net_bulk asio: acknowledgement");
        anyio_bench::end_measure();
      });
    });
  }
  void receive() {
    receiver.async_read_some(asio::buffer(in), [this](asio::error_code ec, std::size_t n) {
      if (ec == asio::error::eof) {
        asio::write(receiver, asio::buffer("k", 1));
        return;
      }
      if (ec) throw std::system_error(ec, "net_bulk asio: read");
      received += n;
      receive();
    });
  }
};

void asio_run(std::uint64_t sends) {
  asio::io_context ctx(1);
  tcp::acceptor acceptor(ctx, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  tcp::socket client(ctx);
  client.connect(acceptor.local_endpoint());
  asio_bulk b{std::move(client), acceptor.accept()};
  b.sender.set_option(tcp::no_delay(true));
  b.receiver.set_option(tcp::no_delay(true));
  b.left = sends;
  anyio_bench::begin_measure();
  b.receive();
  b.send();
  ctx.run();
  if (b.received != sends * chunk || b.ack != 'k') throw std::logic_error("net_bulk asio: lost");
}

void on_realio(std::uint64_t sends) { anyio::run(anyio_bulk, sends); }
void on_asio(std::uint64_t sends) { asio_run(sends); }

[[maybe_unused]] const int registered = anyio_bench::add({
    .name = "net_bulk",
    .label = "net bulk, 64 KiB sends",
    .unit = "send",
    .ops = 8'192,
    .goals = {.min_ratio_vs_asio = 0.9},
    .variants = {{"realio", on_realio}, {"asio", on_asio}},
    .bytes_per_op = chunk,
});

}  // namespace
