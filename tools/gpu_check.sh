#!/usr/bin/env bash
# The one script for the GPU machine (H100, CUDA 13, no network, no -dev packages).
#
#   bash tools/gpu_prepare.sh            # here, once: fills .gpu_deps/ (GoogleTest source, Benchmark)
#   bash tools/gpu_check.sh OUT_DIR      # there, with .gpu_deps/ carried beside the repository
#
# Configures build-gpu/ with ANIMA_CUDA=ON for sm_90 (tools off), builds with all cores, runs the CPU
# and CUDA tests, compute-sanitizer memcheck over anima_cuda_tests (memory errors only: CUDA API
# errors are not counted, since tests provoke them on purpose) and every built benchmark (short
# runs), and writes into OUT_DIR (these files, no subfolders):
#   summary.json   gpu, driver, commit, date, per-step status, test counts, sanitizer errors,
#                  benchmark figures (name -> real_time, time_unit, gflops: a counter whose name
#                  holds "flop", read as FLOP/s as Google Benchmark rate counters store it, / 1e9)
#   build.log      configure + build output          run.log       test + benchmark console output
#   tests.json     gtest JSON of anima_cuda_tests     sanitizer.log compute-sanitizer output
#   bench.json     all benchmarks' JSON merged
#   compare_<x>.txt  ours / PyTorch tables from bench/compare_<x>.py (CUDA), when built
#   racecheck.log  compute-sanitizer racecheck output, with RACECHECK_FILTER
#   synccheck.log  compute-sanitizer synccheck output, with SYNCCHECK_FILTER
# Every step runs even if an earlier one failed; the exit status is non-zero if any step failed.
# Environment: BUILD_DIR (build-gpu), CMAKE_CUDA_ARCHITECTURES (90), JOBS (all cores),
#   BENCH_MIN_TIME (0.05 seconds per benchmark), CUDNN_ROOT (a cuDNN with include/ and lib/),
#   TIME_BUDGET (280 s: tests, sanitizer and benchmarks are cut short once it is spent),
#   ANIMA_COMMIT (the commit to record when the tree arrives without .git),
#   COMPARE (compare_<x>.py scripts to run: names, all (default) or none), SKIP_CPU_AREAS=1 (skip the
#   per-area CPU test executables), CMAKE_ARGS (extra configure arguments), BUILD_TARGETS (space-separated targets to build instead of all), GTEST_FILTER (for the CUDA tests
#   and the sanitizer run), SANITIZER_FILTER (a gtest filter for the sanitizer run only),
#   RACECHECK_FILTER (a gtest filter, '*' for every CUDA test: also run compute-sanitizer racecheck on it,
#   into racecheck.log), SYNCCHECK_FILTER (the same for synccheck, into synccheck.log), SKIP_BENCHMARKS=1, DEBUG_TEST (a gtest filter: run it under cuda-gdb in
#   batch mode and write the backtrace of a crash to OUT/debug.log).
set -uo pipefail

out="${1:?usage: tools/gpu_check.sh OUT_DIR}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$(pwd)"
build="${BUILD_DIR:-build-gpu}"
jobs="${JOBS:-$(nproc 2>/dev/null || echo 16)}"
archs="${CMAKE_CUDA_ARCHITECTURES:-90}"
min_time="${BENCH_MIN_TIME:-0.05}"
budget="${TIME_BUDGET:-280}"
start=$SECONDS
mkdir -p "$build"
build="$(cd "$build" && pwd)"
work="$build/gpu_check"
rm -rf "$work"
mkdir -p "$work"
: > "$out/build.log"; : > "$out/run.log"; : > "$out/sanitizer.log"
steps="$work/steps.tsv"   # name \t status \t seconds \t note
: > "$steps"
failed=0

time_left() {  # min($1, seconds left of TIME_BUDGET), at least 20
  local left=$((budget - (SECONDS - start)))
  [[ $left -gt $1 ]] && left=$1
  [[ $left -lt 20 ]] && left=20
  echo "$left"
}
log() { echo "[gpu_check $((SECONDS - start))s] $*" | tee -a "$out/run.log"; }
record() {  # name status seconds note
  printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "${4:-}" >> "$steps"
  [[ "$2" == failed ]] && failed=1
  log "step $1: $2 ${4:-}"
}

# ---- toolchain: nvcc, cuDNN, carried dependencies ------------------------------------------------
export PATH="$PATH:/usr/local/cuda/bin"
cmake_args=(-DCMAKE_BUILD_TYPE=Release -DANIMA_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES="$archs"
            -DANIMA_BUILD_TESTS=ON -DANIMA_BUILD_BENCHMARKS=ON -DANIMA_BUILD_TOOLS=OFF)
if command -v ninja >/dev/null 2>&1; then cmake_args+=(-G Ninja); keep_going=(-k 0); else keep_going=(-k); fi
if command -v nvcc >/dev/null 2>&1; then cmake_args+=(-DCMAKE_CUDA_COMPILER="$(command -v nvcc)"); fi
# shellcheck disable=SC2206
cmake_args+=(${CMAKE_ARGS:-})   # extra configure arguments, e.g. -DCMAKE_BUILD_TYPE=RelWithDebInfo

deps="$root/.gpu_deps"
if [[ -d "$deps/googletest" ]]; then cmake_args+=(-DANIMA_GTEST_SOURCE_DIR="$deps/googletest"); fi
if [[ -d "$deps/usr" ]]; then
  cmake_args+=(-DCMAKE_PREFIX_PATH="$deps/usr")
  for d in "$deps"/usr/lib/*/cmake/benchmark; do [[ -d "$d" ]] && cmake_args+=(-Dbenchmark_DIR="$d"); done
fi

# cuDNN: CUDNN_ROOT, else the CUDA toolkit, else Python's nvidia-cudnn-cu13 wheel, whose lib/ may hold
# only libcudnn.so.9: then a folder with include/ and lib/libcudnn.so links is made in the build dir.
cudnn_libdir() {  # $1 = root; prints the folder under it that holds libcudnn.so*, if any
  local l
  for l in "$1/lib" "$1/lib64" "$1/lib/x86_64-linux-gnu" "$1/lib/aarch64-linux-gnu"; do
    compgen -G "$l/libcudnn.so*" >/dev/null && { echo "$l"; return; }
  done
}
find_cudnn() {  # prints a root holding include/cudnn.h and lib*/libcudnn.so*, both from one cuDNN
  local c py
  py="$(python3 -c 'import nvidia.cudnn as m, os; print(os.path.dirname(m.__file__) if m.__file__ else list(m.__path__)[0])' 2>/dev/null)"
  for c in "${CUDNN_ROOT:-}" /usr/local/cuda /usr/local/cuda-* "$py" \
           $(find /usr /opt -name cudnn.h -path '*/include/*' 2>/dev/null | head -5 | xargs -r -n1 dirname | xargs -r -n1 dirname); do
    [[ -n "$c" && -f "$c/include/cudnn.h" && -n "$(cudnn_libdir "$c")" ]] && { echo "$c"; return; }
  done
}
cudnn="$(find_cudnn)"
if [[ -n "$cudnn" ]]; then
  libdir="$(cudnn_libdir "$cudnn")"
  if [[ -n "$libdir" && ! -e "$libdir/libcudnn.so" ]]; then
    shim="$build/cudnn_root"; mkdir -p "$shim/lib"
    ln -sfn "$cudnn/include" "$shim/include"
    for f in "$libdir"/libcudnn*.so.*; do
      b="$(basename "$f")"; ln -sfn "$f" "$shim/lib/$b"; ln -sfn "$f" "$shim/lib/${b%%.so.*}.so"
    done
    cudnn="$shim"
  fi
  cmake_args+=(-DCUDNN_ROOT="$cudnn")
  [[ -n "$libdir" ]] && export LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
log "cuDNN: ${cudnn:-not found}; jobs $jobs; archs $archs"

# ---- configure + build ---------------------------------------------------------------------------
rm -f "$build/CMakeCache.txt"   # configure afresh (cuDNN may differ); objects are reused
t=$SECONDS
if timeout 180 cmake -S . -B "$build" "${cmake_args[@]}" >> "$out/build.log" 2>&1; then
  record configure ok $((SECONDS - t))
  t=$SECONDS
  targets=()
  for tg in ${BUILD_TARGETS:-}; do targets+=(--target "$tg"); done
  if timeout 300 cmake --build "$build" -j "$jobs" "${targets[@]}" -- "${keep_going[@]}" >> "$out/build.log" 2>&1; then
    record build ok $((SECONDS - t))
  else
    record build failed $((SECONDS - t)) "see build.log (kept going: targets that compiled still run)"
  fi
else
  record configure failed $((SECONDS - t)) "see build.log"
fi

# ---- tests ---------------------------------------------------------------------------------------
run_gtest() {  # step-name binary json-out sources-glob...
  local name="$1" bin="$2" json="$3"; shift 3
  local t=$SECONDS rc
  if [[ ! -x "$bin" ]]; then
    local has=0 p
    for p in "$@"; do compgen -G "$p" >/dev/null && has=1; done
    if [[ $has -eq 1 ]]; then
      record "$name" failed 0 "not built"
    else
      record "$name" skipped 0 "no test sources"
    fi
    return
  fi
  log "run $bin"
  timeout "$(time_left 120)" "$bin" --gtest_output="json:$json" ${GTEST_FILTER:+--gtest_filter="$GTEST_FILTER"} >> "$out/run.log" 2>&1
  rc=$?
  if [[ $rc -eq 0 ]]; then record "$name" ok $((SECONDS - t)); else record "$name" failed $((SECONDS - t)) "exit $rc"; fi
}
run_gtest cpu_tests "$build/tests/anima_tests" "$work/cpu_tests.json" "tests/core/*.cpp"
for area in io nn nets detect; do  # the per-area CPU executables (tests/<area>/*.cpp)
  if [[ -n "${SKIP_CPU_AREAS:-}" ]]; then break; fi
  run_gtest "cpu_${area}_tests" "$build/tests/anima_${area}_tests" "$work/cpu_${area}_tests.json" "tests/$area/*.cpp"
done
run_gtest cuda_tests "$build/tests/anima_cuda_tests" "$out/tests.json" "tests/cuda/*.cu" "tests/cuda/*.cpp"
# Every op case on every backend (the /cuda0 instances are the CPU-vs-CUDA parity).
run_gtest ops_tests "$build/tests/anima_ops_tests" "$out/ops_tests.json" "tests/ops/*.cpp"

# ---- compute-sanitizer ---------------------------------------------------------------------------
sanitizer="$(command -v compute-sanitizer || true)"
for c in /usr/local/cuda/bin/compute-sanitizer /usr/local/cuda/compute-sanitizer/compute-sanitizer; do
  [[ -z "$sanitizer" && -x "$c" ]] && sanitizer="$c"
done
# sanitize NAME TOOL SUMMARY NOUN SECONDS LOG FILTER TOOL_OPTION...: runs compute-sanitizer --tool TOOL over
# anima_cuda_tests (FILTER: a gtest filter, empty for all) into LOG, at most SECONDS (time_left), and records
# step NAME, judged by the count on the tool's "<SUMMARY> SUMMARY: <n> <NOUN>s" line. Failing tests (exit 1)
# are the cuda_tests step's business, but a process that crashed or was killed under the tool (any other
# non-zero exit) did not finish its run.
sanitize() {
  local name=$1 tool=$2 summary=$3 noun=$4 seconds=$5 log_file=$6 filter=$7
  shift 7
  local t=$SECONDS rc count
  log "run compute-sanitizer --tool $tool anima_cuda_tests ${filter}"
  timeout "$(time_left "$seconds")" "$sanitizer" --tool "$tool" "$@" \
    "$build/tests/anima_cuda_tests" --gtest_brief=1 ${filter:+--gtest_filter="$filter"} > "$log_file" 2>&1
  rc=$?
  count="$(sed -n "s/.*$summary SUMMARY: \([0-9]*\) $noun.*/\1/p" "$log_file" | tail -1)"
  if [[ "$count" == 0 && $rc -ne 0 && $rc -ne 1 ]]; then
    record "$name" failed $((SECONDS - t)) "test process crashed under $tool (exit $rc)"
  elif [[ "$count" == 0 ]]; then record "$name" ok $((SECONDS - t)) "0 ${noun}s (test exit $rc)"
  elif [[ -n "$count" ]]; then record "$name" failed $((SECONDS - t)) "$count ${noun}s"
  else record "$name" failed $((SECONDS - t)) "no ${summary,,} summary (exit $rc)"; fi
}

if [[ ! -x "$build/tests/anima_cuda_tests" ]]; then
  record sanitizer skipped 0 "anima_cuda_tests not built"
elif [[ -z "$sanitizer" ]]; then
  record sanitizer failed 0 "compute-sanitizer not found"
else
  sanitize sanitizer memcheck ERROR error 200 "$out/sanitizer.log" "${SANITIZER_FILTER:-${GTEST_FILTER:-}}" \
    --report-api-errors no --error-exitcode 99 --print-limit 200
fi

# ---- racecheck (RACECHECK_FILTER): shared-memory hazards of the kernels those tests run ----------
if [[ -n "${RACECHECK_FILTER:-}" && -n "$sanitizer" && -x "$build/tests/anima_cuda_tests" ]]; then
  sanitize racecheck racecheck RACECHECK hazard 150 "$out/racecheck.log" "$RACECHECK_FILTER" \
    --racecheck-report hazard --error-exitcode 99 --print-limit 50
fi

# ---- synccheck (SYNCCHECK_FILTER): barriers and warp-synchronous primitives used where not every thread
# of the block or warp reaches them ------------------------------------------------------------------
if [[ -n "${SYNCCHECK_FILTER:-}" && -n "$sanitizer" && -x "$build/tests/anima_cuda_tests" ]]; then
  sanitize synccheck synccheck ERROR error 150 "$out/synccheck.log" "$SYNCCHECK_FILTER" \
    --error-exitcode 99 --print-limit 50
fi

# ---- a crash under the debugger (DEBUG_TEST) ------------------------------------------------------
if [[ -n "${DEBUG_TEST:-}" && -x "$build/tests/anima_cuda_tests" ]]; then
  gdb_bin="$(command -v cuda-gdb || echo /usr/local/cuda/bin/cuda-gdb)"
  t=$SECONDS
  log "run $gdb_bin on $DEBUG_TEST"
  timeout "$(time_left 120)" "$gdb_bin" -batch -ex run -ex "bt 40" -ex "info threads" \
    --args "$build/tests/anima_cuda_tests" --gtest_filter="$DEBUG_TEST" > "$out/debug.log" 2>&1
  record debug ok $((SECONDS - t)) "see debug.log"
fi

# ---- benchmarks ----------------------------------------------------------------------------------
shopt -s nullglob
benches=("$build"/bench/anima_bench_*)
if [[ -n "${SKIP_BENCHMARKS:-}" ]]; then
  record benchmarks skipped 0 "SKIP_BENCHMARKS set"
elif [[ ${#benches[@]} -eq 0 ]]; then
  record benchmarks skipped 0 "none built"
else
  t=$SECONDS; bench_failed=()
  for b in "${benches[@]}"; do
    [[ -x "$b" && -f "$b" ]] || continue
    name="$(basename "$b")"
    left=$((budget - (SECONDS - start)))
    if [[ $left -lt 10 ]]; then bench_failed+=("$name(no time left)"); continue; fi
    log "run $name (min_time $min_time, ${left}s left)"
    timeout "$left" "$b" --benchmark_format=console --benchmark_out_format=json \
      --benchmark_out="$work/$name.json" --benchmark_min_time="$min_time" >> "$out/run.log" 2>&1
    rc=$?
    if [[ $rc -ne 0 && ! -s "$work/$name.json" && "$min_time" != *s ]]; then
      # Google Benchmark >= 1.8 wants a unit suffix.
      timeout "$left" "$b" --benchmark_format=console --benchmark_out_format=json \
        --benchmark_out="$work/$name.json" --benchmark_min_time="${min_time}s" >> "$out/run.log" 2>&1
      rc=$?
    fi
    [[ $rc -eq 0 ]] || bench_failed+=("$name(exit $rc)")
  done
  if [[ ${#bench_failed[@]} -eq 0 ]]; then record benchmarks ok $((SECONDS - t))
  else record benchmarks failed $((SECONDS - t)) "${bench_failed[*]}"; fi
fi

# ---- PyTorch comparisons -------------------------------------------------------------------------
# bench/compare_<x>.py --cuda --bench build/bench/anima_bench_cuda_<x> --out OUT/compare_<x>.txt
# (compare_conv.py: --cuda-bench BIN --quick)
# for every script whose CUDA benchmark was built (COMPARE: space-separated <x> names, default all;
# COMPARE=none skips). The scripts time torch (python3 there) in the same run and print ours / torch.
if [[ "${COMPARE:-all}" != none ]]; then
  for script in bench/compare_*.py; do
    x="$(basename "$script" .py)"; x="${x#compare_}"
    if [[ "${COMPARE:-all}" != all && " ${COMPARE} " != *" $x "* ]]; then continue; fi
    bin="$build/bench/anima_bench_cuda_$x"
    [[ -x "$bin" ]] || { record "compare_$x" skipped 0 "anima_bench_cuda_$x not built"; continue; }
    left=$((budget - (SECONDS - start)))
    if [[ $left -lt 15 ]]; then record "compare_$x" skipped 0 "no time left"; continue; fi
    t=$SECONDS
    log "run $script on $bin (${left}s left)"
    if grep -q -- '--cuda-bench' "$script"; then args=(--cuda-bench "$bin" --quick); else args=(--cuda --bench "$bin"); fi
    timeout "$left" python3 "$script" "${args[@]}" --out "$out/compare_$x.txt" >> "$out/run.log" 2>&1
    rc=$?
    if [[ $rc -eq 0 ]]; then record "compare_$x" ok $((SECONDS - t)); else record "compare_$x" failed $((SECONDS - t)) "exit $rc"; fi
  done
fi

# ---- summary.json --------------------------------------------------------------------------------
gpu="$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1)"
# The device machine may receive the working tree without .git: the caller can name the commit
# (ANIMA_COMMIT=$(git rev-parse HEAD), from a clean tree).
commit="${ANIMA_COMMIT:-$(git rev-parse --verify -q HEAD 2>/dev/null || echo none)}"
dirty=""
if [[ -z "${ANIMA_COMMIT:-}" ]]; then dirty="$(git status --porcelain 2>/dev/null | head -1)"; fi
GPU="$gpu" COMMIT="$commit" DIRTY="${dirty:+dirty}" STEPS="$steps" WORK="$work" OUT="$out" \
ELAPSED=$((SECONDS - start)) python3 - <<'PY' || { echo "summary.json: python3 failed" >&2; failed=1; }
import glob, json, os, datetime

def gtest_counts(path):
    c = {"passed": 0, "failed": 0, "skipped": 0, "failed_names": []}
    try:
        data = json.load(open(path))
    except Exception:
        return None
    for suite in data.get("testsuites", []):
        for t in suite.get("testsuite", []):
            if t.get("failures"):
                c["failed"] += 1
                c["failed_names"].append(suite["name"] + "." + t["name"])
            elif t.get("result") == "SKIPPED" or t.get("status") == "NOTRUN":
                c["skipped"] += 1
            else:
                c["passed"] += 1
    return c

def sanitizer_errors(path):
    try:
        for line in open(path, errors="replace"):
            if "ERROR SUMMARY:" in line:
                return int(line.split("ERROR SUMMARY:")[1].split()[0])
    except Exception:
        pass
    return None

benches, merged = {}, {"context": None, "benchmarks": []}
for f in sorted(glob.glob(os.path.join(os.environ["WORK"], "anima_bench_*.json"))):
    try:
        data = json.load(open(f))
    except Exception:
        continue
    exe = os.path.basename(f)[:-5]
    merged["context"] = merged["context"] or data.get("context")
    for b in data.get("benchmarks", []):
        b["executable"] = exe
        merged["benchmarks"].append(b)
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
            continue
        entry = {"real_time": b.get("real_time"), "time_unit": b.get("time_unit")}
        # Rates are Google Benchmark counters in base units (FLOP/s, B/s: kIsRate or
        # kIsIterationInvariantRate); any counter with "flop" in its name is read as FLOP/s.
        for k, v in b.items():
            if not isinstance(v, (int, float)) or k in ("real_time", "cpu_time", "iterations"):
                continue
            if "flop" in k.lower():
                entry[k] = v
                entry["gflops"] = v / 1e9
            elif k == "bytes_per_second" or k.lower() in ("b/s", "bytes/s"):
                entry["gbytes_per_s"] = v / 1e9
        if b.get("error_occurred"):
            entry["error"] = b.get("error_message")
        benches[exe + "/" + b.get("name", "?")] = entry
json.dump(merged, open(os.path.join(os.environ["OUT"], "bench.json"), "w"), indent=1)

steps = []
for line in open(os.environ["STEPS"]):
    name, status, secs, note = (line.rstrip("\n").split("\t") + [""] * 4)[:4]
    steps.append({"step": name, "status": status, "seconds": int(secs or 0), "note": note})
gpu = os.environ.get("GPU", "")
summary = {
    "gpu": gpu.split(",")[0].strip() if gpu else None,
    "driver": gpu.split(",")[1].strip() if "," in gpu else None,
    "commit": os.environ["COMMIT"] + ("-dirty" if os.environ.get("DIRTY") else ""),
    "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    "elapsed_s": int(os.environ["ELAPSED"]),
    "ok": all(s["status"] != "failed" for s in steps),
    "steps": steps,
    "cuda_tests": gtest_counts(os.path.join(os.environ["OUT"], "tests.json")),
    "cpu_tests": gtest_counts(os.path.join(os.environ["WORK"], "cpu_tests.json")),
    "sanitizer_errors": sanitizer_errors(os.path.join(os.environ["OUT"], "sanitizer.log")),
    "benchmarks": benches,
}
json.dump(summary, open(os.path.join(os.environ["OUT"], "summary.json"), "w"), indent=1)
print(json.dumps({k: summary[k] for k in ("gpu", "ok", "cuda_tests", "cpu_tests", "sanitizer_errors")}))
PY

log "done in $((SECONDS - start))s; $([[ $failed -eq 0 ]] && echo all steps ok || echo SOME STEPS FAILED)"
exit $failed
