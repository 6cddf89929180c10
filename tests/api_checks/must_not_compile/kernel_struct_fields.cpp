// SPDX-License-Identifier: MIT
// Must not compile: the kernel's per-scope, per-group and per-start() structs
// are opaque to user code (defined in runtime/kernel_structs.hpp); public
// headers hold only reserved room for them, so no field can be reached and
// none is part of the API. This stops compiling as intended only while all
// three stay incomplete here.
#include <anyio/anyio.hpp>

#include <cstddef>

std::size_t node = sizeof(anyio::detail::cancel_node);
std::size_t group = sizeof(anyio::detail::task_group_state);
std::size_t start = sizeof(anyio::detail::start_state_base);

int main() { return 0; }
