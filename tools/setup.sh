#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages anima's build needs. Idempotent: does nothing (no apt-get
# update) when every package is already installed. Runs apt-get as root, or through sudo.
#
#   bash tools/setup.sh           build + test dependencies
#   bash tools/setup.sh --torch   also python3-torch python3-torchvision (only for regenerating the
#                                 golden test data and for the PyTorch peer benchmarks)
#
# The CUDA backend additionally needs the CUDA toolkit (nvcc, cuBLAS) and cuDNN, which come from
# NVIDIA, not from this script; without them the build is CPU-only (ANIMA_CUDA=AUTO).
set -euo pipefail

required=(build-essential cmake pkg-config libgtest-dev libgmock-dev libbenchmark-dev nlohmann-json3-dev
          libcli11-dev libstb-dev libopencv-videoio-dev libcairo2-dev)
# chromium: the headless browser check of the HTML reports; strace: the tests that kill a run at a
# chosen write (cli_train_kill_ten_times, cli_kill_writers_*)
optional=(ninja-build chromium strace)
for arg in "$@"; do
  case "$arg" in
    --torch) required+=(python3-torch python3-torchvision) ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown argument '$arg'" >&2; exit 2 ;;
  esac
done

installed() {  # $1 = package name; true when dpkg has it fully installed
  [[ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null)" == ii* ]]
}

missing=() missing_optional=()
for p in "${required[@]}"; do installed "$p" || missing+=("$p"); done
for p in "${optional[@]}"; do installed "$p" || missing_optional+=("$p"); done
if [[ ${#missing[@]} -eq 0 && ${#missing_optional[@]} -eq 0 ]]; then
  echo "setup.sh: all packages are installed"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup.sh: apt-get not found; install these yourself: ${missing[*]} ${missing_optional[*]}" >&2
  exit 1
fi

if [[ $(id -u) -eq 0 ]]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo)
else
  echo "setup.sh: need root (or sudo) to install: ${missing[*]} ${missing_optional[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
echo "setup.sh: installing ${missing[*]} ${missing_optional[*]}"
"${sudo[@]}" apt-get update
if [[ ${#missing[@]} -gt 0 ]]; then
  "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
fi
if [[ ${#missing_optional[@]} -gt 0 ]]; then
  "${sudo[@]}" apt-get install -y --no-install-recommends "${missing_optional[@]}" \
    || echo "setup.sh: optional packages not installed (${missing_optional[*]}); continuing"
fi
