#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora (fuzz/seeds/<target>/) from the project's fixtures,
rules and profiles. Rerun after fixtures change; the files are named by their SHA-1, as
libFuzzer names the inputs it keeps, so reruns do not duplicate them."""
import hashlib
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
SEEDS = ROOT / "fuzz" / "seeds"
# The order of `harness::DEMO`: an export_file input's first byte picks the file it replaces.
EXPORT_FILES = [
    "applications.json", "servicePrincipals.json", "appRoleAssignments.json",
    "oauth2PermissionGrants.json", "groups.json", "snapshot.json",
    "exchange/applicationAccessPolicies.json", "exchange/casMailboxes.json",
    "exchange/managementRoleAssignments.json", "exchange/managementScopes.json",
    "exchange/organizationConfig.json", "exchange/servicePrincipals.json",
]
LIMIT = 64 * 1024  # larger files slow every execution down and add little


def put(target, data):
    if len(data) > LIMIT:
        return
    folder = SEEDS / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / hashlib.sha1(data).hexdigest()).write_bytes(data)


def export_dirs():
    yield ROOT / "examples" / "demo-tenant"
    for snapshot in sorted((ROOT / "tests" / "fixtures").rglob("snapshot.json")):
        yield snapshot.parent


for d in export_dirs():
    for i, name in enumerate(EXPORT_FILES):
        f = d / name
        if f.is_file():
            put("export_file", bytes([i]) + f.read_bytes())

for f in sorted((ROOT / "tests" / "fixtures").rglob("*.json")):
    rel = f.relative_to(ROOT / "tests" / "fixtures")
    if rel.parts[0] in ("loaders", "real-world") or f.name in ("fail.json", "pass.json"):
        put("application_file", f.read_bytes())
put("application_file", (ROOT / "examples" / "demo-tenant" / "applications.json").read_bytes())

for f in sorted((ROOT / "rules").rglob("*.toml")):
    if "profiles" in f.parts:
        put("profile_file", f.read_bytes())
    elif f.parent.name not in ("catalog",):
        put("rule_file", f.read_bytes())
for f in sorted((ROOT / "examples" / "rules").glob("*.toml")):
    put("rule_file", f.read_bytes())

# Display names an attacker or a careless admin might give an app.
for names in [
    "Contoso CRM\nSage CRM - Exchange Integration",
    "=HYPERLINK(\"http://x\",\"y\")\n+1+1\n-2\n@SUM(A1)\n\tTab\n\rCR",
    "\x1b[31mred\x1b[0m\n\x1b]0;title\x07\n\x9b2J",
    "<script>alert(1)</script>\n<img src=x onerror=alert(1)>\n\"'&amp;",
    "</script><script>alert(2)</script>\n&lt;b&gt;",
    "\u202eevil\u202c\n\u0000nul\n",
]:
    put("report_writers", names.encode("utf-8"))
