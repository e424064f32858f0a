#!/usr/bin/env bash
# From a fresh clone to a running anima: installs the packages (tools/setup.sh), configures build/,
# builds the anima tool (target anima_cli) and runs the main job: `anima demo` generates a small
# synthetic set into $BUILD_DIR/demo_data and trains a tiny CNN on its masked faces.
#
#   bash tools/quickstart.sh
# Environment: BUILD_DIR (build), ANIMA_CUDA (AUTO), JOBS (all cores).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash tools/setup.sh
build="${BUILD_DIR:-build}"
jobs="${JOBS:-$(nproc 2>/dev/null || echo 2)}"
gen=()
if [[ ! -f "$build/CMakeCache.txt" ]] && command -v ninja >/dev/null 2>&1; then gen=(-G Ninja); fi
cmake -S . -B "$build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DANIMA_CUDA="${ANIMA_CUDA:-AUTO}"
cmake --build "$build" -j "$jobs" --target anima_cli
"$build/tools/anima" demo --data "$build/demo_data"
