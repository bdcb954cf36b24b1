#!/usr/bin/env bash
# credwatch benchmark suite: builds the agent and the workload drivers, then runs bench/suite.py (see bench/README.md).
#
#   sudo bench/run.sh [--quick] [--rounds N] [--out FILE] [--build-dir DIR] [--no-build] [--jobs N]
#                     [--skip a,b] [--storm-processes N] [--no-pin] [--keep]
set -euo pipefail

bench_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_dir=$(dirname "$bench_dir")
build_dir="$repo_dir/build-bench"
build=1
jobs=1  # the suite's machines are small and shared: do not crowd out other builds
pass=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build-dir) build_dir=$2; shift 2 ;;
    --build-dir=*) build_dir=${1#*=}; shift ;;
    --no-build) build=0; shift ;;
    --jobs) jobs=$2; shift 2 ;;
    -h|--help)
      sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'
      python3 "$bench_dir/suite.py" --help | sed -n '/^options:/,$p'
      exit 0 ;;
    *) pass+=("$1"); shift ;;
  esac
done

if [[ $(id -u) -ne 0 ]]; then
  echo "run.sh: must run as root: the agent loads BPF programs and bpftrace needs the same" >&2
  exit 1
fi
if ! command -v python3 >/dev/null; then
  echo "run.sh: python3 is required to drive the suite (apt-get install python3)" >&2
  exit 1
fi

if [[ $build -eq 1 ]]; then
  echo "[bench] building credwatch and the bench drivers in $build_dir (-j$jobs)" >&2
  cmake -S "$repo_dir" -B "$build_dir" -DCREDWATCH_BUILD_BENCH=ON >/dev/null
  make -C "$build_dir" -j"$jobs" credwatch_bench >/dev/null
fi

exec python3 "$bench_dir/suite.py" --build-dir "$build_dir" "${pass[@]}"
