#!/usr/bin/env bash
# Builds the credwatch image with podman where no registry is reachable: a local Debian 12 base made with
# debootstrap (built once, then cached as a podman image), then deploy/Containerfile with the repository as context.
#
#   deploy/build-image.sh [--image NAME] [--base NAME] [--rebuild-base] [--vmlinux-btf FILE]
#
# Environment: DEBIAN_MIRROR (default http://deb.debian.org/debian). Needs root, podman, runc and debootstrap.
# Where a registry is reachable, build normally instead (see deploy/README.md).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
image=localhost/credwatch:dev
base=localhost/credwatch-base/debian:bookworm
rebuild_base=0
vmlinux_btf=/sys/kernel/btf/vmlinux
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

while [[ $# -gt 0 ]]; do
  case $1 in
    --image) image=$2; shift 2 ;;
    --base) base=$2; shift 2 ;;
    --rebuild-base) rebuild_base=1; shift ;;
    --vmlinux-btf) vmlinux_btf=$2; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-image.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

for tool in podman runc debootstrap; do
  command -v "$tool" >/dev/null || { echo "build-image.sh: $tool is not installed (apt-get install podman runc debootstrap)" >&2; exit 1; }
done
[[ $(id -u) -eq 0 ]] || { echo "build-image.sh: run as root (debootstrap and rootful podman)" >&2; exit 1; }

# The base: what `debian:bookworm` would be, from Debian's mirror. Built once; `--rebuild-base` refreshes it.
if [[ $rebuild_base -eq 1 ]] || ! podman image exists "$base"; then
  work=$(mktemp -d /var/tmp/credwatch-debootstrap.XXXXXX)
  trap 'rm -rf "$work"' EXIT
  echo "build-image.sh: debootstrap --variant=minbase bookworm from $mirror (a few minutes, once)"
  debootstrap --variant=minbase bookworm "$work/root" "$mirror" >"$work/debootstrap.log" 2>&1 || {
    tail -20 "$work/debootstrap.log" >&2
    echo "build-image.sh: debootstrap failed (log above)" >&2
    exit 1
  }
  # The same sources the official image has: the release, its updates and security.
  rm -f "$work/root/etc/apt/sources.list"
  cat >"$work/root/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${mirror%/debian}/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
  rm -rf "$work/root/var/lib/apt/lists/"* "$work/root/var/cache/apt/archives/"*.deb
  tar --numeric-owner -C "$work/root" -c . |
    podman import --change 'CMD ["/bin/bash"]' \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' - "$base" >/dev/null
  rm -rf "$work"
  trap - EXIT
  echo "build-image.sh: base image $base ready"
fi

# The build stage generates vmlinux.h from this BTF; podman's build containers see the host's /sys.
[[ -r $vmlinux_btf ]] || { echo "build-image.sh: $vmlinux_btf is not readable (kernel without BTF? pass --vmlinux-btf FILE)" >&2; exit 1; }

# runc: crun fails on hybrid cgroup hosts. --pull=never: everything comes from the local base.
podman build --runtime runc --pull=never \
  --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
  --build-arg BASE_IMAGE="$base" --build-arg RUNTIME_IMAGE="$base" --build-arg VMLINUX_BTF="$vmlinux_btf" \
  --ignorefile "$repo/deploy/Containerfile.dockerignore" \
  -f "$repo/deploy/Containerfile" -t "$image" "$repo"
echo "build-image.sh: built $image"
