#!/usr/bin/env python3
"""Start-up cost of the anima tool: wall time and peak resident memory of `anima --help` (and of any
other command line given), over repeated runs, with the shared objects the process maps.

    python3 bench/cli_startup.py [--anima build/tools/anima] [--runs 20] [-- ARGS...]

Prints min and median wall time (ms) and max RSS (MB) per command line, the load average beside them,
and how many shared objects the command initialises (one more run under LD_DEBUG=files). Only the
standard library is used. The goal for `--help` is under 50 ms and 30 MB; run it on a quiet machine.
"""
import argparse
import os
import statistics
import subprocess
import time


def one_run(argv):
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(argv)} exited with {os.waitstatus_to_exitcode(status)}")
    return wall, usage.ru_maxrss / 1024.0  # ru_maxrss is in KiB on Linux


def shared_objects(argv):
    env = dict(os.environ, LD_DEBUG="files")
    proc = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return sum(1 for line in proc.stderr.splitlines() if "calling init:" in line)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--anima", default="build/tools/anima")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("args", nargs="*", help="command lines to time, ';'-separated (default: --help)")
    opts = parser.parse_args()
    lines = [["--help"]]
    if opts.args:
        lines = [part.split() for part in " ".join(opts.args).split(";") if part.strip()]
    anima = os.path.abspath(opts.anima)
    print(f"anima: {anima}")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}, runs: {opts.runs}")
    print(f"{'command':<28} {'min ms':>8} {'median ms':>10} {'max RSS MB':>11} {'shared objects':>15}")
    for args in lines:
        argv = [anima] + args
        one_run(argv)  # warm the page cache
        samples = [one_run(argv) for _ in range(opts.runs)]
        walls = [w * 1e3 for w, _ in samples]
        rss = max(r for _, r in samples)
        label = "anima " + " ".join(args)
        print(f"{label:<28} {min(walls):8.1f} {statistics.median(walls):10.1f} {rss:11.1f} "
              f"{shared_objects(argv):15d}")


if __name__ == "__main__":
    main()
