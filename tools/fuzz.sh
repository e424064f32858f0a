#!/usr/bin/env bash
# Runs every libFuzzer target of tests/fuzz for SECONDS each (default 60), one after the other, with
# ASan + UBSan: builds them with clang in build-fuzz/ (-DANIMA_FUZZ=ON, CPU only), starts each from a
# copy of its committed corpus (tests/fuzz/corpus/<target>) and prints, per target, the executions
# run and whether it found anything. A crashing input is left in build-fuzz/artifacts/<target>/:
# commit it to tests/fuzz/corpus/<target>/ with the fix, so fuzz_replay_<target> keeps it fixed.
#
#   bash tools/fuzz.sh [SECONDS] [TARGET...]      e.g. bash tools/fuzz.sh 600 pth safetensors
# Environment: BUILD_DIR (build-fuzz), JOBS (all cores), FUZZ_ARGS (extra libFuzzer flags).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds="${1:-60}"
shift || true
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then targets=(safetensors pth json annotations image video); fi
build="${BUILD_DIR:-build-fuzz}"
jobs="${JOBS:-$(nproc 2>/dev/null || echo 2)}"

bash tools/setup.sh >/dev/null
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ -DANIMA_CUDA=OFF \
  -DANIMA_BUILD_TESTS=ON -DANIMA_BUILD_TOOLS=ON -DANIMA_BUILD_BENCHMARKS=OFF -DANIMA_FUZZ=ON >/dev/null
cmake --build "$build" -j "$jobs" --target "${targets[@]/#/anima_fuzz_}"

status=0
printf '%-12s %12s %8s  %s\n' target executions seconds result
for t in "${targets[@]}"; do
  work="$build/corpus/$t" artifacts="$build/artifacts/$t/"
  mkdir -p "$work" "$artifacts"
  cp -n tests/fuzz/corpus/"$t"/* "$work"/ 2>/dev/null || true
  log="$build/fuzz_$t.log"
  start=$(date +%s)
  # shellcheck disable=SC2086
  if "$build/tests/fuzz/anima_fuzz_$t" "$work" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=30 \
      -print_final_stats=1 -artifact_prefix="$artifacts" ${FUZZ_ARGS:-} >"$log" 2>&1; then
    result="clean"
  else
    result="FOUND A BUG: see $log and $artifacts"
    status=1
  fi
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  printf '%-12s %12s %8s  %s\n' "$t" "$runs" "$(($(date +%s) - start))" "$result"
done
exit $status
