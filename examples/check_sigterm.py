#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# The ctest that stops examples/dual_server.cpp with SIGTERM. Usage:
#   check_sigterm.py EXAMPLE            realio: start `EXAMPLE --until-sigterm`,
#       wait for its serving line, ask it once over TCP and once over UDP,
#       send SIGTERM, and require exit 0 with the graceful shutdown lines,
#       all within a bound;
#   check_sigterm.py EXAMPLE --sim-seed=N   sim: the program sends itself
#       SIGTERM with sim::send_signal after its own two clients; the same
#       lines are required.
# Every wait is bounded, so a server that ignores SIGTERM fails the test
# (naming what it printed) instead of hanging it.
import os
import re
import select
import signal
import socket
import subprocess
import sys
import time

BOUND = 20.0  # seconds for each step; the whole test stays well under ctest's timeout


def fail(message, output=""):
    sys.stderr.write(f"FAIL: {message}\n")
    if output:
        sys.stderr.write("the example printed:\n" + output)
    sys.exit(1)


def require_shutdown_lines(output, requests):
    expected = f"server: stopping after {requests} requests (SIGTERM)"
    if expected not in output:
        fail(f"no line '{expected}'", output)
    if "server: shut down cleanly" not in output:
        fail("no line 'server: shut down cleanly'", output)


def read_line(proc, deadline):
    line = b""
    while not line.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        ready, _, _ = select.select([proc.stdout], [], [], left)
        if not ready:
            return None
        byte = os.read(proc.stdout.fileno(), 1)
        if not byte:
            return None  # the program exited
        line += byte
    return line.decode()


def ask_tcp(port, name):
    with socket.create_connection(("127.0.0.1", port), timeout=BOUND) as s:
        s.sendall(name.encode())
        s.shutdown(socket.SHUT_WR)
        reply = b""
        while True:
            chunk = s.recv(512)
            if not chunk:
                return reply.decode()
            reply += chunk


def ask_udp(port, name):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(BOUND)
        s.sendto(name.encode(), ("127.0.0.1", port))
        return s.recvfrom(512)[0].decode()


def realio(example):
    proc = subprocess.Popen([example, "--until-sigterm"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        line = read_line(proc, time.monotonic() + BOUND)
        match = re.match(r"serving TCP and UDP on 127\.0\.0\.1:([0-9]+)", line or "")
        if not match:
            fail(f"no serving line within {BOUND} s (got {line!r})")
        port = int(match.group(1))
        for got, want in ((ask_tcp(port, "tester"), "hello, tester (tcp)"),
                          (ask_udp(port, "tester"), "hello, tester (udp)")):
            if got != want:
                fail(f"the server answered {got!r}, not {want!r}")
        proc.send_signal(signal.SIGTERM)
        try:
            rest, _ = proc.communicate(timeout=BOUND)
        except subprocess.TimeoutExpired:
            fail(f"still running {BOUND} s after SIGTERM")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    output = line + rest.decode()
    if proc.returncode != 0:
        fail(f"exited with {proc.returncode} after SIGTERM (0 expected)", output)
    require_shutdown_lines(output, 2)
    sys.stdout.write(output)


def sim(example, seed_arg):
    try:
        done = subprocess.run([example, "--until-sigterm", seed_arg], capture_output=True,
                              timeout=BOUND)
    except subprocess.TimeoutExpired:
        fail(f"{seed_arg}: still running after {BOUND} s")
    output = done.stdout.decode() + done.stderr.decode()
    if done.returncode != 0:
        fail(f"{seed_arg}: exited with {done.returncode}", output)
    require_shutdown_lines(output, 2)
    sys.stdout.write(output)


def main():
    if len(sys.argv) == 2:
        realio(sys.argv[1])
    elif len(sys.argv) == 3 and sys.argv[2].startswith("--sim-seed="):
        sim(sys.argv[1], sys.argv[2])
    else:
        fail("usage: check_sigterm.py EXAMPLE [--sim-seed=N]")


if __name__ == "__main__":
    main()
