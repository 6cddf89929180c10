// SPDX-License-Identifier: MIT
// One '\n'-ended line from a byte stream, for the simulated-world tests
// whose hosts talk in lines over TCP (which may split any message).
#pragma once
#include <anyio/anyio.hpp>

#include <span>
#include <string>

namespace anyio_test {

// Reads up to and without the next '\n', one byte at a time, so nothing
// after the line is consumed.
template <class Stream> anyio::task<std::string> read_line(Stream& s) {
  std::string got;
  char c = 0;
  for (;;) {
    const std::size_t n = co_await s.receive(std::span<char>(&c, 1));
    if (n == 1 && c == '\n') co_return got;
    got.append(&c, n);
  }
}

}  // namespace anyio_test
