"""The real recording turned into the bot's pushed-message shapes (``book_ticker:``, ``trades:`` data), for core tests."""

from __future__ import annotations

import gzip
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from tradingmcp.sim.data import binance_recordings


def pushed_messages(data_dir: Path, symbol: str, max_lines: int) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(stream key, data)`` for the first ``max_lines`` lines of the symbol's recording (book tickers and trades)."""
    path = binance_recordings(symbol, data_dir)[0]
    last_ms = 0
    with gzip.open(path, "rb") as fh:
        for line in itertools.islice(fh, max_lines):
            _, _, raw = line.partition(b" ")
            frame = orjson.loads(raw)
            stream = frame.get("stream", "")
            d = frame.get("data", {})
            if stream.endswith("@bookTicker"):
                yield f"book_ticker:binance:{symbol}", {
                    "symbol": symbol, "bid": d["b"], "bid_qty": d["B"], "ask": d["a"], "ask_qty": d["A"],
                    "update_id": d["u"], "time_ms": last_ms,
                }  # fmt: skip
            elif stream.endswith("@trade"):
                last_ms = d["T"]
                yield f"trades:binance:{symbol}", {
                    "symbol": symbol, "id": d["t"], "price": d["p"], "qty": d["q"], "time_ms": d["T"],
                    "taker_side": "SELL" if d["m"] else "BUY",
                }  # fmt: skip
