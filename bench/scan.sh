#!/usr/bin/env bash
# Benchmark of `m365audit scan` on generated tenants (gen-tenant), for N = 10k and 100k apps:
#   (a) the parse-only floor: read + deserialize the export (parse-floor, the same loader)
#   (b) m365audit scan --format json with the full rule pack
#   (c) one jq query a user would write for expiring secrets over applications.json
# and prints wall time, peak RSS (/usr/bin/time -v) and the ratios b/a, c/b,
# time(100k)/time(10k), and peak RSS / export size. Each command runs RUNS times (default 3)
# and the fastest run is reported, with its peak RSS: the first run after generating a tenant
# pays for a cold page cache.
#
#   bench/scan.sh                 # SIZES="10000 100000" SEED=1 RUNS=3
#   M365AUDIT_TIMINGS=1 target/release/m365audit scan DIR -f json -o /dev/null   # phase times
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=${SIZES:-"10000 100000"}
SEED=${SEED:-1}
DATA=${DATA:-target/bench-data}
RUNS=${RUNS:-3}
cargo build --release --quiet --bins

measure() { # label, command...  -> "label wall rss" of the fastest of $RUNS runs
    local best="" best_rss=0 wall rss
    for _ in $(seq "$RUNS"); do
        /usr/bin/time -v "${@:2}" > /dev/null 2> "$DATA/time.txt" || true
        wall=$(grep "Elapsed (wall clock)" "$DATA/time.txt" | awk -F': ' '{print $2}' | awk -F: '{ if (NF==2) print $1*60+$2; else print $1*3600+$2*60+$3 }')
        rss=$(grep "Maximum resident set size" "$DATA/time.txt" | awk -F': ' '{print $2}')
        if [ -z "$best" ] || awk "BEGIN{exit !($wall < $best)}"; then best=$wall; best_rss=$rss; fi
    done
    echo "$1 $best $best_rss"
}

mkdir -p "$DATA"
declare -A B
for n in $SIZES; do
    dir="$DATA/$n-seed$SEED"
    [ -f "$dir/snapshot.json" ] || ./target/release/gen-tenant --apps "$n" --seed "$SEED" --out "$dir" 2>/dev/null
    size_kb=$(du -sk "$dir" | cut -f1)
    read -r _ a a_rss < <(measure a ./target/release/parse-floor "$dir")
    read -r _ b b_rss < <(measure b ./target/release/m365audit scan "$dir" --format json --as-of 2026-06-01 -o /dev/null)
    if command -v jq >/dev/null; then
        read -r _ c c_rss < <(measure c jq '[.[] | select(any(.passwordCredentials[]?; .endDateTime < "2026-07-01"))] | length' "$dir/applications.json")
    else
        c=NaN; c_rss=0
    fi
    B[$n]=$b
    python3 - "$n" "$size_kb" "$a" "$a_rss" "$b" "$b_rss" "$c" "$c_rss" <<'PY'
import sys
n, size, a, ar, b, br, c, cr = sys.argv[1:]
size, a, ar, b, br, c, cr = int(size), float(a), int(ar), float(b), int(br), float(c), int(cr)
print(f"N={n}: export {size/1024:.0f} MiB")
print(f"  (a) parse floor  {a:7.2f} s  {ar/1024:7.0f} MiB")
print(f"  (b) scan --json  {b:7.2f} s  {br/1024:7.0f} MiB   b/a = {b/a:.2f} (target <= 1.3)   RSS/export = {br/size:.2f} (target <= 2)")
if c == c:
    print(f"  (c) jq query     {c:7.2f} s  {cr/1024:7.0f} MiB   c/b = {c/b:.2f} (target >= 3)")
else:
    print("  (c) jq not installed: skipped")
PY
done
set -- $SIZES
if [ $# -ge 2 ]; then
    python3 -c "import sys; print(f'time({sys.argv[2]})/time({sys.argv[1]}) = {float(sys.argv[4])/float(sys.argv[3]):.2f} (target <= 11)')" "$1" "$2" "${B[$1]}" "${B[$2]}"
fi
