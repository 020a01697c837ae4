# MySQL part of the lab: a throwaway MySQL 9.7 instance under .lab/mysql, never a system service.
# Sourced by scripts/lab after common.sh.
#
# Debian 12 has no MySQL server; Debian's `sid` suite has mysql-server-core 9.7. It is fetched
# the way any Debian user can, without touching the system's apt state or installing anything:
#   - a private sources list for sid, with its own Dir::State::Lists and Dir::Cache under
#     $LAB_CACHE/mysql (apt-get update, apt-cache and apt-get download only);
#   - the runtime library closure taken from the packages' dependencies (`apt-cache depends
#     --recurse`, without perl, which only the helper scripts need);
#   - every .deb unpacked with `dpkg-deb -x` into $LAB_CACHE/mysql/root;
#   - mysqld and the mysql client run through the unpacked dynamic loader with the unpacked
#     libraries (sid's glibc is newer than the system's).
# A marker file says the unpack is complete; `rm -rf $LAB_CACHE/mysql` fetches again.

MYSQL_DIR=$LAB_DIR/mysql
MYSQL_SOCKET=$MYSQL_DIR/mysqld.sock
MYSQL_TLS_DIR=$MYSQL_DIR/tls
MYSQL_CACHE=$LAB_CACHE/mysql
MYSQL_ROOT=$MYSQL_CACHE/root
MYSQL_LIBS=$MYSQL_ROOT/usr/lib/x86_64-linux-gnu
MYSQL_PACKAGES=(mysql-server-core mysql-client-core)

# Accounts: the same names and passwords as the MariaDB lab's (mariadb.sh). The synchronizer's
# user has the server's default authentication (caching_sha2_password) and only what it needs:
# REPLICATION SLAVE (the binlog), REPLICATION CLIENT (SHOW BINARY LOG STATUS, SHOW BINARY LOGS),
# SELECT (schemas and snapshot rows) and BACKUP_ADMIN (performance_schema.log_status: the
# consistent binlog position of the initial sync, without a lock; RELOAD for the short global
# read lock is the alternative, see docs/sources.md).

_mysql_apt() {
  apt-get -o Dir::Etc::SourceList="$MYSQL_CACHE/sources.list" -o Dir::Etc::SourceParts=/dev/null \
    -o Dir::State::Lists="$MYSQL_CACHE/lists" -o Dir::Cache="$MYSQL_CACHE/apt" \
    -o Dir::State::status=/dev/null -o Debug::NoLocking=1 -o APT::Sandbox::User=root "$@"
}
_mysql_apt_cache() {
  apt-cache -o Dir::Etc::SourceList="$MYSQL_CACHE/sources.list" -o Dir::Etc::SourceParts=/dev/null \
    -o Dir::State::Lists="$MYSQL_CACHE/lists" -o Dir::Cache="$MYSQL_CACHE/apt" \
    -o Dir::State::status=/dev/null "$@"
}

mysql_fetch_if_missing() {
  [ -f "$MYSQL_CACHE/unpacked" ] && [ -x "$MYSQL_ROOT/usr/sbin/mysqld" ] && return 0
  command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null || die "mysql: apt-get and dpkg-deb are needed to fetch MySQL from Debian sid"
  log "mysql: fetching mysql-server-core from Debian sid into ${MYSQL_CACHE} (private apt state; nothing is installed)"
  rm -rf "$MYSQL_CACHE" && mkdir -p "$MYSQL_CACHE/lists/partial" "$MYSQL_CACHE/apt/archives/partial" "$MYSQL_CACHE/debs"
  local keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  [ -f "$keyring" ] || die "mysql: $keyring not found (Debian's debian-archive-keyring package)"
  echo "deb [signed-by=$keyring] http://deb.debian.org/debian sid main" >"$MYSQL_CACHE/sources.list"
  _mysql_apt update -qq >"$MYSQL_CACHE/fetch.log" 2>&1 || die "mysql: apt-get update for sid failed; see $MYSQL_CACHE/fetch.log"
  local pkgs
  pkgs=$(_mysql_apt_cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
    --no-replaces --no-enhances --no-pre-depends "${MYSQL_PACKAGES[@]}" 2>>"$MYSQL_CACHE/fetch.log" \
    | grep -v '^ ' | grep -v '^<' | grep -vE '^(perl|perl-base|perl-modules-.*|libperl.*)$' | sort -u)
  [ -n "$pkgs" ] || die "mysql: sid lists no ${MYSQL_PACKAGES[*]}; see $MYSQL_CACHE/fetch.log"
  # shellcheck disable=SC2086
  (cd "$MYSQL_CACHE/debs" && _mysql_apt download -qq $pkgs) >>"$MYSQL_CACHE/fetch.log" 2>&1 \
    || die "mysql: apt-get download failed; see $MYSQL_CACHE/fetch.log"
  mkdir -p "$MYSQL_ROOT"
  local d
  for d in "$MYSQL_CACHE"/debs/*.deb; do dpkg-deb -x "$d" "$MYSQL_ROOT" || die "mysql: dpkg-deb -x $d failed"; done
  [ -x "$MYSQL_LIBS/ld-linux-x86-64.so.2" ] || die "mysql: the unpacked closure has no dynamic loader (libc6 from sid)"
  _mysql_run "$MYSQL_ROOT/usr/sbin/mysqld" --version >>"$MYSQL_CACHE/fetch.log" 2>&1 || die "mysql: the unpacked mysqld does not run; see $MYSQL_CACHE/fetch.log"
  ls "$MYSQL_CACHE/debs" >"$MYSQL_CACHE/unpacked"
  log "mysql: $(_mysql_run "$MYSQL_ROOT/usr/sbin/mysqld" --version | sed 's/.*Ver //') unpacked ($(wc -l <"$MYSQL_CACHE/unpacked") packages)"
}

# Runs an unpacked program through sid's dynamic loader and libraries.
_mysql_run() { "$MYSQL_LIBS/ld-linux-x86-64.so.2" --library-path "$MYSQL_LIBS" "$@"; }

mysql_client() { _mysql_run "$MYSQL_ROOT/usr/bin/mysql" --no-defaults --default-character-set=utf8mb4 --socket="$MYSQL_SOCKET" -uroot "$@"; }

mysql_ready() { mysql_client -N -e 'SELECT 1' >/dev/null 2>&1; }

mysql_up() {
  if pid=$(pid_of mysql); then
    log "mysql: already running (pid $pid, port $MYSQL_PORT)"
    return 0
  fi
  mysql_fetch_if_missing
  mkdir -p "$MYSQL_DIR/tmp" "$MYSQL_DIR/files"
  local common=(--no-defaults --user=root --basedir="$MYSQL_ROOT/usr" --lc-messages-dir="$MYSQL_ROOT/usr/share/mysql"
    --plugin-dir="$MYSQL_ROOT/usr/lib/mysql/plugin" --datadir="$MYSQL_DIR/data" --tmpdir="$MYSQL_DIR/tmp" --secure-file-priv="$MYSQL_DIR/files")
  if [ ! -d "$MYSQL_DIR/data/mysql" ]; then
    log "mysql: creating a new instance in ${MYSQL_DIR#$ROOT/}/data"
    rm -rf "$MYSQL_DIR/data"
    _mysql_run "$MYSQL_ROOT/usr/sbin/mysqld" "${common[@]}" --initialize-insecure >"$MYSQL_DIR/install.log" 2>&1 \
      || die "mysql: mysqld --initialize-insecure failed; see ${MYSQL_DIR#$ROOT/}/install.log"
  fi
  port_open "$MYSQL_PORT" && die "port $MYSQL_PORT is taken by another process; stop it or change MYSQL_PORT in scripts/lab.d/ports.env"
  # A killed mysqld leaves its socket's lock file naming its pid, and mysqld refuses to start
  # while that pid exists, which an unreaped zombie still does; no mysqld of ours runs (above).
  rm -f "$MYSQL_SOCKET.lock"
  local tls_opt=()
  source_tls "$MYSQL_TLS_DIR" mysql MySQL && tls_opt=(--ssl-ca="$MYSQL_TLS_DIR/ca.pem" --ssl-cert="$MYSQL_TLS_DIR/server.pem" --ssl-key="$MYSQL_TLS_DIR/server.key")
  start_component mysql "$MYSQL_LIBS/ld-linux-x86-64.so.2" --library-path "$MYSQL_LIBS" "$MYSQL_ROOT/usr/sbin/mysqld" \
    "${common[@]}" "${tls_opt[@]}" --socket="$MYSQL_SOCKET" --pid-file="$MYSQL_DIR/mysqld.pid" \
    --port="$MYSQL_PORT" --bind-address=127.0.0.1 --mysqlx=OFF --skip-name-resolve \
    --log-bin=mysql-bin --binlog-format=ROW --binlog-row-image=FULL --binlog-row-metadata=FULL \
    --gtid-mode=ON --enforce-gtid-consistency=ON --server-id=1 \
    --character-set-server=utf8mb4 --max-allowed-packet=256M --innodb-buffer-pool-size=512M \
    --innodb-redo-log-capacity=512M --innodb-flush-log-at-trx-commit=2 --sync-binlog=0 \
    --performance-schema-max-table-instances=2000 --log-error-verbosity=2 ${LAB_MYSQL_ARGS:-}
  wait_until 90 mysql mysql_ready
  mysql_client <<SQL
CREATE USER IF NOT EXISTS '$LAB_SYNC_USER'@'127.0.0.1' IDENTIFIED BY '$LAB_SYNC_PASSWORD';
CREATE USER IF NOT EXISTS '$LAB_SYNC_USER'@'localhost' IDENTIFIED BY '$LAB_SYNC_PASSWORD';
GRANT SELECT, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO '$LAB_SYNC_USER'@'127.0.0.1', '$LAB_SYNC_USER'@'localhost';
GRANT BACKUP_ADMIN ON *.* TO '$LAB_SYNC_USER'@'127.0.0.1', '$LAB_SYNC_USER'@'localhost';
CREATE USER IF NOT EXISTS '$LAB_ADMIN_USER'@'127.0.0.1' IDENTIFIED BY '$LAB_ADMIN_PASSWORD';
CREATE USER IF NOT EXISTS '$LAB_ADMIN_USER'@'localhost' IDENTIFIED BY '$LAB_ADMIN_PASSWORD';
GRANT ALL PRIVILEGES ON *.* TO '$LAB_ADMIN_USER'@'127.0.0.1', '$LAB_ADMIN_USER'@'localhost' WITH GRANT OPTION;
SQL
  log "mysql: ready on 127.0.0.1:$MYSQL_PORT ($(mysql_client -N -e 'SELECT VERSION()'); TLS $(mysql_client -N -e "SELECT IF(@@ssl_ca <> '', 'on, CA ${MYSQL_TLS_DIR#$ROOT/}/ca.pem', 'off')"))"
}

mysql_down() { stop_component mysql 60; }

mysql_status() {
  local pid
  if pid=$(pid_of mysql); then
    printf '%-14s running  pid %-7s 127.0.0.1:%s  users %s/%s (sync), %s/%s (admin)\n' \
      mysql "$pid" "$MYSQL_PORT" "$LAB_SYNC_USER" "$LAB_SYNC_PASSWORD" "$LAB_ADMIN_USER" "$LAB_ADMIN_PASSWORD"
  else
    printf '%-14s stopped\n' mysql
  fi
}
