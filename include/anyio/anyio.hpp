// SPDX-License-Identifier: MIT
// The umbrella header: everything a user program needs. Backend selection is
// by entry point — anyio::run (realio) or anyio::sim::run (simulator) — so
// the same code runs on both.
#pragma once
#include <anyio/cancel_scope.hpp>
#include <anyio/errors.hpp>
#include <anyio/files.hpp>
#include <anyio/lowlevel.hpp>
#include <anyio/memory_stream.hpp>
#include <anyio/net.hpp>
#include <anyio/process.hpp>
#include <anyio/run.hpp>
#include <anyio/signals.hpp>
#include <anyio/sim.hpp>
#include <anyio/sim_files.hpp>
#include <anyio/streams.hpp>
#include <anyio/sync.hpp>
#include <anyio/task.hpp>
#include <anyio/task_group.hpp>
#include <anyio/threads.hpp>
#include <anyio/time.hpp>
#include <anyio/tls.hpp>
