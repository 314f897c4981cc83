#!/usr/bin/env python3
"""Convert RustSec's OSV export into RustSec's native advisory-db layout.

cargo-audit reads only the native layout: ``crates/<crate>/RUSTSEC-YYYY-NNNN.md``,
each file a fenced ```toml front matter (``[advisory]``, optional ``[affected]``,
``[versions]``) followed by a Markdown ``# title`` line and the description.
The corpus only carries the OSV export (``crates/RUSTSEC-*.json``), so this
script rebuilds the native files from it (Python 3.11 standard library only).

Version ranges. OSV stores the *affected* versions as half-open intervals
``[introduced, fixed)`` (``introduced: "0.0.0-0"`` meaning "from the start",
a range without ``fixed`` meaning "no fix"). RustSec stores the complement,
the *unaffected* versions, as semver requirements in ``patched`` and
``unaffected``, and evaluates them by turning them back into intervals under
semver precedence. This script writes exactly the complement:

* before the first interval (when it does not start at ``0.0.0-0``):
  ``unaffected = ["< introduced1"]``
* between two intervals: ``patched`` gets ``">= fixedK, < introducedK+1"``
* after the last interval (when it has a ``fixed``): ``patched`` gets
  ``">= fixedN"``

so RustSec's own conversion of the written requirements reproduces the OSV
intervals event for event (pre-release bounds such as ``0.4.0-0`` included).

Withdrawn and informational (unmaintained / unsound / notice) advisories are
kept, with their ``withdrawn`` date and ``informational`` kind.

Usage: rustsec-native-db.py OSV_DIR OUT_DIR [--git] [--check]
       rustsec-native-db.py --boundary-lockfile OSV_DIR OUT_LOCKFILE
  OSV_DIR  the OSV export (the directory holding ``crates/``, or ``crates/`` itself)
  OUT_DIR  created if missing; ``OUT_DIR/crates`` is replaced
  --git    also ``git init`` + commit OUT_DIR (only needed for tools that load
           the database as a git repository; ``cargo audit --no-fetch`` does not)
  --check  re-derive the affected intervals from the written requirements the
           way RustSec does and fail any advisory whose intervals differ
  --boundary-lockfile  instead write a synthetic Cargo.lock with the versions on
           and around every range bound of every advisory (see boundary_lockfile)
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ZERO = "0.0.0-0"
_SEMVER = re.compile(r"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")
CHECK = False  # set by --check: verify every conversion round-trips
_CRATE = re.compile(r"^[A-Za-z0-9_-]+$")


class ConvertError(Exception):
    """An OSV record that cannot be expressed in the native format."""


def toml_str(value: str) -> str:
    """A TOML basic string (escapes quotes, backslashes and every control character)."""
    out = ['"']
    for ch in value:
        code = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\u{code:04X}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def toml_list(values: list[str]) -> str:
    return "[" + ", ".join(toml_str(v) for v in values) + "]"


def intervals(affected: dict) -> list[tuple[str, str | None]]:
    """The ``[introduced, fixed)`` intervals of one OSV ``affected`` entry, in order."""
    out: list[tuple[str, str | None]] = []
    for rng in affected.get("ranges", []):
        if rng.get("type") != "SEMVER":
            raise ConvertError(f"range type {rng.get('type')!r} is not SEMVER")
        start: str | None = None
        for event in rng.get("events", []):
            if "introduced" in event:
                if start is not None:
                    out.append((start, None))
                start = event["introduced"]
            elif "fixed" in event:
                if start is None:
                    raise ConvertError("'fixed' without 'introduced'")
                out.append((start, event["fixed"]))
                start = None
            elif "last_affected" in event:
                # RustSec's exporter never emits it (it would need `> v` lower bounds here).
                raise ConvertError("'last_affected' events are not supported")
            else:
                raise ConvertError(f"unknown range event {event!r}")
        if start is not None:
            out.append((start, None))
    if affected.get("versions"):
        raise ConvertError("explicit 'versions' lists are not supported")
    for start, end in out:
        for v in (start, end):
            if v is not None and not _SEMVER.match(v):
                raise ConvertError(f"not a semver version: {v!r}")
    return out


def semver_key(version: str) -> tuple:
    """Sort key with semver 2.0 precedence (build metadata ignored)."""
    core, _, pre = version.split("+", 1)[0].partition("-")
    nums = tuple(int(x) for x in core.split("."))
    if not pre:
        return nums, 1, ()
    ids = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split("."))
    return nums, 0, ids


def normalize(spans: list[tuple[str, str | None]]) -> list[tuple[str, str | None]]:
    """Sorted, disjoint, non-empty intervals covering the same versions.

    RustSec's exporter emits an empty interval ``[v, v)`` where two patched
    requirements touch (``< v`` and ``>= v``); RustSec rejects a database whose
    unaffected requirements are empty (``>= v, < v``) or overlap, so empty
    intervals are dropped and touching/overlapping ones merged.
    """
    inf = ((float("inf"),), 1, ())  # above every semver_key
    end_key = lambda e: inf if e is None else semver_key(e)  # noqa: E731
    merged: list[tuple[str, str | None]] = []
    live = [s for s in spans if end_key(s[1]) > semver_key(s[0])]
    for start, end in sorted(live, key=lambda s: semver_key(s[0])):
        if merged and end_key(merged[-1][1]) >= semver_key(start):
            prev_start, prev_end = merged[-1]
            keep = prev_end if end_key(prev_end) >= end_key(end) else end
            merged[-1] = (prev_start, keep)
        else:
            merged.append((start, end))
    return merged


def requirements(spans: list[tuple[str, str | None]]) -> tuple[list[str], list[str]]:
    """``(patched, unaffected)`` requirement lists whose complement is ``spans``.

    ``spans`` must be normalized (see ``normalize``). An empty list means
    "nothing is affected", which the native format cannot say: rejected.
    """
    if not spans:
        raise ConvertError("no affected range")
    patched: list[str] = []
    unaffected: list[str] = []
    first = spans[0][0]
    if semver_key(first) > semver_key(ZERO):
        unaffected.append(f"< {first}")
    for (_, end), (nxt, _) in zip(spans, spans[1:]):
        patched.append(f">= {end}, < {nxt}")
    last = spans[-1][1]
    if last is not None:
        patched.append(f">= {last}")
    return patched, unaffected


def span_req(start: str, end: str | None) -> str:
    """One affected interval as a requirement (for ``[affected.functions]``)."""
    parts = [] if start == ZERO else [f">= {start}"]
    if end is not None:
        parts.append(f"< {end}")
    return ", ".join(parts) if parts else "*"


def back_to_spans(patched: list[str], unaffected: list[str]) -> list[tuple[str, str | None]]:
    """Affected intervals that RustSec derives from the requirements we write.

    Mirrors RustSec's conversion for the only shapes emitted here
    (``< a``, ``>= a``, ``>= a, < b``); used by ``--check``.
    """
    ranges: list[tuple[str | None, str | None]] = []
    for req in unaffected + patched:
        lo: str | None = None
        hi: str | None = None
        for comp in req.split(","):
            op, ver = comp.split()
            if op == ">=":
                lo = ver
            elif op == "<":
                hi = ver
            else:
                raise ConvertError(f"unexpected operator in {req!r}")
        ranges.append((lo, hi))
    if not ranges:
        return [(ZERO, None)]
    ranges.sort(key=lambda r: (0,) if r[0] is None else (1, semver_key(r[0])))
    out: list[tuple[str, str | None]] = []
    if ranges[0][0] is not None:
        out.append((ZERO, ranges[0][0]))
    for (_, hi), (lo, _) in zip(ranges, ranges[1:]):
        if hi is None or lo is None or semver_key(hi) >= semver_key(lo):
            raise ConvertError("overlapping or empty unaffected ranges")
        out.append((hi, lo))
    if ranges[-1][1] is not None:
        out.append((ranges[-1][1], None))
    return out


def split_references(record: dict, crate: str) -> tuple[str | None, list[str]]:
    """``(url, references)``: drop the two URLs RustSec's exporter always adds."""
    urls = [r["url"] for r in record.get("references", []) if r.get("url")]
    skip = {
        f"https://crates.io/crates/{crate}",
        f"https://rustsec.org/advisories/{record['id']}.html",
    }
    rest = [u for u in urls if u not in skip]
    if not rest:
        return None, []
    return rest[0], rest[1:]


def render(record: dict) -> tuple[str, str]:
    """``(crate name, file text)`` of one OSV record in the native format."""
    rid = record["id"]
    affected_list = record.get("affected", [])
    if len(affected_list) != 1:
        raise ConvertError(f"{len(affected_list)} 'affected' entries (need exactly 1)")
    affected = affected_list[0]
    pkg = affected.get("package", {})
    if pkg.get("ecosystem") != "crates.io":
        raise ConvertError(f"ecosystem {pkg.get('ecosystem')!r}")
    crate = pkg.get("name", "")
    if not _CRATE.match(crate):
        raise ConvertError(f"bad crate name {crate!r}")
    spans = normalize(intervals(affected))
    patched, unaffected = requirements(spans)
    if CHECK and back_to_spans(patched, unaffected) != spans:
        raise ConvertError(f"round trip differs: {spans} -> {patched} {unaffected}")
    dbs = affected.get("database_specific", {}) or {}
    eco = (affected.get("ecosystem_specific", {}) or {}).get("affects", {}) or {}
    url, refs = split_references(record, crate)

    lines = ["```toml", "[advisory]"]
    lines.append(f"id = {toml_str(rid)}")
    lines.append(f"package = {toml_str(crate)}")
    lines.append(f"date = {toml_str(record['published'][:10])}")
    if url:
        lines.append(f"url = {toml_str(url)}")
    if refs:
        lines.append(f"references = {toml_list(refs)}")
    if dbs.get("categories"):
        lines.append(f"categories = {toml_list(dbs['categories'])}")
    if record.get("aliases"):
        lines.append(f"aliases = {toml_list(record['aliases'])}")
    if record.get("related"):
        lines.append(f"related = {toml_list(record['related'])}")
    if dbs.get("cvss"):
        lines.append(f"cvss = {toml_str(dbs['cvss'])}")
    if dbs.get("informational"):
        lines.append(f"informational = {toml_str(dbs['informational'])}")
    if record.get("withdrawn"):
        lines.append(f"withdrawn = {toml_str(record['withdrawn'][:10])}")
    lic = (record.get("database_specific", {}) or {}).get("license")
    if lic:
        lines.append(f"license = {toml_str(lic)}")

    functions = eco.get("functions") or []
    if eco.get("arch") or eco.get("os") or functions:
        lines.append("")
        lines.append("[affected]")
        if eco.get("arch"):
            lines.append(f"arch = {toml_list(eco['arch'])}")
        if eco.get("os"):
            lines.append(f"os = {toml_list(eco['os'])}")
        if functions:
            # OSV keeps only the paths; give each the advisory's affected ranges.
            vuln = [span_req(a, b) for a, b in spans]
            lines.append("[affected.functions]")
            for path in functions:
                lines.append(f"{toml_str(path)} = {toml_list(vuln)}")

    lines.append("")
    lines.append("[versions]")
    lines.append(f"patched = {toml_list(patched)}")
    if unaffected:
        lines.append(f"unaffected = {toml_list(unaffected)}")
    lines.append("```")
    lines.append("")
    title = " ".join((record.get("summary") or rid).split())
    lines.append(f"# {title}")
    lines.append("")
    details = (record.get("details") or "").strip()
    lines.append(details if details else title)
    return crate, "\n".join(lines) + "\n"


def convert(osv_dir: Path, out_dir: Path) -> tuple[int, list[str]]:
    """Write ``out_dir/crates``; returns (advisories written, skipped with reasons)."""
    src = osv_dir / "crates" if (osv_dir / "crates").is_dir() else osv_dir
    files = sorted(src.glob("*.json"))
    if not files:
        raise SystemExit(f"no OSV *.json files under {src}")
    crates_dir = out_dir / "crates"
    if crates_dir.exists():
        shutil.rmtree(crates_dir)
    crates_dir.mkdir(parents=True)
    written = 0
    skipped: list[str] = []
    for path in files:
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            crate, text = render(record)
        except (ConvertError, KeyError, ValueError, TypeError) as err:
            skipped.append(f"{path.name}: {err}")
            continue
        target = crates_dir / crate / f"{record['id']}.md"
        target.parent.mkdir(exist_ok=True)
        target.write_text(text, encoding="utf-8")
        written += 1
    return written, skipped


def neighbours(version: str) -> set[str]:
    """Versions on and around one range bound, for the boundary lockfile."""
    core = version.split("+", 1)[0]
    base, _, pre = core.partition("-")
    major, minor, patch = (int(x) for x in base.split("."))
    out = {core, base, f"{major}.{minor}.{patch + 1}", f"{major}.{minor + 1}.0", f"{major + 1}.0.0"}
    out.add(f"{base}-alpha.1")  # a pre-release just below the release
    out.add(f"{core}+build.1")  # build metadata must not change the verdict
    if patch:
        out.add(f"{major}.{minor}.{patch - 1}")
    elif minor:
        out.add(f"{major}.{minor - 1}.99")
    elif major:
        out.add(f"{major - 1}.99.99")
    out.discard("0.0.0-0")
    return out


def boundary_lockfile(osv_dir: Path, out: Path) -> int:
    """Write a synthetic Cargo.lock holding, for every advisory's crate, the versions
    on and around each of its range bounds (pre-release and build-metadata variants
    included). Scanning it with two tools compares their range semantics on every
    advisory at once. Returns the number of packages written."""
    src = osv_dir / "crates" if (osv_dir / "crates").is_dir() else osv_dir
    pkgs: set[tuple[str, str]] = set()
    for path in sorted(src.glob("*.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        for affected in record.get("affected", []):
            name = affected.get("package", {}).get("name", "")
            if not _CRATE.match(name):
                continue
            for rng in affected.get("ranges", []):
                for event in rng.get("events", []):
                    for bound in event.values():
                        if isinstance(bound, str) and _SEMVER.match(bound):
                            pkgs.update((name, v) for v in neighbours(bound))
    source = "registry+https://github.com/rust-lang/crates.io-index"
    blocks = ["# synthetic: versions around every RustSec range bound\nversion = 3\n"]
    for name, version in sorted(pkgs):
        blocks.append(f'[[package]]\nname = "{name}"\nversion = "{version}"\n'
                      f'source = "{source}"\nchecksum = "{"0" * 64}"\n')
    out.write_text("\n".join(blocks), encoding="utf-8")
    return len(pkgs)


def git_commit(out_dir: Path) -> None:
    env = dict(os.environ, GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="bench@localhost",
               GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="bench@localhost")
    run = lambda *a: subprocess.run(["git", "-C", str(out_dir), *a], check=True,  # noqa: E731
                                    env=env, stdout=subprocess.DEVNULL)
    if not (out_dir / ".git").exists():
        run("init", "-q", "-b", "main")
    run("add", "-A")
    run("commit", "-q", "--allow-empty", "-m", "advisories converted from the OSV export")


def main(argv: list[str]) -> int:
    global CHECK
    if len(argv) == 3 and argv[0] == "--boundary-lockfile":
        count = boundary_lockfile(Path(argv[1]), Path(argv[2]))
        print(f"wrote {count} packages to {argv[2]}", file=sys.stderr)
        return 0
    CHECK = "--check" in argv
    args = [a for a in argv if a not in ("--git", "--check")]
    if len(args) != 2:
        print(__doc__.split("\n\n")[-1], file=sys.stderr)
        return 2
    osv_dir, out_dir = Path(args[0]), Path(args[1])
    written, skipped = convert(osv_dir, out_dir)
    for line in skipped:
        print(f"skipped {line}", file=sys.stderr)
    if "--git" in argv:
        git_commit(out_dir)
    print(f"wrote {written} advisories to {out_dir}/crates ({len(skipped)} skipped)", file=sys.stderr)
    return 1 if skipped else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
