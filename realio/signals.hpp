// SPDX-License-Identifier: MIT
// realio's signals (signals.cpp), owned by the backend: private to realio/.
#pragma once
#include "net_support.hpp"

#include <anyio/detail/signals.hpp>

#include <asio/io_context.hpp>

namespace anyio::realio {

class realio_signals final : public detail::signals {
 public:
  explicit realio_signals(asio::io_context& ctx) : ctx_(ctx) {}
  std::unique_ptr<detail::signal_watch> watch(const std::vector<int>& numbers) override;
  bool send(int) override { return false; }

 private:
  asio::io_context& ctx_;
};

}  // namespace anyio::realio
