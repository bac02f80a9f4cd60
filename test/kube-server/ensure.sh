#!/bin/bash
# Builds the test Kubernetes API server (kts) once into a cache outside the repository, keyed by the content of
# main.go; later calls return at once. Usage: test/kube-server/ensure.sh → prints the cache directory.
# About 4 minutes cold on 2 cores.
set -euo pipefail
W=${KTS_CACHE:-$HOME/.cache/ks-edge/kts}
H=$(cd "$(dirname "$0")" && pwd)
SUM=$(cat "$H/main.go" "$H/build.sh" "$H/pkgs.txt" | sha256sum | cut -d' ' -f1)
if [ ! -x "$W/kts" ] || [ ! -x "$W/etcd" ] || [ "$(cat "$W/kts.sum" 2>/dev/null)" != "$SUM" ]; then
  echo "building the test Kubernetes API server into $W (first time: about 4 minutes)" >&2
  W="$W" "$H/build.sh" >&2
  echo "$SUM" > "$W/kts.sum"
fi
echo "$W"
