# MariaDB part of the lab: a throwaway instance under .lab/mariadb, never a system service.
# Sourced by scripts/lab after common.sh.

MARIADB_DIR=$LAB_DIR/mariadb
MARIADB_SOCKET=$MARIADB_DIR/mariadbd.sock

# Accounts of the lab. The synchronizer's user gets only what it needs:
# REPLICATION SLAVE to read the binlog, BINLOG MONITOR (MariaDB's name for
# REPLICATION CLIENT) for SHOW MASTER STATUS / SHOW BINARY LOGS, SELECT to read schemas
# and snapshot rows. lab_admin is for tests and workloads.
LAB_SYNC_USER=dts_sync
LAB_SYNC_PASSWORD=dts_sync_pw
LAB_ADMIN_USER=lab_admin
LAB_ADMIN_PASSWORD=lab_admin_pw

mariadb_install_if_missing() {
  command -v mariadbd >/dev/null && command -v mariadb-install-db >/dev/null && command -v mariadb >/dev/null && return 0
  log "mariadb: installing Debian's mariadb-server (not found on this machine)"
  local sudo=
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends mariadb-server mariadb-client >/dev/null
}

# TLS: a throwaway CA and certificates in .lab/mariadb/tls (source_tls in common.sh); TLS is
# offered, not required: the lab's users connect either way (a test makes its own REQUIRE SSL /
# REQUIRE X509 user). Without openssl the lab runs without TLS.
MARIADB_TLS_DIR=$MARIADB_DIR/tls

mariadb_client() { mariadb --no-defaults --default-character-set=utf8mb4 --socket="$MARIADB_SOCKET" -uroot "$@"; }

mariadb_ready() { mariadb_client -N -e 'SELECT 1' >/dev/null 2>&1; }

mariadb_up() {
  if pid=$(pid_of mariadb); then
    log "mariadb: already running (pid $pid, port $MARIADB_PORT)"
    return 0
  fi
  mariadb_install_if_missing
  mkdir -p "$MARIADB_DIR/tmp"
  local user_opt=()
  [ "$(id -u)" = 0 ] && user_opt=(--user=root)
  if [ ! -d "$MARIADB_DIR/data/mysql" ]; then
    log "mariadb: creating a new instance in .lab/mariadb/data"
    mariadb-install-db --no-defaults "${user_opt[@]}" --datadir="$MARIADB_DIR/data" \
      --auth-root-authentication-method=normal --skip-test-db >"$MARIADB_DIR/install.log" 2>&1 \
      || die "mariadb-install-db failed; see .lab/mariadb/install.log"
  fi
  port_open "$MARIADB_PORT" && die "port $MARIADB_PORT is taken by another process; stop it or change MARIADB_PORT in scripts/lab.d/ports.env"
  local tls_opt=()
  source_tls "$MARIADB_TLS_DIR" mariadb MariaDB && tls_opt=(--ssl-ca="$MARIADB_TLS_DIR/ca.pem" --ssl-cert="$MARIADB_TLS_DIR/server.pem" --ssl-key="$MARIADB_TLS_DIR/server.key")
  start_component mariadb mariadbd --no-defaults "${user_opt[@]}" "${tls_opt[@]}" \
    --datadir="$MARIADB_DIR/data" --socket="$MARIADB_SOCKET" --pid-file="$MARIADB_DIR/mariadbd.pid" \
    --tmpdir="$MARIADB_DIR/tmp" --port="$MARIADB_PORT" --bind-address=127.0.0.1 --skip-name-resolve \
    --log-bin=mysql-bin --binlog-format=ROW --binlog-row-image=FULL --binlog-row-metadata=FULL \
    --server-id=1 --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
    --max-allowed-packet=256M --innodb-buffer-pool-size=512M --innodb-log-file-size=256M \
    --innodb-flush-log-at-trx-commit=2 --sync-binlog=0 ${LAB_MARIADB_ARGS:-}
  wait_until 60 mariadb mariadb_ready
  mariadb_client <<SQL
CREATE USER IF NOT EXISTS '$LAB_SYNC_USER'@'127.0.0.1' IDENTIFIED BY '$LAB_SYNC_PASSWORD';
CREATE USER IF NOT EXISTS '$LAB_SYNC_USER'@'localhost' IDENTIFIED BY '$LAB_SYNC_PASSWORD';
GRANT SELECT, REPLICATION SLAVE, BINLOG MONITOR ON *.* TO '$LAB_SYNC_USER'@'127.0.0.1', '$LAB_SYNC_USER'@'localhost';
CREATE USER IF NOT EXISTS '$LAB_ADMIN_USER'@'127.0.0.1' IDENTIFIED BY '$LAB_ADMIN_PASSWORD';
CREATE USER IF NOT EXISTS '$LAB_ADMIN_USER'@'localhost' IDENTIFIED BY '$LAB_ADMIN_PASSWORD';
GRANT ALL PRIVILEGES ON *.* TO '$LAB_ADMIN_USER'@'127.0.0.1', '$LAB_ADMIN_USER'@'localhost' WITH GRANT OPTION;
SQL
  log "mariadb: ready on 127.0.0.1:$MARIADB_PORT ($(mariadb_client -N -e 'SELECT VERSION()'); TLS $(mariadb_client -N -e "SELECT IF(@@have_ssl = 'YES', 'on, CA ${MARIADB_TLS_DIR#$ROOT/}/ca.pem', 'off')"))"
}

mariadb_down() { stop_component mariadb 60; }

mariadb_status() {
  local pid
  if pid=$(pid_of mariadb); then
    printf '%-14s running  pid %-7s 127.0.0.1:%s  users %s/%s (sync), %s/%s (admin)\n' \
      mariadb "$pid" "$MARIADB_PORT" "$LAB_SYNC_USER" "$LAB_SYNC_PASSWORD" "$LAB_ADMIN_USER" "$LAB_ADMIN_PASSWORD"
  else
    printf '%-14s stopped\n' mariadb
  fi
}
