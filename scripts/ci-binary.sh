#!/usr/bin/env bash
# CI for the single executable. Standalone: `bash scripts/ci-binary.sh` from anywhere.
#
#   x64:   build, copy the binary alone into an empty directory (no node_modules above
#          it, a PATH with no node at all, no HOME), then `version`, `init`, `family
#          create`, `member add`, `serve` on a free port, /ready (cold and warm start),
#          a password login and a Yjs sync round trip with the stock y-websocket client,
#          durability across a restart, `doctor`, idle RSS, clean SIGTERM.
#   arm64: build, then `version`, `init` and `doctor` under qemu-user.
#
# Installs the Debian packages it needs (apt-get update once, only when something is
# missing). Options: --skip-arm64, --no-build (use the binaries already in dist/).
# Prints timings and a summary; exits non-zero on the first failure.
set -euo pipefail

cd "$(dirname "$0")/.."

skip_arm64=0
build=1
for a in "$@"; do
  case "$a" in
    --skip-arm64) skip_arm64=1 ;;
    --no-build) build=0 ;;
    *) echo "ci-binary: unknown option $a" >&2; exit 2 ;;
  esac
done

t_all=$(date +%s%N)
log() { printf 'ci-binary: %s\n' "$*"; }
fail() { printf 'ci-binary: FAIL: %s\n' "$*" >&2; exit 1; }
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
declare -a summary=()
note() { summary+=("$1"); log "$1"; }

# --- tools -------------------------------------------------------------------------
need=()
command -v curl >/dev/null || need+=(curl)
command -v strip >/dev/null || need+=(binutils)
command -v shellcheck >/dev/null || need+=(shellcheck)
if [ "$skip_arm64" = 0 ]; then
  command -v qemu-aarch64-static >/dev/null || need+=(qemu-user-static)
  [ -e /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 ] || need+=(libc6-arm64-cross)
  [ -e /usr/aarch64-linux-gnu/lib/libstdc++.so.6 ] || need+=(libstdc++6-arm64-cross)
  command -v aarch64-linux-gnu-strip >/dev/null || need+=(binutils-aarch64-linux-gnu)
fi
if [ "${#need[@]}" -gt 0 ]; then
  t=$(date +%s%N)
  [ "$(id -u)" = 0 ] || fail "need root to apt-get install ${need[*]}"
  log "installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  note "apt packages: $(ms_since "$t") ms"
fi
if [ ! -d node_modules/yjs ] || [ ! -d node_modules/y-websocket ]; then
  t=$(date +%s%N)
  npm ci --no-audit --no-fund
  note "root npm ci: $(ms_since "$t") ms"
fi

mib() { awk -v b="$(stat -c %s "$1")" 'BEGIN { printf "%.1f MiB (%.1f MB)", b / 1048576, b / 1000000 }'; }
check_size() {
  local bytes
  bytes=$(stat -c %s "$1")
  [ "$bytes" -lt $((120 * 1024 * 1024)) ] || fail "$1 is $(mib "$1"), over the 120 MiB target"
}

work=$(mktemp -d /tmp/hearth-ci-binary-XXXXXX)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then kill -9 "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# --- x64 ---------------------------------------------------------------------------
if [ "$build" = 1 ]; then
  t=$(date +%s%N)
  npm run -s build:binary:x64
  note "build x64: $(ms_since "$t") ms"
fi
[ -f dist/hearth-linux-x64 ] || fail "dist/hearth-linux-x64 missing"
check_size dist/hearth-linux-x64
note "size x64: $(mib dist/hearth-linux-x64)"

# The binary alone: nothing else in its directory, no node_modules in any parent,
# an empty PATH directory (so not even /usr/bin/node is reachable), no HOME.
box="$work/x64"
mkdir -p "$box/empty-path"
cp dist/hearth-linux-x64 "$box/hearth"
d="$box"
while [ "$d" != / ]; do
  [ ! -e "$d/node_modules" ] || fail "$d/node_modules exists: the isolation check would be meaningless"
  d=$(dirname "$d")
done
[ ! -e /node_modules ] || fail "/node_modules exists"
H() { (cd "$box" && env -i PATH="$box/empty-path" LANG=C.UTF-8 ./hearth "$@"); }
data="$box/data"
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)

out=$(H version)
log "version: $out"
case "$out" in "hearth "*"($commit"*) ;; *) fail "version does not name commit $commit: $out" ;; esac

t=$(date +%s%N)
H init --data "$data" >/dev/null
note "init x64 (first run, extracts native addons): $(ms_since "$t") ms"
family=$(H family create "CI Family" --data "$data" --json | sed -n 's/^  "id": "\([^"]*\)".*/\1/p' | head -n 1)
[ -n "$family" ] || fail "family create printed no id"
printf 'ci-binary-password-1\n' | H member add --family "$family" --name ci --role owner --data "$data" --json >/dev/null

# serve --port 0, read the chosen port, time until /ready answers 200.
start_server() {
  local log_file="$box/serve-$1.log" t0 url="" i
  t0=$(date +%s%N)
  (cd "$box" && exec env -i PATH="$box/empty-path" LANG=C.UTF-8 ./hearth serve --data "$data" --host 127.0.0.1 --port 0 >"$log_file" 2>&1) &
  server_pid=$!
  for i in $(seq 1 1000); do
    if [ -z "$url" ]; then url=$(sed -n 's/^hearth listening on \(http:[^ ]*\).*/\1/p' "$log_file" | head -n 1); fi
    if [ -n "$url" ] && curl -fsS -o /dev/null "$url/ready" 2>/dev/null; then break; fi
    kill -0 "$server_pid" 2>/dev/null || { cat "$log_file" >&2; fail "server exited during start"; }
    sleep 0.01
    [ "$i" -lt 1000 ] || { cat "$log_file" >&2; fail "not ready after 10 s"; }
  done
  ready_ms=$(ms_since "$t0")
  server_url=$url
}
stop_server() {
  kill -TERM "$server_pid"
  local rc=0
  wait "$server_pid" || rc=$?
  server_pid=""
  [ "$rc" = 0 ] || fail "server exited with $rc on SIGTERM"
}

rm -rf "$data/cache" # a cold start includes copying the native addons out of the binary
start_server cold
note "x64 cold start to /ready: ${ready_ms} ms (includes extracting native addons)"
curl -fsS "$server_url/ready" | grep -q '"ready"' || fail "/ready body"
# The web app is embedded: / serves it with its policy, and a hashed asset loads.
curl -fsS "$server_url/" | grep -q '<div id="app">' || fail "/ does not serve the embedded web app"
asset=$(curl -fsS "$server_url/" | sed -n 's/.*src="\(\/assets\/[^"]*\.js\)".*/\1/p' | head -n 1)
curl -fsS -o /dev/null "$server_url$asset" || fail "web app asset $asset missing from the binary"
sleep 2
note "x64 idle RSS after a cold start: $(awk '/^VmRSS/ { printf "%.0f MiB", $2 / 1024 }' "/proc/$server_pid/status")"

client() { sh scripts/node.sh packaging/ci-sync-check.mjs --url "$server_url" --family "$family" --username ci --password ci-binary-password-1 "$@"; }
t=$(date +%s%N)
r=$(client) || fail "login + sync round trip: $r"
note "x64 login + Yjs sync round trip: $(ms_since "$t") ms ($r)"
sleep 1
note "x64 RSS after sync: $(awk '/^VmRSS/ { printf "%.0f MiB", $2 / 1024 }' "/proc/$server_pid/status")"
stop_server

warm=()
for n in 1 2 3; do
  start_server "warm$n"
  warm+=("$ready_ms")
  [ "$n" = 3 ] || stop_server
done
note "x64 warm start to /ready: ${warm[*]} ms (CPU to ready: $(awk '{ print ($14 + $15) * 10 }' "/proc/$server_pid/stat") ms)"
sleep 2
note "x64 idle RSS, warm start: $(awk '/^VmRSS/ { printf "%.0f MiB", $2 / 1024 }' "/proc/$server_pid/status")"
r=$(client --expect 'hello from the binary') || fail "data did not survive a restart: $r"
note "x64 durable across restart: $r"
stop_server

doc=$(H doctor --data "$data") || { echo "$doc" >&2; fail "doctor (x64) failed"; }
echo "$doc"
grep -q 'addons extracted to' <<<"$doc" || fail "doctor did not report the native cache"

# --- arm64 -------------------------------------------------------------------------
if [ "$skip_arm64" = 0 ]; then
  if [ "$build" = 1 ]; then
    t=$(date +%s%N)
    npm run -s build:binary:arm64
    note "build arm64: $(ms_since "$t") ms"
  fi
  [ -f dist/hearth-linux-arm64 ] || fail "dist/hearth-linux-arm64 missing"
  check_size dist/hearth-linux-arm64
  note "size arm64: $(mib dist/hearth-linux-arm64)"
  abox="$work/arm64"
  mkdir -p "$abox/empty-path"
  cp dist/hearth-linux-arm64 "$abox/hearth"
  qemu=$(command -v qemu-aarch64-static)
  A() { (cd "$abox" && env -i PATH="$abox/empty-path" LANG=C.UTF-8 QEMU_LD_PREFIX=/usr/aarch64-linux-gnu "$qemu" ./hearth "$@"); }
  t=$(date +%s%N)
  out=$(A version)
  log "arm64 version: $out"
  case "$out" in "hearth "*"($commit"*) ;; *) fail "arm64 version does not name commit $commit: $out" ;; esac
  note "arm64 version under qemu: $(ms_since "$t") ms"
  t=$(date +%s%N)
  A init --data "$abox/data" >/dev/null
  note "arm64 init under qemu: $(ms_since "$t") ms"
  t=$(date +%s%N)
  doc=$(A doctor --data "$abox/data") || { echo "$doc" >&2; fail "doctor (arm64) failed"; }
  echo "$doc"
  note "arm64 doctor under qemu: $(ms_since "$t") ms"
fi

echo
log "summary"
for line in "${summary[@]}"; do printf '  %s\n' "$line"; done
log "all checks passed in $(( $(ms_since "$t_all") / 1000 )) s"
