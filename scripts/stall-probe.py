#!/usr/bin/env python3
"""Measures how late a thread wakes from 10 ms sleeps, to tell stalls of the whole machine
from stalls of a process. Run it under `chrt -f 3` (real-time, above every ordinary thread):
then a late wake-up can only come from the kernel or, on a virtual machine, the hypervisor.

    chrt -f 3 scripts/stall-probe.py SECONDS [--events FILE]

Prints one line: wake-ups, p99/p99.9/max lateness, and how many were over 20 and 50 ms;
with --events, the time (seconds from start) and lateness of each wake-up over 20 ms.
"""
import argparse
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("seconds", type=float)
    ap.add_argument("--events", help="write 'SECONDS LATE_MS' for each wake-up over 20 ms here")
    a = ap.parse_args()
    start = time.monotonic()
    end = start + a.seconds
    late, events = [], []
    while True:
        t = time.monotonic()
        if t >= end:
            break
        time.sleep(0.01)
        ms = (time.monotonic() - t - 0.01) * 1000
        late.append(ms)
        if ms > 20:
            events.append((t - start, ms))
    late.sort()
    n = len(late)
    print(f"wake-ups {n}, late p99 {late[int(n * 0.99)]:.2f} ms, p99.9 {late[int(n * 0.999)]:.2f} ms, "
          f"max {late[-1]:.1f} ms; over 20 ms: {len(events)}, over 50 ms: {sum(m > 50 for _, m in events)}")
    if a.events:
        with open(a.events, "w") as f:
            for s, ms in events:
                f.write(f"{s:.1f} {ms:.1f}\n")


if __name__ == "__main__":
    main()
