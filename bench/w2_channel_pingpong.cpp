// SPDX-License-Identifier: MIT
// w2: 200,000 round trips of an int between two tasks over two rendezvous
// memory object streams (capacity 0): the pinger sends on channel 1 and
// receives the reply on channel 2, the ponger receives on 1 and sends on 2.
// One op is one round trip: two hand-offs to a parked receiver, two parks,
// two wake-ups. The baseline is the same pair of raw Asio C++20 coroutines
// over two `asio::experimental::channel`s of capacity 0 on `io_context(1)`.
//
// The "floor" variant is the cheapest hand-off the kernel allows (what a
// minimal one-slot stdexec channel does): the same two tasks on realio, each
// direction a bare slot written by a plain function and read after parking in
// lowlevel::wait_task_rescheduled. It has no cancellation, no close, no
// end-of-stream, no statistics and no schedule point after a send. It costs
// two task switches a round trip; so do the streams on realio, whose
// schedule point after a hand-off to a parked receiver is skipped when that
// receiver is the only task it would let run (sim keeps four). w2 realio /
// floor is the price of the guarantees (bench/README.md).
#include "harness.hpp"

#include <anyio/lowlevel.hpp>
#include <anyio/memory_stream.hpp>
#include <anyio/run.hpp>
#include <anyio/sim.hpp>
#include <anyio/task_group.hpp>

#include <asio/co_spawn.hpp>
#include <asio/experimental/channel.hpp>
#include <asio/io_context.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include <cstdint>
#include <exception>
#include <optional>
#include <stdexcept>
#include <utility>
#include <system_error>

namespace {

// The ponger adds one to every value it echoes, so after n round trips the
// pinger holds exactly n: a lost or duplicated hand-off shows in the result.
struct pong_side {
  anyio::memory_object_receive_stream<int> rx;
  anyio::memory_object_send_stream<int> tx;
};

anyio::task<> ponger(pong_side* side, std::uint64_t n) {
  for (std::uint64_t i = 0; i < n; ++i) {
    int v = co_await side->rx.receive();
    co_await side->tx.send(v + 1);
  }
}

anyio::task<> ping_pong(std::uint64_t n) {
  auto there = anyio::create_memory_object_stream<int>(0);
  auto back = anyio::create_memory_object_stream<int>(0);
  pong_side side{std::move(there.receive), std::move(back.send)};
  int v = 0;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon(ponger, &side, n);
    // Time only round trips: wait until the ponger has allocated its frame
    // and parked in its first receive, so every send is a hand-off to it.
    while (there.send.statistics().tasks_waiting_receive == 0) co_await anyio::checkpoint();
    anyio_bench::begin_measure();
    for (std::uint64_t i = 0; i < n; ++i) {
      co_await there.send.send(v);
      v = co_await back.receive.receive();
    }
    anyio_bench::end_measure();
  });
  if (static_cast<std::uint64_t>(v) != n) throw std::logic_error("w2: round trips lost");
}

void on_realio(std::uint64_t n) { anyio::run(ping_pong, n); }

// The floor: one value slot and at most one parked reader per direction.
struct bare_slot {
  std::optional<int> value{};
  anyio::lowlevel::task_handle reader{};
};

// Nothing can withdraw a bare read: the floor has no cancellation.
constexpr auto cannot_abort = []() noexcept { return anyio::abort_result::failed; };

void bare_put(bare_slot& s, int v) {
  if (s.value) throw std::logic_error("w2 floor: the slot is already full");
  s.value = v;
  if (s.reader) anyio::lowlevel::reschedule(std::exchange(s.reader, {}));
}

int bare_take(bare_slot& s) {
  if (!s.value) throw std::logic_error("w2 floor: woken with an empty slot");
  return *std::exchange(s.value, std::nullopt);
}

struct bare_pair {
  bare_slot there, back;
};

anyio::task<> bare_ponger(bare_pair* p, std::uint64_t n) {
  for (std::uint64_t i = 0; i < n; ++i) {
    if (!p->there.value) {
      p->there.reader = anyio::lowlevel::current_task_handle();
      co_await anyio::lowlevel::wait_task_rescheduled(cannot_abort, "w2 floor: read");
    }
    bare_put(p->back, bare_take(p->there) + 1);
  }
}

anyio::task<> bare_ping_pong(std::uint64_t n) {
  bare_pair p;
  int v = 0;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon(bare_ponger, &p, n);
    while (!p.there.reader) co_await anyio::checkpoint();  // as above: the peer is parked
    anyio_bench::begin_measure();
    for (std::uint64_t i = 0; i < n; ++i) {
      bare_put(p.there, v);
      if (!p.back.value) {
        p.back.reader = anyio::lowlevel::current_task_handle();
        co_await anyio::lowlevel::wait_task_rescheduled(cannot_abort, "w2 floor: read");
      }
      v = bare_take(p.back);
    }
    anyio_bench::end_measure();
  });
  if (static_cast<std::uint64_t>(v) != n) throw std::logic_error("w2 floor: round trips lost");
}

void on_floor(std::uint64_t n) { anyio::run(bare_ping_pong, n); }

void on_sim(std::uint64_t n) {
  anyio::sim::run([n] { return ping_pong(n); }, {.seed = 1});
}

using asio_channel = asio::experimental::channel<void(asio::error_code, int)>;

asio::awaitable<void> asio_ponger(asio_channel& there, asio_channel& back, std::uint64_t n) {
  for (std::uint64_t i = 0; i < n; ++i) {
    int v = co_await there.async_receive(asio::use_awaitable);
    co_await back.async_send(asio::error_code{}, v + 1, asio::use_awaitable);
  }
}

asio::awaitable<void> asio_pinger(asio_channel& there, asio_channel& back, std::uint64_t n,
                                  int& v) {
  anyio_bench::begin_measure();
  for (std::uint64_t i = 0; i < n; ++i) {
    co_await there.async_send(asio::error_code{}, v, asio::use_awaitable);
    v = co_await back.async_receive(asio::use_awaitable);
  }
  anyio_bench::end_measure();
}

void on_asio(std::uint64_t n) {
  asio::io_context ctx(1);
  asio_channel there(ctx, 0);
  asio_channel back(ctx, 0);
  int v = 0;
  std::exception_ptr errors[2];
  // The ponger first, so that (as on anyio) it is parked before the first send.
  asio::co_spawn(ctx, asio_ponger(there, back, n), [&](std::exception_ptr e) { errors[0] = e; });
  asio::co_spawn(ctx, asio_pinger(there, back, n, v),
                 [&](std::exception_ptr e) { errors[1] = e; });
  ctx.run();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
  if (static_cast<std::uint64_t>(v) != n) throw std::logic_error("w2: Asio round trips lost");
}

[[maybe_unused]] const int registered = anyio_bench::add({
    .name = "w2_channel_pingpong",
    .label = "w2 ping-pong",
    .unit = "round trip",
    .ops = 200'000,
    .goals = {.min_ratio_vs_asio = 3.0, .max_allocs_per_op = 0.0, .min_ratio_vs_floor = 1.0},
    .variants = {{"realio", on_realio}, {"sim", on_sim}, {"asio", on_asio}, {"floor", on_floor}},
});

}  // namespace
