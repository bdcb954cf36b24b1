#!/usr/bin/env bash
# Sets everything up on this machine and runs every test tier: unit, then bpf, then e2e (as root).
# Prints a summary per tier; exits non-zero if any test failed. CI runs this (.ci/run).
set -uo pipefail
cd "$(dirname "$0")/.."
if [[ $EUID -ne 0 ]]; then
  echo "run-all.sh: the bpf and e2e tiers need root; try: sudo $0" >&2
  exit 1
fi
deploy/setup-debian.sh || exit 1

status=0
for tier in unit bpf e2e; do
  echo "=== credwatch tests: $tier"
  if ! (cd build && ctest -L "^${tier}\$" --output-on-failure --timeout 1200 -j"$([[ $tier == unit ]] && nproc || echo 1)"); then
    status=1
  fi
done
exit $status
