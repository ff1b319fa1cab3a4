#!/usr/bin/env bash
# What recording a run in the findings store costs, per 1,000 findings, in SQLite and in
# PostgreSQL (a throwaway cluster on 127.0.0.1, started and stopped here; skipped when the
# server binaries are not installed). For a generated tenant of APPS apps (default 20000):
#   first   the first run: every failing finding inserted
#   again   the same tenant again: every finding seen again unchanged, so nothing rewritten
#   later   six months later: findings opened, resolved, and seen again
# The time is the scan's own `store` phase (M365AUDIT_TIMINGS), the fastest of RUNS runs
# (default 3), each on a fresh copy of the store as the previous phase left it.
#
#   bench/store.sh
#   APPS=100000 RUNS=1 bench/store.sh
set -euo pipefail
cd "$(dirname "$0")/.."
APPS=${APPS:-20000}
RUNS=${RUNS:-3}
DATA=${DATA:-target/bench-data}
cargo build --release --quiet --bins
mkdir -p "$DATA"
DATA=$(cd "$DATA" && pwd)
tenant="$DATA/store-$APPS"
[ -f "$tenant/snapshot.json" ] || ./target/release/gen-tenant --apps "$APPS" --seed 1 --reference 2026-06-01 --out "$tenant" 2>/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The `store` phase of one scan, in ms: scan AS_OF STORE_URL [env...]
store_ms() {
    local as_of=$1 url=$2
    M365AUDIT_TIMINGS=1 ./target/release/m365audit scan "$tenant" --as-of "$as_of" \
        --store "$url" --format csv -o /dev/null --report-dir "$work/reports" --report-format csv \
        2>&1 >/dev/null | awk '/timing: store:/ {print $3}'
}

# The number of failing and waived findings of a scan at AS_OF.
findings() {
    ./target/release/m365audit scan "$tenant" --as-of "$1" --no-store --format csv \
        --csv-columns outcome 2>/dev/null | grep -c -E '^(fail|waived)$' || true
}

# backend phase as_of before_url: the fastest of $RUNS runs from a copy of the store.
# $1 backend, $2 phase, $3 as_of, $4 a command that resets the store, $5 its URL.
measure() {
    local best=""
    for _ in $(seq "$RUNS"); do
        eval "$4"
        local ms
        ms=$(store_ms "$3" "$5")
        if [ -z "$best" ] || awk "BEGIN{exit !($ms < $best)}"; then best=$ms; fi
    done
    local n
    n=$(findings "$3")
    printf '%-10s %-6s %8s findings %10.1f ms %8.1f ms per 1k\n' "$1" "$2" "$n" "$best" "$(awk "BEGIN{print $best * 1000 / $n}")"
}

echo "tenant: $APPS apps"
# SQLite: each phase from a saved copy of the store before it.
sq="$work/history.sqlite"
measure sqlite first 2026-06-01 "rm -f $sq $sq-wal $sq-shm" "sqlite:$sq"
cp "$sq" "$work/after-first.sqlite"
measure sqlite again 2026-06-01 "cp $work/after-first.sqlite $sq; rm -f $sq-wal $sq-shm" "sqlite:$sq"
measure sqlite later 2026-12-01 "cp $work/after-first.sqlite $sq; rm -f $sq-wal $sq-shm" "sqlite:$sq"

# PostgreSQL: a cluster of this script's own, as a non-root user.
bin=""
for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V); do bin=$d; done
if [ -z "$bin" ]; then
    echo "postgresql: skipped (install Debian's postgresql for the server binaries)"
    exit 0
fi
run_as=()
if [ "$(id -u)" = 0 ]; then
    user=postgres; id postgres >/dev/null 2>&1 || user=nobody
    chown "$user" "$work"
    run_as=(runuser -u "$user" --)
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"${run_as[@]}" "$bin/initdb" -D "$work/pg" -U m365audit --auth=trust --no-sync -E UTF8 --locale=C >/dev/null
"${run_as[@]}" "$bin/pg_ctl" -D "$work/pg" -w -l "$work/pg.log" \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $work" start >/dev/null
trap '"${run_as[@]}" "$bin/pg_ctl" -D "$work/pg" -m immediate stop >/dev/null; rm -rf "$work"' EXIT
export PGOPTIONS="-c client_min_messages=warning"
psql=("${run_as[@]}" "$bin/psql" -h 127.0.0.1 -p "$port" -U m365audit -q -d postgres -c)
url="postgres://m365audit@127.0.0.1:$port/bench"
measure postgres first 2026-06-01 "${psql[*]@Q} 'DROP DATABASE IF EXISTS bench' && ${psql[*]@Q} 'CREATE DATABASE bench'" "$url"
"${psql[@]}" "CREATE DATABASE first TEMPLATE bench"
measure postgres again 2026-06-01 "${psql[*]@Q} 'DROP DATABASE bench' && ${psql[*]@Q} 'CREATE DATABASE bench TEMPLATE first'" "$url"
measure postgres later 2026-12-01 "${psql[*]@Q} 'DROP DATABASE bench' && ${psql[*]@Q} 'CREATE DATABASE bench TEMPLATE first'" "$url"
