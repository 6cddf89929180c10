// SPDX-License-Identifier: MIT
// What sim's backend needs from process.cpp: the process service it hands
// out, and the hook through which the service writes `process` trace lines.
// Private to sim/.
#pragma once
#include <anyio/detail/process.hpp>

#include <cstdint>
#include <memory>
#include <string_view>

namespace anyio::sim::detail {

/// Writes a `process` trace line (op: spawn, signal, exit, not_found).
class process_tracer {
 public:
  virtual void process_event(std::string_view op, std::string_view program, std::int64_t pid,
                             std::int64_t code) = 0;

 protected:
  ~process_tracer() = default;
};

std::unique_ptr<anyio::detail::process_service> make_process_service(process_tracer& trace);

}  // namespace anyio::sim::detail
