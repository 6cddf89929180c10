// SPDX-License-Identifier: MIT
// sim's worker threads (mirrors realio/threads.cpp). A job runs at a
// scheduling point: an event `sim_duration` of virtual time after the call,
// delivered by the backend between task steps. The function runs on a real
// thread only so that it has a stack of its own for from_thread callbacks:
// the run's thread hands it control and blocks until it stops (finished, or
// asking for a callback), so exactly one of them runs at any time and the
// run stays a function of its seed. A callback's answer is handed over the
// same way, at an event of the current virtual time.
#include "threads.hpp"

#include <anyio/detail/assert.hpp>

#include <mutex>
#include <utility>

namespace anyio::sim::detail {

using anyio::detail::thread_job;

sim_threads::~sim_threads() {
  // Workers left when the run ended wait for an answer that will not come
  // (their call was abandoned, or the run failed): fail their callbacks and
  // let them finish.
  for (auto& [job, worker] : workers_) {
    {
      std::lock_guard<std::mutex> hold(job->mutex);
      job->orphaned = true;
    }
    job->wake.notify_all();
  }
  for (auto& [job, worker] : workers_) worker.join();
}

void sim_threads::start(std::shared_ptr<thread_job> job) {
  const std::int64_t at = events_.event_now() + std::max<std::int64_t>(job->sim_duration, 0);
  events_.schedule_event(at, [this, job] { step(job, true); });
}

void sim_threads::resume(std::shared_ptr<thread_job> job) {
  events_.schedule_event(events_.event_now(), [this, job] { step(job, false); });
}

void sim_threads::worker_asks(std::shared_ptr<thread_job> job) {
  std::lock_guard<std::mutex> hold(job->mutex);
  job->stopped = true;
  job->stopped_wake.notify_all();
}

void sim_threads::step(const std::shared_ptr<thread_job>& job, bool first) {
  {
    std::lock_guard<std::mutex> hold(job->mutex);
    job->stopped = false;
  }
  if (first) {
    workers_.emplace(job.get(), std::thread([this, job] {
                       anyio::detail::run_job_on_worker(*job);
                       worker_asks(job);  // finished: the same hand-back
                     }));
  } else {
    anyio::detail::answer_worker(*job);
  }
  bool done = false;
  {
    std::unique_lock<std::mutex> hold(job->mutex);
    job->stopped_wake.wait(hold, [&] { return job->stopped; });
    done = job->st == thread_job::state::done;
  }
  if (done) {
    auto it = workers_.find(job.get());
    ANYIO_ASSERT(it != workers_.end());
    it->second.join();
    workers_.erase(it);
  }
  anyio::detail::worker_stopped(job);
}

}  // namespace anyio::sim::detail
