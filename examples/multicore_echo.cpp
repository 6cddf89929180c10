// SPDX-License-Identifier: MIT
// Production pattern, "one event loop per core": anyio's kernel is per
// thread, so a server that uses several cores runs one anyio::run() per
// thread, each with its own listener on the same port (reuse_port: the OS
// spreads incoming connections over the listeners). Nothing is shared
// between the loops but the port and two atomics: how many workers listen,
// and the flag that stops them. The workers answer each line with their
// number, so the client, run in its own loop on the main thread, checks
// both the echo and that every answer came from a worker of the pool.
//
// With --sim-seed=N everything runs in one simulated loop instead (the
// simulator is one thread): the same workers as tasks, sharing the port.
//
// test-expect: pool of 3 workers listening on 127.0.0.1:[0-9]+
// test-expect: client: 60 lines over 20 connections echoed by the pool
// test-expect: answers per worker: w0=[0-9]+ w1=[0-9]+ w2=[0-9]+
// test-expect: all workers stopped
#include "example_main.hpp"

#include <anyio/net.hpp>

#include <array>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <latch>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

constexpr int workers = 3;
constexpr int connections = 20;
constexpr int lines_per_connection = 3;

struct pool {
  std::atomic<std::uint16_t> port{0};
  std::atomic<bool> stop{false};
  std::array<std::atomic<int>, workers> answers{};
};

// Echo each line as "w<id>: <line>".
anyio::task<> echo_lines(int id, pool& p, std::unique_ptr<anyio::socket_stream> stream) {
  std::string pending;
  try {
    for (;;) {
      pending += co_await stream->receive(4096);
      for (auto end = pending.find('\n'); end != std::string::npos; end = pending.find('\n')) {
        co_await stream->send("w" + std::to_string(id) + ": " + pending.substr(0, end + 1));
        pending.erase(0, end + 1);
        p.answers[static_cast<std::size_t>(id)].fetch_add(1);
      }
    }
  } catch (const anyio::end_of_stream&) {
  }
  co_await stream->aclose();
}

// One worker: a listener on the pool's port (worker 0 picks it), served until
// the pool's stop flag is set. The flag is polled: a loop on another thread
// cannot cancel this one's tasks directly.
anyio::task<> worker(anyio::task_status<>& status, int id, pool& p) {
  // A named options object, not a braced temporary: g++ 12 miscompiles a
  // braced aggregate argument of a coroutine inside co_await (it frees the
  // temporary's string twice); clang is fine.
  const anyio::tcp_listener_options options{
      .local_host = "127.0.0.1", .local_port = p.port.load(), .reuse_port = true};
  auto listener = co_await anyio::create_tcp_listener(options);
  if (id == 0) p.port = listener->extra(anyio::socket_attribute::local_port);
  status.started();
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon([&]() -> anyio::task<> {
      co_await listener->serve(
          [&](std::unique_ptr<anyio::socket_stream> s) { return echo_lines(id, p, std::move(s)); },
          &tg);
    });
    while (!p.stop.load()) co_await anyio::sleep(10ms);
    tg.cancel_scope().cancel();
  });
  co_await listener->aclose();
}

anyio::task<> one_connection(std::uint16_t port, int n) {
  auto stream = co_await anyio::connect_tcp("127.0.0.1", port);
  std::string pending;
  for (int i = 0; i < lines_per_connection; ++i) {
    const std::string line = "conn " + std::to_string(n) + " line " + std::to_string(i);
    co_await stream->send(line + "\n");
    while (pending.find('\n') == std::string::npos) pending += co_await stream->receive(4096);
    const std::string answer = pending.substr(0, pending.find('\n'));
    pending.erase(0, answer.size() + 1);
    // "w<id>: <line>" with id one of the pool's workers.
    const bool ok = answer.size() == line.size() + 4 && answer[0] == 'w' &&
                    answer[1] >= '0' && answer[1] < '0' + workers &&
                    answer.compare(2, std::string::npos, ": " + line) == 0;
    if (!ok) throw std::runtime_error("client: sent '" + line + "', got '" + answer + "'");
  }
  co_await stream->send_eof();
  co_await stream->aclose();
}

// Every connection at once, so that the OS spreads them over the listeners.
anyio::task<> client(std::uint16_t port) {
  co_await anyio::fail_after(30s).run([&]() -> anyio::task<> {
    co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
      for (int n = 0; n < connections; ++n) tg.start_soon(one_connection, port, n);
      co_return;
    });
  });
  std::printf("client: %d lines over %d connections echoed by the pool\n",
              connections * lines_per_connection, connections);
}

void print_summary(const pool& p) {
  std::printf("answers per worker:");
  int total = 0;
  for (int i = 0; i < workers; ++i) {
    std::printf(" w%d=%d", i, p.answers[static_cast<std::size_t>(i)].load());
    total += p.answers[static_cast<std::size_t>(i)].load();
  }
  std::printf("\n");
  if (total != connections * lines_per_connection)
    throw std::runtime_error("the workers answered " + std::to_string(total) + " lines");
}

// realio: one thread and one anyio::run() per worker.
void run_threads() {
  pool p;
  std::latch listening(workers);
  std::vector<std::thread> threads;
  std::vector<std::exception_ptr> errors(workers);
  auto start_worker = [&](int id) {
    threads.emplace_back([&, id] {
      bool counted = false;
      try {
        anyio::run([&]() -> anyio::task<> {
          co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            co_await tg.start(worker, id, std::ref(p));
            counted = true;
            listening.count_down();
          });
        });
      } catch (...) {
        errors[static_cast<std::size_t>(id)] = std::current_exception();
        p.stop = true;
        if (!counted) listening.count_down();
      }
    });
  };
  // Worker 0 first: the others bind the port it picked.
  start_worker(0);
  while (p.port.load() == 0 && !p.stop.load()) std::this_thread::sleep_for(1ms);
  for (int id = 1; id < workers; ++id) start_worker(id);
  listening.wait();
  std::exception_ptr client_error;
  if (!p.stop.load()) {
    std::printf("pool of %d workers listening on 127.0.0.1:%u\n", workers,
                static_cast<unsigned>(p.port.load()));
    try {
      anyio::run([&] { return client(p.port.load()); });
    } catch (...) {
      client_error = std::current_exception();
    }
  }
  p.stop = true;
  for (auto& t : threads) t.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
  if (client_error) std::rethrow_exception(client_error);
  print_summary(p);
}

// sim: the same workers as tasks of one simulated loop.
void run_one_loop(std::uint64_t seed) {
  pool p;
  anyio::sim::run(
      [&]() -> anyio::task<> {
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
          for (int id = 0; id < workers; ++id) co_await tg.start(worker, id, std::ref(p));
          std::printf("pool of %d workers listening on 127.0.0.1:%u\n", workers,
                      static_cast<unsigned>(p.port.load()));
          co_await client(p.port.load());
          p.stop = true;
        });
      },
      {.seed = seed});
  print_summary(p);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    for (int i = 1; i < argc; ++i)
      if (std::strncmp(argv[i], "--sim-seed=", 11) == 0) {
        run_one_loop(std::strtoull(argv[i] + 11, nullptr, 10));
        std::printf("all workers stopped\n");
        return 0;
      }
    run_threads();
    std::printf("all workers stopped\n");
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "example failed: %s\n", e.what());
    return 1;
  }
}
