"""Where a backtest's market events come from: the bundled recording (default) or Binance public data dumps.

- No ``--data``, or ``--data`` naming a data root (a folder with ``binance/recorded``): the real recording
  (:mod:`tradingmcp.sim.replay`, the reader the simulator replays), symbols merged by their local receive stamp;
  the root is found as :func:`tradingmcp.sim.data.data_root` documents (``TRADINGMCP_DATA``, ``../shared/data``).
- ``--data`` naming dump files or a folder of them: :mod:`.dumps` (trades / aggTrades / klines, CSV or ZIP).

Parsing a recording's JSON lines costs more than replaying many of its events, so each recording file, once parsed, is
kept in a cache (:func:`cache_dir`): the events as :mod:`marshal` data, named by the SHA-256 of the file's bytes (a
changed file is parsed again). The cache holds only what the file holds; delete it at will.
"""

from __future__ import annotations

import hashlib
import heapq
import marshal
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from tradingmcp.research.backtest.dumps import DumpTrade, dump_events, dump_files, symbol_of, trades_of
from tradingmcp.sim.data import binance_recordings, data_root
from tradingmcp.sim.exchange_info import ExchangeInfo
from tradingmcp.sim.replay import EventKind, MarketEvent, merge_events, read_recording

CACHE_FORMAT = 1
"""Version of the cached files' layout (part of their names)."""


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
            by_symbol = [cached_recording(s, [f for f in self.files if _names(f, s)]) for s in self.symbols]
            return by_symbol[0] if len(by_symbol) == 1 else merge_events(by_symbol)
        streams = []
        for symbol in self.symbols:
            tick = self.exchange_info.symbol(symbol).price_filter
            step = tick.tick_size if tick is not None and tick.tick_size > 0 else Decimal("0.01")
            files = [f for f in self.files if symbol_of(f) == symbol]
            streams.append(dump_events(symbol, _chain_trades(files), step))
        return heapq.merge(*streams, key=lambda ev: ev.local_ns)


def cache_dir() -> Path | None:
    """Where parsed recordings are kept: ``$TRADINGMCP_CACHE_DIR`` (an empty value turns the cache off), else
    ``$XDG_CACHE_HOME/tradingmcp/recordings``, else ``~/.cache/tradingmcp/recordings``."""
    env = os.environ.get("TRADINGMCP_CACHE_DIR")
    if env is not None:
        return Path(env) if env else None
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tradingmcp" / "recordings"


_KINDS = {k.value: k for k in EventKind}


def cached_recording(symbol: str, paths: Sequence[Path], cache: Path | None = None) -> Iterator[MarketEvent]:
    """The events of :func:`tradingmcp.sim.replay.read_recording` (the same, in the same order), read from the cache
    (:func:`cache_dir` unless ``cache`` is given) when a file was parsed before; a file parsed now is added to it.
    A cache that cannot be written or read is passed over (the file is parsed)."""
    root = cache if cache is not None else cache_dir()
    for path in paths:
        if root is None:
            yield from read_recording(symbol, [path])
            continue
        raw = path.read_bytes()
        name = f"{hashlib.sha256(raw).hexdigest()}.v{CACHE_FORMAT}.marshal"
        rows = _load_rows(root / name)
        if rows is None:
            rows = [(ev.local_ns, ev.kind.value, ev.data) for ev in read_recording(symbol, [path])]
            _store_rows(root, name, rows)
        kinds = _KINDS
        for local_ns, kind, data in rows:
            yield MarketEvent(local_ns, symbol, kinds[kind], data)


def _load_rows(path: Path) -> list[tuple[int, str, dict[str, object]]] | None:
    try:
        rows = marshal.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, EOFError, ValueError, TypeError):
        return None  # unreadable or not ours: parse the file again
    return rows if isinstance(rows, list) else None


def _store_rows(root: Path, name: str, rows: list[tuple[int, str, dict[str, object]]]) -> None:
    tmp = root / f".{name}.{os.getpid()}.tmp"
    try:
        root.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(marshal.dumps(rows))
        tmp.replace(root / name)  # atomic: grid workers may write the same file at once
    except OSError:
        tmp.unlink(missing_ok=True)


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
