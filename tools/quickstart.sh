#!/usr/bin/env bash
# From a fresh clone to a running anima: installs the packages (tools/setup.sh), configures build/,
# builds the anima tool (target anima_cli) and runs the main job: `anima demo` generates a small
# synthetic set into $BUILD_DIR/demo_data and trains a tiny CNN on its masked faces.
#
#   bash tools/quickstart.sh
# Environment: BUILD_DIR (build), ANIMA_CUDA (AUTO), JOBS (all cores).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

source tools/configure_build.sh
configure_build -DANIMA_CUDA="${ANIMA_CUDA:-AUTO}"
cmake --build "$build" -j "$jobs" --target anima_cli
"$build/tools/anima" demo --data "$build/demo_data"
