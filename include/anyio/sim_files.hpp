// SPDX-License-Identifier: MIT
// The simulated filesystem's controls (sim only; the file calls themselves
// are in <anyio/files.hpp> and the same on both backends). Each simulated
// host has its own in-memory filesystem (today: the one host, "localhost"),
// created empty with "/" and "/tmp" at a run's first file call. Its
// durability model is POSIX's as ext4 keeps it: written data survives a
// crash only once the file was synced (async_file::sync / sync_data), and a
// new, renamed or removed directory entry only once its directory was
// synced (path::sync). crash_filesystem() is the power cut: it keeps what
// was durable and loses the rest — or, with `tear`, keeps a seeded prefix of
// each file's unsynced writes, cut at a block boundary, the way a disk that
// wrote some sectors leaves it. Faults (EIO, ENOSPC, short writes, slow
// operations) come from filesystem_options or from a world's fault plan
// (sim_world.hpp); each is a fault decision "fault:fs_<kind>:<path>" as
// buggify's and the network's are, so a replay serves the same faults and
// sim::shrink removes the ones a failure does not need and weakens the rest.
#pragma once
#include <anyio/time.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

namespace anyio::sim {

/// Faults and timing of the simulated filesystem. Probabilities are per
/// operation, in [0, 1]; 0 decides nothing (so a run without faults has the
/// same trace as before faults existed). Each fault's decision is named
/// "fault:<kind>:<path>", its kind in brackets below; the strength of a
/// short write is the number of bytes it leaves out, of a slow operation
/// its extra delay in tenths of slow_latency.
struct filesystem_options {
  double read_error = 0;     ///< a read fails with EIO (fs_read_error)
  double write_error = 0;    ///< a write fails with EIO, nothing written (fs_write_error)
  double sync_error = 0;     ///< a sync (file or directory) fails with EIO (fs_sync_error)
  double short_write = 0;    ///< a write stores only a part, at least one byte (fs_short_write)
  double no_space = 0;       ///< a write fails with ENOSPC, nothing written (fs_no_space)
  double slow = 0;           ///< an operation takes up to slow_latency longer (fs_slow)
  clock::duration slow_latency = std::chrono::milliseconds(1);
  std::uint64_t capacity = 0;  ///< bytes of file data; writes past it are ENOSPC (0: no limit)
  /// Each operation takes a seeded virtual time in [min_latency, max_latency].
  clock::duration min_latency = std::chrono::microseconds(1);
  clock::duration max_latency = std::chrono::microseconds(20);
  std::size_t block_size = 512;  ///< where crash_options::tear may cut a write
};

/// Set the current host's filesystem options (inside a sim run). Throws
/// usage_error on realio or outside a run, std::invalid_argument for a
/// probability outside [0, 1], max_latency < min_latency, a negative
/// slow_latency or block_size 0. A fault plan's fs rates (sim_world.hpp)
/// apply besides these: each operation takes the larger of the two.
void configure_filesystem(const filesystem_options& opts);

struct crash_options {
  /// Keep a seeded prefix of each file's unsynced writes (the last one cut
  /// at a block boundary) instead of losing them all.
  bool tear = false;
};

/// What a crash did, for tests and logs.
struct crash_report {
  std::uint64_t files_changed = 0;  ///< files whose contents went back or were torn
  std::uint64_t entries_lost = 0;   ///< directory entries not yet durable, gone
  std::uint64_t torn_writes = 0;    ///< unsynced writes kept only in part
};

/// Cut the power of the current host's filesystem (inside a sim run):
/// everything not durable is lost (see the header comment), files open
/// before the crash fail with EIO from now on, and operations in flight fail
/// with EIO. The tasks themselves go on: a test usually cancels the writers
/// first, crashes, then runs its recovery code on the same run.
crash_report crash_filesystem(const crash_options& opts = {});

}  // namespace anyio::sim
