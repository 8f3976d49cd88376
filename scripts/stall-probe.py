#!/usr/bin/env python3
"""Measures stalls, to tell stalls of the whole machine or of the sound server from stalls
of a process. Run it under `chrt -f 3` (real-time, above every ordinary thread).

    chrt -f 3 scripts/stall-probe.py SECONDS [--events FILE]
    chrt -f 3 scripts/stall-probe.py SECONDS --source rg_mic.monitor [--events FILE]

Without --source it sleeps 10 ms again and again and measures how late it wakes: a late
wake-up can only come from the kernel or, on a virtual machine, the hypervisor. With
--source it records from that PulseAudio source (parecord, 10 ms fragments, real-time like
the probe) and measures how late each fragment arrives: the server moves every client's
audio on its main thread, so a gap here is a stall of the server that every client sees.

Prints one line: events, p99/p99.9/max lateness, and how many were over 20 and 50 ms; with
--events, the time (seconds from start) and lateness of each event over 20 ms.
"""
import argparse
import os
import subprocess
import time
from typing import Callable

PERIOD = 0.01  # the sleep, or the recording's fragment
SETTLE = 3.0  # seconds of recording ignored at the start (the stream starting up)


def sleeper() -> Callable[[], None]:
    return lambda: time.sleep(PERIOD)


def recorder(source: str) -> tuple[Callable[[], None], subprocess.Popen]:
    rec = subprocess.Popen(
        ["parecord", "-d", source, "--raw", "--format=float32le", "--rate=48000", "--channels=1",
         f"--latency-msec={int(PERIOD * 1000)}"],
        stdout=subprocess.PIPE, bufsize=0)
    fd = rec.stdout.fileno()

    def wait() -> None:
        if not os.read(fd, 1 << 16):
            raise EOFError(f"parecord from {source} ended")

    return wait, rec


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("seconds", type=float)
    ap.add_argument("--source", help="measure the arrival of this PulseAudio source's audio instead of sleeps")
    ap.add_argument("--events", help="write 'SECONDS LATE_MS' for each event over 20 ms here")
    a = ap.parse_args()
    rec = None
    if a.source:
        wait, rec = recorder(a.source)
        what = "fragments"
    else:
        wait, what = sleeper(), "wake-ups"
    start = time.monotonic()
    end = start + a.seconds
    late, events = [], []
    t = start
    try:
        while t < end:
            wait()
            now = time.monotonic()
            ms = (now - t - PERIOD) * 1000
            if not rec or now - start > SETTLE:
                late.append(ms)
                if ms > 20:
                    events.append((t - start, ms))
            t = now
    except EOFError as e:
        print(f"stall-probe: {e}")
    finally:
        if rec:
            rec.kill()
    late.sort()
    n = len(late)
    if n == 0:
        print(f"no {what}")
        return
    print(f"{what} {n}, late p99 {late[int(n * 0.99)]:.2f} ms, p99.9 {late[int(n * 0.999)]:.2f} ms, "
          f"max {late[-1]:.1f} ms; over 20 ms: {len(events)}, over 50 ms: {sum(m > 50 for _, m in events)}")
    if a.events:
        with open(a.events, "w") as f:
            for s, ms in events:
                f.write(f"{s:.1f} {ms:.1f}\n")


if __name__ == "__main__":
    main()
