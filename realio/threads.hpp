// SPDX-License-Identifier: MIT
// realio's worker thread pool (threads.cpp), owned by the backend: private
// to realio/.
#pragma once
#include <anyio/detail/threads.hpp>

#include <asio/io_context.hpp>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <list>
#include <memory>
#include <mutex>
#include <vector>
#include <thread>

namespace anyio::realio {

class realio_threads final : public detail::threads {
 public:
  /// How long a worker waits for a job before it retires.
  static constexpr std::chrono::seconds idle_limit{10};

  explicit realio_threads(asio::io_context& ctx);
  ~realio_threads() override;

  void start(std::shared_ptr<detail::thread_job> job) override;
  void resume(std::shared_ptr<detail::thread_job> job) override;
  void worker_asks(std::shared_ptr<detail::thread_job> job) override;

 private:
  void worker_main(std::list<std::thread>::iterator self);
  void hand_back(std::shared_ptr<detail::thread_job> job);

  asio::io_context& ctx_;
  std::mutex mutex_;
  std::condition_variable idle_wake_;
  std::deque<std::shared_ptr<detail::thread_job>> queue_;  // waiting for a worker
  std::vector<detail::thread_job*> active_;  // running on a worker (which owns a reference)
  std::list<std::thread> workers_;
  std::list<std::thread> retired_;  // left worker_main, not yet joined
  std::size_t idle_ = 0;      // asleep on idle_wake_
  std::size_t returning_ = 0;  // job done, handing it back: looks at queue_ next
  bool stopping_ = false;
};

}  // namespace anyio::realio
