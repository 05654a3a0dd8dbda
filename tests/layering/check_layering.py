#!/usr/bin/env python3
"""Fails when a file under src/sluice/ includes a header of a layer it must
not know (DESIGN.md §2: core -> io -> delta -> formats -> sources -> merge ->
pipeline -> cli; dependencies point down only).

    python3 tests/layering/check_layering.py [--src SRC_DIR] [--stamp FILE]

Prints every offending include as `file:line: <layer> includes "<header>" (why)`
and exits 1 if there is one; exits 0 (and touches --stamp, if given) when the
tree is clean. Standard library only: it runs in the build, before any venv.

The rules (a layer is the first folder under src/sluice/):
  core/      includes no other layer
  io/        includes core/ only
  delta/     includes core/ and io/ only (nothing of formats, sources, merge,
             pipeline, cli)
  formats/   knows no delta/, sources/, merge/, pipeline/, cli/
  sources/   knows no delta/, merge/, pipeline/, cli/; a concrete source
             (sources/<name>/) includes no other concrete source's headers:
             what sources share sits directly in sources/ (storable_types,
             source_settings, ...); only the registry there knows them all
  merge/     knows no sources/, pipeline/, cli/
  pipeline/  knows the source interface only: headers directly in
             src/sluice/sources/, never a concrete source
             (sluice/sources/<name>/...); and no cli/
  server/    (the HTTP server, metrics, status page) includes core/ only,
             and only cli/ includes it: the pipeline publishes through an
             observer (pipeline/run_observer.h) that the CLI implements
Includes are the quoted `#include "sluice/<layer>/..."` form the code uses;
a quoted include relative to the including file is resolved first, so
`#include "../datastream/x.h"` cannot slip past.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

LAYERS = ["core", "io", "delta", "formats", "sources", "merge", "pipeline", "cli", "server"]

# layer -> the layers it must not include, with the reason printed
FORBIDDEN = {
    "core": {l: "core/ depends on no other layer" for l in LAYERS if l != "core"},
    "io": {l: "io/ depends on core/ only" for l in LAYERS if l not in ("core", "io")},
    "delta": {l: "delta/ knows nothing above io/ (no CDC, no formats)"
              for l in ("formats", "sources", "merge", "pipeline", "cli")},
    "formats": {l: "formats/ knows no Delta, source, merge, pipeline or CLI code"
                for l in ("delta", "sources", "merge", "pipeline", "cli")},
    "sources": {l: "sources/ knows no Delta, merge, pipeline or CLI code"
                for l in ("delta", "merge", "pipeline", "cli")},
    "merge": {l: "merge/ knows no source, pipeline or CLI code"
              for l in ("sources", "pipeline", "cli")},
    "pipeline": {"cli": "pipeline/ knows no CLI code"},
    "cli": {},
    "server": {l: "server/ depends on core/ only" for l in LAYERS if l not in ("core", "server")},
}
# Only cli/ owns the HTTP server; every other layer is kept free of it.
for _layer in ("core", "io", "delta", "formats", "sources", "merge", "pipeline"):
    FORBIDDEN[_layer]["server"] = "only cli/ knows server/ (the pipeline publishes to an observer)"

INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"')


def layer_of_header(header: str, including: Path, src_root: Path):
    """(layer, path below src/sluice/) of a quoted include, or None when it is
    not a Sluice header (a system or third-party header)."""
    rel = None
    if header.startswith("sluice/"):
        rel = header[len("sluice/"):]
    else:
        candidate = (including.parent / header).resolve()
        try:
            rel = candidate.relative_to(src_root.resolve()).as_posix()
        except ValueError:
            return None
        if not candidate.exists():
            return None
    parts = rel.split("/")
    if len(parts) < 2 or parts[0] not in LAYERS:
        return None
    return parts[0], rel


def violation(layer: str, inc_layer: str, rel: str, rel_file: str = ""):
    """The reason `layer` (the file `rel_file` below src/sluice/) may not
    include `rel` (in `inc_layer`), or None."""
    why = FORBIDDEN.get(layer, {}).get(inc_layer)
    if why:
        return why
    if layer == "pipeline" and inc_layer == "sources" and rel.count("/") > 1:
        return ("pipeline/ knows the source interface only (headers directly in "
                "src/sluice/sources/), never a concrete source")
    own, inc = rel_file.split("/"), rel.split("/")
    if (layer == "sources" and inc_layer == "sources" and len(own) > 2 and len(inc) > 2
            and own[1] != inc[1]):
        return (f"a concrete source (sources/{own[1]}/) knows no other one's headers; "
                "what sources share sits directly in src/sluice/sources/")
    return None


def check(src_root: Path):
    """Every offending include under `src_root` (src/sluice) as text lines."""
    problems = []
    for path in sorted(src_root.rglob("*")):
        if path.suffix not in (".h", ".hh", ".hpp", ".cc", ".cpp", ".cxx", ".inc") or not path.is_file():
            continue
        rel_file = path.relative_to(src_root)
        layer = rel_file.parts[0]
        if layer not in LAYERS or len(rel_file.parts) < 2:
            continue
        with open(path, encoding="utf-8", errors="replace") as fh:
            for lineno, line in enumerate(fh, 1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                target = layer_of_header(m.group(1), path, src_root)
                if target is None:
                    continue
                inc_layer, rel = target
                why = violation(layer, inc_layer, rel, rel_file.as_posix())
                if why:
                    # as the repository names it: src/sluice/<layer>/...
                    shown = (Path(src_root.parent.name) / src_root.name / rel_file).as_posix()
                    problems.append(f'{shown}:{lineno}: {layer}/ includes "{m.group(1)}" ({why})')
    return problems


def main(argv=None) -> int:
    here = Path(__file__).resolve().parent
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--src", default=str(here.parent.parent / "src" / "sluice"),
                    help="the src/sluice directory (default: this checkout's)")
    ap.add_argument("--stamp", help="file touched when the check passes (for the build)")
    args = ap.parse_args(argv)
    src_root = Path(args.src).resolve()
    if not src_root.is_dir():
        print(f"check_layering: no directory {src_root}", file=sys.stderr)
        return 2
    problems = check(src_root)
    if problems:
        print(f"layering check failed: {len(problems)} include(s) against DESIGN.md §2 "
              "(core -> io -> delta -> formats -> sources -> merge -> pipeline -> cli):",
              file=sys.stderr)
        for p in problems:
            print("  " + p, file=sys.stderr)
        return 1
    if args.stamp:
        Path(args.stamp).parent.mkdir(parents=True, exist_ok=True)
        Path(args.stamp).write_text("layering ok\n")
    print(f"layering ok: {src_root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
