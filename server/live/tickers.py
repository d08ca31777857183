"""The latest best bid/ask of each symbol of one venue, as its ``book_ticker`` streams pushed them (sans-I/O): the
live reference quote of the order path's pre-trade checks (:mod:`tradingmcp.server.trading.pretrade`).

Each :class:`~tradingmcp.server.venues.Venue` owns one :class:`TickerCache`; its market stream bridge
(:class:`~tradingmcp.server.tools.market.streams.MarketBridge`) writes every pushed quote there and clears it after a
stream gap; the top of a maintained order book stands in while no book ticker is there (a client that subscribed a
``book`` stream first, or a quiet book ticker), so the first order on a symbol need not ask REST for a quote. The
cache also records which symbols the venue *wants* streamed (the symbols it trades): the bridge keeps a
``book_ticker`` subscription of its own for each, whether or not an MCP client subscribes to it.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

from tradingmcp.server.exchanges.models import StreamStatus, Ticker

TICKER_MAX_AGE_MS = 2_000
"""How long a streamed best bid/ask is trusted as a reference price (ms since it arrived): a bookTicker stream only
sends changes, but a silent stream cannot be told from a dead one, so older quotes are re-read over REST."""

GAP_STATES = frozenset({"reconnecting", "overflow"})
"""``StreamStatus.state`` values after which the quotes received before are no longer trusted (events may be lost)."""

Clock = Callable[[], int]
"""Monotonic time in ns (``time.monotonic_ns`` by default)."""
WantListener = Callable[[str], None]


class TickerCache:
    """``{SYMBOL: (arrival ns, latest Ticker)}`` of one venue, and the symbols the venue wants streamed.

    Times are the ``clock``'s (monotonic ns): :meth:`put` stamps a quote with the clock unless given ``at_ns``;
    :meth:`get` compares with the clock. Symbols are upper case.
    """

    __slots__ = ("_latest", "_listeners", "_wanted", "clock")

    def __init__(self, clock: Clock = time.monotonic_ns) -> None:
        self.clock = clock
        self._latest: dict[str, tuple[int, Ticker]] = {}
        self._wanted: set[str] = set()
        self._listeners: list[WantListener] = []

    def put(self, ticker: Ticker, at_ns: int | None = None) -> None:
        """Keep ``ticker`` as its symbol's latest quote, arrived at ``at_ns`` (the clock's now when None)."""
        self._latest[ticker.symbol] = (self.clock() if at_ns is None else at_ns, ticker)

    def put_if_stale(self, ticker: Ticker, at_ns: int | None = None) -> bool:
        """Keep ``ticker`` only when :meth:`get` has no quote of its symbol (none yet, too old, or cleared by a gap);
        returns whether it was kept. For a second source of quotes that must not replace a fresher first one: the
        top of a maintained order book, whose diffs come in batches (Binance every 100 ms) while book tickers are
        pushed at once."""
        if self.get(ticker.symbol) is not None:
            return False
        self.put(ticker, at_ns)
        return True

    def get(self, symbol: str, max_age_ms: int = TICKER_MAX_AGE_MS) -> Ticker | None:
        """The latest quote of ``symbol`` when it arrived in the last ``max_age_ms`` ms (and no gap since); else None
        (ask REST instead)."""
        entry = self._latest.get(symbol.upper())
        if entry is None or self.clock() - entry[0] > max_age_ms * 1_000_000:
            return None
        return entry[1]

    def clear(self) -> None:
        """Forget every quote (the wanted symbols stay)."""
        self._latest.clear()

    def on_status(self, status: StreamStatus) -> None:
        """A market-stream notice: clears every quote after a gap (:data:`GAP_STATES`)."""
        if status.state in GAP_STATES:
            self._latest.clear()

    # --- the symbols the venue keeps a stream of -----------------------------------------------------------------
    @property
    def wanted(self) -> frozenset[str]:
        """Symbols whose ``book_ticker`` stream the venue keeps (see :meth:`want`)."""
        return frozenset(self._wanted)

    def want(self, symbol: str) -> None:
        """Keep ``symbol``'s quotes streamed from now on; each listener is told once per symbol (synchronously)."""
        symbol = symbol.upper()
        if symbol in self._wanted:
            return
        self._wanted.add(symbol)
        for listener in list(self._listeners):
            listener(symbol)

    def add_listener(self, listener: WantListener) -> Callable[[], None]:
        """Call ``listener(SYMBOL)`` for each symbol wanted from now on; returns a function that removes it."""
        self._listeners.append(listener)

        def remove() -> None:
            with contextlib.suppress(ValueError):
                self._listeners.remove(listener)

        return remove
