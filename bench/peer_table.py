"""What the ours-versus-PyTorch scripts bench/compare_*.py share: running an anima benchmark binary and
reading its JSON report, timing the PyTorch peer under the same conditions as anima's benchmarks, and
writing the resulting table.

Conditions both sides share:
  threads  num_threads(): ANIMA_NUM_THREADS when it is a positive integer, else the machine's CPUs; the
           anima binary gets it as ANIMA_NUM_THREADS, torch through torch.set_num_threads.
  CUDA     use_torch_cuda(): TF32 off in cuDNN and cuBLAS (anima's CUDA paths use FP32 FMA math) and
           cudnn.benchmark off (both sides take cuDNN's heuristic algorithm).
  timing   torch_times_ms(cuda_events=True): like anima's CUDA benchmarks (bench/cuda_timer.cuh), the
           L2 cache is flushed (a buffer of twice its size overwritten) and the device synchronised
           before each timed call, and CUDA events around the call give its time.

Not a compare script itself: tools/gpu_check.sh runs every bench/compare_*.py, and this module's name
keeps it out of that list.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

# Google Benchmark's time_unit -> milliseconds.
TIME_UNIT_MS = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}


def num_threads():
    env = os.environ.get("ANIMA_NUM_THREADS")
    if env and env.isdigit() and int(env) > 0:
        return int(env)
    return os.cpu_count() or 1


def run_benchmark_json(binary, threads, filt="", flags=()):
    """Runs a Google Benchmark binary with --benchmark_format=json, `flags`, --benchmark_filter=filt (when
    given) and ANIMA_NUM_THREADS=threads; returns its JSON report, with "max_rss_kb" added: the peak
    resident memory of the binary's process (getrusage of the child). When the binary prints nothing
    (no benchmark matched the filter), says so on stderr and returns a report with no benchmarks."""
    cmd = [binary, "--benchmark_format=json"] + list(flags)
    if filt:
        cmd.append("--benchmark_filter=" + filt)
    env = dict(os.environ, ANIMA_NUM_THREADS=str(threads))
    out, max_rss_kb = run_with_peak_rss(cmd, env)
    if not out.strip():
        print("%s: no benchmark matched %r" % (binary, filt), file=sys.stderr)
        return {"benchmarks": [], "max_rss_kb": max_rss_kb}
    data = json.loads(out)
    data["max_rss_kb"] = max_rss_kb
    return data


# Runs argv[2:] as its child and writes the child's peak RSS (KiB) to the file argv[1]. Linux folds the
# memory a process had before exec into its ru_maxrss, so a command forked straight from this process
# (with torch and the peers' models loaded, often over 1 GB) would report at least that much: a fresh
# interpreter forks it instead, and the figure is the command's own (at least the ~10 MB of that
# interpreter).
_PEAK_RSS_HELPER = """import os, sys
pid = os.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[2], sys.argv[2:])
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as f:
    f.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status) & 255)
"""


def run_with_peak_rss(cmd, env=None):
    """Runs cmd, returns (its stdout as bytes, its peak resident memory in KiB, from wait4's rusage);
    raises subprocess.CalledProcessError when it exits non-zero."""
    with tempfile.TemporaryDirectory(prefix="anima_rss_") as folder:
        rss_file = os.path.join(folder, "maxrss_kb")
        proc = subprocess.run([sys.executable, "-c", _PEAK_RSS_HELPER, rss_file] + list(cmd), stdout=subprocess.PIPE,
                              env=env)
        if proc.returncode != 0:
            raise subprocess.CalledProcessError(proc.returncode, cmd, proc.stdout)
        with open(rss_file) as f:
            return proc.stdout, int(f.read())


def row_ms(b):
    """The real time of a row of the JSON report, in milliseconds."""
    return b["real_time"] * TIME_UNIT_MS[b.get("time_unit", "ns")]


def iteration_rows(data, report_errors=True):
    """Yields the rows of a JSON report that timed iterations (no aggregates) and ran: a row that reported
    an error (e.g. "no CUDA device") is passed over, with a line on stderr when report_errors."""
    for b in data["benchmarks"]:
        if b.get("error_occurred"):
            if report_errors:
                print("skipped %s: %s" % (b["name"], b.get("error_message", "")), file=sys.stderr)
            continue
        if b.get("run_type", "iteration") != "iteration":
            continue
        yield b


def use_torch_cuda(torch, flag):
    """Exits naming the command-line flag `flag` when this torch has no CUDA device; else sets the CUDA
    conditions of the module docstring."""
    if not torch.cuda.is_available():
        sys.exit("%s given but this torch has no CUDA device" % flag)
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.benchmark = False


def l2_flusher(torch):
    """A function that overwrites a CUDA buffer of twice the current device's L2 size (64 MiB where this
    torch does not report the size), as bench/cuda_timer.cuh does."""
    props = torch.cuda.get_device_properties(torch.cuda.current_device())
    l2_bytes = getattr(props, "L2_cache_size", 0) or (64 << 20)
    buffer = torch.empty(2 * l2_bytes, dtype=torch.uint8, device="cuda")
    return buffer.zero_


def torch_times_ms(torch, call, cuda_events, warmup, repeats):
    """Calls call() `warmup` times, then times `repeats` calls; returns their times in ms. cuda_events:
    L2 flushed and device synchronised before each call, CUDA events around it; else time.perf_counter
    around each call (a CUDA call that must count until its work is done synchronises inside call)."""
    for _ in range(warmup):
        call()
    times = []
    if cuda_events:
        flush = l2_flusher(torch)
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        for _ in range(repeats):
            flush()
            torch.cuda.synchronize()
            start.record()
            call()
            stop.record()
            stop.synchronize()
            times.append(start.elapsed_time(stop))
    else:
        for _ in range(repeats):
            t0 = time.perf_counter()
            call()
            times.append((time.perf_counter() - t0) * 1e3)
    return times


def write_table(path, lines):
    """Writes the table's lines to path, through a temporary file renamed into place, so that a reader
    never sees a partial table."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(tmp, path)


def print_table(lines, out=None):
    """Prints the table's lines and, when out is given, writes them to that file too."""
    print("\n".join(lines))
    if out:
        write_table(out, lines)
