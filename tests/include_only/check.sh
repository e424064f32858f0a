#!/usr/bin/env bash
# Compiles tests/include_only/main.cpp from the source tree with nothing but -Iinclude (no CMake, no
# generated files, no other include path) and runs it.
#   bash tests/include_only/check.sh [CXX]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cxx="${1:-${CXX:-c++}}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
cd "$root"
"$cxx" -std=c++17 -O1 -Iinclude tests/include_only/main.cpp -o "$out/include_only" -pthread
"$out/include_only"
