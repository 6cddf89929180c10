// SPDX-License-Identifier: MIT
// Property-based fuzzing of interleavings with RapidCheck: generators for
// schedules and PCT parameters, and anyio::rc::check_interleavings. Part of
// anyio::testing (link it); see docs/testing-with-sim.md.
#pragma once
#include <anyio/testing/rapidcheck.hpp>
