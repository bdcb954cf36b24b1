#!/usr/bin/env bash
# Validates deploy/kubernetes (base and overlays) against the Kubernetes OpenAPI schemas offline, with the npm
# packages pinned in npm/package-lock.json installed into a cache outside the repository. Then proves the validator
# can fail: a copy of the manifests with typical mistakes must be rejected, each for its reason. Exit 77: skipped.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../../.." && pwd)
cache=${CREDWATCH_TEST_NPM_CACHE:-$HOME/.cache/credwatch-test-npm}

command -v node >/dev/null && command -v npm >/dev/null || { echo "SKIPPED: node and npm are not installed"; exit 77; }
node_major=$(node -p 'process.versions.node.split(".")[0]')
[[ $node_major -ge 18 ]] || { echo "SKIPPED: node $node_major is too old (kubernetes-models 4.5 needs >= 18 here)"; exit 77; }

# Install (or refresh) exactly what the lock file says, only when it changed.
mkdir -p "$cache"
if ! cmp -s "$here/npm/package-lock.json" "$cache/package-lock.json" || [[ ! -d $cache/node_modules/kubernetes-models ]]; then
  cp "$here/npm/package.json" "$here/npm/package-lock.json" "$cache/"
  if ! (cd "$cache" && npm ci --no-audit --no-fund --loglevel=error); then
    echo "SKIPPED: npm ci failed in $cache (is the npm registry reachable?)"
    exit 77
  fi
fi

node "$here/validate_manifests.mjs" "$repo" "$cache"

# The validator must be able to fail: break a copy in ways the schemas, the unknown-field check and the
# cross-checks each catch, and expect every one of them reported.
broken=$(mktemp -d)
trap 'rm -rf "$broken"' EXIT
cp -r "$repo/deploy" "$broken/"
ds=$broken/deploy/kubernetes/base/daemonset.yaml
sed -i 's/mountPropagation: HostToContainer/mountPropogation: HostToContainer/' "$ds"   # unknown field (typo)
sed -i 's/containerPort: 9464/containerPort: "9464"/' "$ds"                            # wrong type
sed -i 's/^        - name: log-pods$/        - name: log-podz/' "$ds"                    # the volume, not the mount
sed -i 's/port: metrics$/port: metric/' "$ds"                                          # a probe's port name
if out=$(node "$here/validate_manifests.mjs" "$broken" "$cache" 2>&1); then
  echo "$out"
  echo "FAILED: the validator accepted broken manifests"
  exit 1
fi
for expect in "'\"mountPropogation\"' does not exist" "containerPort must be integer" "volumeMount log-pods has no volume" \
              "uses port 'metric', which is not declared"; do
  grep -qF -- "$expect" <<<"$out" || { echo "$out"; echo "FAILED: the validator did not report: $expect"; exit 1; }
done
echo "the validator rejects broken manifests (unknown field, wrong type, dangling volume and port names)"
