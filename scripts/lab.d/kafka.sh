# Kafka part of the lab: real Apache Kafka brokers on loopback, run straight from Maven jars.
# Sourced by scripts/lab after common.sh.
#
#   kafka_up 3.9      Kafka 3.9.x, KRaft, one node that is broker and controller
#                     (client 127.0.0.1:$KAFKA39_PORT, controller 127.0.0.1:$KAFKA39_CONTROLLER_PORT,
#                     and two authenticated listeners, see "Kafka 3.9's SASL and TLS listeners" below)
#   kafka_up 1.0      ZooKeeper 3.4.10 (127.0.0.1:$ZOOKEEPER10_PORT), then Kafka 1.0.2 (127.0.0.1:$KAFKA10_PORT)
#   kafka_down 3.9|1.0
#   kafka_status 3.9|1.0
# Overrides: KAFKA_JAVA (default: the machine's JDK 17), KAFKA_EXTRA_JVM_OPTS (added to every JVM).
#
# Jars come from Maven Central through `mvn dependency:copy-dependencies` on the small poms in
# scripts/kafka/ (no Kafka tarball, no Kafka shell scripts) and are cached under
# $LAB_CACHE/kafka-<ver>/libs; a marker file holding the pom's sha256 says the copy is complete,
# so a changed pom fetches again. Config, data and ZooKeeper state live under $LAB_DIR/kafka-<ver>/;
# each JVM logs to stdout, which start_component captures in $LAB_DIR/logs/<component>.log.
#
# JVM flags (both versions, all on the machine's JDK 17; never Temurin 25):
#   -Xms256m -Xmx512m            small heap per broker (ZooKeeper: -Xms64m -Xmx256m); the lab is tiny.
#   -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35
#                                 Kafka's own KAFKA_JVM_PERFORMANCE_OPTS (1.0 and 3.9 alike); valid on 17.
#   -XX:+ExplicitGCInvokesConcurrent
#                                 also Kafka's (since 1.0, KAFKA-5470), replacing -XX:+DisableExplicitGC,
#                                 which would also disable the System.gc() the JDK runs to free direct memory.
#   -Djava.awt.headless=true      as Kafka's scripts do.
#   -XX:G1HeapRegionSize=16M      brokers only: the region size of Kafka's documented production JVM
#                                 settings (docs, "Java Version" under Operations). With the default
#                                 1 MB regions of a 512 MB heap, every produce request over 512 KB (the
#                                 synchronizer sends ~1.7 MB ones) is a humongous allocation, and their
#                                 churn kept G1 in concurrent marking: the broker's CPU per 1M-row
#                                 snapshot varied from 1.6 to 7.2 s, and the snapshot benchmark's
#                                 median went from 104-145k to 160-181k rows/s with this flag
#                                 (docs/benchmarks.md).
#   -Dlog4j.configuration=file:<config>/log4j.properties
#                                 our console-only log4j config (the config dir is also first on -cp).
#   -Dlab.component=<name>        inert; makes our JVMs recognisable in `ps` / `pgrep -af java`.
# Deliberately absent: the pre-JDK-9 GC-logging flags that old kafka-run-class.sh passes with -loggc
# (and whenever its `java -version` parsing fails to see a Java >= 9): -Xloggc:..., -verbose:gc,
# -XX:+PrintGCDetails, -XX:+PrintGCDateStamps, -XX:+PrintGCTimeStamps, -XX:+UseGCLogFileRotation,
# -XX:NumberOfGCLogFiles, -XX:GCLogFileSize. JDK 9+ removed them and refuses to start with them
# ("Unrecognized VM option"); unified logging (-Xlog:gc*:file=...) replaces them, not needed here.
# Likewise no CMS flags (-XX:+UseConcMarkSweepGC & co., removed in JDK 14), no -XX:MaxInlineLevel=15
# (newer scripts pass it; it is the default since JDK 14) and no -server (a no-op on 64-bit JDKs).
# No --add-opens / --add-exports is needed: Kafka 1.0.2 already handles Java 9+ (it unmaps index files
# through sun.misc.Unsafe.invokeCleaner, in the open jdk.unsupported module, and takes CRC32C from
# java.util.zip), and ZooKeeper 3.4.10, zkclient 0.10 and Scala 2.12.4 use no JDK internals. Checked
# on JDK 17 with -Dsun.reflect.debugModuleAccessChecks=true through start, produce, consume, topic
# deletion and shutdown: no denied access.

KAFKA_JAVA=${KAFKA_JAVA:-/usr/lib/jvm/java-17-openjdk-amd64/bin/java}
KAFKA_SCRIPTS_DIR=$ROOT/scripts/kafka
# Fixed KRaft cluster id of the 3.9 lab: base64url of the 16 bytes "dts-binlog-kafka".
KAFKA39_CLUSTER_ID=ZHRzLWJpbmxvZy1rYWZrYQ

# Kafka 3.9's SASL and TLS listeners, for the authentication tests (the PLAINTEXT listener
# on $KAFKA39_PORT stays as it is, and the broker talks to itself over it):
#   SASL_PLAINTEXT 127.0.0.1:$KAFKA39_SASL_PORT  PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512, one user
#                  $KAFKA39_SASL_USER / $KAFKA39_SASL_PASSWORD for all three (PLAIN from the
#                  listener's JAAS config; SCRAM credentials in the KRaft metadata, added by
#                  `storage format --add-scram` on a fresh data dir, or by kafka-configs once
#                  on a data dir formatted before; the marker file data/lab-scram-user says so)
#   SSL            127.0.0.1:$KAFKA39_SSL_PORT   TLS, no client certificate; the broker's key and
#                  certificate (SAN IP 127.0.0.1 and localhost), signed by a throwaway CA, are made
#                  by keytool in $LAB_DIR/kafka-3.9/tls/ on the first start: clients trust ca.pem.
# Throwaway secrets of a loopback lab, like the MariaDB users in mariadb.sh.
KAFKA39_SASL_USER=lab_sasl
KAFKA39_SASL_PASSWORD=lab_sasl_pw
KAFKA39_TLS_PASSWORD=lab_tls_pw

_kafka_check_version() {
  case ${1:-} in 3.9|1.0) ;; *) die "kafka: version must be 3.9 or 1.0 (got '${1:-}')" ;; esac
}

_kafka_components() { # broker first: the order kafka_down stops them in
  case $1 in 3.9) echo kafka-3.9 ;; 1.0) echo kafka-1.0 zookeeper-1.0 ;; esac
}

_kafka_port_of() {
  case $1 in
    kafka-3.9) echo "$KAFKA39_PORT" ;;
    kafka-1.0) echo "$KAFKA10_PORT" ;;
    zookeeper-1.0) echo "$ZOOKEEPER10_PORT" ;;
  esac
}

_kafka_libs_dir() { echo "$LAB_CACHE/kafka-$1/libs"; }

# Kafka's full version, from the jar in the cache ("3.9.2"), or the label when not fetched yet.
_kafka_full_version() {
  local jar
  for jar in "$(_kafka_libs_dir "$1")"/kafka_2.1?-*.jar; do
    [ -f "$jar" ] || continue
    jar=${jar##*/kafka_2.1?-}
    echo "${jar%.jar}"
    return 0
  done
  echo "$1"
}

# Copies the jars of version $1 into $LAB_CACHE/kafka-$1/libs unless a complete copy of the
# current pom is already there.
_kafka_fetch() {
  local v=$1 pom=$KAFKA_SCRIPTS_DIR/pom-$1.xml dir=$LAB_CACHE/kafka-$1 want
  local libs=$dir/libs marker=$dir/libs.complete
  [ -f "$pom" ] || die "kafka-$v: missing $pom"
  want=$(sha256sum "$pom") || die "kafka-$v: cannot hash $pom"
  want=${want%% *}
  if [ -d "$libs" ] && [ "$(cat "$marker" 2>/dev/null)" = "$want" ]; then return 0; fi
  command -v mvn >/dev/null || die "kafka-$v: mvn not found; Maven fetches the Kafka jars"
  mkdir -p "$dir"
  (
    # One fetch at a time per version, should two `lab up` race.
    flock 9 || exit 1
    [ -d "$libs" ] && [ "$(cat "$marker" 2>/dev/null)" = "$want" ] && exit 0
    log "kafka-$v: fetching jars from Maven Central with mvn (first run only; a minute or two)"
    rm -rf "$libs" "$dir/libs.tmp" "$marker"
    # Maven 3.8 prints stray ESC[0m even in batch mode: keep its output in a file and show it,
    # stripped, only when it fails.
    if ! JAVA_HOME=${KAFKA_JAVA%/bin/java} mvn -B -q -f "$pom" \
      dependency:copy-dependencies -DoutputDirectory="$dir/libs.tmp" >"$dir/mvn.log" 2>&1; then
      sed $'s/\e\\[[0-9;]*m//g' "$dir/mvn.log" | grep -v '^[[:space:]]*$' >&2
      exit 1
    fi
    mv "$dir/libs.tmp" "$libs" && echo "$want" >"$marker"
  ) 9>"$dir/.fetch.lock" || die "kafka-$v: mvn could not fetch the jars (its output is above, and in $dir/mvn.log)"
}

_kafka_write_log4j() {
  cat >"$1/log4j.properties" <<'EOF'
# Written by scripts/lab.d/kafka.sh. Everything goes to stdout, which the lab captures in .lab/logs/.
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.kafka.network.RequestChannel$=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.authorizer.logger=WARN
log4j.logger.org.apache.zookeeper.server.PrepRequestProcessor=WARN
EOF
}

# Settings both brokers share; tests rely on them.
_kafka_common_properties() {
  cat <<EOF
auto.create.topics.enable=true
num.partitions=1
default.replication.factor=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
delete.topic.enable=true
EOF
}

_kafka_write_config() {
  local v=$1 base=$LAB_DIR/kafka-$1
  local conf=$base/config
  mkdir -p "$conf" "$base/data"
  _kafka_write_log4j "$conf"
  case $v in
    3.9)
      {
        cat <<EOF
# Written by scripts/lab.d/kafka.sh on each start; edit that file, not this one.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA39_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA39_PORT,CONTROLLER://127.0.0.1:$KAFKA39_CONTROLLER_PORT,SASL_PLAINTEXT://127.0.0.1:$KAFKA39_SASL_PORT,SSL://127.0.0.1:$KAFKA39_SSL_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA39_PORT,SASL_PLAINTEXT://127.0.0.1:$KAFKA39_SASL_PORT,SSL://127.0.0.1:$KAFKA39_SSL_PORT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,SSL:SSL
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
log.dirs=$base/data
listener.name.sasl_plaintext.sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512
listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$KAFKA39_SASL_USER="$KAFKA39_SASL_PASSWORD";
listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.ssl.ssl.keystore.type=PKCS12
listener.name.ssl.ssl.keystore.location=$base/tls/broker.p12
listener.name.ssl.ssl.keystore.password=$KAFKA39_TLS_PASSWORD
listener.name.ssl.ssl.key.password=$KAFKA39_TLS_PASSWORD
listener.name.ssl.ssl.client.auth=none
EOF
        _kafka_common_properties
      } >"$conf/server.properties"
      ;;
    1.0)
      mkdir -p "$base/zookeeper"
      cat >"$conf/zookeeper.properties" <<EOF
# Written by scripts/lab.d/kafka.sh on each start; edit that file, not this one.
dataDir=$base/zookeeper
clientPort=$ZOOKEEPER10_PORT
clientPortAddress=127.0.0.1
maxClientCnxns=0
tickTime=2000
EOF
      {
        cat <<EOF
# Written by scripts/lab.d/kafka.sh on each start; edit that file, not this one.
broker.id=0
listeners=PLAINTEXT://127.0.0.1:$KAFKA10_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA10_PORT
zookeeper.connect=127.0.0.1:$ZOOKEEPER10_PORT
zookeeper.connection.timeout.ms=15000
log.dirs=$base/data
EOF
        _kafka_common_properties
      } >"$conf/server.properties"
      ;;
  esac
}

# The java command line of a lab JVM: _kafka_java_cmd VERSION COMPONENT HEAP_MIN HEAP_MAX MAIN ARGS...
# Prints nothing; sets the array _kafka_cmd.
_kafka_java_cmd() {
  local v=$1 name=$2 xms=$3 xmx=$4; shift 4
  local conf=$LAB_DIR/kafka-$v/config
  _kafka_cmd=(
    "$KAFKA_JAVA" "-Xms$xms" "-Xmx$xmx"
    -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35
    -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true
    "-Dlog4j.configuration=file:$conf/log4j.properties" "-Dlab.component=$name"
    ${KAFKA_BROKER_JVM_OPTS:-} ${KAFKA_EXTRA_JVM_OPTS:-}
    -cp "$conf:$(_kafka_libs_dir "$v")/*" "$@"
  )
}

_kafka_ready() { node "$KAFKA_SCRIPTS_DIR/wait-ready.mjs" "$1" 3 2>/dev/null; }

# Sends a ZooKeeper four-letter word to port $1 and prints the reply.
_zookeeper_4lw() ( # a subshell, so that fd 3 never outlives the call
  { exec 3<>"/dev/tcp/127.0.0.1/$1" && printf '%s' "$2" >&3 && timeout 2 cat <&3; } 2>/dev/null
)

# ZooKeeper 3.4 answers `ruok` with `imok` once it serves.
_zookeeper_ready() { [ "$(_zookeeper_4lw "$1" ruok)" = imok ]; }

# After a broker crash, its ephemeral /brokers/ids/0 outlives it until its ZooKeeper session
# expires (zookeeper.session.timeout.ms, 6 s), and a broker 0 started before that exits with
# "A broker is already registered on the path /brokers/ids/0". `dump` lists live ephemerals.
_kafka10_id_free() {
  local dump
  dump=$(_zookeeper_4lw "$ZOOKEEPER10_PORT" dump) || return 1
  [[ $dump == *"ephemeral nodes dump"* && $dump != *"/brokers/ids/0"* ]]
}

_kafka_preflight() {
  [ -x "$KAFKA_JAVA" ] || die "kafka: no JDK 17 at $KAFKA_JAVA (set KAFKA_JAVA to a JDK 17 java)"
  command -v node >/dev/null || die "kafka: node not found; it checks broker readiness"
}

# Fails when a port the component needs is taken by a process that is not ours.
_kafka_port_free() {
  local name=$1 port
  shift
  for port in "$@"; do
    port_open "$port" && die "$name: port $port is taken by another process; stop it (scripts/lab down stops leftovers of ours) or change scripts/lab.d/ports.env"
  done
  return 0
}

# The SSL listener's key store: a throwaway CA (ca.p12, its certificate in ca.pem for clients)
# and the broker's key with a certificate the CA signed (broker.p12), all by keytool, which
# every JDK has. Made once; kept across restarts so that clients' copies of ca.pem stay valid.
_kafka39_tls() {
  local dir=$LAB_DIR/kafka-3.9/tls pw=$KAFKA39_TLS_PASSWORD keytool
  [ -f "$dir/broker.p12" ] && [ -f "$dir/ca.pem" ] && return 0
  keytool=${KAFKA_JAVA%/java}/keytool
  [ -x "$keytool" ] || keytool=$(command -v keytool) || die "kafka-3.9: keytool not found next to $KAFKA_JAVA; it makes the TLS listener's certificates"
  log "kafka-3.9: making a throwaway CA and the broker's TLS certificate in ${dir#$ROOT/} (keytool)"
  rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
  (
    set -e
    cd "$dir.tmp"
    kt() { "$keytool" -noprompt -storetype PKCS12 -storepass "$pw" "$@"; }
    kt -genkeypair -keystore ca.p12 -alias ca -dname 'CN=dts-binlog-kafka lab CA' -keyalg RSA -keysize 2048 \
      -validity 3650 -ext bc:c
    kt -exportcert -keystore ca.p12 -alias ca -rfc -file ca.pem
    kt -genkeypair -keystore broker.p12 -alias broker -dname 'CN=localhost' -keyalg RSA -keysize 2048 -validity 3650
    kt -certreq -keystore broker.p12 -alias broker -file broker.csr
    kt -gencert -keystore ca.p12 -alias ca -infile broker.csr -outfile broker.pem -rfc -validity 3650 \
      -ext 'SAN=IP:127.0.0.1,DNS:localhost' -ext 'KU=digitalSignature,keyEncipherment' -ext 'EKU=serverAuth'
    kt -importcert -keystore broker.p12 -alias ca -file ca.pem
    kt -importcert -keystore broker.p12 -alias broker -file broker.pem
  ) >"$LAB_DIR/kafka-3.9/keytool.log" 2>&1 || die "kafka-3.9: keytool failed; see ${LAB_DIR#$ROOT/}/kafka-3.9/keytool.log"
  rm -rf "$dir" && mv "$dir.tmp" "$dir"
}

# The SCRAM credentials of the lab's SASL user, for a data dir formatted without them (by a
# lab from before the SASL listener): added once through the running broker with kafka-configs.
_kafka39_scram_user() {
  local marker=$LAB_DIR/kafka-3.9/data/lab-scram-user
  [ "$(cat "$marker" 2>/dev/null)" = "$KAFKA39_SASL_USER" ] && return 0
  log "kafka-3.9: adding the SCRAM-SHA-256/512 credentials of $KAFKA39_SASL_USER (kafka-configs)"
  local mechanism
  # One mechanism per request: Kafka refuses two credentials of one user in one request.
  for mechanism in SCRAM-SHA-256 SCRAM-SHA-512; do
    _kafka_java_cmd 3.9 kafka-3.9-configs 64m 256m kafka.admin.ConfigCommand --bootstrap-server "127.0.0.1:$KAFKA39_PORT" \
      --alter --entity-type users --entity-name "$KAFKA39_SASL_USER" --add-config "$mechanism=[password=$KAFKA39_SASL_PASSWORD]"
    if ! "${_kafka_cmd[@]}" >>"$LAB_DIR/logs/kafka-3.9.log" 2>&1 </dev/null; then
      # The broker serves all the same; only the SCRAM tests will fail, naming this.
      log "kafka-3.9: WARNING: adding the $mechanism credentials failed (see ${LAB_DIR#$ROOT/}/logs/kafka-3.9.log); SCRAM logins will fail"
      return 0
    fi
  done
  echo "$KAFKA39_SASL_USER" >"$marker"
}

_kafka_start_broker() { # VERSION
  local v=$1 name=kafka-$1 port conf=$LAB_DIR/kafka-$1/config
  port=$(_kafka_port_of "$name")
  if [ "$v" = 3.9 ]; then
    _kafka_port_free "$name" "$KAFKA39_PORT" "$KAFKA39_CONTROLLER_PORT" "$KAFKA39_SASL_PORT" "$KAFKA39_SSL_PORT"
    _kafka39_tls
    if [ ! -f "$LAB_DIR/kafka-3.9/data/meta.properties" ]; then
      log "$name: formatting storage in ${LAB_DIR#$ROOT/}/kafka-3.9/data (cluster id $KAFKA39_CLUSTER_ID)"
      _kafka_java_cmd 3.9 kafka-3.9-format 64m 256m kafka.tools.StorageTool format \
        -t "$KAFKA39_CLUSTER_ID" -c "$conf/server.properties" --ignore-formatted \
        --add-scram "SCRAM-SHA-256=[name=$KAFKA39_SASL_USER,password=$KAFKA39_SASL_PASSWORD]" \
        --add-scram "SCRAM-SHA-512=[name=$KAFKA39_SASL_USER,password=$KAFKA39_SASL_PASSWORD]"
      mkdir -p "$LAB_DIR/logs"
      "${_kafka_cmd[@]}" >>"$LAB_DIR/logs/$name.log" 2>&1 </dev/null \
        || die "$name: formatting storage failed; see .lab/logs/$name.log"
      echo "$KAFKA39_SASL_USER" >"$LAB_DIR/kafka-3.9/data/lab-scram-user"
    fi
  else
    _kafka_port_free "$name" "$KAFKA10_PORT"
    if ! _kafka10_id_free; then
      log "$name: a previous broker 0 is still registered in ZooKeeper; waiting for its session to expire"
      wait_until 30 zookeeper-1.0 _kafka10_id_free
    fi
  fi
  KAFKA_BROKER_JVM_OPTS="-XX:G1HeapRegionSize=16M" _kafka_java_cmd "$v" "$name" 256m 512m kafka.Kafka "$conf/server.properties"
  start_component "$name" "${_kafka_cmd[@]}"
  wait_until 60 "$name" port_open "$port"
  wait_until 60 "$name" _kafka_ready "$port"
  if [ "$v" = 3.9 ]; then
    _kafka39_scram_user
    log "$name: SASL_PLAINTEXT (PLAIN, SCRAM-SHA-256/512, user $KAFKA39_SASL_USER) on 127.0.0.1:$KAFKA39_SASL_PORT, SSL on 127.0.0.1:$KAFKA39_SSL_PORT (CA ${LAB_DIR#$ROOT/}/kafka-3.9/tls/ca.pem)"
  fi
  log "$name: ready on 127.0.0.1:$port (Kafka $(_kafka_full_version "$v")$([ "$v" = 3.9 ] && echo ", KRaft"))"
}

kafka_up() {
  _kafka_check_version "${1:-}"
  local v=$1 pid name port
  local broker=kafka-$v
  port=$(_kafka_port_of "$broker")
  if pid=$(pid_of "$broker"); then
    log "$broker: already running (pid $pid, 127.0.0.1:$port)"
    wait_until 60 "$broker" _kafka_ready "$port"
    if [ "$v" = 3.9 ] && ! port_open "$KAFKA39_SASL_PORT"; then
      log "$broker: it was started without the SASL and TLS listeners (127.0.0.1:$KAFKA39_SASL_PORT, :$KAFKA39_SSL_PORT) the auth tests need; restart it: scripts/lab down --kafka 3.9 && scripts/lab up --kafka 3.9"
    fi
    return 0
  fi
  _kafka_preflight
  _kafka_fetch "$v"
  _kafka_write_config "$v"
  if [ "$v" = 1.0 ]; then
    name=zookeeper-1.0
    if pid=$(pid_of "$name"); then
      log "$name: already running (pid $pid, 127.0.0.1:$ZOOKEEPER10_PORT)"
    else
      _kafka_port_free "$name" "$ZOOKEEPER10_PORT"
      _kafka_java_cmd 1.0 "$name" 64m 256m org.apache.zookeeper.server.quorum.QuorumPeerMain \
        "$LAB_DIR/kafka-1.0/config/zookeeper.properties"
      start_component "$name" "${_kafka_cmd[@]}"
    fi
    wait_until 30 "$name" _zookeeper_ready "$ZOOKEEPER10_PORT"
    log "$name: ready on 127.0.0.1:$ZOOKEEPER10_PORT"
  fi
  _kafka_start_broker "$v"
}

# Java processes started from this lab's config dir of version $1 whose PID file is gone
# (e.g. the run dir was deleted while they ran). Prints their PIDs.
_kafka_leftovers() {
  local dir re
  dir=$LAB_DIR/kafka-$1/config
  re=$(printf '%s' "$dir" | sed 's/[][\.*^$+?(){}|]/\\&/g')
  pgrep -f -- "^[^ ]*java .*-cp $re:" 2>/dev/null || true
}

kafka_down() {
  _kafka_check_version "${1:-}"
  local v=$1 name pid i
  for name in $(_kafka_components "$v"); do
    pid_of "$name" >/dev/null || true # drops the PID file of a zombie
    stop_component "$name" 30
  done
  for pid in $(_kafka_leftovers "$v"); do
    log "kafka-$v: stopping leftover java pid $pid (no PID file)"
    kill -TERM "$pid" 2>/dev/null || true
  done
  for ((i = 0; i < 200; i++)); do
    [ -z "$(_kafka_leftovers "$v")" ] && return 0
    sleep 0.1
  done
  for pid in $(_kafka_leftovers "$v"); do
    log "kafka-$v: leftover java pid $pid still alive after 20s, killing"
    kill -KILL "$pid" 2>/dev/null || true
  done
}

kafka_status() {
  _kafka_check_version "${1:-}"
  local v=$1 name pid port what
  for name in $(_kafka_components "$v"); do
    port=$(_kafka_port_of "$name")
    case $name in
      kafka-3.9) what="Kafka $(_kafka_full_version 3.9) KRaft, controller 127.0.0.1:$KAFKA39_CONTROLLER_PORT, SASL 127.0.0.1:$KAFKA39_SASL_PORT, SSL 127.0.0.1:$KAFKA39_SSL_PORT" ;;
      kafka-1.0) what="Kafka $(_kafka_full_version 1.0), ZooKeeper 127.0.0.1:$ZOOKEEPER10_PORT" ;;
      zookeeper-1.0) what="ZooKeeper for kafka-1.0" ;;
    esac
    if pid=$(pid_of "$name"); then
      printf '%-14s running  pid %-7s 127.0.0.1:%s  %s\n' "$name" "$pid" "$port" "$what"
    else
      printf '%-14s stopped  pid %-7s 127.0.0.1:%s  %s\n' "$name" - "$port" "$what"
    fi
  done
}
