#!/usr/bin/env python3
"""Prints WAF benchmark results (schema "portcullis-waf-bench/1", JSON lines) as tables.

    python3 bench/waf/report.py target/waf-bench/modsecurity.jsonl [more.jsonl ...] [--markdown]

Rows are (system, config), columns are request types (bench/waf/requests/*.http names), cells
are CPU microseconds per request. Any producer that writes the same schema -- the nginx +
ModSecurity peer (scripts/waf-peer.sh), a Portcullis criterion bench, the Portcullis proxy --
lands in the same table; when a (system, config, request) triple appears several times, the
last line wins, so appending a new run to a file updates the table.

With Portcullis rows (systems `portcullis-*`, from `crates/waf-bench`) and the peer's
`nginx-modsecurity` rows in the input, two ratio tables follow: "Portcullis / ModSecurity", our CPU
per request divided by (a) the ModSecurity + CRS worker's CPU per request minus the same worker's
plain-proxy CPU per request (`crs-3.3.4-pl1` minus `proxy-only`: ModSecurity's own cost, without
nginx's HTTP handling, which our in-process figure does not include either) and (b) the raw
`crs-3.3.4-pl1` figure. The issue's goal is a ratio of at most 0.1 on each request type. Records
with a `sweep` field (the body-size sweep) are printed in their own table, by body size.

Only the standard library is used.
"""

import json
import sys

REQUEST_ORDER = ["simple-get", "browser-get", "json-post-1k", "form-post-8k"]
PEER = "nginx-modsecurity"
PEER_WAF = "crs-3.3.4-pl1"
PEER_BASE = "proxy-only"
GOAL = 0.1


def load(paths):
    rows = {}
    sweeps = {}
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                line = line.strip()
                if not line:
                    continue
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError as e:
                    sys.exit(f"{path}:{n}: not JSON: {e}")
                if rec.get("schema") != "portcullis-waf-bench/1":
                    continue
                key = (rec["system"], rec["config"], rec["request"])
                if rec.get("sweep"):
                    sweeps[key] = rec
                else:
                    rows[key] = rec
    return rows, sweeps


def table(rows, field, fmt, markdown):
    systems = []
    requests = []
    for system, config, request in rows:
        if (system, config) not in systems:
            systems.append((system, config))
        if request not in requests:
            requests.append(request)
    requests.sort(key=lambda r: (REQUEST_ORDER.index(r) if r in REQUEST_ORDER else 99, r))
    header = ["system", "config"] + requests
    body = []
    for system, config in systems:
        cells = [system, config]
        for request in requests:
            rec = rows.get((system, config, request))
            if rec is None or rec.get(field) is None:
                cells.append("-")
            else:
                cell = fmt(rec[field])
                if rec.get("non_2xx"):
                    cell += f" ({rec['non_2xx']} blocked!)"
                cells.append(cell)
        body.append(cells)
    if markdown:
        out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        out += ["| " + " | ".join(r) + " |" for r in body]
        return "\n".join(out)
    widths = [max(len(r[i]) for r in [header] + body) for i in range(len(header))]
    line = lambda r: "  ".join(c.rjust(w) if i > 1 else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths)))
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in body])


def with_marginal(rows):
    """Rows of systems that have a `proxy-only` baseline, with the CPU above that baseline."""
    out = {}
    for (system, config, request), rec in rows.items():
        base = rows.get((system, "proxy-only", request))
        if base is None or config == "proxy-only":
            continue
        out[(system, config, request)] = dict(rec, waf_cpu_us_per_req=rec["cpu_us_per_req"] - base["cpu_us_per_req"])
    return out


def ratios(rows, raw):
    """Portcullis rows: our CPU per request over ModSecurity's (CRS minus plain proxy, or raw CRS)."""
    out = {}
    for (system, config, request), rec in rows.items():
        if not system.startswith("portcullis-"):
            continue
        waf = rows.get((PEER, PEER_WAF, request))
        base = rows.get((PEER, PEER_BASE, request))
        if waf is None or (not raw and base is None):
            continue
        theirs = waf["cpu_us_per_req"] - (0 if raw else base["cpu_us_per_req"])
        if theirs <= 0:
            continue
        out[(system, config, request)] = dict(rec, ratio=rec["cpu_us_per_req"] / theirs)
    return out


def fmt_ratio(r):
    mark = "ok" if r <= GOAL else "MISS"
    return f"{r:.3f} (1/{1 / r:,.0f}) {mark}" if r > 0 else "0"


def sweep_table(sweeps, markdown):
    """Rows (system, config, body kind), columns body size, cells CPU µs per request."""
    groups = {}
    sizes = set()
    for (system, config, _), rec in sweeps.items():
        kb = round(rec.get("body_bytes", 0) / 1024)
        sizes.add(kb)
        groups.setdefault((system, config, rec["sweep"]), {})[kb] = rec
    sizes = sorted(sizes)
    header = ["system", "config", "body"] + [f"{kb} KB" for kb in sizes]
    body = []
    for (system, config, kind), cells in groups.items():
        row = [system, config, kind]
        for kb in sizes:
            rec = cells.get(kb)
            if rec is None:
                row.append("-")
            else:
                cell = f"{rec['cpu_us_per_req']:,.1f}"
                if rec.get("verdict", "ALLOW") != "ALLOW":
                    cell += f" ({rec['verdict']})"
                row.append(cell)
        body.append(row)
    if markdown:
        out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        out += ["| " + " | ".join(r) + " |" for r in body]
        return "\n".join(out)
    widths = [max(len(r[i]) for r in [header] + body) for i in range(len(header))]
    line = lambda r: "  ".join(c.rjust(w) if i > 2 else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths)))
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in body])


def main(argv):
    markdown = "--markdown" in argv
    paths = [a for a in argv if not a.startswith("--")]
    if not paths:
        sys.exit(__doc__)
    rows, sweeps = load(paths)
    if not rows and not sweeps:
        sys.exit("no portcullis-waf-bench/1 records found")
    print("CPU per request (µs): nginx-modsecurity = worker utime+stime / requests completed (includes nginx's")
    print("HTTP handling and proxying); portcullis-* = benchmark thread CPU time / evaluations (engine only, in-process)")
    print(table(rows, "cpu_us_per_req", lambda v: f"{v:,.1f}", markdown))
    marginal = with_marginal(rows)
    if marginal:
        print()
        print("WAF cost over the same system's plain proxy (µs; config minus proxy-only), comparable with in-process figures")
        print(table(marginal, "waf_cpu_us_per_req", lambda v: f"{v:,.1f}", markdown))
    for raw in (False, True):
        r = ratios(rows, raw)
        if r:
            print()
            if raw:
                print(f"Portcullis / ModSecurity, raw: our CPU per request / nginx worker CPU per request with {PEER_WAF}")
            else:
                print(f"Portcullis / ModSecurity: our CPU per request / ({PEER_WAF} minus {PEER_BASE}), i.e. against")
                print("ModSecurity's own cost without nginx's HTTP handling")
            print(f"(goal: <= {GOAL} on each request type; 'ok' = met, 'MISS' = not met)")
            print(table(r, "ratio", fmt_ratio, markdown))
    if sweeps:
        print()
        print("Body-size sweep, CPU per request (µs), form and JSON bodies of 1-64 KB (AWS-style ACL inspects the first 16 KB)")
        print(sweep_table(sweeps, markdown))
    thr = {k: v for k, v in rows.items() if "rps" in v}
    if thr:
        print()
        print("Throughput (requests/s, wrk, connections as recorded; wall clock, noisy on a shared machine)")
        print(table(thr, "rps", lambda v: f"{v:,.0f}", markdown))


if __name__ == "__main__":
    main(sys.argv[1:])
