// SPDX-License-Identifier: MIT
// Must not compile: a lambda that returns int, not anyio::task<int>.
#include <anyio/anyio.hpp>

int main() {
  anyio::run([] { return 0; });
}
