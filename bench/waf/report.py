#!/usr/bin/env python3
"""Prints WAF benchmark results (schema "portcullis-waf-bench/1", JSON lines) as tables.

    python3 bench/waf/report.py target/waf-bench/modsecurity.jsonl [more.jsonl ...] [--markdown]

Rows are (system, config), columns are request types (bench/waf/requests/*.http names), cells
are CPU microseconds per request. Any producer that writes the same schema -- the nginx +
ModSecurity peer (scripts/waf-peer.sh), a Portcullis criterion bench, the Portcullis proxy --
lands in the same table; when a (system, config, request) triple appears several times, the
last line wins, so appending a new run to a file updates the table.

Only the standard library is used.
"""

import json
import sys

REQUEST_ORDER = ["simple-get", "browser-get", "json-post-1k", "form-post-8k"]


def load(paths):
    rows = {}
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
                rows[(rec["system"], rec["config"], rec["request"])] = rec
    return rows


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


def main(argv):
    markdown = "--markdown" in argv
    paths = [a for a in argv if not a.startswith("--")]
    if not paths:
        sys.exit(__doc__)
    rows = load(paths)
    if not rows:
        sys.exit("no portcullis-waf-bench/1 records found")
    print("CPU per request (µs; worker utime+stime / requests completed)")
    print(table(rows, "cpu_us_per_req", lambda v: f"{v:,.1f}", markdown))
    marginal = with_marginal(rows)
    if marginal:
        print()
        print("WAF cost over the same system's plain proxy (µs; config minus proxy-only), comparable with in-process figures")
        print(table(marginal, "waf_cpu_us_per_req", lambda v: f"{v:,.1f}", markdown))
    print()
    print("Throughput (requests/s, wrk, connections as recorded; wall clock, noisy on a shared machine)")
    print(table({k: v for k, v in rows.items() if "rps" in v}, "rps", lambda v: f"{v:,.0f}", markdown))


if __name__ == "__main__":
    main(sys.argv[1:])
