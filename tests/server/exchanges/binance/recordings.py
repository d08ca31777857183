"""Readers for the real recordings (shared by the book and adapter tests)."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from tradingmcp.sim.data import binance_recordings


def recorded_frames(symbol: str, root: Path) -> Iterator[dict[str, Any]]:
    """Every record of both days in order: combined-stream frames ``{"stream","data"}`` and the bare REST depth
    snapshot ``{"lastUpdateId","bids","asks"}``."""
    for path in binance_recordings(symbol, root):
        with gzip.open(path, "rb") as fh:
            for line in fh:
                _stamp, _, body = line.partition(b" ")
                yield orjson.loads(body)


def cryptofeed_frames(root: Path) -> tuple[list[dict[str, Any]], dict[str, tuple[float, dict[str, Any]]]]:
    """The Binance cryptofeed capture: ws frames ``(recv_s, frame)`` in order, and per symbol the first REST depth
    snapshot with its receive time."""
    base = root / "binance" / "cryptofeed"
    frames: list[dict[str, Any]] = []
    with (base / "BINANCE.ws.1.0").open("rb") as fh:
        fh.readline()  # "<url> <-> <connect ts>"
        for line in fh:
            if not line.strip():
                continue
            stamp, _, body = line.partition(b": ")
            frame = orjson.loads(body)
            frame["_recv_s"] = float(stamp)
            frames.append(frame)
    snapshots: dict[str, tuple[float, dict[str, Any]]] = {}
    with (base / "BINANCE.http.0.0").open("rb") as fh:
        for line in fh:
            url, _, rest = line.partition(b" -> ")
            stamp, _, body = rest.partition(b": ")
            if b"/depth?" not in url:
                continue
            symbol = url.split(b"symbol=")[1].split(b"&")[0].decode()
            snapshots.setdefault(symbol, (float(stamp), orjson.loads(body)))
    return frames, snapshots
