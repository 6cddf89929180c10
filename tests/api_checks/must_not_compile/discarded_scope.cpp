// SPDX-License-Identifier: MIT
// Must not compile with -Werror: trio's `with move_on_after(1):` written as
// a statement makes a scope and drops it, so it cancels nothing.
#include <anyio/anyio.hpp>
using namespace std::chrono_literals;

anyio::task<> amain() {
  anyio::move_on_after(100ms);
  co_await anyio::sleep(2s);
}

int main() { anyio::run(amain); }
