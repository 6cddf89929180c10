// SPDX-License-Identifier: MIT
// What realio's backend needs from process.cpp: the process service it hands
// out (posix_spawn, pidfds, pipes), and the Asio operation type of
// net_support.hpp that the pipes and the pidfd wait park on. Private to realio/.
#pragma once
#include "net_support.hpp"

#include <anyio/detail/process.hpp>

#include <memory>

namespace anyio::realio {

std::unique_ptr<detail::process_service> make_process_service(asio::io_context& ctx);

}  // namespace anyio::realio
