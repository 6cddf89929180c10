// SPDX-License-Identifier: MIT
// sim's worker threads (threads.cpp), owned by the sim backend: private to sim/.
#pragma once
#include <anyio/detail/threads.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <thread>

namespace anyio::sim::detail {

/// What the threads need from the backend: the virtual clock and a timed
/// event, run from wait_for_events/poll_events in (time, order of scheduling).
class event_services {
 public:
  virtual std::int64_t event_now() noexcept = 0;
  virtual void schedule_event(std::int64_t at, std::function<void()> fn) = 0;
  /// A trace line for something the run's world did (a signal arrived).
  virtual void trace_event(const char* what, std::int64_t value) = 0;

 protected:
  ~event_services() = default;
};

class sim_threads final : public anyio::detail::threads {
 public:
  explicit sim_threads(event_services& events) : events_(events) {}
  ~sim_threads() override;

  void start(std::shared_ptr<anyio::detail::thread_job> job) override;
  void resume(std::shared_ptr<anyio::detail::thread_job> job) override;
  void worker_asks(std::shared_ptr<anyio::detail::thread_job> job) override;

 private:
  /// Let the worker of `job` run (its first run, or after an answer) and wait
  /// until it stops again, then hand the job to the kernel.
  void step(const std::shared_ptr<anyio::detail::thread_job>& job, bool first);

  event_services& events_;
  std::map<anyio::detail::thread_job*, std::thread> workers_;
};

}  // namespace anyio::sim::detail
