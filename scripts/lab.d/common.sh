# Shared helpers for scripts/lab. Sourced, never run.
# Everything the lab creates lives under $LAB_DIR (git-ignored), except the Kafka jar
# cache, which lives under $LAB_CACHE so that it survives `down` and fresh clones.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LAB_DIR=${LAB_DIR:-$ROOT/.lab}
LAB_CACHE=${LAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dts-binlog-kafka}
RUN_DIR=$LAB_DIR/run
mkdir -p "$LAB_DIR" "$RUN_DIR" "$LAB_CACHE"

log() { printf '[lab] %s\n' "$*" >&2; }
die() { printf '[lab] error: %s\n' "$*" >&2; exit 1; }

# True when the process runs; a zombie (which `kill -0` still finds, and which this
# machine's init may reap late) counts as gone.
alive() {
  local state
  state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
  case ${state%% *} in Z|X|'') return 1 ;; esac
}

# The PID `up` recorded for a component, when that process still runs.
pid_of() {
  local f=$RUN_DIR/$1.pid pid
  [ -f "$f" ] || return 1
  pid=$(cat "$f")
  [ -n "$pid" ] && alive "$pid" && { echo "$pid"; return 0; }
  rm -f "$f"
  return 1
}

record_pid() { echo "$2" >"$RUN_DIR/$1.pid"; }

# Stops a recorded process and its process group: TERM, then KILL after $2 seconds.
stop_component() {
  local name=$1 grace=${2:-20} pid i
  pid=$(pid_of "$name") || { log "$name: not running"; return 0; }
  log "$name: stopping pid $pid"
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < grace * 10; i++)); do
    alive "$pid" || break
    sleep 0.1
  done
  if alive "$pid"; then
    log "$name: still alive after ${grace}s, killing"
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$RUN_DIR/$name.pid"
}

# Starts a command in its own session (so `down` can stop its whole group) and records its PID.
start_component() {
  local name=$1; shift
  local logf=$LAB_DIR/logs/$name.log
  mkdir -p "$LAB_DIR/logs"
  setsid "$@" >>"$logf" 2>&1 </dev/null &
  record_pid "$name" $!
  log "$name: started pid $! (log: ${logf#$ROOT/})"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Waits until `cmd...` succeeds, up to $1 seconds; fails early when component $2 dies.
wait_until() {
  local timeout=$1 name=$2; shift 2
  local deadline=$((SECONDS + timeout))
  until "$@"; do
    pid_of "$name" >/dev/null || die "$name exited during start; see ${LAB_DIR#$ROOT/}/logs/$name.log"
    ((SECONDS < deadline)) || die "$name did not become ready within ${timeout}s; see ${LAB_DIR#$ROOT/}/logs/$name.log"
    sleep 0.5
  done
}

# TLS for a source server: a throwaway CA, and a server certificate (SAN IP 127.0.0.1 and
# localhost) and a client certificate (for mutual TLS) it signed, made by openssl in $1 on the
# first start; clients trust $1/ca.pem. $2 names the component in logs, $3 the server in the CA's name.
source_tls() {
  local dir=$1 name=$2 label=$3
  [ -f "$dir/server.pem" ] && [ -f "$dir/server.key" ] && [ -f "$dir/ca.pem" ] && return 0
  if ! command -v openssl >/dev/null; then
    log "$name: openssl not found; starting without TLS"
    return 1
  fi
  log "$name: making a throwaway CA and TLS certificates in ${dir#$ROOT/} (openssl)"
  rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
  (
    set -e
    cd "$dir.tmp"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -keyout ca.key -out ca.pem \
      -subj "/CN=dts-binlog-kafka lab $label CA" -addext 'basicConstraints=critical,CA:TRUE' -addext 'keyUsage=critical,keyCertSign,cRLSign'
    for who in server client; do
      openssl req -newkey rsa:2048 -nodes -keyout "$who.key" -out "$who.csr" -subj "/CN=$([ $who = server ] && echo localhost || echo dts_sync)"
      printf '%s\n' 'basicConstraints=CA:FALSE' 'keyUsage=digitalSignature,keyEncipherment' \
        "extendedKeyUsage=$([ $who = server ] && echo serverAuth || echo clientAuth)" \
        "$([ $who = server ] && echo 'subjectAltName=IP:127.0.0.1,DNS:localhost' || echo 'subjectAltName=DNS:dts_sync')" >"$who.ext"
      openssl x509 -req -in "$who.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 -extfile "$who.ext" -out "$who.pem"
    done
  ) >"$dir.openssl.log" 2>&1 || { log "$name: openssl failed (see ${dir#$ROOT/}.openssl.log); starting without TLS"; return 1; }
  rm -rf "$dir" && mv "$dir.tmp" "$dir"
}

# shellcheck source=ports.env
. "$ROOT/scripts/lab.d/ports.env"

# A second lab beside the usual one (e.g. a test's own MariaDB or MySQL): LAB_<NAME> overrides a
# port of ports.env, with LAB_DIR set to a folder of its own, e.g.
#   LAB_DIR=/tmp/lab2 LAB_MARIADB_PORT=23306 scripts/lab up --source mariadb --kafka none
#   LAB_DIR=/tmp/lab3 LAB_MYSQL_PORT=23307 scripts/lab up --source mysql --kafka none
# LAB_MARIADB_ARGS / LAB_MYSQL_ARGS add server flags (space-separated, after the lab's own, so
# they win), e.g. LAB_MYSQL_ARGS='--default-time-zone=Europe/Berlin'.
while IFS='=' read -r _name _; do
  case $_name in
    [A-Z]*_PORT)
      _override=LAB_$_name
      if [ -n "${!_override:-}" ]; then printf -v "$_name" '%s' "${!_override}"; fi
      ;;
  esac
done <"$ROOT/scripts/lab.d/ports.env"
unset _name _override
