"""What the bot knows about one symbol's market, built only from pushed stream data (sans-I/O).

Fed with the ``data`` of ``notifications/tradingmcp/stream`` messages (shapes of
:mod:`tradingmcp.server.tools.market.shapes`):

- ``book_ticker:<exchange>:<SYMBOL>`` → ``{symbol, bid, bid_qty, ask, ask_qty, update_id, time_ms}``: best bid/ask;
- ``book:<exchange>:<SYMBOL>:<levels>`` → ``{symbol, last_update_id, bids: [[price, qty]], asks, ...}``: depth imbalance;
- ``trades:<exchange>:<SYMBOL>`` → ``{symbol, id, price, qty, time_ms, taker_side}``: last price and its EMA.

Prices are Decimal in the quote asset per base unit; quantities in the base asset; times in ms.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

ZERO = Decimal(0)
PRICE_CACHE_MAX = 4096
"""Book ticker price strings a market keeps parsed; the cache is emptied when it is full."""


@dataclass
class MarketState:
    """One symbol's top of book, depth imbalance and trade price EMA.

    Attributes:
        bid / ask: best prices from the book ticker (None until the first one); ``bid_qty`` / ``ask_qty`` (properties):
            the sizes there (0 until known; parsed when first read).
        update_id: ``update_id`` of the last book ticker (the exchange's book update id ``u``).
        imbalance: ``(bid depth − ask depth) / (bid depth + ask depth)`` over the top ``levels`` of the book stream,
            in [−1, 1] (0 until the first book message).
        last_price: last trade price; ``ema``: exponential moving average of trade prices (float, quote asset).
        time_ms: exchange time of the last message seen.
    """

    symbol: str
    levels: int = 5
    ema_half_life_ms: int = 5_000
    bid: Decimal | None = None
    ask: Decimal | None = None
    update_id: int | None = None
    imbalance: float = 0.0
    last_price: Decimal | None = None
    ema: float | None = None
    time_ms: int = 0
    trades_seen: int = 0
    bid_f: float = 0.0
    """``bid``, ``ask``, ``bid_qty``, ``ask_qty`` as floats, for the strategy's quote math (0 until known)."""
    ask_f: float = 0.0
    bid_qty_f: float = 0.0
    ask_qty_f: float = 0.0
    _top: tuple[str, str, str, str] = ("", "", "", "")
    _qtys: tuple[str | Decimal, str | Decimal] = field(default=(ZERO, ZERO), compare=False)
    """``bid_qty``, ``ask_qty``: each a wire string until read, then its ``Decimal`` (compared through ``_top`` and
    the floats, which hold the same values)."""
    _prices: dict[str, Decimal] = field(default_factory=dict, init=False, repr=False, compare=False)
    """Price wire strings of book tickers and trades already parsed (prices recur; quantities much less)."""

    def on_book_ticker(self, data: dict[str, Any]) -> bool:
        """Apply a book ticker; True when the best bid/ask (price or size) changed."""
        top = (data["bid"], data["bid_qty"], data["ask"], data["ask_qty"])
        self.update_id = data.get("update_id")
        time_ms = data.get("time_ms")
        if time_ms and time_ms > self.time_ms:
            self.time_ms = int(time_ms)
        if top == self._top:  # same wire strings: nothing to convert
            return False
        self._top = top
        # float() of the wire string is float() of its Decimal (that converts through its string), without the detour;
        # values that differ as floats differ as Decimals, so only equal floats need the exact comparison
        bid_f, bid_qty_f, ask_f, ask_qty_f = float(top[0]), float(top[1]), float(top[2]), float(top[3])
        if (
            bid_f == self.bid_f
            and ask_f == self.ask_f
            and bid_qty_f == self.bid_qty_f
            and ask_qty_f == self.ask_qty_f
            and self._same_top(top)
        ):
            return False
        prices = self._prices
        bid = prices.get(top[0])
        if bid is None:
            bid = self._price(top[0])
        ask = prices.get(top[2])
        if ask is None:
            ask = self._price(top[2])
        self.bid, self.ask, self._qtys = bid, ask, (top[1], top[3])
        self.bid_f, self.ask_f, self.bid_qty_f, self.ask_qty_f = bid_f, ask_f, bid_qty_f, ask_qty_f
        return True

    def _same_top(self, top: tuple[str, str, str, str]) -> bool:
        """The wire strings ``top`` hold the values the state holds (compared as ``Decimal``)."""
        return (
            self.bid == Decimal(top[0])
            and self.ask == Decimal(top[2])
            and self.bid_qty == Decimal(top[1])
            and self.ask_qty == Decimal(top[3])
        )

    @property
    def bid_qty(self) -> Decimal:
        """Size at the best bid (base; 0 until known)."""
        qty = self._qtys[0]
        if isinstance(qty, str):
            qty = Decimal(qty)
            self._qtys = (qty, self._qtys[1])
        return qty

    @property
    def ask_qty(self) -> Decimal:
        """Size at the best ask (base; 0 until known)."""
        qty = self._qtys[1]
        if isinstance(qty, str):
            qty = Decimal(qty)
            self._qtys = (self._qtys[0], qty)
        return qty

    def _price(self, text: str) -> Decimal:
        prices = self._prices
        if len(prices) >= PRICE_CACHE_MAX:
            prices.clear()
        value = prices[text] = Decimal(text)
        return value

    @property
    def book_ticker_wire(self) -> tuple[str, str, str, str]:
        """The last book ticker's ``(bid, bid_qty, ask, ask_qty)`` as received (wire strings; empty before the
        first one)."""
        return self._top

    def _set_top(self, bid: Decimal, bid_qty: Decimal, ask: Decimal, ask_qty: Decimal) -> None:
        self.bid, self.ask, self._qtys = bid, ask, (bid_qty, ask_qty)
        self.bid_f, self.ask_f, self.bid_qty_f, self.ask_qty_f = float(bid), float(ask), float(bid_qty), float(ask_qty)

    def on_book(self, data: dict[str, Any]) -> bool:
        """Apply a book message (top levels); also refreshes the best bid/ask. True when the imbalance changed."""
        bids, asks = data.get("bids") or [], data.get("asks") or []
        n = self.levels
        bid_depth = sum(float(q) for _, q in bids[:n])
        ask_depth = sum(float(q) for _, q in asks[:n])
        total = bid_depth + ask_depth
        imbalance = (bid_depth - ask_depth) / total if total > 0 else 0.0
        changed = imbalance != self.imbalance
        self.imbalance = imbalance
        if bids and asks and self.bid is None:
            self._set_top(Decimal(bids[0][0]), Decimal(bids[0][1]), Decimal(asks[0][0]), Decimal(asks[0][1]))
        return changed

    def on_trade(self, data: dict[str, Any]) -> None:
        """Apply a trade: last price and the time-decayed EMA (half life ``ema_half_life_ms`` of exchange time)."""
        text = data["price"]
        price = self._prices.get(text) if isinstance(text, str) else None
        if price is None:
            price = self._price(text) if isinstance(text, str) else Decimal(text)
        time_ms = int(data.get("time_ms") or self.time_ms)
        px = float(price)
        if self.ema is None:
            self.ema = px
        else:
            dt = max(0, time_ms - self.time_ms)
            alpha = 1.0 - math.exp(-math.log(2) * dt / max(1, self.ema_half_life_ms))
            self.ema += alpha * (px - self.ema)
        self.last_price = price
        self.time_ms = max(self.time_ms, time_ms)
        self.trades_seen += 1

    @property
    def ready(self) -> bool:
        """Both sides of the book are known and not crossed."""
        return self.bid is not None and self.ask is not None and self.ask > self.bid

    def mid(self) -> Decimal | None:
        """``(bid + ask) / 2``, else the last trade price, else None."""
        if self.bid is not None and self.ask is not None:
            return (self.bid + self.ask) / 2
        return self.last_price

    def microprice(self) -> Decimal | None:
        """Size-weighted mid ``(bid × ask_qty + ask × bid_qty) / (bid_qty + ask_qty)``: leans toward the side with less
        size (the price more likely to trade next). The mid when both sizes are 0; None without a book."""
        if self.bid is None or self.ask is None:
            return None
        depth = self.bid_qty + self.ask_qty
        if depth <= 0:
            return (self.bid + self.ask) / 2
        return (self.bid * self.ask_qty + self.ask * self.bid_qty) / depth

    def mark(self) -> Decimal | None:
        """Mark price for valuing a position: the mid, else the last trade."""
        return self.mid()
