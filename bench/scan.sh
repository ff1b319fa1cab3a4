#!/usr/bin/env bash
# Benchmark of `m365audit scan` on generated tenants (gen-tenant), against the targets of the
# README's Performance section. For each seed (SEEDS, default "1 7") and size (SIZES, default
# "10000 100000"):
#   floor   parse-floor: read + deserialize the export with the scan's own loader
#   jq      a jq query a user would write for expiring secrets over applications.json
# and for each scenario, the tenant's reference date (2026-06-01) and six months later
# (2026-12-01, "dense": credentials have aged, about 3.6 failing findings per app):
#   json, jsonl, csv, table   m365audit scan --format F -o FILE
# It prints every figure in one table (wall time, peak RSS, output size; ratios to the parse
# floor and to the export's size on disk), then time(100k)/time(10k) per format, the jq ratio,
# and each target with PASS or MISS (ratios to the floor and the export at the largest size). Each command runs RUNS times (default 3) and the fastest
# run is kept, with its peak RSS: the first run after generating a tenant pays for a cold page
# cache. Raw figures go to $DATA/results.tsv.
#
#   bench/scan.sh                                  # all of it (about 10 minutes on 2 cores)
#   SEEDS=1 SIZES=10000 RUNS=1 bench/scan.sh       # a quick look
#   M365AUDIT_TIMINGS=1 target/release/m365audit scan DIR -f json -o /dev/null   # phase times
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=${SIZES:-"10000 100000"}
SEEDS=${SEEDS:-"1 7"}
DATA=${DATA:-target/bench-data}
RUNS=${RUNS:-3}
REFERENCE=2026-06-01
DENSE=2026-12-01
cargo build --release --quiet --bins
command -v jq >/dev/null || { echo "bench/scan.sh needs jq" >&2; exit 2; }
mkdir -p "$DATA"
out="$DATA/report.out"
results="$DATA/results.tsv"
: > "$results"

# label, command... -> appends "label wall_s rss_kib out_bytes" (the fastest of $RUNS runs;
# out_bytes: the size of $out after the run, 0 if the command writes none).
measure() {
    local best="" best_rss=0 wall rss
    for _ in $(seq "$RUNS"); do
        rm -f "$out"
        /usr/bin/time -v "${@:2}" > /dev/null 2> "$DATA/time.txt" || true
        wall=$(grep "Elapsed (wall clock)" "$DATA/time.txt" | awk -F': ' '{print $2}' | awk -F: '{ if (NF==2) print $1*60+$2; else print $1*3600+$2*60+$3 }')
        rss=$(grep "Maximum resident set size" "$DATA/time.txt" | awk -F': ' '{print $2}')
        if [ -z "$best" ] || awk "BEGIN{exit !($wall < $best)}"; then best=$wall; best_rss=$rss; fi
    done
    local size=0
    [ -f "$out" ] && size=$(stat -c %s "$out")
    printf '%s\t%s\t%s\t%s\n' "$1" "$best" "$best_rss" "$size" >> "$results"
}

for seed in $SEEDS; do
    for n in $SIZES; do
        dir="$DATA/$n-seed$seed"
        [ -f "$dir/snapshot.json" ] || ./target/release/gen-tenant --apps "$n" --seed "$seed" --reference "$REFERENCE" --out "$dir" 2>/dev/null
        export_bytes=$(du -sb "$dir" | cut -f1)
        printf 'export\t%s\t%s\t%s\t%s\n' "$seed" "$n" "$export_bytes" 0 >> "$results"
        measure "floor $seed $n -" ./target/release/parse-floor "$dir"
        measure "jq $seed $n -" jq '[.[] | select(any(.passwordCredentials[]?; .endDateTime < "2026-07-01"))] | length' "$dir/applications.json"
        for scenario in reference dense; do
            as_of=$REFERENCE
            [ "$scenario" = dense ] && as_of=$DENSE
            for format in json jsonl csv table; do
                measure "$format $seed $n $scenario" ./target/release/m365audit scan "$dir" --format "$format" --as-of "$as_of" -o "$out"
            done
        done
    done
done
rm -f "$out"

python3 - "$results" <<'PY'
import sys, collections
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
export = {}
m = {}
for r in rows:
    if r[0] == "export":
        export[(r[1], r[2])] = int(r[3])
        continue
    label, wall, rss, size = r
    what, seed, n, scenario = label.split()
    m[(what, seed, n, scenario)] = (float(wall), int(rss) * 1024, int(size))

MB = 1e6
print("| seed | apps | scenario | format | wall s | × floor | peak RSS MB | RSS / export | output MB | output / export |")
print("|---:|---:|---|---|---:|---:|---:|---:|---:|---:|")
for (seed, n), ex in export.items():
    floor = m[("floor", seed, n, "-")]
    print(f"| {seed} | {n} | | export | | | | | {ex/MB:.0f} | 1.00 |")
    print(f"| {seed} | {n} | | parse floor | {floor[0]:.2f} | 1.00 | {floor[1]/MB:.0f} | {floor[1]/ex:.2f} | | |")
    jq = m[("jq", seed, n, "-")]
    print(f"| {seed} | {n} | | jq query | {jq[0]:.2f} | {jq[0]/floor[0]:.2f} | {jq[1]/MB:.0f} | {jq[1]/ex:.2f} | | |")
    for scenario in ("reference", "dense"):
        for fmt in ("json", "jsonl", "csv", "table"):
            w, rss, size = m[(fmt, seed, n, scenario)]
            print(f"| {seed} | {n} | {scenario} | {fmt} | {w:.2f} | {w/floor[0]:.2f} | {rss/MB:.0f} | {rss/ex:.2f} | {size/MB:.0f} | {size/ex:.2f} |")

checks = []
def check(name, value, ok):
    checks.append((name, value, ok))
sizes = sorted({int(n) for (_, n) in export})
# Time, memory and size against the floor and the export at the largest size only: a 10k
# export (43 MB) is smaller than the process's own footprint (the parse floor alone peaks at
# 2.4× it), and its runs take tenths of a second, where start-up is most of the time.
for (seed, n), ex in export.items():
    if int(n) != sizes[-1]:
        continue
    floor = m[("floor", seed, n, "-")][0]
    for scenario in ("reference", "dense"):
        json_limit = 1.5 if scenario == "dense" else 1.3
        w, rss, size = m[("json", seed, n, scenario)]
        check(f"seed {seed} {n} {scenario}: json wall ≤ {json_limit}× floor", f"{w/floor:.2f}", w / floor <= json_limit)
        check(f"seed {seed} {n} {scenario}: json peak RSS ≤ 1.5× export", f"{rss/ex:.2f}", rss / ex <= 1.5)
        w, rss, size = m[("jsonl", seed, n, scenario)]
        check(f"seed {seed} {n} {scenario}: jsonl wall ≤ 1.3× floor", f"{w/floor:.2f}", w / floor <= 1.3)
        check(f"seed {seed} {n} {scenario}: jsonl peak RSS ≤ 1.2× export", f"{rss/ex:.2f}", rss / ex <= 1.2)
    size = m[("json", seed, n, "dense")][2]
    check(f"seed {seed} {n} dense: v2 report ≤ 0.6× export", f"{size/ex:.2f}", size / ex <= 0.6)
    jq = m[("jq", seed, n, "-")][0]
    for scenario in ("reference", "dense"):
        w = m[("json", seed, n, scenario)][0]
        check(f"seed {seed} {n} {scenario}: jq query ≥ 3× scan --format json", f"{jq/w:.2f}", jq / w >= 3)
if len(sizes) >= 2:
    small, large = str(sizes[0]), str(sizes[-1])
    for seed in sorted({s for (s, _) in export}):
        for scenario in ("reference", "dense"):
            for fmt in ("json", "jsonl", "csv", "table"):
                a, b = m.get((fmt, seed, small, scenario)), m.get((fmt, seed, large, scenario))
                if a and b:
                    r = b[0] / a[0]
                    check(f"seed {seed} {scenario}: {fmt} time({large})/time({small}) ≤ 11", f"{r:.1f}", r <= 11)
print()
print("| target | measured | |")
print("|---|---:|---|")
for name, value, ok in checks:
    print(f"| {name} | {value} | {'PASS' if ok else 'MISS'} |")
PY
