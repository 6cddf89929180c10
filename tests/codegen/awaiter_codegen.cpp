// SPDX-License-Identifier: MIT
// Compiled, never run: check_codegen.py reads this object's machine code.
// The awaiters of the hot blocking calls (memory streams, lock, event,
// sleep) must be built without a zero fill of the whole awaiter: g++ 12
// turns that fill into `rep stosq`, whose start-up cost (tens of cycles,
// which callgrind counts as a few instructions) was most of w2's wall-time
// gap to its floor (bench/README.md). blocking_awaiter and the channel ops
// have constructors for this reason; aggregate initialization brings the
// fill back. codegen_control is that aggregate pattern on purpose, so the
// check is known to recognise the fill with this compiler and flags.
#include <anyio/lowlevel.hpp>
#include <anyio/memory_stream.hpp>
#include <anyio/sync.hpp>
#include <anyio/task.hpp>
#include <anyio/time.hpp>

#include <chrono>
#include <cstdint>
#include <optional>

anyio::task<> codegen_probe_channel(anyio::memory_object_send_stream<int>& tx,
                                    anyio::memory_object_receive_stream<int>& rx, int n) {
  for (int i = 0; i < n; ++i) {
    co_await tx.send(i);
    const int v = co_await rx.receive();
    if (v < 0) co_return;
  }
}

anyio::task<> codegen_probe_sync(anyio::lock& l, anyio::event& e, anyio::semaphore& s) {
  co_await l.acquire();
  l.release();
  co_await e.wait();
  co_await s.acquire();
  s.release();
  co_await anyio::sleep(std::chrono::milliseconds(1));
  co_await anyio::checkpoint();
}

extern "C" void codegen_control_sink(void* p);

namespace {
// The awaiter shapes before the fix: defaulted constructors, member
// initializers everywhere, aggregates all the way up.
struct control_node {
  control_node* prev = nullptr;
  control_node* next = nullptr;
  void* lot = nullptr;
  void* task = nullptr;
  control_node() noexcept = default;
  control_node(const control_node&) = delete;
  ~control_node();  // non-trivial, as park_node's (it leaves its queue)
};
struct control_waiter : control_node {
  std::uint64_t handle = 0;
  unsigned char reason = 0;
  std::optional<int> slot{};
};
struct control_op {
  void* s;
  void* h;
  const char* api = "control";
  control_waiter node{};
};
struct control_awaiter : control_op {
  void* t = nullptr;
  bool fast = false;
};
}  // namespace

control_node::~control_node() { codegen_control_sink(lot); }

extern "C" void* codegen_control_check(void* s);  // like memory streams' require()
namespace {
[[gnu::noinline]] control_awaiter make_control(void* s, void* h) {
  return {{codegen_control_check(s), h}};
}
}  // namespace

extern "C" void codegen_control(void* s, void* h) {
  control_awaiter a = make_control(s, h);  // aggregate initialization: the fill
  codegen_control_sink(&a);
}
