#!/usr/bin/env bash
# A throwaway PostgreSQL server on loopback for the tests.
#
#   postgres-cluster.sh start <folder>   creates a cluster in <folder>/data and starts it on 127.0.0.1:<free port>
#   postgres-cluster.sh stop <folder>    stops it and removes <folder> (quietly succeeds when there is nothing to stop)
#   postgres-cluster.sh halt <folder>    stops the server at once (as a crash would: -m immediate), keeping the cluster
#   postgres-cluster.sh resume <folder>  starts a halted server again, on the same port (the tests' "server restarted")
#
# After start, <folder> holds:
#   server.env     CONNECTIONTOOLS_TEST_POSTGRES=Host=127.0.0.1;Port=PORT;Username=connectiontools;Database=postgres
#                  PGPASSFILE=<folder>/pgpass
#                  (one NAME=VALUE a line, as an env file: not for bash's `source`, which would split the value at ';'.
#                  In bash: while IFS='=' read -r name value; do export "$name=$value"; done <server.env)
#   pgpass         127.0.0.1:PORT:*:connectiontools:PASSWORD (mode 0600, owned by the caller)
#   postgres.log   the server's log
#   socket/        the server's unix socket (never /var/run/postgresql: two clusters must not meet there)
#   data/          the cluster
#
# The binaries come from PATH or, as Debian's `postgresql` package installs them, /usr/lib/postgresql/<version>/bin
# (highest version first). initdb and postgres refuse to run as root, so as root the cluster belongs to `nobody` and
# every server command runs as that user; <folder> stays the caller's, opened just enough (0711) for nobody to reach
# data/, socket/ and postgres.log.
#
# A failed start says why, stops whatever it started and exits non-zero; the folder stays (with postgres.log) until
# `stop` removes it.
set -euo pipefail

readonly SUPERUSER=connectiontools
readonly UNPRIVILEGED_USER=nobody
readonly START_TIMEOUT=30
# Written at start: stop removes only folders that carry it (or are empty), never a folder passed by mistake.
readonly MARKER=.postgres-cluster

die() {
    echo "postgres-cluster: $*" >&2
    exit 1
}

usage() {
    echo "usage: $0 start|stop|halt|resume <folder>" >&2
    exit 2
}

# Runs a command as the cluster's owner: `nobody` when we are root (initdb and postgres refuse root), else ourselves.
# From / so that a working directory nobody cannot read (say /root) does not trouble the PostgreSQL tools.
as_owner() {
    local owner=$1
    shift
    if [[ $(id -u) -ne 0 || $owner == root ]]; then
        (cd / && "$@")
    elif command -v runuser >/dev/null 2>&1; then
        (cd / && runuser -u "$owner" -- "$@")
    else
        (cd / && setpriv --reuid="$owner" --regid="$(id -g "$owner")" --clear-groups -- "$@")
    fi
}

# The folder holding initdb and pg_ctl: PATH first, then Debian's /usr/lib/postgresql/<version>/bin, highest version.
find_bindir() {
    local initdb pg_ctl dir
    initdb=$(command -v initdb || true)
    pg_ctl=$(command -v pg_ctl || true)
    if [[ -n $initdb && -n $pg_ctl ]]; then
        dir=$(dirname "$(readlink -f "$initdb")")
        # pg_ctl starts the postgres next to itself; use the pair from one installation.
        if [[ -x $dir/pg_ctl && -x $dir/postgres ]]; then
            echo "$dir"
            return 0
        fi
    fi
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5,5 -V -r); do
        if [[ -x $dir/initdb && -x $dir/pg_ctl && -x $dir/postgres ]]; then
            echo "$dir"
            return 0
        fi
    done
    return 1
}

# True when something accepts TCP connections on 127.0.0.1:$1.
port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# A random port in 20000-59999 that nothing listens on now. Another process may still take it before the server binds
# it; start tries again with another port then.
pick_port() {
    local port attempt
    for attempt in $(seq 1 50); do
        port=$((20000 + (($(od -An -N2 -tu2 /dev/urandom)) % 40000)))
        if ! port_in_use "$port"; then
            echo "$port"
            return 0
        fi
    done
    return 1
}

# The owner, bin folder and data folder of a server start has not finished with; the EXIT trap stops it.
CLEANUP=()
stop_unfinished() {
    if [[ ${#CLEANUP[@]} -eq 3 && -f ${CLEANUP[2]}/postmaster.pid ]]; then
        as_owner "${CLEANUP[0]}" "${CLEANUP[1]}/pg_ctl" stop -D "${CLEANUP[2]}" -m immediate -w >/dev/null 2>&1 || true
    fi
}

start() {
    local folder=$1 bindir owner password port version attempt

    bindir=$(find_bindir) || die "no PostgreSQL server binaries (initdb, pg_ctl, postgres) on PATH or in /usr/lib/postgresql/*/bin. Install Debian's package: apt-get install postgresql"
    version=$("$bindir/postgres" --version | sed -E 's/^[^0-9]*([0-9][0-9.]*).*/\1/')

    mkdir -p "$folder"
    folder=$(cd "$folder" && pwd -P)
    if [[ -e $folder/data ]]; then
        die "$folder/data already exists; start needs a fresh folder (stop removes the old one)"
    fi
    touch "$folder/$MARKER"

    owner=$(id -un)
    if [[ $(id -u) -eq 0 ]]; then
        owner=$UNPRIVILEGED_USER
        id "$owner" >/dev/null 2>&1 || die "running as root, the cluster must belong to an unprivileged user, but there is no user '$owner'"
        chmod 0711 "$folder"
        if ! as_owner "$owner" test -x "$folder"; then
            die "running as root, the cluster runs as '$owner', who cannot reach $folder (a parent folder is closed to other users); use a folder under /tmp"
        fi
    fi
    mkdir "$folder/data" "$folder/socket"
    chmod 0700 "$folder/data" "$folder/socket"
    : >"$folder/postgres.log"
    # pg_ctl opens the log as the server's user.
    chown "$owner" "$folder/data" "$folder/socket" "$folder/postgres.log"

    # Hex, so the password needs no escaping in pgpass or a connection string.
    password=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')
    local pwfile="$folder/socket/initdb-password"
    (umask 077 && printf '%s\n' "$password" >"$pwfile")
    chown "$owner" "$pwfile"
    if ! as_owner "$owner" "$bindir/initdb" -D "$folder/data" -U "$SUPERUSER" --pwfile="$pwfile" \
        --locale=C --encoding=UTF8 --auth=scram-sha-256 >"$folder/initdb.log" 2>&1; then
        rm -f "$pwfile"
        die "initdb failed (as $owner):
$(tail -n 20 "$folder/initdb.log")"
    fi
    rm -f "$pwfile"

    # Loopback only; a socket of its own; and no fsync: the data is thrown away, and only a power cut loses unsynced pages.
    # Commits stay synchronous, so a server halted as in a crash (halt) keeps every commit it acknowledged, as a real one
    # does: the restart tests rely on it. The tests open connection pools from several processes at once, hence max_connections.
    cat >>"$folder/data/postgresql.conf" <<EOF

# postgres-cluster.sh: a throwaway test server
listen_addresses = '127.0.0.1'
unix_socket_directories = '$folder/socket'
max_connections = 200
fsync = off
full_page_writes = off
EOF

    # If anything below fails, the server (if it came up) goes down again: a failed start leaves nothing running.
    CLEANUP=("$owner" "$bindir" "$folder/data")
    trap stop_unfinished EXIT

    for attempt in 1 2 3 4 5; do
        port=$(pick_port) || die "found no free TCP port on 127.0.0.1"
        : >"$folder/postgres.log"
        if as_owner "$owner" "$bindir/pg_ctl" start -D "$folder/data" -l "$folder/postgres.log" -o "-p $port" \
            -w -t "$START_TIMEOUT" >/dev/null 2>&1; then
            break
        fi
        # Another process took the port between the probe and the bind: try another. Any other failure is final.
        if grep -q 'could not bind\|Address already in use' "$folder/postgres.log"; then
            port=
            continue
        fi
        die "PostgreSQL $version did not start within ${START_TIMEOUT}s on 127.0.0.1:$port (as $owner); the end of $folder/postgres.log:
$(tail -n 20 "$folder/postgres.log")"
    done
    [[ -n ${port:-} ]] || die "PostgreSQL $version could not bind a port on 127.0.0.1 in 5 attempts; the end of $folder/postgres.log:
$(tail -n 20 "$folder/postgres.log")"

    # pg_ctl -w waits until the server says it is ready; this checks the TCP listener the tests use.
    local deadline=$((SECONDS + START_TIMEOUT))
    until port_in_use "$port"; do
        ((SECONDS < deadline)) || die "PostgreSQL $version started but does not accept TCP connections on 127.0.0.1:$port"
        sleep 0.1
    done

    # The caller's files, written by the caller (not nobody): libpq ignores a pgpass others can read.
    (umask 077 && printf '127.0.0.1:%s:*:%s:%s\n' "$port" "$SUPERUSER" "$password" >"$folder/pgpass")
    chmod 0600 "$folder/pgpass"
    printf 'CONNECTIONTOOLS_TEST_POSTGRES=Host=127.0.0.1;Port=%s;Username=%s;Database=postgres\nPGPASSFILE=%s\n' \
        "$port" "$SUPERUSER" "$folder/pgpass" >"$folder/server.env"

    CLEANUP=()
    echo "postgres-cluster: started PostgreSQL $version on 127.0.0.1:$port in $folder"
}

stop() {
    local folder=$1 owner bindir
    [[ -d $folder ]] || return 0
    folder=$(cd "$folder" && pwd -P)
    if [[ ! -e $folder/$MARKER && -n $(ls -A "$folder") ]]; then
        die "$folder was not made by postgres-cluster.sh start (no $MARKER in it); not removing it"
    fi
    if [[ -f $folder/data/postmaster.pid ]]; then
        owner=$(stat -c %U "$folder/data")
        bindir=$(find_bindir) || die "a server runs in $folder/data, but pg_ctl is not on PATH or in /usr/lib/postgresql/*/bin to stop it"
        if ! as_owner "$owner" "$bindir/pg_ctl" stop -D "$folder/data" -m fast -w -t 30 >/dev/null 2>&1; then
            # Not running any more (a stale postmaster.pid) is fine; a server that would not stop gets the hard way.
            if as_owner "$owner" "$bindir/pg_ctl" status -D "$folder/data" >/dev/null 2>&1; then
                as_owner "$owner" "$bindir/pg_ctl" stop -D "$folder/data" -m immediate -w -t 30 >/dev/null 2>&1 ||
                    die "the server in $folder/data does not stop"
            fi
        fi
    fi
    rm -rf -- "$folder"
}

halt() {
    local folder=$1 bindir
    bindir=$(find_bindir) || die "pg_ctl is not on PATH or in /usr/lib/postgresql/*/bin"
    as_owner "$(stat -c %U "$folder/data")" "$bindir/pg_ctl" stop -D "$folder/data" -m immediate -w -t 30 >/dev/null ||
        die "the server in $folder/data did not stop"
}

resume() {
    local folder=$1 bindir port
    bindir=$(find_bindir) || die "pg_ctl is not on PATH or in /usr/lib/postgresql/*/bin"
    port=$(sed -n 's/^CONNECTIONTOOLS_TEST_POSTGRES=.*Port=\([0-9]*\).*/\1/p' "$folder/server.env")
    [[ -n $port ]] || die "no port in $folder/server.env"
    as_owner "$(stat -c %U "$folder/data")" "$bindir/pg_ctl" start -D "$folder/data" -l "$folder/postgres.log" -o "-p $port" \
        -w -t "$START_TIMEOUT" >/dev/null || die "the server in $folder/data did not start again on port $port"
}

[[ $# -eq 2 && -n $2 ]] || usage
case $1 in
    start) start "$2" ;;
    stop) stop "$2" ;;
    halt) halt "$2" ;;
    resume) resume "$2" ;;
    *) usage ;;
esac
