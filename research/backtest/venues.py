"""One replayed venue of a backtest (sans-I/O): its books, matching engine and account, the order tools the bot's
actions go to, and the stream keys of its messages.

A backtest replays ``[connection] exchange`` (the *home* venue: the bot gets its ``book:``, ``book_ticker:`` and
``trades:`` messages) and, for a strategy that trades on several venues (``arbitrage``), each other venue from the same
recording, as the simulator's other face does live: its own books and engine, its own venue rules and result shapes
(MEXC: :class:`~.mexcvenue.MexcSimVenue`), the bot getting only its ``book_ticker:`` messages (what the live runner
subscribes to there), and on MEXC every price moved by ``--mexc-offset-bps``
(:class:`~tradingmcp.sim.replay.PriceOffset`, the simulator's own rule for ``serve --mexc-offset-bps``).

The books are kept as the simulator's ``SymbolMarket`` keeps them: diffs before the first snapshot are held and the
newer ones applied after it; a gap waits for the next snapshot.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Protocol

from tradingmcp.client.bot.actions import Action
from tradingmcp.client.bot.strategy import SymbolRulesLite
from tradingmcp.research.backtest.mexcvenue import MexcSimVenue
from tradingmcp.research.backtest.venue import API_KEY, SimVenue
from tradingmcp.sim.book import BookGapError, SimBook
from tradingmcp.sim.exchange_info import ExchangeInfo
from tradingmcp.sim.matching import MatchingEngine
from tradingmcp.sim.replay import PriceOffset

REPLAYED = ("binance", "mexc")
"""The venues a backtest can replay."""
OFFSET_VENUE = "mexc"
"""The venue ``mexc_offset_bps`` moves (when it is not the home venue)."""


class ReplaySettingError(ValueError):
    """Venues a backtest cannot replay as asked; the message says why in one line."""


class VenueNotReplayed(ReplaySettingError):
    """A strategy trades on a venue the backtest cannot replay (not one of :data:`REPLAYED`)."""


class OrderVenue(Protocol):
    """The order tools of one simulated account (:class:`~.venue.SimVenue`, :class:`~.mexcvenue.MexcSimVenue`)."""

    exchange: str
    requests: int

    def execute(self, action: Action) -> dict[str, Any]: ...

    def order_events(self) -> list[dict[str, Any]]: ...

    def balances(self) -> dict[str, Decimal]: ...


class VenueReplay:
    """One venue's replay state.

    Args:
        exchange: the venue name (stream keys, results).
        symbols: the symbols replayed.
        exchange_info: symbols and filters (the recording's).
        clock_ms: the engine's clock (exchange ms of the replay).
        maker_fee / taker_fee: commission rates (fractions).
        balances: the account's starting balances (decimal strings).
        levels: book levels of the ``book:`` messages.
        home: True for ``[connection] exchange`` (its order tools are :class:`~.venue.SimVenue` whatever its name);
            another venue gets its own protocol's tools.
        offset_bps: every replayed price moved by this many basis points (0: as recorded).

    Raises:
        VenueNotReplayed: another venue than :data:`REPLAYED`.
        tradingmcp.sim.errors.BinanceError: a symbol not in ``exchange_info`` (-1121).
    """

    def __init__(
        self,
        exchange: str,
        symbols: Sequence[str],
        exchange_info: ExchangeInfo,
        clock_ms: Callable[[], int],
        maker_fee: Decimal,
        taker_fee: Decimal,
        balances: Mapping[str, str],
        levels: int,
        home: bool,
        offset_bps: float = 0.0,
    ) -> None:
        if not home and exchange not in REPLAYED:
            raise VenueNotReplayed(f"a backtest replays {' and '.join(REPLAYED)} only, not {exchange!r}")
        self.exchange = exchange
        self.home = home
        self.offset_bps = offset_bps
        self.books = {s: SimBook(s) for s in symbols}
        self.engine = MatchingEngine(
            exchange_info, self.books, clock_ms=clock_ms, maker_fee=maker_fee, taker_fee=taker_fee
        )
        self.engine.add_account(API_KEY, {a: Decimal(v) for a, v in balances.items()})
        self.venue: OrderVenue = (
            SimVenue(self.engine, exchange) if home or exchange != "mexc"
            else MexcSimVenue(self.engine, exchange_info, tuple(symbols), exchange)
        )  # fmt: skip
        self.offset: PriceOffset | None = None
        if offset_bps:
            ticks = {}
            for s in symbols:
                pf = exchange_info.symbol(s).price_filter
                ticks[s] = pf.tick_size if pf is not None and pf.tick_size > 0 else Decimal("0.01")
            self.offset = PriceOffset(offset_bps, ticks)
        self.keys = {
            s: (f"book:{exchange}:{s}:{levels}", f"book_ticker:{exchange}:{s}", f"trades:{exchange}:{s}")
            for s in symbols
        }
        self.orders_key = f"orders:{exchange}"
        self.loaded: set[str] = set()
        self.pending: dict[str, list[dict[str, Any]]] = {s: [] for s in symbols}

    def symbol_rules(self, symbol: str, home: SymbolRulesLite) -> SymbolRulesLite:
        """The symbol's rules here as this venue's ``get_symbol_rules`` answers them: on MEXC the rules its face
        derives and enforces; else ``home`` (the rules of the recording's exchangeInfo)."""
        if not isinstance(self.venue, MexcSimVenue):
            return home
        r = self.venue.trading.rules[symbol]
        return SymbolRulesLite(r.tick, r.step, r.min_qty, r.min_amount)

    def depth(self, symbol: str, data: dict[str, Any]) -> bool:
        """A depth diff: applied to the loaded book (True; the engine then fills the resting orders it moved
        through), else held for the next snapshot or dropped (False)."""
        if symbol not in self.loaded:
            self.pending[symbol].append(data)
            return False
        book = self.books[symbol]
        if data["u"] <= book.last_update_id:
            return False
        try:
            book.apply_diff(data["U"], data["u"], data["b"], data["a"])
        except BookGapError:
            self.loaded.discard(symbol)  # wait for the next snapshot, as the simulator's replay does
            return False
        self.engine.on_book_update(symbol)
        return True

    def snapshot(self, symbol: str, data: dict[str, Any]) -> None:
        """A depth snapshot: the book rebuilt, the held diffs applied, the engine told."""
        book = self.books[symbol]
        book.load_snapshot(data["lastUpdateId"], data["bids"], data["asks"])
        self.loaded.add(symbol)
        pending, self.pending[symbol] = self.pending[symbol], []
        try:
            for diff in pending:
                if diff["u"] > book.last_update_id:
                    book.apply_diff(diff["U"], diff["u"], diff["b"], diff["a"])
        except BookGapError:
            self.loaded.discard(symbol)  # the buffered diffs do not follow this snapshot: wait for the next one
        self.engine.on_book_update(symbol)


def summed_balances(balances: Iterable[Mapping[str, Decimal]]) -> dict[str, Decimal]:
    """Balances per asset added up over the venues (one venue's as they are)."""
    parts = list(balances)
    if len(parts) == 1:
        return dict(parts[0])
    out: dict[str, Decimal] = {}
    for one in parts:
        for asset, value in one.items():
            out[asset] = out.get(asset, Decimal(0)) + value
    return dict(sorted(out.items()))
