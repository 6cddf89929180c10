// SPDX-License-Identifier: MIT
// net_echo: TCP echo round trips over loopback, client and server in one
// thread. One op is one round trip of a 64-byte message: the client sends
// it and waits until all 64 bytes are back; the server echoes whatever it
// receives. Two workloads: `net_echo_1` (one connection, 20,000 round trips)
// and `net_echo_50` (50 connections at once, 1,000 round trips each). The
// timed part starts when every connection is up and ends with the last
// round trip. realio and sim run the same anyio code (sim: round trips per
// second of real time, the simulated network's latency costs nothing);
// `asio` is the fastest raw Asio we could write for it: completion handlers
// (no coroutine frames) on io_context(1), async_read_some + async_write on
// the server, async_write + async_read on the client, TCP_NODELAY on both
// ends as realio sets it. `asio-coro` is the same with C++20 coroutines
// (use_awaitable), kept in the JSON for comparison. `realio-2loops`
// (net_echo_50 only) is the multi-core server of examples/multicore_echo.cpp:
// two server threads, each with its own anyio::run and its own listener on
// the same port (reuse_port), and the clients in a third run on the calling
// thread; on a 2-core machine it shows what the pattern costs or gains when
// the clients compete for the same cores.
#include "harness.hpp"

#include <anyio/net.hpp>
#include <anyio/run.hpp>
#include <anyio/sim.hpp>
#include <anyio/sync.hpp>
#include <anyio/task_group.hpp>

#include <asio/co_spawn.hpp>
#include <asio/connect.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <thread>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

constexpr std::size_t message_size = 64;

// ----------------------------------------------------------------- anyio

anyio::task<> echo_back(std::unique_ptr<anyio::socket_stream> stream) {
  std::array<std::byte, 4096> buffer;
  bool open = true;
  while (open) {
    std::size_t n = 0;
    try {
      n = co_await stream->receive(buffer);
    } catch (const anyio::end_of_stream&) {
      open = false;
    }
    if (open) co_await stream->send(std::span<const std::byte>(buffer.data(), n));
  }
  co_await stream->aclose();
}

struct run_state {
  std::size_t connections = 0;
  std::uint64_t trips_each = 0;
  std::size_t connected = 0;
  std::size_t finished = 0;
  std::uint64_t trips_done = 0;
  anyio::event go;
};

anyio::task<> echo_client(run_state& st, std::uint16_t port) {
  auto stream = co_await anyio::connect_tcp("127.0.0.1", port);
  // Every connection is up before the clock starts.
  if (++st.connected == st.connections) {
    anyio_bench::begin_measure();
    st.go.set();
  }
  co_await st.go.wait();
  std::array<std::byte, message_size> out{};
  std::array<std::byte, message_size> in{};
  for (std::uint64_t i = 0; i < st.trips_each; ++i) {
    out[0] = static_cast<std::byte>(i);
    co_await stream->send(out);
    std::size_t got = 0;
    while (got < message_size)
      got += co_await stream->receive(std::span(in).subspan(got));
    if (in[0] != out[0]) throw std::logic_error("net_echo: wrong echo");
    ++st.trips_done;
  }
  if (++st.finished == st.connections) anyio_bench::end_measure();
  co_await stream->send_eof();
  bool ended = false;
  try {
    co_await stream->receive(in);
  } catch (const anyio::end_of_stream&) {
    ended = true;
  }
  if (!ended) throw std::logic_error("net_echo: data after the last echo");
  co_await stream->aclose();
}

anyio::task<> run_clients(run_state& st, std::uint16_t port) {
  co_await anyio::with_task_group([&](anyio::task_group& clients) -> anyio::task<> {
    for (std::size_t c = 0; c < st.connections; ++c)
      clients.start_soon(echo_client, std::ref(st), port);
    co_return;
  });
  if (st.trips_done != st.trips_each * st.connections)
    throw std::logic_error("net_echo: round trips lost");
}

anyio::task<> anyio_echo(std::size_t connections, std::uint64_t ops) {
  run_state st;
  st.connections = connections;
  st.trips_each = ops / connections;
  // A named options object, not a braced temporary: g++ 12 miscompiles a
  // braced aggregate argument of a coroutine inside co_await (it frees the
  // temporary's string twice); clang is fine.
  const anyio::tcp_listener_options options{.local_host = "127.0.0.1"};
  auto listener = co_await anyio::create_tcp_listener(options);
  const std::uint16_t port = listener->extra(anyio::socket_attribute::local_port);
  co_await anyio::with_task_group([&](anyio::task_group& server) -> anyio::task<> {
    server.start_soon([&]() -> anyio::task<> { co_await listener->serve(echo_back, &server); });
    co_await run_clients(st, port);
    server.cancel_scope().cancel();
  });
  co_await listener->aclose();
}

// The multi-core server: one run per server thread, each with a listener on
// the shared port. A loop on another thread cannot be cancelled from here,
// so each polls the stop flag (every 5 ms: a negligible cost).
struct server_pool {
  std::atomic<std::uint16_t> port{0};
  std::atomic<int> listening{0};
  std::atomic<bool> stop{false};
};

anyio::task<> pool_server(server_pool& pool) {
  const anyio::tcp_listener_options options{
      .local_host = "127.0.0.1", .local_port = pool.port.load(), .reuse_port = true};
  auto listener = co_await anyio::create_tcp_listener(options);
  pool.port = listener->extra(anyio::socket_attribute::local_port);
  ++pool.listening;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> { co_await listener->serve(echo_back, &tg); });
    while (!pool.stop.load()) co_await anyio::sleep(std::chrono::milliseconds(5));
    tg.cancel_scope().cancel();
  });
  co_await listener->aclose();
}

void realio_loops(std::size_t connections, std::uint64_t ops, int server_threads) {
  server_pool pool;
  std::vector<std::thread> threads;
  std::vector<std::exception_ptr> errors(static_cast<std::size_t>(server_threads));
  for (int i = 0; i < server_threads; ++i) {
    threads.emplace_back([&pool, &errors, i] {
      try {
        anyio::run(pool_server, std::ref(pool));
      } catch (...) {
        errors[static_cast<std::size_t>(i)] = std::current_exception();
        pool.stop = true;
      }
    });
    // The first server picks the port the others share.
    while (pool.listening.load() <= i && !pool.stop.load())
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  std::exception_ptr client_error;
  if (!pool.stop.load()) {
    run_state st;
    st.connections = connections;
    st.trips_each = ops / connections;
    try {
      anyio::run(run_clients, std::ref(st), pool.port.load());
    } catch (...) {
      client_error = std::current_exception();
    }
  }
  pool.stop = true;
  for (auto& t : threads) t.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
  if (client_error) std::rethrow_exception(client_error);
}

// ------------------------------------------------------------ raw Asio

using asio::ip::tcp;

struct asio_server_conn {
  explicit asio_server_conn(tcp::socket s) : socket(std::move(s)) {}
  tcp::socket socket;
  std::array<std::byte, 4096> buffer{};
  void read() {
    socket.async_read_some(asio::buffer(buffer), [this](asio::error_code ec, std::size_t n) {
      if (ec) return;  // the client's end of stream
      asio::async_write(socket, asio::buffer(buffer.data(), n),
                        [this](asio::error_code wec, std::size_t) {
                          if (!wec) read();
                        });
    });
  }
};

struct asio_client_conn {
  explicit asio_client_conn(tcp::socket s) : socket(std::move(s)) {}
  tcp::socket socket;
  std::array<std::byte, message_size> out{}, in{};
  std::uint64_t left = 0;
  std::uint64_t* done = nullptr;
  std::size_t* finished = nullptr;
  std::size_t connections = 0;
  void trip() {
    out[0] = static_cast<std::byte>(left);
    asio::async_write(socket, asio::buffer(out), [this](asio::error_code ec, std::size_t) {
      if (ec) throw std::system_error(ec, "net_echo asio: write");
      asio::async_read(socket, asio::buffer(in), [this](asio::error_code rec, std::size_t) {
        if (rec) throw std::system_error(rec, "net_echo asio: read");
        if (in[0] != out[0]) throw std::logic_error("net_echo asio: wrong echo");
        ++*done;
        if (--left > 0) return trip();
        if (++*finished == connections) anyio_bench::end_measure();
        socket.shutdown(tcp::socket::shutdown_send);
      });
    });
  }
};

// Connected socket pairs, set up before the clock starts (blocking calls:
// the listen backlog completes each handshake).
struct asio_pairs {
  std::vector<tcp::socket> clients, servers;
};

asio_pairs connect_pairs(asio::io_context& ctx, std::size_t connections) {
  tcp::acceptor acceptor(ctx, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  asio_pairs p;
  for (std::size_t c = 0; c < connections; ++c) {
    p.clients.emplace_back(ctx);
    p.clients.back().connect(acceptor.local_endpoint());
    p.servers.push_back(acceptor.accept());
    p.clients.back().set_option(tcp::no_delay(true));
    p.servers.back().set_option(tcp::no_delay(true));
  }
  return p;
}

void asio_callbacks(std::size_t connections, std::uint64_t ops) {
  asio::io_context ctx(1);
  asio_pairs p = connect_pairs(ctx, connections);
  std::vector<std::unique_ptr<asio_server_conn>> servers;
  std::vector<std::unique_ptr<asio_client_conn>> clients;
  std::uint64_t done = 0;
  std::size_t finished = 0;
  for (std::size_t c = 0; c < connections; ++c) {
    servers.push_back(std::make_unique<asio_server_conn>(std::move(p.servers[c])));
    clients.push_back(std::make_unique<asio_client_conn>(std::move(p.clients[c])));
    clients.back()->left = ops / connections;
    clients.back()->done = &done;
    clients.back()->finished = &finished;
    clients.back()->connections = connections;
  }
  anyio_bench::begin_measure();
  for (auto& s : servers) s->read();
  for (auto& c : clients) c->trip();
  ctx.run();
  if (done != ops / connections * connections) throw std::logic_error("net_echo asio: lost");
}

asio::awaitable<void> coro_server(tcp::socket socket) {
  std::array<std::byte, 4096> buffer;
  for (;;) {
    auto [ec, n] = co_await socket.async_read_some(
        asio::buffer(buffer), asio::experimental::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    co_await asio::async_write(socket, asio::buffer(buffer.data(), n), asio::use_awaitable);
  }
}

asio::awaitable<void> coro_client(tcp::socket socket, std::uint64_t trips, std::uint64_t& done,
                                  std::size_t& finished, std::size_t connections) {
  std::array<std::byte, message_size> out{}, in{};
  for (std::uint64_t i = 0; i < trips; ++i) {
    out[0] = static_cast<std::byte>(i);
    co_await asio::async_write(socket, asio::buffer(out), asio::use_awaitable);
    co_await asio::async_read(socket, asio::buffer(in), asio::use_awaitable);
    if (in[0] != out[0]) throw std::logic_error("net_echo asio-coro: wrong echo");
    ++done;
  }
  if (++finished == connections) anyio_bench::end_measure();
  socket.shutdown(tcp::socket::shutdown_send);
}

void asio_coroutines(std::size_t connections, std::uint64_t ops) {
  asio::io_context ctx(1);
  asio_pairs p = connect_pairs(ctx, connections);
  std::uint64_t done = 0;
  std::size_t finished = 0;
  std::exception_ptr error;
  auto keep_first = [&](std::exception_ptr e) {
    if (e && !error) error = e;
  };
  anyio_bench::begin_measure();
  for (std::size_t c = 0; c < connections; ++c) {
    asio::co_spawn(ctx, coro_server(std::move(p.servers[c])), keep_first);
    asio::co_spawn(ctx,
                   coro_client(std::move(p.clients[c]), ops / connections, done, finished,
                               connections),
                   keep_first);
  }
  ctx.run();
  if (error) std::rethrow_exception(error);
  if (done != ops / connections * connections) throw std::logic_error("net_echo asio-coro: lost");
}

// --------------------------------------------------------- registration

template <std::size_t Connections> void on_realio(std::uint64_t ops) {
  anyio::run(anyio_echo, Connections, ops);
}
template <std::size_t Connections> void on_sim(std::uint64_t ops) {
  anyio::sim::run([ops] { return anyio_echo(Connections, ops); }, {.seed = 1});
}
template <std::size_t Connections> void on_asio(std::uint64_t ops) {
  asio_callbacks(Connections, ops);
}
template <std::size_t Connections> void on_asio_coro(std::uint64_t ops) {
  asio_coroutines(Connections, ops);
}
void on_realio_2loops(std::uint64_t ops) { realio_loops(50, ops, 2); }

[[maybe_unused]] const int registered_1 = anyio_bench::add({
    .name = "net_echo_1",
    .label = "net echo, 1 conn",
    .unit = "round trip",
    .ops = 20'000,
    .goals = {.min_ratio_vs_asio = 0.95},
    .variants = {{"realio", on_realio<1>},
                 {"sim", on_sim<1>},
                 {"asio", on_asio<1>},
                 {"asio-coro", on_asio_coro<1>}},
});

[[maybe_unused]] const int registered_50 = anyio_bench::add({
    .name = "net_echo_50",
    .label = "net echo, 50 conns",
    .unit = "round trip",
    .ops = 50'000,
    .goals = {.min_ratio_vs_asio = 0.95},
    .variants = {{"realio", on_realio<50>},
                 {"sim", on_sim<50>},
                 {"asio", on_asio<50>},
                 {"asio-coro", on_asio_coro<50>},
                 {"realio-2loops", on_realio_2loops}},
});

}  // namespace
