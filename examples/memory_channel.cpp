// SPDX-License-Identifier: MIT
// Tutorial, "Communication between tasks": a producer sends ten items to a
// consumer over a memory object stream. The default buffer size is 0, so
// every send waits for the consumer (back pressure for free). Each handle
// closes when it goes out of scope — C++'s version of the tutorial's
// `async with` — and the consumer's loop ends once the sender is closed.
// The second half staples a send and a receive stream into one queue-like
// object (the tutorial's StapledStream; it needs a buffer of at least 1).
//
// test-expect lines (checked by ctest on realio and on sim):
// test-expect: received number 0
// test-expect: received number 9
// test-expect: the consumer saw the end of the stream after 10 items
// test-expect: queue returned: first, second
#include "example_main.hpp"

#include <cstdio>
#include <string>

namespace {

// The receive handle is moved into this task's frame: it closes when the
// task returns, as `async with receive_stream:` would.
anyio::task<> process_items(anyio::memory_object_receive_stream<std::string> receive_stream,
                            int& count) {
  // next() returns an empty optional at end of stream: the `async for`.
  while (auto item = co_await receive_stream.next()) {
    std::printf("received %s\n", item->c_str());
    ++count;
  }
  std::printf("the consumer saw the end of the stream after %d items\n", count);
}

anyio::task<> producer_consumer() {
  auto streams = anyio::create_memory_object_stream<std::string>();  // 0: rendezvous
  int count = 0;
  co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
    tg.start_soon(process_items, std::move(streams.receive), std::ref(count));
    // `async with send_stream:` — closed at the end of this block.
    anyio::memory_object_send_stream<std::string> send_stream = std::move(streams.send);
    for (int num = 0; num < 10; ++num) co_await send_stream.send("number " + std::to_string(num));
  });
}

anyio::task<> stapled_queue() {
  auto [send, receive] = anyio::create_memory_object_stream<std::string>(1);
  anyio::stapled_object_stream<std::string> queue(std::move(send), std::move(receive));
  co_await queue.send("first");
  std::string a = co_await queue.receive();
  co_await queue.send("second");
  std::string b = co_await queue.receive();
  std::printf("queue returned: %s, %s\n", a.c_str(), b.c_str());
  co_await queue.aclose();
}

anyio::task<> amain() {
  co_await producer_consumer();
  co_await stapled_queue();
}

}  // namespace

ANYIO_EXAMPLE_MAIN(amain)
