#!/usr/bin/env bash
# Fills .gpu_deps/ (git-ignored) with what tools/gpu_check.sh needs on a GPU machine that has no
# network and no -dev packages:
#   .gpu_deps/googletest/                     copy of /usr/src/googletest (built from source there)
#   .gpu_deps/usr/include/benchmark/          Google Benchmark headers,
#   .gpu_deps/usr/lib/<multiarch>/libbenchmark*  its libraries and
#   .gpu_deps/usr/lib/<multiarch>/cmake/benchmark/  its CMake package, in the same layout as
#                                             under /usr so the package's relative prefix works
#   .gpu_deps/usr/include/{nlohmann,CLI}, .gpu_deps/usr/share/cmake/{nlohmann_json,CLI11}  if installed
# Then carry .gpu_deps to the machine with the repository and run: bash tools/gpu_check.sh OUT_DIR
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

deps=.gpu_deps
multiarch="$(gcc -print-multiarch 2>/dev/null || dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)"
rm -rf "$deps"
mkdir -p "$deps"

if [[ ! -f /usr/src/googletest/CMakeLists.txt ]]; then
  echo "gpu_prepare.sh: /usr/src/googletest missing (apt-get install libgtest-dev)" >&2; exit 1
fi
cp -a /usr/src/googletest "$deps/googletest"

copy_under() {  # /usr/x/y -> .gpu_deps/usr/x/y (symlinks kept as symlinks)
  mkdir -p "$deps$(dirname "$1")"
  cp -a "$1" "$deps$(dirname "$1")/"
}

shopt -s nullglob
bench_files=(/usr/include/benchmark /usr/lib/"$multiarch"/libbenchmark* /usr/lib/"$multiarch"/cmake/benchmark)
if [[ ! -d /usr/include/benchmark || ! -d /usr/lib/$multiarch/cmake/benchmark ]]; then
  echo "gpu_prepare.sh: Google Benchmark missing (apt-get install libbenchmark-dev)" >&2; exit 1
fi
for f in "${bench_files[@]}"; do copy_under "$f"; done

for optional in /usr/include/nlohmann /usr/share/cmake/nlohmann_json /usr/include/CLI /usr/share/cmake/CLI11; do
  if [[ -e "$optional" ]]; then copy_under "$optional"; fi
done

du -sh "$deps"
echo "gpu_prepare.sh: $deps ready (carry it with the repository; benchmark package at $deps/usr/lib/$multiarch/cmake/benchmark)"
