// SPDX-License-Identifier: MIT
// Tutorial, "Managing multiple producers and/or multiple consumers": three
// producers and three consumers share one memory object stream through
// clones. Each value goes to exactly one consumer; the original handles are
// closed early, yet the stream stays open until the last clone is closed —
// only then do the consumers see the end of the stream. The program checks
// both facts and prints them.
//
// test-expect lines (checked by ctest on realio and on sim):
// test-expect: originals closed; still open: 3 send clones, 3 receive clones
// test-expect: consumer [0-2] received producer 2 number 9
// test-expect: every one of the 30 values was received exactly once
// test-expect: each consumer saw each producer's values in order
#include "example_main.hpp"

#include <cstdio>
#include <map>
#include <string>
#include <utility>
#include <vector>

using namespace std::chrono_literals;

namespace {

using item = std::pair<int, int>;  // (producer, number)

struct tally {
  std::map<item, int> times_received;
  bool in_order = true;
};

anyio::task<> process_items(anyio::memory_object_receive_stream<item> receive_stream, int id,
                            tally& t) {
  std::map<int, int> last;  // per producer, the last number this consumer saw
  while (auto v = co_await receive_stream.next()) {
    auto [producer, number] = *v;
    std::printf("consumer %d received producer %d number %d\n", id, producer, number);
    ++t.times_received[*v];
    if (last.count(producer) != 0 && last[producer] >= number) t.in_order = false;
    last[producer] = number;
    co_await anyio::sleep(1ms * (id + 1));  // consumers of different speeds
  }
}

anyio::task<> produce_items(anyio::memory_object_send_stream<item> send_stream, int id) {
  for (int num = 0; num < 10; ++num) co_await send_stream.send({id, num});
}  // the clone closes here

anyio::task<> amain() {
  tally t;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    auto streams = anyio::create_memory_object_stream<item>();
    for (int i = 0; i < 3; ++i) {
      tg.start_soon(process_items, streams.receive.clone(), i, std::ref(t));
      tg.start_soon(produce_items, streams.send.clone(), i);
    }
    // The tutorial's `async with send_stream, receive_stream:` ends here.
    streams.send.close();
    streams.receive.close();
    auto s = streams.send.statistics();
    std::printf("originals closed; still open: %zu send clones, %zu receive clones\n",
                s.open_send_streams, s.open_receive_streams);
    co_return;
  });
  bool exactly_once = t.times_received.size() == 30;
  for (auto& [value, n] : t.times_received) exactly_once = exactly_once && n == 1;
  if (exactly_once) std::printf("every one of the 30 values was received exactly once\n");
  if (t.in_order) std::printf("each consumer saw each producer's values in order\n");
}

}  // namespace

ANYIO_EXAMPLE_MAIN(amain)
