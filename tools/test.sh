#!/usr/bin/env bash
# The README's test command. Installs the build's packages (tools/setup.sh, idempotent), configures
# build/ (Release, ANIMA_CUDA=AUTO: CUDA for sm_90 when nvcc and cuDNN are present), builds
# everything (tests, header check, benchmarks, tool) with all cores, and runs ctest, which includes
# the consumer checks (find_package and add_subdirectory).
#
#   bash tools/test.sh
# Environment: BUILD_DIR (build), ANIMA_CUDA (AUTO), CMAKE_CUDA_ARCHITECTURES (90),
#              JOBS (all cores), CMAKE_ARGS (extra configure arguments, word-split).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

source tools/configure_build.sh
# shellcheck disable=SC2206
extra=(${CMAKE_ARGS:-})

cuda="${ANIMA_CUDA:-AUTO}"
if [[ "${cuda^^}" != OFF ]]; then extra+=(-DCMAKE_CUDA_ARCHITECTURES="${CMAKE_CUDA_ARCHITECTURES:-90}"); fi

configure_build -DANIMA_CUDA="$cuda" -DANIMA_BUILD_TESTS=ON -DANIMA_BUILD_BENCHMARKS=ON -DANIMA_BUILD_TOOLS=ON \
  "${extra[@]}"
cmake --build "$build" -j "$jobs"
ctest --test-dir "$build" --output-on-failure -j "$jobs"
