#!/usr/bin/env bash
# Sets up a Debian 12 machine to build, run and test credwatch (packages, then a CMake build in ./build).
# Idempotent: installs only what is missing and rebuilds incrementally. Needs root for apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  # build
  build-essential cmake pkg-config git clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev
  libcli11-dev libspdlog-dev libsqlite3-dev libyaml-cpp-dev libcurl4-openssl-dev libssl-dev
  nlohmann-json3-dev libcpp-httplib-dev libgtest-dev libgmock-dev libbenchmark-dev libjemalloc-dev
  # tests: workloads, fixtures, containers, manifest validation, benchmarks
  python3 curl openssh-client iproute2 procps podman runc debootstrap busybox-static
  redis-server redis-tools bpftrace hyperfine
)
# Node.js (for validating Kubernetes manifests offline) may already come from another source, such as
# NodeSource, whose nodejs package conflicts with Debian's npm: install Debian's only when there is none.
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "credwatch setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
  # redis-server's package starts a system instance; the benchmarks start their own.
  systemctl disable --now redis-server >/dev/null 2>&1 || true
fi

build_type="${CREDWATCH_BUILD_TYPE:-RelWithDebInfo}"
cmake -S . -B build -DCMAKE_BUILD_TYPE="$build_type" >/dev/null
cmake --build build -j"$(nproc)"
echo "credwatch setup: built build/userspace/credwatch"
