#!/usr/bin/env bash
# Sets everything up on this machine and runs the agent in the foreground on its embedded defaults
# (SQLite at /var/lib/credwatch/credwatch.db, built-in secret catalog). Extra arguments go to `credwatch agent`.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $EUID -ne 0 ]]; then
  echo "run-local.sh: needs root (loading eBPF programs and installing packages); try: sudo $0 $*" >&2
  exit 1
fi
deploy/setup-debian.sh
exec build/userspace/credwatch agent "$@"
