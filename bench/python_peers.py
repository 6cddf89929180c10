#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""w1-w4 in Python trio and anyio, for bench/run's comparison table.

What users would otherwise pick: the same four workloads as the C++
benchmarks, written the idiomatic way in trio and in anyio 3/4 (on its
asyncio backend), each round in a fresh interpreter (so peak RSS and w4's
growth are the round's own). Prints the records as the C++ harness writes
them (anyio-bench/1), so bench/run merges them into one results file.

- w1_spawn_join: a nursery / task group starts N tasks that each sleep(0).
- w2_channel_pingpong: two rendezvous memory object streams (buffer 0), a
  peer answers v + 1; one op is one round trip.
- w3_checkpoint: one task awaits sleep(0) N times.
- w4_parked_memory: N tasks each sleep an hour; RSS growth per task once
  the last one is parked (then they are cancelled).

Python runs these 30-100x slower than C++, so the op counts are smaller
than the C++ ones (rates are per op, so they compare; w4's per-task memory
does not depend on the count once it is large).
Needs Debian's python3-trio and python3-anyio (bench/run says so if they
are missing).
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

OPS = {"w1_spawn_join": 20_000, "w2_channel_pingpong": 20_000,
       "w3_checkpoint": 200_000, "w4_parked_memory": 50_000}
UNITS = {"w1_spawn_join": "task", "w2_channel_pingpong": "round trip",
         "w3_checkpoint": "checkpoint", "w4_parked_memory": "task"}
LIBS = ("trio", "anyio")


def rss_kb():
    # Current resident set (ru_maxrss is the peak, which w4 cannot use as a
    # baseline): /proc/self/statm's second field, in pages.
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def make(lib):
    """The library's spellings of the four primitives the workloads need."""
    if lib == "trio":
        import trio
        return dict(run=trio.run, sleep=trio.sleep, group=trio.open_nursery,
                    start=lambda g, f, *a: g.start_soon(f, *a),
                    streams=lambda: trio.open_memory_channel(0),
                    cancel=lambda g: g.cancel_scope.cancel())
    import anyio
    return dict(run=lambda f, *a: anyio.run(f, *a, backend="asyncio"), sleep=anyio.sleep,
                group=anyio.create_task_group, start=lambda g, f, *a: g.start_soon(f, *a),
                streams=lambda: anyio.create_memory_object_stream(0),
                cancel=lambda g: g.cancel_scope.cancel())


def one_round(lib, workload, ops):
    """Runs the workload once; returns (seconds of the timed part, extra)."""
    p = make(lib)
    sleep, group, start = p["sleep"], p["group"], p["start"]
    out = {}

    async def w1():
        done = 0

        async def child():
            nonlocal done
            await sleep(0)
            done += 1
        t0 = time.perf_counter()
        async with group() as g:
            for _ in range(ops):
                start(g, child)
        out["seconds"] = time.perf_counter() - t0
        assert done == ops, "w1: not every task ran"

    async def w2():
        send_a, recv_a = p["streams"]()
        send_b, recv_b = p["streams"]()

        async def peer():
            for _ in range(ops):
                v = await recv_a.receive()
                await send_b.send(v + 1)
        async with group() as g:
            start(g, peer)
            await sleep(0)
            t0 = time.perf_counter()
            v = 0
            for _ in range(ops):
                await send_a.send(v)
                v = await recv_b.receive()
            out["seconds"] = time.perf_counter() - t0
        assert v == ops, "w2: lost a message"

    async def w3():
        t0 = time.perf_counter()
        for _ in range(ops):
            await sleep(0)
        out["seconds"] = time.perf_counter() - t0

    async def w4():
        parked = 0

        async def sleeper():
            nonlocal parked
            parked += 1
            await sleep(3600)
        base = rss_kb()
        t0 = time.perf_counter()
        async with group() as g:
            for _ in range(ops):
                start(g, sleeper)
            while parked < ops:
                await sleep(0)
            out["seconds"] = time.perf_counter() - t0
            out["rss_bytes_per_op"] = (rss_kb() - base) * 1024 / ops
            p["cancel"](g)

    p["run"]({"w1_spawn_join": w1, "w2_channel_pingpong": w2, "w3_checkpoint": w3,
              "w4_parked_memory": w4}[workload])
    out["peak_rss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return out


def record(workload, lib, ops, rounds):
    # Each round in a fresh interpreter: w4's growth and the peak RSS are
    # then the round's own.
    results = []
    for _ in range(rounds):
        r = subprocess.run([sys.executable, __file__, "--child", lib, workload, str(ops)],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"{lib} {workload}: {r.stderr.strip()}")
        results.append(json.loads(r.stdout))
    secs = [x["seconds"] for x in results]
    med = statistics.median(secs)
    rec = {"workload": workload, "name": f"{workload}/{lib}", "backend": lib,
           "unit": UNITS[workload], "ops": ops, "repetitions": rounds, "statistic": "median",
           "seconds": med, "seconds_min": min(secs), "seconds_max": max(secs),
           "rate": ops / med, "ns_per_op": med * 1e9 / ops,
           "peak_rss_kb": max(x["peak_rss_kb"] for x in results)}
    if workload == "w4_parked_memory":
        rec["rss_bytes_per_op"] = statistics.median(x["rss_bytes_per_op"] for x in results)
    return rec


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        lib, workload, ops = sys.argv[2], sys.argv[3], int(sys.argv[4])
        print(json.dumps(one_round(lib, workload, ops)))
        return
    a = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    a.add_argument("--rounds", type=int, default=3)
    a.add_argument("--scale", type=float, default=1.0)
    a.add_argument("--filter", default="")
    a.add_argument("--json", help="write here (default: stdout)")
    args = a.parse_args()
    records = []
    for workload, ops in OPS.items():
        for lib in LIBS:
            if args.filter and args.filter not in f"{workload}/{lib}":
                continue
            records.append(record(workload, lib, max(1, int(ops * args.scale)), args.rounds))
            print(f"{workload}/{lib:<6} {records[-1]['rate']:12.0f} {UNITS[workload]}/s",
                  file=sys.stderr)
    doc = {"schema": "anyio-bench/1", "python": sys.version.split()[0], "records": records}
    text = json.dumps(doc, indent=2)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text)
    else:
        print(text)


if __name__ == "__main__":
    main()
