#!/bin/sh
# hearth installer: puts the single executable on this machine as a hardened
# systemd service with its own user and data dir. Run it as root:
#
#   sh install.sh --binary ./hearth-linux-arm64      install or upgrade from a file
#   sh install.sh --url https://.../hearth-linux-x64 install or upgrade from a URL
#   sh install.sh --uninstall [--purge]              remove (keeps data unless --purge)
#
# Re-running it upgrades in place: the new binary must answer `hearth version`
# before anything changes, the database is backed up, data is kept, the service
# restarts and is rolled back to the previous binary if it does not become ready.
#
# Testing without root or systemd: --root DIR installs into DIR (no user is
# created and nothing is chowned), --no-start skips systemctl.
#
# Everything is inside main(), called on the last line, so a truncated download
# of this script runs nothing at all.

main() {
  set -eu
  umask 022

  binary=""
  url=""
  sha256=""
  root=""
  start=1
  uninstall=0
  purge=0
  arch_override="${HEARTH_INSTALL_ARCH:-}"
  port="${HEARTH_PORT:-8470}"

  while [ $# -gt 0 ]; do
    case "$1" in
      --binary) need_arg "$@"; binary="$2"; shift 2 ;;
      --binary=*) binary="${1#*=}"; shift ;;
      --url) need_arg "$@"; url="$2"; shift 2 ;;
      --url=*) url="${1#*=}"; shift ;;
      --sha256) need_arg "$@"; sha256="$2"; shift 2 ;;
      --sha256=*) sha256="${1#*=}"; shift ;;
      --root) need_arg "$@"; root="$2"; shift 2 ;;
      --root=*) root="${1#*=}"; shift ;;
      --arch) need_arg "$@"; arch_override="$2"; shift 2 ;;
      --port) need_arg "$@"; port="$2"; shift 2 ;;
      --no-start) start=0; shift ;;
      --uninstall) uninstall=1; shift ;;
      --purge) purge=1; shift ;;
      -h|--help) usage; return 0 ;;
      *) die "unknown option $1 (see --help)" ;;
    esac
  done

  if [ -n "$binary" ] && [ -n "$url" ]; then die "give --binary or --url, not both"; fi
  if [ "$purge" = 1 ] && [ "$uninstall" = 0 ]; then die "--purge only goes with --uninstall"; fi
  case "$port" in ''|*[!0-9]*) die "--port must be a number" ;; esac

  # Paths as the installed system sees them (they go into the unit file) ...
  bin_path=/usr/local/bin/hearth
  data_path=/var/lib/hearth
  cache_path=/var/cache/hearth
  etc_path=/etc/hearth
  unit_path=/etc/systemd/system/hearth.service
  # ... and where this run writes them (under --root when testing).
  if [ -n "$root" ]; then
    mkdir -p "$root"
    root=$(cd "$root" && pwd)
    start=0
  fi
  BIN="$root$bin_path"
  DATA="$root$data_path"
  CACHE="$root$cache_path"
  ETC="$root$etc_path"
  ENV_FILE="$ETC/hearth.env"
  UNIT="$root$unit_path"

  if [ -z "$root" ] && [ "$(id -u)" != 0 ]; then
    die "run me as root (sudo sh install.sh ...), or use --root DIR to try it in a directory"
  fi

  if [ "$uninstall" = 1 ]; then
    do_uninstall
    return 0
  fi

  arch=$(detect_arch "$arch_override")
  check_glibc
  do_install
}

usage() {
  cat <<'EOF'
usage: sh install.sh [--binary PATH | --url URL [--sha256 HEX]] [--port N]
       sh install.sh --uninstall [--purge]
options for testing: --root DIR (install into a directory tree), --no-start (no systemctl),
                     --arch x64|arm64 (override detection)
Installs /usr/local/bin/hearth, the hearth system user, /var/lib/hearth (data),
/var/cache/hearth (native addons), /etc/hearth/hearth.env and hearth.service.
Without --binary/--url it looks for hearth-linux-<arch> next to this script or in ./dist.
EOF
}

say() { printf 'hearth-install: %s\n' "$*"; }
die() { printf 'hearth-install: error: %s\n' "$*" >&2; exit 1; }
need_arg() {
  if [ $# -lt 2 ] || [ -z "$2" ]; then die "$1 needs a value"; fi
}

detect_arch() {
  m="${1:-$(uname -m)}"
  case "$m" in
    x86_64|amd64|x64) echo x64 ;;
    aarch64|arm64) echo arm64 ;;
    armv7l|armv6l|armhf|arm)
      die "this is a 32-bit ARM system ($m); hearth needs a 64-bit OS (Raspberry Pi OS 64-bit on a Pi 4/5)" ;;
    *) die "unsupported architecture $m; hearth is built for x86_64 and aarch64" ;;
  esac
}

# better-sqlite3's prebuilt addon inside the binary needs glibc >= 2.34
# (Debian 12, Ubuntu 22.04, Raspberry Pi OS Bookworm or newer).
check_glibc() {
  if [ -n "$root" ]; then return 0; fi
  v=$(getconf GNU_LIBC_VERSION 2>/dev/null | awk '{print $2}') || v=""
  if [ -z "$v" ]; then
    say "warning: cannot tell the C library version; hearth needs glibc >= 2.34 (musl/Alpine is not supported)"
    return 0
  fi
  maj=${v%%.*}
  min=${v#*.}
  min=${min%%.*}
  if [ "$maj" -lt 2 ] || { [ "$maj" -eq 2 ] && [ "$min" -lt 34 ]; }; then
    die "glibc $v is too old; hearth needs glibc >= 2.34 (Debian 12 / Raspberry Pi OS Bookworm or newer)"
  fi
}

is_root_owner() { [ -z "$root" ] && [ "$(id -u)" = 0 ]; }

# Runs a command as the service user (or as ourselves under --root).
as_service() {
  if is_root_owner; then
    if command -v runuser >/dev/null 2>&1; then
      runuser -u hearth -- "$@"
    else
      setpriv --reuid=hearth --regid=hearth --init-groups -- "$@"
    fi
  else
    "$@"
  fi
}

fetch_binary() {
  dest="$1"
  if [ -z "$binary" ] && [ -z "$url" ]; then
    here=$(dirname "$0")
    for cand in "$here/hearth-linux-$arch" "$here/dist/hearth-linux-$arch" "./hearth-linux-$arch" "./dist/hearth-linux-$arch"; do
      if [ -f "$cand" ]; then binary="$cand"; break; fi
    done
    [ -n "$binary" ] || die "no binary given: use --binary PATH or --url URL (looked for hearth-linux-$arch here and in dist/)"
  fi
  if [ -n "$binary" ]; then
    [ -f "$binary" ] || die "--binary $binary: no such file"
    cp "$binary" "$dest"
  else
    say "downloading $url"
    if command -v curl >/dev/null 2>&1; then
      curl -fsSL --retry 3 -o "$dest" "$url" || die "download failed: $url"
    elif command -v wget >/dev/null 2>&1; then
      wget -q -O "$dest" "$url" || die "download failed: $url"
    else
      die "need curl or wget to download (or use --binary)"
    fi
  fi
  if [ -n "$sha256" ]; then
    got=$(sha256sum "$dest" | awk '{print $1}')
    [ "$got" = "$sha256" ] || die "checksum mismatch: expected $sha256, got $got"
  fi
  chmod 0755 "$dest"
}

ensure_user() {
  if ! is_root_owner; then return 0; fi
  if id hearth >/dev/null 2>&1; then return 0; fi
  nologin=/usr/sbin/nologin
  [ -x "$nologin" ] || nologin=/bin/false
  if command -v useradd >/dev/null 2>&1; then
    useradd --system --user-group --home-dir "$data_path" --no-create-home --shell "$nologin" \
      --comment "hearth family cloud" hearth
  else
    adduser --system --group --home "$data_path" --no-create-home --shell "$nologin" hearth
  fi
  say "created system user hearth"
}

# mkdir with mode, owned by the service user when installing for real.
make_dir() {
  mode="$1"; dir="$2"; owner="$3"
  mkdir -p "$dir"
  chmod "$mode" "$dir"
  if is_root_owner && [ "$owner" = hearth ]; then chown hearth:hearth "$dir"; fi
}

write_env_file() {
  if [ -f "$ENV_FILE" ]; then
    chmod 0600 "$ENV_FILE"
    return 0
  fi
  tmp="$ENV_FILE.tmp.$$"
  (umask 077 && cat >"$tmp" <<EOF
# hearth settings (see \`hearth serve --help\`). Kept across upgrades; after a change:
#   systemctl restart hearth
# The data dir is fixed at $data_path by the unit (the sandbox only lets hearth write there).
HEARTH_HOST=0.0.0.0
HEARTH_PORT=$port
# URL phones use to reach this server (QR codes and pairing), e.g. http://hearth.local:$port
#HEARTH_PUBLIC_URL=
#HEARTH_LOG_LEVEL=info
# full: commits also survive a power cut, at some cost in write speed (good on a Pi with an SD card)
#HEARTH_SYNCHRONOUS=normal
EOF
  )
  chmod 0600 "$tmp"
  mv -f "$tmp" "$ENV_FILE"
  say "wrote $ENV_FILE"
}

write_unit() {
  mkdir -p "$(dirname "$UNIT")"
  tmp="$UNIT.tmp.$$"
  cat >"$tmp" <<EOF
# Written by hearth's install.sh; re-running the installer rewrites it.
[Unit]
Description=hearth, the family's own cloud
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
User=hearth
Group=hearth
EnvironmentFile=-$etc_path/hearth.env
Environment=HEARTH_DATA=$data_path
Environment=HEARTH_CACHE_DIR=$cache_path
ExecStart=$bin_path serve
WorkingDirectory=$data_path
Restart=on-failure
RestartSec=5s
TimeoutStopSec=20s
UMask=0077
StateDirectory=hearth
StateDirectoryMode=0700
CacheDirectory=hearth
CacheDirectoryMode=0700
LimitNOFILE=65536

# Sandbox: hearth writes only its data and cache dirs, sees no homes, no devices,
# holds no capabilities and may only use ordinary system calls.
NoNewPrivileges=true
ProtectSystem=strict
ReadWritePaths=$data_path $cache_path
ProtectHome=true
PrivateTmp=true
PrivateDevices=true
ProtectKernelTunables=true
ProtectKernelModules=true
ProtectKernelLogs=true
ProtectControlGroups=true
ProtectClock=true
ProtectHostname=true
ProtectProc=invisible
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6
RestrictNamespaces=true
RestrictRealtime=true
RestrictSUIDSGID=true
LockPersonality=true
CapabilityBoundingSet=
AmbientCapabilities=
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallErrorNumber=EPERM

[Install]
WantedBy=multi-user.target
EOF
  chmod 0644 "$tmp"
  mv -f "$tmp" "$UNIT"
}

service_active() {
  [ "$start" = 1 ] && command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet hearth.service
}

# Copies the database (stopped service: no writer, WAL checkpointed on close) to
# backups/pre-upgrade-<time>/ and keeps the five newest such copies.
backup_database() {
  backup_dir=""
  [ -f "$DATA/hearth.db" ] || return 0
  stamp=$(date -u +%Y%m%dT%H%M%SZ)
  dest="$DATA/backups/pre-upgrade-$stamp"
  backup_dir="$dest"
  make_dir 0700 "$DATA/backups" hearth
  make_dir 0700 "$dest" hearth
  for f in hearth.db hearth.db-wal hearth.db-shm; do
    if [ -f "$DATA/$f" ]; then cp -p "$DATA/$f" "$dest/$f"; fi
  done
  if is_root_owner; then chown -R hearth:hearth "$dest"; fi
  say "database backed up to $dest"
  # shellcheck disable=SC2012 # names are our own timestamps, no odd characters
  ls -1d "$DATA/backups"/pre-upgrade-* 2>/dev/null | sort -r | tail -n +6 | while read -r old; do
    rm -rf "$old"
  done
}

wait_ready() {
  command -v curl >/dev/null 2>&1 || return 0
  i=0
  while [ "$i" -lt 30 ]; do
    if curl -fsS -o /dev/null "http://127.0.0.1:$1/ready" 2>/dev/null; then return 0; fi
    sleep 1
    i=$((i + 1))
  done
  return 1
}

configured_port() {
  p=$(sed -n 's/^HEARTH_PORT=\([0-9][0-9]*\).*/\1/p' "$ENV_FILE" 2>/dev/null | tail -n 1)
  echo "${p:-$port}"
}

lan_address() {
  a=""
  if command -v hostname >/dev/null 2>&1; then a=$(hostname -I 2>/dev/null | awk '{print $1}') || a=""; fi
  if [ -z "$a" ] && command -v ip >/dev/null 2>&1; then
    a=$(ip -4 -o addr show scope global 2>/dev/null | awk '{sub(/\/.*/, "", $4); print $4; exit}') || a=""
  fi
  echo "${a:-YOUR-SERVER-ADDRESS}"
}

do_install() {
  upgrade=0
  old_version=""
  if [ -x "$BIN" ]; then
    upgrade=1
    old_version=$("$BIN" version 2>/dev/null | head -n 1) || old_version="(old binary does not run)"
  fi

  # 1. Get the new binary next to its final place and prove it runs before touching anything.
  mkdir -p "$(dirname "$BIN")"
  new="$BIN.new.$$"
  trap 'rm -f "$new"' EXIT
  fetch_binary "$new"
  if ! new_version=$("$new" version 2>&1); then
    die "the new binary does not run here: $(echo "$new_version" | head -n 1); nothing was changed"
  fi
  new_version=$(echo "$new_version" | head -n 1)
  case "$new_version" in
    "hearth "*) ;;
    *) die "the new binary does not look like hearth (version said: $new_version); nothing was changed" ;;
  esac
  say "new binary: $new_version"

  # 2. User, directories, settings.
  ensure_user
  make_dir 0700 "$DATA" hearth
  make_dir 0700 "$CACHE" hearth
  make_dir 0755 "$ETC" root
  write_env_file

  # 3. Upgrade: stop, back up the database, keep the old binary for a rollback.
  if [ "$upgrade" = 1 ]; then
    say "upgrading: $old_version -> $new_version"
    if service_active; then systemctl stop hearth.service; fi
    backup_database
    cp -p "$BIN" "$BIN.previous"
  fi

  # 4. Swap atomically (same directory, rename) and write the unit.
  mv -f "$new" "$BIN"
  trap - EXIT
  write_unit

  # 5. Create or migrate the data dir as the service user.
  init_out=$(umask 077 && as_service env HEARTH_DATA="$DATA" HEARTH_CACHE_DIR="$CACHE" "$BIN" init --data "$DATA" 2>&1) ||
    rollback "hearth init failed: $init_out"
  say "data dir ready at $DATA"

  # 6. hearth doctor as the service user: database integrity, native addons (this also
  #    copies them into the cache dir, so the service's first start is a warm one), disk, clock.
  if doctor_out=$(umask 077 && as_service env HEARTH_DATA="$DATA" HEARTH_CACHE_DIR="$CACHE" "$BIN" doctor --data "$DATA" 2>&1); then
    say "hearth doctor: all checks passed"
  else
    printf '%s\n' "$doctor_out" >&2
    if [ "$upgrade" = 1 ]; then rollback "hearth doctor failed with the new version"; fi
    say "warning: hearth doctor reported problems (above); fix them, then: systemctl restart hearth"
  fi

  # 7. Start and check it comes up; an upgrade that does not is rolled back.
  if [ "$start" = 1 ]; then
    if ! command -v systemctl >/dev/null 2>&1; then
      say "systemctl not found: start it yourself with: runuser -u hearth -- $bin_path serve"
    else
      systemctl daemon-reload
      systemctl enable --quiet hearth.service
      systemctl restart hearth.service
      p=$(configured_port)
      if ! wait_ready "$p"; then
        if [ "$upgrade" = 1 ]; then rollback "the new version did not become ready on port $p"; fi
        die "hearth did not become ready on port $p; see: journalctl -u hearth -n 50"
      fi
      say "hearth is running"
    fi
  fi

  p=$(configured_port)
  if [ "$upgrade" = 1 ]; then
    say "upgraded to $new_version; data kept in $DATA (previous binary: $bin_path.previous)"
  else
    cat <<EOF

hearth is installed.
  Open on your network:  http://$(lan_address):$p
  Settings:              $etc_path/hearth.env   (then: systemctl restart hearth)
  Health check:          sudo -u hearth $bin_path doctor

Set up your family and pair the first device (run admin commands as the hearth user):
  sudo -u hearth $bin_path family create "The Smiths" --json
  sudo -u hearth $bin_path member add --family <familyId> --name you --role owner
  sudo -u hearth $bin_path device pair --member <memberId>     # shows a QR code for the phone
EOF
  fi
}

# Puts the previous binary and the pre-upgrade database back (the new version may
# already have migrated it), then restarts the old version.
rollback() {
  reason="$1"
  if [ "${upgrade:-0}" = 1 ] && [ -f "$BIN.previous" ]; then
    if [ "$start" = 1 ] && command -v systemctl >/dev/null 2>&1; then systemctl stop hearth.service || true; fi
    mv -f "$BIN.previous" "$BIN"
    if [ -n "${backup_dir:-}" ] && [ -f "$backup_dir/hearth.db" ]; then
      rm -f "$DATA/hearth.db-wal" "$DATA/hearth.db-shm"
      for f in hearth.db hearth.db-wal hearth.db-shm; do
        if [ -f "$backup_dir/$f" ]; then cp -p "$backup_dir/$f" "$DATA/$f"; fi
      done
      reason="$reason; database restored from $backup_dir"
    fi
    if [ "$start" = 1 ] && command -v systemctl >/dev/null 2>&1; then systemctl restart hearth.service || true; fi
    die "$reason; rolled back to the previous binary"
  fi
  die "$reason"
}

do_uninstall() {
  if [ "$start" = 1 ] && command -v systemctl >/dev/null 2>&1; then
    systemctl disable --now hearth.service 2>/dev/null || true
  fi
  rm -f "$UNIT" "$BIN" "$BIN.previous"
  rm -rf "$CACHE"
  if [ "$start" = 1 ] && command -v systemctl >/dev/null 2>&1; then systemctl daemon-reload || true; fi
  say "removed $bin_path and the hearth service"
  if [ "$purge" = 1 ]; then
    rm -rf "$DATA" "$ETC"
    say "purged $data_path and $etc_path"
    if is_root_owner && id hearth >/dev/null 2>&1; then
      userdel hearth 2>/dev/null || deluser --system hearth 2>/dev/null || true
      say "removed the hearth user"
    fi
  else
    say "kept your data in $data_path and settings in $etc_path (remove them with --uninstall --purge)"
  fi
}

main "$@"
