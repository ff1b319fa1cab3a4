#!/usr/bin/env bash
# Benchmark of `m365audit collect` against fake-graph (a real HTTP server on 127.0.0.1).
#
#   bench/collect.sh                      # 10,000 apps, 50 ms latency, --exchange
#   APPS=2000 LATENCY_MS=20 CONCURRENCY=4 EXCHANGE=0 bench/collect.sh
#
# Prints the requests made against the floor (list pages + resource-side calls, computed
# from what was collected), and the wall time against two bounds: the naive one
# (floor x latency / concurrency) and the critical path (the longest chain of requests that
# must follow one another: the applications listing, whose pages Graph caps at 100 objects
# when owners are expanded).
set -euo pipefail
cd "$(dirname "$0")/.."

APPS=${APPS:-10000}
LATENCY_MS=${LATENCY_MS:-50}
CONCURRENCY=${CONCURRENCY:-8}
EXCHANGE=${EXCHANGE:-1}
SEED=${SEED:-1}

cargo build --release --quiet --bins
work=$(mktemp -d)
trap 'kill "$fake_pid" 2>/dev/null || true; rm -rf "$work"' EXIT

secret="bench-$RANDOM-$RANDOM"
FAKE_GRAPH_CLIENT_SECRET=$secret ./target/release/fake-graph \
  --apps "$APPS" --seed "$SEED" --latency-ms "$LATENCY_MS" >"$work/fake.log" &
fake_pid=$!
for _ in $(seq 100); do grep -q listening "$work/fake.log" 2>/dev/null && break; sleep 0.1; done
base=$(grep -o 'http://127.0.0.1:[0-9]*' "$work/fake.log")

exchange_flag=()
[ "$EXCHANGE" = 1 ] && exchange_flag=(--exchange)
M365AUDIT_CLIENT_SECRET=$secret /usr/bin/time -v -o "$work/time.txt" \
  ./target/release/m365audit collect --quiet --tenant "synthetic$SEED.onmicrosoft.com" \
  --client-id 11111111-2222-3333-4444-555555555555 --concurrency "$CONCURRENCY" \
  --login-url "$base" --graph-url "$base/graph" --exchange-url "$base/exo" \
  "${exchange_flag[@]}" -o "$work/snapshot" 2>"$work/collect.log"
curl -s "$base/_stats" >"$work/stats.json"

python3 - "$work" "$LATENCY_MS" "$CONCURRENCY" <<'PY'
import json, math, re, sys
from collections import Counter
work, latency, conc = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
snap = f"{work}/snapshot"
load = lambda p: json.load(open(f"{snap}/{p}"))
meta, stats = load("snapshot.json"), json.load(open(f"{work}/stats.json"))
pages = lambda n, size: max(1, math.ceil(n / size))
apps = load("applications.json")
floor = {
    "applications (100 per page with $expand)": pages(len(apps), 100),
    "servicePrincipals": pages(len(load("servicePrincipals.json")), 999),
    "oauth2PermissionGrants": pages(len(load("oauth2PermissionGrants.json")), 999),
    "resource lookup ($batch)": 1,
    "tokens": 2 if meta["collection"]["exchange_url"] else 1,
}
per_resource = Counter(a["resourceId"] for a in load("appRoleAssignments.json"))
listed = meta["collection"]["assignment_resources"]
floor["appRoleAssignedTo (per resource)"] = sum(pages(n, 999) for n in per_resource.values()) + (listed - len(per_resource))
if meta["collection"]["exchange_url"]:
    for f in ["applicationAccessPolicies", "managementRoleAssignments", "managementScopes",
              "servicePrincipals", "casMailboxes", "organizationConfig"]:
        floor[f"exchange {f}"] = pages(len(load(f"exchange/{f}.json")), 1000)
per_object = {"owners beyond 20 ($batch)": math.ceil(sum(1 for a in apps if len(a.get("owners", [])) >= 20) / 20)}
if meta["collection"]["exchange_url"]:
    per_object["scope groups + member counts ($batch)"] = math.ceil(2 * len(load("groups.json")) / 20)
floor_n, per_object_n = sum(floor.values()), sum(per_object.values())
made = stats["requests"]
t = open(f"{work}/time.txt").read()
wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", t)
wall_s = (int(wall.group(1) or 0) * 3600) + int(wall.group(2)) * 60 + float(wall.group(3))
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1))
naive = floor_n * latency / 1000 / conc
critical = (floor["applications (100 per page with $expand)"] + min(1, per_object["owners beyond 20 ($batch)"]) + 1) * latency / 1000
print(open(f"{work}/collect.log").read().strip())
print(f"\n{len(apps)} apps, {latency} ms latency, concurrency {conc}")
for k, v in {**floor, **per_object}.items():
    print(f"  {v:6d}  {k}")
print(f"requests made            {made}")
print(f"floor (lists + resource) {floor_n}   ratio {made / floor_n:.3f}  (target <= 1.1)")
print(f"floor + per-object calls {floor_n + per_object_n}   ratio {made / (floor_n + per_object_n):.3f}")
print(f"wall                     {wall_s:.2f} s   peak RSS {rss / 1024:.0f} MiB")
print(f"naive bound (floor x latency / concurrency) {naive:.2f} s   ratio {wall_s / naive:.2f}  (target <= 1.5)")
print(f"critical path (sequential application pages) {critical:.2f} s   ratio {wall_s / critical:.2f}")
print(f"retries {meta['collection']['retries']}, throttled {meta['collection']['throttled']}, served {stats}")
PY
