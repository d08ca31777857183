"""Where a backtest's market events come from: the bundled recording (default) or Binance public data dumps.

- No ``--data``, or ``--data`` naming a data root (a folder with ``binance/recorded``): the real recording
  (:mod:`tradingmcp.sim.replay`, the reader the simulator replays), symbols merged by their local receive stamp;
  the root is found as :func:`tradingmcp.sim.data.data_root` documents (``TRADINGMCP_DATA``, ``../shared/data``).
- ``--data`` naming dump files or a folder of them: :mod:`.dumps` (trades / aggTrades / klines, CSV or ZIP).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from tradingmcp.research.backtest.dumps import DumpTrade, dump_events, dump_files, symbol_of, trades_of
from tradingmcp.sim.data import binance_recordings, data_root
from tradingmcp.sim.exchange_info import ExchangeInfo
from tradingmcp.sim.replay import MarketEvent, merge_events, read_recording


@dataclass(frozen=True)
class MarketData:
    """A backtest's input: ``source`` (``recording`` or the dump formats read, e.g. ``aggTrades``), the files read,
    and the exchangeInfo the simulator serves (the recording's ``binance/rest/exchangeInfo.json`` when present)."""

    source: str
    files: tuple[Path, ...]
    exchange_info: ExchangeInfo
    symbols: tuple[str, ...]

    def events(self) -> Iterator[MarketEvent]:
        """The events in replay order (a fresh iterator each call; files are read lazily)."""
        if self.source == "recording":
            by_symbol = [read_recording(s, [f for f in self.files if _names(f, s)]) for s in self.symbols]
            return merge_events(by_symbol)
        streams = []
        for symbol in self.symbols:
            tick = self.exchange_info.symbol(symbol).price_filter
            step = tick.tick_size if tick is not None and tick.tick_size > 0 else Decimal("0.01")
            files = [f for f in self.files if symbol_of(f) == symbol]
            streams.append(dump_events(symbol, _chain_trades(files), step))
        return heapq.merge(*streams, key=lambda ev: ev.local_ns)


def _names(path: Path, symbol: str) -> bool:
    return f"_{symbol.lower()}_" in path.name


def _chain_trades(files: Sequence[Path]) -> Iterator[DumpTrade]:
    for f in files:
        yield from trades_of(f)[1]


def load_market_data(symbols: Sequence[str], data: str | Path | None = None) -> MarketData:
    """Resolve the input of a backtest.

    Args:
        symbols: upper-case symbols to replay.
        data: None (the bundled recording), a data root, a dump file, or a folder of dump files.

    Raises:
        tradingmcp.sim.data.DataNotFoundError: no recording for a symbol. FileNotFoundError: no dump files, or none
            for a requested symbol. tradingmcp.research.backtest.dumps.DumpFormatError: an unreadable dump.
    """
    path = Path(data) if data is not None else None
    if path is None or (path / "binance" / "recorded").is_dir():
        root = data_root(path)
        files = tuple(f for s in symbols for f in binance_recordings(s, root))
        info_path = root / "binance" / "rest" / "exchangeInfo.json"
        info = ExchangeInfo.load_or_builtin(info_path)
        return MarketData("recording", files, info, tuple(symbols))
    dumps = dump_files(path)
    missing = [s for s in symbols if not any(symbol_of(f) == s for f in dumps)]
    if missing:
        raise FileNotFoundError(f"no dump file for {', '.join(missing)} at {path} (files are named SYMBOL-...)")
    chosen = tuple(f for f in dumps if symbol_of(f) in symbols)
    formats = sorted({trades_of(f)[0] for f in chosen})
    try:
        info = ExchangeInfo.load_or_builtin(data_root() / "binance" / "rest" / "exchangeInfo.json")
    except FileNotFoundError:
        info = ExchangeInfo.builtin()
    return MarketData("+".join(formats), chosen, info, tuple(symbols))
