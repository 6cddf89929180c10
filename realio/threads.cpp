// SPDX-License-Identifier: MIT
// realio's worker threads (mirrors sim/threads.cpp): a pool that grows when
// a job finds no idle worker, reuses idle workers, and retires a worker after
// `idle_limit` without work (anyio's default thread pool does the same). A
// worker never touches the kernel: when its job stops (finished, or asking
// for a from_thread callback) it posts the job to the run's io_context, and
// the kernel completes the wait there, on the run's thread. Destroying the
// pool (when the run is over) fails the callbacks of abandoned jobs still
// running and joins every thread, so nothing outlives the backend.
//
// Speed (bench/to_thread.cpp): a round trip costs two cross-thread wake-ups.
// A worker counts as available from the moment its job is done: the
// caller's next call, usually made while that worker is still returning
// from the hand-back, is queued for it without a notify, where it used to
// wake a second, cold worker (the calls alternated between two threads, each woken
// by a futex). Also measured, and not kept: spinning before sleeping (busy,
// or yielding) cost more than it saved on the loaded 2-core machine, and
// batching hand-backs behind one post added two lock round trips per call
// for one call in flight.
#include "threads.hpp"

#include <asio/post.hpp>

#include <algorithm>
#include <utility>

namespace anyio::realio {

realio_threads::realio_threads(asio::io_context& ctx) : ctx_(ctx) {}

realio_threads::~realio_threads() {
  std::list<std::thread> all;
  {
    std::lock_guard<std::mutex> hold(mutex_);
    stopping_ = true;
    // A job still running was abandoned (or its run failed): a worker that
    // asks for a callback now gets broken_resource_error instead of waiting
    // forever for a loop that is gone.
    for (detail::thread_job* job : active_) {
      std::lock_guard<std::mutex> hold_job(job->mutex);
      job->orphaned = true;
      job->wake.notify_all();
    }
    queue_.clear();
    all.splice(all.end(), workers_);
    all.splice(all.end(), retired_);
  }
  idle_wake_.notify_all();
  for (std::thread& t : all) t.join();
}

void realio_threads::start(std::shared_ptr<detail::thread_job> job) {
  std::list<std::thread> done;
  bool wake = false;
  {
    std::lock_guard<std::mutex> hold(mutex_);
    if (!retired_.empty()) done.swap(retired_);
    queue_.push_back(std::move(job));
    if (queue_.size() > idle_ + returning_) {
      workers_.emplace_back();
      auto self = std::prev(workers_.end());
      *self = std::thread([this, self] { worker_main(self); });
    } else if (queue_.size() > returning_) {
      wake = true;  // the returning workers cannot take them all
    }
  }
  // Outside the lock: the woken worker does not block on it at once.
  if (wake) idle_wake_.notify_one();
  for (std::thread& t : done) t.join();  // they have left worker_main already
}

void realio_threads::resume(std::shared_ptr<detail::thread_job> job) {
  detail::answer_worker(*job);
}

void realio_threads::worker_asks(std::shared_ptr<detail::thread_job> job) {
  hand_back(std::move(job));
}

void realio_threads::hand_back(std::shared_ptr<detail::thread_job> job) {
  asio::post(ctx_, [job = std::move(job)] { detail::worker_stopped(job); });
}

void realio_threads::worker_main(std::list<std::thread>::iterator self) {
  std::unique_lock<std::mutex> hold(mutex_);
  for (;;) {
    if (stopping_) return;
    if (queue_.empty()) {
      ++idle_;
      const bool woken = idle_wake_.wait_for(hold, idle_limit,
                                             [&] { return stopping_ || !queue_.empty(); });
      --idle_;
      if (!woken) {
        // Idle too long: retire. The next start() (or the destructor) joins
        // this thread; it touches nothing of the pool after this unlock.
        retired_.splice(retired_.end(), workers_, self);
        return;
      }
      continue;
    }
    std::shared_ptr<detail::thread_job> job = std::move(queue_.front());
    queue_.pop_front();
    active_.push_back(job.get());
    hold.unlock();
    detail::run_job_on_worker(*job);
    hold.lock();
    *std::find(active_.begin(), active_.end(), job.get()) = active_.back();
    active_.pop_back();
    // Available again before the hand-back: the caller's next start(),
    // often made before this worker is back here, counts on it instead of
    // waking another worker (or starting a thread).
    ++returning_;
    hold.unlock();
    // Out of active_ first: once handed back, the run's thread may free it.
    hand_back(std::move(job));
    hold.lock();
    --returning_;
  }
}

}  // namespace anyio::realio
