#!/usr/bin/env bash
# Prototype of head office's highly-available PostgreSQL, entirely on
# 127.0.0.1, from Debian 12's packages (apt-get install -y
# --no-install-recommends patroni etcd-server etcd-client haproxy, plus
# postgresql 15):
#   one etcd 3.4 (single member) -> two Patroni 3.0 nodes (PostgreSQL 15,
#   synchronous replication) -> HAProxy 2.6 routing writes to the primary.
# Brings everything up as ordinary child processes in a mktemp -d scratch
# dir, writes through HAProxy, then ROUNDS times: SIGKILLs the primary's
# Patroni and postmaster (a lost machine), measures the seconds until a
# write through HAProxy succeeds again, checks every row committed before
# the kill is on the new primary, restarts the dead node (it rejoins as the
# synchronous standby, via pg_rewind if needed). Tears everything down on
# exit (trap) and checks that no process is left.
#
# Usage: packaging/ha/prototype.sh [ROUNDS]   (default 3)
#   KEEP=1  keep the scratch dir (logs) after the run (a failed run keeps it anyway)
# Every wait is bounded; 3 rounds took 80 s on a 2-core machine. Exit 0 = all good.
set -euo pipefail

ROUNDS=${1:-3}
HERE=$(cd "$(dirname "$0")" && pwd)
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)}
SCOPE=tillcard-proto-$$
SUPERUSER_PASSWORD=proto-super-secret
REPLICATION_PASSWORD=proto-repl-secret
NODES=(node1 node2)
# Debian puts haproxy in /usr/sbin, which is not on an ordinary user's PATH.
HAPROXY=$(PATH=$PATH:/usr/sbin command -v haproxy) || { echo "haproxy not found" >&2; exit 1; }

# Messages go to fd 3, a copy of stderr: a signal trap (hence teardown) can
# run while a function's stderr is redirected to /dev/null (write_ok below),
# and its messages must not vanish with it. Children get `3>&-`.
exec 3>&2
log() { printf '%(%H:%M:%S)T %s\n' -1 "$*" >&3; }
die() { log "FAIL: $*"; exit 1; }
now() { date +%s.%N; }
since() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$1" "$(now)"; }

SCRATCH=$(mktemp -d)
log "scratch: $SCRATCH"

# ---- who runs PostgreSQL: as root, the `postgres` user (initdb/postgres
# refuse to run as root), like sync/hq/tests/util/pg.rs. setpriv execs (no
# fork), so the pid we hold is Patroni's own; runuser would fork and a
# SIGKILL on runuser's pid would not reach Patroni.
if [ "$(id -u)" = 0 ]; then
    AS_PG=(setpriv --reuid=postgres --regid=postgres --init-groups)
else
    AS_PG=()
fi

# ---- free ports on 127.0.0.1, all bound at once so none repeats.
read -r ETCD_PORT ETCD_PEER_PORT PG_FRONT_PORT HQ_FRONT_PORT \
    PG_PORT_node1 REST_PORT_node1 PG_PORT_node2 REST_PORT_node2 PG_READ_PORT < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(9)]
for s in socks: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))')
pg_port() { local v="PG_PORT_$1"; echo "${!v}"; }
rest_port() { local v="REST_PORT_$1"; echo "${!v}"; }
log "ports: etcd=$ETCD_PORT/$ETCD_PEER_PORT pg-front=$PG_FRONT_PORT hq-front=$HQ_FRONT_PORT" \
    "node1=$PG_PORT_node1/$REST_PORT_node1 node2=$PG_PORT_node2/$REST_PORT_node2"

declare -A PID=()

# ---- teardown, on any exit: polite first (Patroni stops its PostgreSQL),
# then SIGKILL whatever is left, postmasters included (Patroni starts them
# in their own session, so they outlive a killed Patroni).
postmaster_pid() { head -n1 "$SCRATCH/$1/data/postmaster.pid" 2>/dev/null || true; }
leftovers() {
    # any process whose command line names the scratch dir (etcd, patroni,
    # haproxy, postmaster: -D <scratch>/...), or whose title names our
    # cluster (postgres children: "postgres: <scope>: checkpointer" ...).
    { pgrep -f -- "$SCRATCH" || true; pgrep -f -- "postgres: $SCOPE" || true; } | grep -vx "$$" | sort -u
}
teardown() {
    local rc=$?
    set +e
    trap - EXIT INT TERM
    log "teardown"
    [ -n "${PID[haproxy]:-}" ] && kill -TERM "${PID[haproxy]}" 2>/dev/null
    for n in "${NODES[@]}"; do
        [ -n "${PID[$n]:-}" ] && kill -TERM "${PID[$n]}" 2>/dev/null
    done
    for _ in $(seq 1 100); do   # up to 20 s for Patroni to stop PostgreSQL
        alive=0
        for n in "${NODES[@]}"; do
            [ -n "${PID[$n]:-}" ] && kill -0 "${PID[$n]}" 2>/dev/null && alive=1
            pm=$(postmaster_pid "$n"); [ -n "$pm" ] && kill -0 "$pm" 2>/dev/null && alive=1
        done
        [ $alive = 0 ] && break
        sleep 0.2
    done
    for n in "${NODES[@]}"; do
        [ -n "${PID[$n]:-}" ] && kill -KILL "${PID[$n]}" 2>/dev/null
        pm=$(postmaster_pid "$n"); [ -n "$pm" ] && kill -KILL "$pm" 2>/dev/null
    done
    [ -n "${PID[etcd]:-}" ] && kill -TERM "${PID[etcd]}" 2>/dev/null
    for _ in $(seq 1 50); do [ -z "$(leftovers)" ] && break; sleep 0.2; done
    left=$(leftovers)
    if [ -n "$left" ]; then
        log "LEFTOVER processes, killing: $(echo $left)"
        ps -o pid,user,args -p $(echo $left | tr ' ' ',') >&3
        kill -KILL $left 2>/dev/null
        rc=1
    else
        log "teardown: no process left"
    fi
    wait 2>/dev/null
    if [ "${KEEP:-0}" = 1 ] || [ $rc != 0 ]; then
        log "scratch kept: $SCRATCH"
    else
        rm -rf "$SCRATCH"
    fi
    exit $rc
}
trap teardown EXIT
trap 'exit 130' INT TERM

# ---- bounded wait: wait_until SECONDS WHAT command...
wait_until() {
    local limit=$1 what=$2; shift 2
    local t0; t0=$(now)
    while ! "$@" >/dev/null 2>&1; do
        if python3 -c "import sys; sys.exit(0 if float(sys.argv[2]) - float(sys.argv[1]) > float(sys.argv[3]) else 1)" \
                "$t0" "$(now)" "$limit"; then
            die "timeout (${limit}s) waiting for $what"
        fi
        sleep 0.2
    done
    log "$what: ready after $(since "$t0") s"
}
http_200() { [ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$1")" = 200 ]; }

# psql through HAProxy (or a given port) as the superuser, with password
export PGPASSWORD=$SUPERUSER_PASSWORD PGCONNECT_TIMEOUT=2
unset PGHOST PGPORT PGUSER PGDATABASE PGSERVICE PGSERVICEFILE PGPASSFILE
sql() { # sql PORT DB SQL
    "$PG_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 \
        "host=127.0.0.1 port=$1 user=postgres dbname=$2" -c "$3"
}

# ---- configs
fill() { # fill TEMPLATE NODE
    sed -e "s|{{SCOPE}}|$SCOPE|g" -e "s|{{NAME}}|$2|g" -e "s|{{SCRATCH}}|$SCRATCH|g" \
        -e "s|{{PG_PORT}}|$(pg_port "$2")|g" -e "s|{{REST_PORT}}|$(rest_port "$2")|g" \
        -e "s|{{ETCD_PORT}}|$ETCD_PORT|g" -e "s|{{PG_BIN}}|$PG_BIN|g" \
        -e "s|{{SUPERUSER_PASSWORD}}|$SUPERUSER_PASSWORD|g" \
        -e "s|{{REPLICATION_PASSWORD}}|$REPLICATION_PASSWORD|g" "$1"
}
for n in "${NODES[@]}"; do
    mkdir -p "$SCRATCH/$n/sock"
    fill "$HERE/patroni.yml.template" "$n" > "$SCRATCH/$n/patroni.yml"
done
PG_SERVERS=""
for n in "${NODES[@]}"; do
    PG_SERVERS+="    server $n 127.0.0.1:$(pg_port "$n") check port $(rest_port "$n")"$'\n'
done
# No tillcard-hq node runs in this prototype: two placeholder servers on
# ports nobody listens on (they stay DOWN; the section is only syntax-checked).
HQ_SERVERS="    server hq1 127.0.0.1:9 check"$'\n'"    server hq2 127.0.0.1:9 check"
python3 - "$HERE/haproxy.cfg.template" "$SCRATCH/haproxy.cfg" <<EOF
import sys
s = open(sys.argv[1]).read()
for k, v in {"{{PG_FRONT_PORT}}": "$PG_FRONT_PORT", "{{HQ_FRONT_PORT}}": "$HQ_FRONT_PORT",
             "{{PG_READ_PORT}}": "$PG_READ_PORT",
             "{{PG_SERVERS}}": """$PG_SERVERS""".rstrip("\n"), "{{HQ_SERVERS}}": """$HQ_SERVERS"""}.items():
    s = s.replace(k, v)
open(sys.argv[2], "w").write(s)
EOF
if grep -n '{{' "$SCRATCH"/*/patroni.yml "$SCRATCH/haproxy.cfg"; then die "unfilled placeholder"; fi
"$HAPROXY" -c -f "$SCRATCH/haproxy.cfg" >&2 || die "haproxy -c"
if [ "$(id -u)" = 0 ]; then
    # mktemp -d is 0700 root: postgres must reach its files. Everything in
    # the scratch dir goes to postgres (root still reads and writes it).
    chown -R postgres:postgres "$SCRATCH"
fi

# A clean environment for the children: no PG*/PATRONI_*/ETCD* variable of
# the caller leaks in (Patroni and etcd read their settings from them).
CLEAN_ENV=(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8)

# ---- 1. etcd
T_START=$(now)
"${CLEAN_ENV[@]}" etcd --name etcd0 --data-dir "$SCRATCH/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "etcd0=http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster-state new --initial-cluster-token "$SCOPE" \
    > "$SCRATCH/etcd.log" 2>&1 3>&- &
PID[etcd]=$!
etcd_healthy() { curl -s -m 2 "http://127.0.0.1:$ETCD_PORT/health" | grep -q '"health":"true"'; }
wait_until 30 "etcd GET /health" etcd_healthy

# `patroni --validate-config` runs a stricter, production-minded schema than
# Patroni's start-up check: it rejects loopback connect_address values, and
# wants bootstrap.pg_hba (we set postgresql.pg_hba, which wins anyway) and a
# separate rewind user (the superuser is used instead). Those complaints are
# expected here; anything else fails the run.
for n in "${NODES[@]}"; do
    out=$(patroni --validate-config "$SCRATCH/$n/patroni.yml" 2>&1) || true
    unexpected=$(printf '%s\n' "$out" | grep -v \
        -e '^restapi.connect_address .*must not contain "127.0.0.1"' \
        -e '^postgresql.connect_address .*must not contain "127.0.0.1"' \
        -e '^bootstrap.pg_hba  is not defined.$' \
        -e '^postgresql.authentication.rewind  is not defined.$' \
        -e '^$' || true)
    [ -z "$unexpected" ] || die "patroni --validate-config $n: $unexpected"
done
log "patroni --validate-config: only the expected loopback/pg_hba/rewind remarks"

# ---- 2. HAProxy (its checks fail until a primary exists: that is fine)
"${CLEAN_ENV[@]}" "$HAPROXY" -db -f "$SCRATCH/haproxy.cfg" > "$SCRATCH/haproxy.log" 2>&1 3>&- &
PID[haproxy]=$!

# ---- 3. Patroni nodes, both at once: they race for the /initialize key
# in etcd; the winner runs initdb, the other clones it with pg_basebackup.
start_node() {
    "${CLEAN_ENV[@]}" HOME="$SCRATCH/$1" "${AS_PG[@]}" \
        patroni "$SCRATCH/$1/patroni.yml" >> "$SCRATCH/$1/patroni.log" 2>&1 3>&- &
    PID[$1]=$!
}
for n in "${NODES[@]}"; do start_node "$n"; done

primary() { # prints the node whose REST API answers 200 on GET /primary
    for n in "${NODES[@]}"; do
        http_200 "http://127.0.0.1:$(rest_port "$n")/primary" && { echo "$n"; return 0; }
    done
    return 1
}
any_primary() { primary >/dev/null; }
wait_until 90 "a Patroni node answers 200 on GET /primary" any_primary
P=$(primary); log "primary: $P"
for n in "${NODES[@]}"; do [ "$n" != "$P" ] && S=$n; done
sync_standby() { http_200 "http://127.0.0.1:$(rest_port "$S")/sync"; }
wait_until 90 "$S answers 200 on GET /sync (synchronous standby)" sync_standby
through_haproxy() { sql "$PG_FRONT_PORT" postgres 'select 1'; }
wait_until 30 "psql through HAProxy" through_haproxy
log "cluster up after $(since "$T_START") s"
for n in "${NODES[@]}"; do
    pm=$(postmaster_pid "$n")
    log "$n: patroni pid ${PID[$n]} user $(ps -o user= -p "${PID[$n]}"), postmaster pid $pm user $(ps -o user= -p "$pm"), cluster_name $(sql "$(pg_port "$n")" postgres 'SHOW cluster_name')"
done

# The application's database, created through HAProxy after bootstrap.
sql "$PG_FRONT_PORT" postgres "CREATE DATABASE tillcard TEMPLATE template0 LC_COLLATE 'C'"
sql "$PG_FRONT_PORT" tillcard 'CREATE TABLE t (id bigint PRIMARY KEY, round int NOT NULL, at timestamptz NOT NULL DEFAULT now())'
sql "$PG_FRONT_PORT" tillcard "SHOW synchronous_standby_names" | sed 's/^/synchronous_standby_names = /' >&2
# Patroni's keys are in etcd's v3 keyspace (etcdctl 3.4 speaks v3 by default).
log "etcd v3 keys: $("${CLEAN_ENV[@]}" ETCDCTL_API=3 etcdctl --endpoints="http://127.0.0.1:$ETCD_PORT" \
    get --prefix --keys-only /service/ | grep -v '^$' | tr '\n' ' ')"

NEXT_ID=1
insert_rows() { # insert_rows ROUND COUNT: one bulk commit, then 20 single commits
    local round=$1 count=$2
    sql "$PG_FRONT_PORT" tillcard \
        "INSERT INTO t (id, round) SELECT g, $round FROM generate_series($NEXT_ID, $((NEXT_ID + count - 21))) g"
    NEXT_ID=$((NEXT_ID + count - 20))
    for _ in $(seq 1 20); do
        sql "$PG_FRONT_PORT" tillcard "INSERT INTO t (id, round) VALUES ($NEXT_ID, $round)"
        NEXT_ID=$((NEXT_ID + 1))
    done
}

RESULTS=()
for round in $(seq 1 "$ROUNDS"); do
    log "===== round $round"
    P=$(primary) || die "no primary"
    for n in "${NODES[@]}"; do [ "$n" != "$P" ] && S=$n; done
    wait_until 60 "$S is the synchronous standby (GET /sync)" sync_standby
    state=$(sql "$(pg_port "$P")" postgres "SELECT application_name || ':' || sync_state FROM pg_stat_replication")
    log "on $P, pg_stat_replication: $state"
    [ "$state" = "$S:sync" ] || die "standby $S is not in sync state: $state"
    insert_rows "$round" 1000
    expected=$(sql "$PG_FRONT_PORT" tillcard "SELECT count(*) || '/' || sum(id) FROM t WHERE id > 0")
    log "before kill: count/sum(id) = $expected (all acknowledged)"

    # A lost machine: SIGKILL the primary's Patroni and postmaster together.
    pm=$(postmaster_pid "$P")
    log "killing $P: patroni pid ${PID[$P]}, postmaster pid $pm"
    T0=$(now)
    kill -KILL "${PID[$P]}" "$pm"
    wait "${PID[$P]}" 2>/dev/null || true
    write_ok() { sql "$PG_FRONT_PORT" tillcard "INSERT INTO t (id, round) VALUES (-$round, $round)"; }
    # poll every 0.2 s; each psql attempt is bounded by PGCONNECT_TIMEOUT=2
    t_limit=60
    until write_ok >/dev/null 2>&1; do
        python3 -c "import sys; sys.exit(0 if float(sys.argv[2]) - float(sys.argv[1]) > $t_limit else 1)" "$T0" "$(now)" \
            && die "no write through HAProxy ${t_limit}s after the kill"
        sleep 0.2
    done
    secs=$(since "$T0")
    NP=$(primary) || die "no primary after failover"
    [ "$NP" = "$S" ] || die "new primary is $NP, expected $S"
    got=$(sql "$(pg_port "$NP")" tillcard "SELECT count(*) || '/' || sum(id) FROM t WHERE id > 0")
    log "round $round: write through HAProxy OK ${secs} s after the kill; new primary $NP; rows on it: $got (expected $expected)"
    [ "$got" = "$expected" ] || die "rows lost: got $got expected $expected"
    RESULTS+=("round $round: $P killed -> $NP primary; first write after ${secs} s; rows $got intact")

    # The dead machine comes back: restart its Patroni; it rejoins as a
    # standby (pg_rewind if its WAL diverged) and becomes the sync standby.
    log "restarting $P"
    T1=$(now)
    start_node "$P"
    S=$P
    wait_until 90 "$P back as synchronous standby (GET /sync)" sync_standby
    log "$P rejoined in $(since "$T1") s"
    if grep -q "pg_rewind" "$SCRATCH/$P/patroni.log"; then
        log "$P log mentions pg_rewind: $(grep -c pg_rewind "$SCRATCH/$P/patroni.log") line(s)"
    fi
done

log "===== results"
for n in "${NODES[@]}"; do
    log "$n: $(grep -c ConnectionResetError "$SCRATCH/$n/patroni.log" || true) ConnectionResetError traceback(s) in patroni.log"
done
for r in "${RESULTS[@]}"; do log "$r"; done
sql "$PG_FRONT_PORT" tillcard "SELECT 'total rows: ' || count(*) FROM t" >&2
exit 0
