#!/usr/bin/env bash
# Proves that a downstream project can use anima: installs anima into a temporary prefix and builds
# + runs tests/consumer with find_package(anima CONFIG), then with add_subdirectory(anima).
#
#   bash tests/consumer/check.sh [--mode package|subdirectory|all] [--cuda AUTO|ON|OFF] [--cmake CMAKE]
#
# Default: --mode all --cuda OFF (CPU only, fast). ANIMA_CUDA in the environment sets the default
# of --cuda. Exits non-zero if any step fails. Temporary files are removed unless KEEP_TMP=1.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src="$(cd "$here/../.." && pwd)"
mode=all
cuda="${ANIMA_CUDA:-OFF}"
cmake="${CMAKE:-cmake}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --mode) mode="$2"; shift 2 ;;
    --cuda) cuda="$2"; shift 2 ;;
    --cmake) cmake="$2"; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "check.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
case "$mode" in package|subdirectory|all) ;; *) echo "check.sh: bad --mode '$mode'" >&2; exit 2 ;; esac

gen=()
if command -v ninja >/dev/null 2>&1; then gen=(-G Ninja); fi
jobs="$(nproc 2>/dev/null || echo 2)"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/anima-consumer.XXXXXX")"
if [[ "${KEEP_TMP:-0}" != 1 ]]; then trap 'rm -rf "$tmp"' EXIT; else echo "keeping $tmp"; fi

step() { echo "== consumer check: $*"; }

run_consumer() {  # $1 = build dir, rest = extra configure args
  local bdir="$1"; shift
  "$cmake" -S "$here" -B "$bdir" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release "$@"
  "$cmake" --build "$bdir" -j "$jobs"
  "$bdir/anima_consumer"
}

if [[ "$mode" == package || "$mode" == all ]]; then
  step "install anima (ANIMA_CUDA=$cuda) into $tmp/prefix"
  "$cmake" -S "$src" -B "$tmp/anima-build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DANIMA_CUDA="$cuda" -DANIMA_BUILD_TESTS=OFF -DANIMA_BUILD_BENCHMARKS=OFF -DANIMA_BUILD_TOOLS=OFF \
    -DCMAKE_INSTALL_PREFIX="$tmp/prefix"
  "$cmake" --install "$tmp/anima-build"
  test -f "$tmp/prefix/include/anima/core/error.hpp"
  test -d "$tmp/prefix/include/anima/kernels"
  step "build + run the consumer with find_package(anima CONFIG)"
  run_consumer "$tmp/package" -DANIMA_CONSUMER_MODE=package -DCMAKE_PREFIX_PATH="$tmp/prefix"
fi

if [[ "$mode" == subdirectory || "$mode" == all ]]; then
  step "build + run the consumer with add_subdirectory(anima) (ANIMA_CUDA=$cuda)"
  run_consumer "$tmp/subdirectory" -DANIMA_CONSUMER_MODE=subdirectory -DANIMA_SOURCE_DIR="$src" \
    -DANIMA_CUDA="$cuda"
fi
step "ok ($mode)"
