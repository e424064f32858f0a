#!/usr/bin/env bash
# The CPU test suite under the compilers' sanitizers, each kind in its own build folder (CUDA off):
#
#   asan   build-asan/: AddressSanitizer (leaks included) + UndefinedBehaviorSanitizer, every UBSan
#          check fatal except nonnull-attribute (stb_image's memcpy(NULL, src, 0) on an empty PNG
#          chunk, which copies nothing); then every CPU test (ctest -LE consumer: the consumer checks
#          build projects of their own). The anima tool and its media plugin are instrumented too, so
#          the CLI tests (hostile inputs, train, analyze...) run under ASan as well.
#   tsan   build-tsan/: ThreadSanitizer over what runs threads: the thread pool, parallel-for and the
#          CPU allocator's cache (anima_tests), the data loader's workers (anima_data_tests, the train
#          ctests) and the reader thread of `anima analyze` (the cli_analyze ctests).
#
#   bash tools/sanitize.sh [asan|tsan|all] [ctest arguments...]    e.g. bash tools/sanitize.sh asan -R io
# A report fails its test (halt_on_error); the summary and the failing tests are printed at the end,
# the full log is build-<kind>/sanitize.log. Every test's time limit is scaled by the sanitizer's
# slowdown (ANIMA_TEST_TIMEOUT_SCALE: 8 under ASan, 10 under TSan). Leaks inside the system libraries
# the media plugin loads (fontconfig, cairo, FFmpeg) are suppressed by tools/sanitize/lsan.supp, races
# inside FFmpeg's frame threads by tools/sanitize/tsan.supp; nothing of anima's is.
# Environment: JOBS (build jobs, default all cores), CTEST_JOBS (default 2), TARGETS (build only these
# targets; then pick the tests that use them with ctest's -R).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

kind="${1:-all}"
shift || true
jobs="${JOBS:-$(nproc 2>/dev/null || echo 2)}"
ctest_jobs="${CTEST_JOBS:-2}"
root="$(pwd)"

configure() {  # configure <dir> <flags> <timeout scale: the sanitizer's slowdown, with margin>
  cmake -S . -B "$1" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DANIMA_CUDA=OFF -DANIMA_BUILD_TESTS=ON \
    -DANIMA_BUILD_TOOLS=ON -DANIMA_BUILD_BENCHMARKS=OFF -DANIMA_TEST_TIMEOUT_SCALE="$3" \
    -DCMAKE_CXX_FLAGS="$2 -fno-omit-frame-pointer" \
    -DCMAKE_EXE_LINKER_FLAGS="$2" -DCMAKE_SHARED_LINKER_FLAGS="$2" -DCMAKE_MODULE_LINKER_FLAGS="$2" >/dev/null
}

status=0
run_asan() {
  local dir=build-asan
  configure "$dir" "-fsanitize=address,undefined -fno-sanitize-recover=all -fno-sanitize=nonnull-attribute" 8
  # shellcheck disable=SC2086
  cmake --build "$dir" -j "$jobs" ${TARGETS:+--target $TARGETS}
  echo "== ASan + UBSan: ctest -LE consumer $*"
  if ! ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=0:detect_stack_use_after_return=1" \
      LSAN_OPTIONS="suppressions=$root/tools/sanitize/lsan.supp:print_suppressions=0" \
      UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
      ctest --test-dir "$dir" -j "$ctest_jobs" -LE consumer --output-on-failure "$@" >"$dir/sanitize.log" 2>&1; then
    status=1
  fi
  grep -E "tests passed|tests failed|^\s+[0-9]+ - " "$dir/sanitize.log" || true
  grep -cE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$dir/sanitize.log" | sed 's/^/sanitizer reports: /' || true
}

run_tsan() {
  local dir=build-tsan
  configure "$dir" "-fsanitize=thread" 10
  # shellcheck disable=SC2086
  cmake --build "$dir" -j "$jobs" --target ${TARGETS:-anima_tests anima_data_tests anima_synth_tests anima_cli anima_media_plugin}
  echo "== TSan: thread pool, data loader, train and analyze"
  if ! TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$root/tools/sanitize/tsan.supp" \
      ctest --test-dir "$dir" -j "$ctest_jobs" --output-on-failure \
        -R "ThreadPool|ParallelFor|CpuAllocator|DataLoader|cli_train$|cli_train_kill_and_resume|cli_analyze" "$@" \
        >"$dir/sanitize.log" 2>&1; then
    status=1
  fi
  grep -E "tests passed|tests failed|^\s+[0-9]+ - " "$dir/sanitize.log" || true
  grep -c "WARNING: ThreadSanitizer" "$dir/sanitize.log" | sed 's/^/sanitizer reports: /' || true
}

case "$kind" in
  asan) run_asan "$@" ;;
  tsan) run_tsan "$@" ;;
  all) run_asan "$@"; run_tsan "$@" ;;
  *) echo "usage: bash tools/sanitize.sh [asan|tsan|all] [ctest arguments...]" >&2; exit 2 ;;
esac
exit $status
