# shellcheck shell=bash
# Sourced from the repository root by tools/quickstart.sh and tools/test.sh: installs the build's
# packages (tools/setup.sh, idempotent), sets `build` (BUILD_DIR, default build) and `jobs` (JOBS,
# default all cores), and defines configure_build.
bash tools/setup.sh
build="${BUILD_DIR:-build}"
# shellcheck disable=SC2034  # read by the scripts that source this one
jobs="${JOBS:-$(nproc 2>/dev/null || echo 2)}"

# configure_build CMAKE_ARG...: configures $build as a Release build with the given arguments, with
# Ninja when ninja is installed and $build is not configured yet (an existing build keeps its generator).
configure_build() {
  local gen=()
  if [[ ! -f "$build/CMakeCache.txt" ]] && command -v ninja >/dev/null 2>&1; then gen=(-G Ninja); fi
  cmake -S . -B "$build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release "$@"
}
