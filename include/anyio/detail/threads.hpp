// SPDX-License-Identifier: MIT
// The thread half of the backend seam (to_thread / from_thread). A call of
// to_thread::run_sync becomes one thread_job, shared between the calling
// task, a worker and the backend. The worker runs the function and, for
// from_thread, asks the calling task to run a callback; each time it stops
// (finished, or waiting for a callback's answer) the backend hands the job
// back to the run's thread, where runtime/threads.cpp wakes the task. A
// worker never touches the kernel. realio runs jobs on a pool of threads
// (realio/threads.cpp); sim runs each at a scheduling point of virtual time,
// in lock-step with the run's thread, so a seed still names the whole run
// (sim/threads.cpp).
//
// The protocol, one mutex per job: the worker writes `state` (running ->
// asking -> running ... -> done) and the backend carries that change to the
// run's thread (worker_stopped); the task answers a callback by setting
// `answered` and the backend lets the worker go on (resume).
#pragma once
#include <anyio/detail/io.hpp>
#include <anyio/sync.hpp>
#include <anyio/task.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>

namespace anyio::detail {

/// A callback from a worker (from_thread::run/run_sync), on the worker's
/// stack while it waits. run() is awaited by the calling task.
struct thread_callback {
  virtual task<> run() = 0;
  std::exception_ptr error{};

 protected:
  ~thread_callback() = default;
};

class threads;

class thread_job : public std::enable_shared_from_this<thread_job> {
 public:
  enum class state : std::uint8_t { running, asking, done };

  thread_job() = default;
  thread_job(const thread_job&) = delete;
  thread_job& operator=(const thread_job&) = delete;
  virtual ~thread_job() = default;

  /// The function itself, on the worker; it stores its result in the
  /// derived job. May throw: the worker keeps the exception in `error`.
  virtual void invoke() = 0;

  // Guarded by `mutex` (worker <-> run's thread).
  std::mutex mutex{};
  std::condition_variable wake{};   ///< the worker waits here for `answered`/`orphaned`
  std::condition_variable stopped_wake{};  ///< sim: the run's thread waits here for `stopped`
  state st = state::running;
  thread_callback* request = nullptr;  ///< while asking
  bool answered = false;
  bool orphaned = false;  ///< the run is over: callbacks fail at once
  bool stopped = false;   ///< sim: the worker asked or finished (lock-step hand-back)
  std::exception_ptr error{};  ///< what invoke() threw (written before done)
  threads* owner = nullptr;  ///< set before start, then read-only

  // The run's thread only.
  io_operation* waiter = nullptr;  ///< the parked task's operation, unless abandoned
  bool abandoned = false;          ///< a cancellable call was cancelled
  capacity_limiter* limiter = nullptr;
  std::int64_t sim_duration = 0;   ///< ns of virtual time the call takes (sim)
  const char* what = "anyio::to_thread::run_sync";
};

/// Run `job` on the calling (worker) thread: invoke it with from_thread
/// pointed at it, keep what it threw, mark it done. Backends call this.
void run_job_on_worker(thread_job& job) noexcept;

/// The run's thread: the worker of `job` stopped (asked or finished).
/// Backends call it from wait_for_events/poll_events.
void worker_stopped(const std::shared_ptr<thread_job>& job) noexcept;

/// Any thread: let a worker waiting in from_thread go on (its callback was
/// answered, or `orphaned` was set). Backends call it from resume().
void answer_worker(thread_job& job) noexcept;

/// The worker threads a backend provides.
class threads {
 public:
  virtual ~threads() = default;
  /// Begin running `job` (run_job_on_worker on some thread); when its worker
  /// stops, call worker_stopped on the run's thread. Never calls it inside start.
  virtual void start(std::shared_ptr<thread_job> job) = 0;
  /// `answered` was set: let the worker of `job` go on; as in start, its next
  /// stop comes back through worker_stopped.
  virtual void resume(std::shared_ptr<thread_job> job) = 0;
  /// On the worker thread: it asked for a callback (state::asking). Hand the
  /// job to the run's thread (worker_stopped there). After run_job_on_worker
  /// returns, the backend does the same for the finished job itself.
  virtual void worker_asks(std::shared_ptr<thread_job> job) = 0;

  /// to_thread::current_default_thread_limiter(): one per run (anyio's 40).
  capacity_limiter default_limiter{40};
};

/// The running backend's threads. Throws usage_error outside anyio::run().
threads& current_threads(const char* api);

/// The worker threads that run the calling thread's job, if it is a
/// to_thread worker (null on any other thread). blocking_portal uses it to
/// tell its run's workers, which call through from_thread, from other threads.
threads* current_worker_owner() noexcept;

/// Run `job` from the calling task (to_thread::run_sync's body).
task<> run_thread_job(std::shared_ptr<thread_job> job, bool cancellable,
                      capacity_limiter* limiter);

/// Ask the task that started the current worker to run `cb` and wait for it
/// (from_thread). Rethrows what the callback threw.
void call_from_worker(thread_callback& cb, const char* api);

}  // namespace anyio::detail
