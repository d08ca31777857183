"""``tradingmcp bench readme``: write the figures of ``benchmarks/README.md`` from benchmark result JSON.

Usage::

    tradingmcp bench readme --wire bench-results/RUN.json [--baseline bench-results/BASE.json] \\
        [--ticktotrade bench-results/ticktotrade-A.json ...] [--coldpath bench-results/coldpath-B.json] \\
        [--readme benchmarks/README.md] [--tolerance 0.10]

Only the block between the README's ``bench:begin`` / ``bench:end`` markers is rewritten (:mod:`.markdown`).
Exit codes: 0 written, 2 bad arguments or unreadable input (one line on stderr).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from tradingmcp.benchmarks import markdown as md

DEFAULT_README = Path(__file__).resolve().parent / "README.md"


def _load(path: Path) -> dict[str, Any]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(doc, dict):
        raise ValueError(f"{path}: not a result document")
    return doc


def render(
    wire: dict[str, Any] | None,
    baseline: dict[str, Any] | None = None,
    ticktotrade: list[dict[str, Any]] | None = None,
    coldpath: dict[str, Any] | None = None,
    tolerance: float = 0.10,
) -> str:
    """The generated block: the wire tables, the comparison with a baseline, tick-to-trade, the cold path."""
    from tradingmcp.benchmarks.ticktotrade import HOPS, ORDER_HOPS

    parts: list[str] = []
    if wire is not None:
        parts += [f"### Wire (`tradingmcp bench`, started {wire.get('started', '?')})", "", md.machine_line(wire), ""]
        parts.append(md.wire_markdown(wire))
        if baseline is not None:
            parts += [
                f"### Against the baseline (started {baseline.get('started', '?')}, same machine, same session)",
                "",
                md.compare_markdown(md.compare_rows(baseline, wire, tolerance), tolerance),
            ]
    if ticktotrade:
        parts += ["### Tick-to-trade (`tradingmcp bench ticktotrade`)", ""]
        parts.append(md.ticktotrade_markdown(ticktotrade, [h[0] for h in HOPS], [h[0] for h in ORDER_HOPS]))
    if coldpath is not None:
        parts += ["### Cold path (`tradingmcp bench coldpath`)", "", md.coldpath_markdown(coldpath)]
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="tradingmcp bench readme", description=__doc__.split("\n\n")[0], allow_abbrev=False
    )
    p.add_argument("--wire", type=Path, help="a `tradingmcp bench` result JSON")
    p.add_argument("--baseline", type=Path, help="a wire result JSON of the commit to compare against")
    p.add_argument("--ticktotrade", type=Path, action="append", default=[], help="a `bench ticktotrade` JSON (repeat)")
    p.add_argument("--coldpath", type=Path, help="a `bench coldpath` JSON")
    p.add_argument("--readme", type=Path, default=DEFAULT_README, help="the README to update (default: benchmarks/)")
    p.add_argument("--tolerance", type=float, default=0.10, help="ratio growth counted as noise (default 0.10)")
    args = p.parse_args(argv)
    if args.wire is None and not args.ticktotrade and args.coldpath is None:
        print("tradingmcp bench readme: give at least one of --wire, --ticktotrade, --coldpath", file=sys.stderr)
        return 2
    try:
        block = render(
            _load(args.wire) if args.wire else None,
            _load(args.baseline) if args.baseline else None,
            [_load(t) for t in args.ticktotrade],
            _load(args.coldpath) if args.coldpath else None,
            args.tolerance,
        )
        text = md.replace_block(args.readme.read_text(encoding="utf-8"), block)
    except (OSError, ValueError, KeyError) as exc:
        print(f"tradingmcp bench readme: {exc}", file=sys.stderr)
        return 2
    args.readme.write_text(text, encoding="utf-8")
    print(f"written: {args.readme}")
    return 0
