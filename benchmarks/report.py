"""Benchmark output: the printed tables (rich), ``bench-results/<timestamp>.json`` and a PNG latency plot.

Everything renders from the result document built by :mod:`tradingmcp.benchmarks.run` (the JSON written to disk),
so a saved JSON can be re-rendered.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from tradingmcp.benchmarks import config as C
from tradingmcp.benchmarks.placement import OS, TITLES

PACKAGES = ("tradingmcp", "picows", "websockets", "uvloop", "orjson", "mcp", "uvicorn", "aiofastnet")


def machine_info() -> dict[str, Any]:
    """Host facts that explain the numbers: CPU, cores, load, kernel, Python and package versions."""
    cpu = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), "")
    except OSError:
        pass
    versions: dict[str, str] = {}
    for pkg in PACKAGES:
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = "not installed"
    return {
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "loadavg_start": list(os.getloadavg()),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "packages": versions,
    }


def _f(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def _x(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}x"


def roundtrip_table(doc: dict[str, Any]) -> Table:
    return _roundtrip_rows(doc["roundtrip"], doc.get("placement", OS))


def _roundtrip_rows(rows: dict[str, Any], where: str) -> Table:
    t = Table(title=f"tools/call round trip — {where}: {TITLES[where]} (sequential, µs; ratios to the raw TCP floor)")
    for col in ("scenario", "calls", "p50", "p90", "p99", "p99.9", "p50/floor", "p99/floor"):
        t.add_column(col, justify="left" if col == "scenario" else "right")
    for name, row in rows.items():
        s = row["summary"]
        t.add_row(
            name,
            f"{s['count']:,}",
            _f(s["p50_us"]),
            _f(s["p90_us"]),
            _f(s["p99_us"]),
            _f(s["p999_us"]),
            _x(row.get("p50_ratio")),
            _x(row.get("p99_ratio")),
        )
    return t


def throughput_table(doc: dict[str, Any]) -> Table:
    t = Table(title="pipelined throughput (calls/s)")
    for col in ("scenario", "connections × in flight", "calls", "calls/s", "vs floor"):
        t.add_column(col, justify="left" if col == "scenario" else "right")
    for row in doc["throughput"]:
        t.add_row(
            row["scenario"],
            f"{row['connections']} × {row['inflight_per_connection']}",
            f"{row['calls']:,}",
            _f(row["calls_per_s"], 0),
            _x(row.get("ratio_to_floor")),
        )
    return t


def fanout_table(doc: dict[str, Any]) -> Table:
    t = Table(title="fan-out: one publisher → N connections (latency publish→receive, µs)")
    for col in ("N", "server", "phase", "published/s", "deliveries/s", "p50", "p99", "vs raw"):
        t.add_column(col, justify="left" if col in ("server", "phase") else "right")
    for row in doc["fanout"]:
        lat = row["latency"] or {}
        t.add_row(
            str(row["subscribers"]),
            row["server"],
            row["phase"],
            _f(row["published_per_s"], 0),
            _f(row["deliveries_per_s"], 0),
            _f(lat.get("p50_us")),
            _f(lat.get("p99_us")),
            _x(row.get("ratio_to_raw")),
        )
    return t


def memory_table(doc: dict[str, Any]) -> Table:
    t = Table(title="idle connections: server RSS delta")
    for col in ("server", "connections", "RSS before (MiB)", "RSS after (MiB)", "bytes/connection"):
        t.add_column(col, justify="left" if col == "server" else "right")
    for row in doc["memory"]:
        t.add_row(
            row["server"],
            f"{row['connections']:,}",
            _f(row["rss_before_bytes"] / 2**20),
            _f(row["rss_after_bytes"] / 2**20),
            _f(row["bytes_per_connection"], 0),
        )
    return t


def cpu_table(doc: dict[str, Any]) -> Table:
    t = Table(title="work per tools/call, client and server in one process (µs per sequential call; no wake-ups)")
    for col in ("scenario", "µs/call", "over picows echo", "rounds"):
        t.add_column(col, justify="left" if col in ("scenario", "rounds") else "right")
    for row in doc["cpu"]:
        t.add_row(
            row["scenario"],
            _f(row["us_per_call"], 2),
            f"{row['overhead_us']:+.2f}",
            " ".join(f"{v:.1f}" for v in row["rounds"]),
        )
    return t


def targets_table(doc: dict[str, Any]) -> Table:
    t = Table(title="targets (reported, not asserted)")
    for col in ("target", "measured", "met"):
        t.add_column(col)
    for row in doc["targets"]:
        met = row["met"]
        t.add_row(row["target"], row["measured"], "n/a" if met is None else ("yes" if met else "NO"))
    return t


def print_report(doc: dict[str, Any], console: Console | None = None) -> None:
    """Print every table of ``doc`` that has rows, then the notes."""
    console = console or Console(width=140)
    if doc.get("roundtrip"):
        console.print(roundtrip_table(doc))
    for where, rows in doc.get("roundtrip_placements", {}).items():
        console.print(_roundtrip_rows(rows, where))
    if doc.get("throughput"):
        console.print(throughput_table(doc))
    if doc.get("fanout"):
        console.print(fanout_table(doc))
    if doc.get("memory"):
        console.print(memory_table(doc))
    if doc.get("cpu"):
        console.print(cpu_table(doc))
    if doc.get("targets"):
        console.print(targets_table(doc))
    for note in doc.get("notes", []):
        console.print(f"note: {note}")


def write_json(doc: dict[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    return path


def write_plot(doc: dict[str, Any], path: Path) -> Path:
    """Round-trip latency CCDF per scenario (log-log), and fan-out deliveries/s against N."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(15, 6))
    for name, row in doc.get("roundtrip", {}).items():
        pts = [p for p in row.get("cdf") or [] if p[1] < 1.0]  # 1 - CDF is 0 at the maximum: off a log axis
        xs = [p[0] for p in pts]
        ys = [1.0 - p[1] for p in pts]
        style = "--" if name in (C.TCP_FLOOR, C.PICOWS_ECHO, C.WEBSOCKETS_ECHO) else "-"
        ax1.plot(xs, ys, style, label=name, linewidth=1.4)
    ax1.set_xscale("log")
    ax1.set_yscale("log")
    ax1.set_xlabel("round-trip latency (µs)")
    ax1.set_ylabel("fraction of calls slower (1 - CDF)")
    ax1.set_title("tools/call round trip on 127.0.0.1")
    ax1.grid(True, which="both", alpha=0.3)
    ax1.legend(fontsize=8)
    for server in (C.FANOUT_OURS, C.FANOUT_RAW):
        rows = [r for r in doc.get("fanout", []) if r["server"] == server and r["phase"] == "saturated"]
        if rows:
            ax2.plot([r["subscribers"] for r in rows], [r["deliveries_per_s"] for r in rows], "o-", label=server)
    ax2.set_xscale("log")
    ax2.set_xlabel("subscribed connections N")
    ax2.set_ylabel("deliveries/s (saturated)")
    ax2.set_title("fan-out")
    ax2.grid(True, which="both", alpha=0.3)
    if doc.get("fanout"):
        ax2.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(str(path), dpi=110)
    plt.close(fig)
    return path
