"""MCP resources of live state: ``ticker://{exchange}/{symbol}``, ``book://{exchange}/{symbol}``,
``account://{exchange}/balances`` and ``orders://{exchange}/open`` (``trades://`` belongs to :mod:`..portfolio`).

``resources/read`` is synchronous, so each resource is served from a small cache:

* market resources are fed by the same shared streams as the ``subscribe`` tool (an internal subscriber of
  ``book_ticker:`` + ``trades:`` for a ticker, ``book:<exchange>:<SYMBOL>`` for a book). The subscription runs while
  the uri has resource subscribers and for ``linger_s`` (30 s) after each read; when it starts with nothing cached it
  is primed over REST. So the first read of a cold symbol answers ``status: "loading"`` (read again a moment later, or
  subscribe); later reads answer ``status: "live"``; once the subscription has ended, the last value is returned with
  ``status: "last_known"`` (``received_ms`` says how old it is).
* account resources come from the venue's :class:`AccountCache` (seeded over REST, then kept current by the account
  events; ``status: "live"``, or ``"loading"`` before the first seed).

While subscribed (``resources/subscribe`` or ``subscriptions/listen``), every change calls the hub's ``changed()`` →
``notifications/resources/updated`` (rate-limited per client by the engine's ResourceHub, 0.25 s by default).

Shapes (decimal strings in the quote asset for prices, base asset for quantities; times ms):

* ticker: ``{exchange, symbol, status, bid, bid_qty, ask, ask_qty, spread, mid, last_price, last_qty,
  last_trade_time_ms, time_ms, received_ms}``;
* book: ``{exchange, symbol, status, last_update_id, bids: [[price, qty]] x10, asks, spread, mid, microprice,
  received_ms}``;
* balances: ``{exchange, status, balances: [balance_json], update_time_ms}``; open orders: ``{exchange, status,
  orders: [order_json]}`` (oldest first).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from tradingmcp.server.live.account_cache import AccountCache
from tradingmcp.server.mcp.registry import McpApp, Resource, ResourceTemplate
from tradingmcp.server.mcp.streams import StreamHub
from tradingmcp.server.tools.live.feeds import Feed
from tradingmcp.server.tools.market.args import SYMBOL_RE
from tradingmcp.server.tools.market.shapes import book_json
from tradingmcp.server.tools.shapes import balance_json, order_json, plain
from tradingmcp.server.venues import Venue, Venues
from tradingmcp.transport.jsonrpc import ErrorCode, JsonRpcError

BOOK_LEVELS = 10


def not_found(uri: str, why: str) -> JsonRpcError:
    """-32002 ``Resource not found: <uri> (<why>)`` with ``data.uri``."""
    return JsonRpcError(ErrorCode.RESOURCE_NOT_FOUND, f"Resource not found: {uri} ({why})", {"uri": uri})


_TICKER_FIELDS = ("bid", "bid_qty", "ask", "ask_qty", "time_ms")
"""The ``book_ticker`` fields a ticker resource keeps."""


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class MarketCache:
    """The cache behind one market resource: ``kind`` ``ticker`` or ``book`` of ``symbol`` on ``exchange``, fed by
    the hub's streams (``book_ticker:`` and ``trades:`` for a ticker, ``book:`` for a book) while :attr:`feed` holds
    them; :attr:`listeners` are called on every change. Used as it is by bus gateways, whose hub carries the bus's
    streams, and through :class:`MarketFeed` by a single process."""

    def __init__(self, kind: str, exchange: str, symbol: str, hub: StreamHub, linger_s: float) -> None:
        self.kind = kind
        self.exchange = exchange
        self.symbol = symbol
        self.data: dict[str, Any] = {}
        self.received_ms = 0
        self.listeners: list[Callable[[], None]] = []
        if kind == "ticker":
            keys: tuple[str, ...] = (f"book_ticker:{exchange}:{symbol}", f"trades:{exchange}:{symbol}")
        else:
            keys = (f"book:{exchange}:{symbol}",)
        self.feed = Feed(hub, keys, self.on_data, linger_s)

    def on_data(self, key: str, data: Any) -> None:
        kind = key.split(":", 1)[0]
        if not isinstance(data, dict):  # not a market message (a bus carries what any publisher sent)
            return
        if kind == "book_ticker":
            for name in _TICKER_FIELDS:
                self.data[name] = data.get(name)
        elif kind == "trades":
            self.data.update(
                last_price=data.get("price"), last_qty=data.get("qty"), last_trade_time_ms=data.get("time_ms")
            )
        else:
            self.data = dict(data)
        self.received_ms = _now_ms()
        self.changed()

    def changed(self) -> None:
        for listener in list(self.listeners):
            listener()

    def read(self) -> dict[str, Any]:
        """The resource's JSON: ``exchange``, ``symbol`` and ``status`` ``error`` (``message``: the feed's error),
        ``loading`` (no data yet), ``live`` (the feed runs) or ``last_known``, then the data (a ticker with
        ``spread`` and ``mid`` added, quote asset) and ``received_ms`` (epoch ms)."""
        head: dict[str, Any] = {"exchange": self.exchange, "symbol": self.symbol}
        if self.feed.error is not None:
            return {**head, "status": "error", "message": self.feed.error}
        if not self.data:
            return {
                **head,
                "status": "loading",
                "message": f"subscribing to {self.symbol} market data: read again in a moment, or subscribe to "
                "this resource to be told when it changes",
            }
        out = {**head, "status": "live" if self.feed.active else "last_known", **self.data}
        out["symbol"] = self.symbol
        if self.kind == "ticker" and out.get("bid") and out.get("ask"):
            bid, ask = Decimal(out["bid"]), Decimal(out["ask"])
            out["spread"], out["mid"] = plain(ask - bid), plain((ask + bid) / 2)
        out["received_ms"] = self.received_ms
        return out


class MarketFeed(MarketCache):
    """A single process's market resource: :class:`MarketCache` on ``venue``'s streams, primed over REST on its first
    read of a cold symbol, a book read from the adapter's local book while its stream runs."""

    def __init__(self, kind: str, venue: Venue, symbol: str, hub: StreamHub, linger_s: float) -> None:
        super().__init__(kind, venue.name, symbol, hub, linger_s)
        self.venue = venue
        self.feed.on_started = self.prime

    async def prime(self) -> None:
        """Fill what is still missing over REST (the first read of a cold symbol)."""
        adapter = self.venue.adapter
        if self.kind == "book":
            if "bids" not in self.data and adapter.local_book(self.symbol, BOOK_LEVELS) is None:
                book = await adapter.order_book(self.symbol, BOOK_LEVELS)
                if "bids" not in self.data:
                    self.data = book_json(book, BOOK_LEVELS)
                    self.received_ms = _now_ms()
                    self.changed()
            return
        if "bid" not in self.data:
            t = await adapter.book_ticker(self.symbol)
            if "bid" not in self.data:
                self.data.update(bid=str(t.bid), bid_qty=str(t.bid_qty), ask=str(t.ask), ask_qty=str(t.ask_qty))
                self.data["time_ms"] = t.time_ms
        if "last_price" not in self.data:
            price = await adapter.price(self.symbol)
            if "last_price" not in self.data:
                self.data.update(last_price=str(price), last_qty=None, last_trade_time_ms=None)
        self.received_ms = _now_ms()
        self.changed()

    def read(self) -> dict[str, Any]:
        if self.kind == "book" and self.feed.active and self.feed.error is None:
            local = self.venue.adapter.local_book(self.symbol, BOOK_LEVELS)
            if local is not None:
                self.data, self.received_ms = book_json(local, BOOK_LEVELS), _now_ms()
        return super().read()


class LiveResources:
    """Every live resource of ``venues``, registered on an app by :meth:`register`."""

    def __init__(self, hub: StreamHub, venues: Venues, accounts: dict[str, AccountCache], linger_s: float = 30.0):
        self.hub = hub
        self.venues = venues
        self.accounts = accounts
        self.linger_s = linger_s
        self.markets: dict[tuple[str, str, str], MarketFeed] = {}

    # ---------------------------------------------------------------- uris
    def _parse(self, uri: str, scheme: str) -> tuple[Venue, str]:
        """``scheme://exchange/rest`` → (venue, rest). Raises JsonRpcError -32002 when malformed or unknown."""
        body = uri[len(scheme) + 3 :]
        exchange, sep, rest = body.partition("/")
        if not sep or not rest or "/" in rest:
            raise not_found(uri, f"use {scheme}://<exchange>/<name>")
        venue = self.venues.by_name.get(exchange.lower())
        if venue is None:
            raise not_found(uri, f"exchange {exchange!r} is not configured; available: {self.venues.names}")
        return venue, rest

    def market(self, uri: str) -> MarketFeed:
        """The cache serving ``ticker://`` or ``book://`` ``uri`` (created on first use)."""
        kind = uri.split("://", 1)[0]
        venue, symbol = self._parse(uri, kind)
        if not SYMBOL_RE.fullmatch(symbol):
            raise not_found(uri, f"{symbol!r} is not a symbol (letters and digits, e.g. BTCUSDT)")
        key = (kind, venue.name, symbol.upper())
        feed = self.markets.get(key)
        if feed is None:
            feed = self.markets[key] = MarketFeed(kind, venue, symbol.upper(), self.hub, self.linger_s)
        return feed

    def account(self, uri: str, scheme: str, name: str) -> AccountCache:
        venue, rest = self._parse(uri, scheme)
        if rest != name:
            raise not_found(uri, f"use {scheme}://{venue.name}/{name}")
        return self.accounts[venue.name]

    # ---------------------------------------------------------------- readers
    def read_market(self, uri: str) -> dict[str, Any]:
        feed = self.market(uri)
        feed.feed.touch()
        return feed.read()

    def read_balances(self, uri: str) -> dict[str, Any]:
        cache = self.account(uri, "account", "balances")
        state = cache.state
        balances = [balance_json(b) for _, b in sorted(state.balances.items())]
        out: dict[str, Any] = {"exchange": cache.venue.name, "status": _account_status(cache), "balances": balances}
        out["update_time_ms"] = state.updated_ms
        if cache.error:
            out["message"] = cache.error
        return out

    def read_open_orders(self, uri: str) -> dict[str, Any]:
        cache = self.account(uri, "orders", "open")
        orders = sorted(cache.state.open_orders.values(), key=lambda o: (o.time_ms, str(o.order_id)))
        out = {
            "exchange": cache.venue.name,
            "status": _account_status(cache),
            "orders": [order_json(o) for o in orders],
        }
        if cache.error:
            out["message"] = cache.error
        return out

    # ---------------------------------------------------------------- watches
    def watch_market(self, uri: str, changed: Callable[[], None]) -> Callable[[], None]:
        feed = self.market(uri)
        feed.listeners.append(changed)
        feed.feed.watch()

        def stop() -> None:
            feed.listeners.remove(changed)
            if not feed.listeners:
                feed.feed.unwatch()

        return stop

    def watch_balances(self, uri: str, changed: Callable[[], None]) -> Callable[[], None]:
        return self.account(uri, "account", "balances").add_listener(changed)

    def watch_open_orders(self, uri: str, changed: Callable[[], None]) -> Callable[[], None]:
        return self.account(uri, "orders", "open").add_listener(changed)

    def register(self, app: McpApp) -> None:
        """Add the templates (and each venue's concrete account resources, for ``resources/list``) to ``app``."""
        for scheme, what in (("ticker", "best bid/ask, spread, mid and last trade"), ("book", "top 10 order book")):
            app.add_template(
                ResourceTemplate(
                    f"{scheme}://{{exchange}}/{{symbol}}",
                    f"{scheme}",
                    self.read_market,
                    f"Live {what} of a symbol (e.g. {scheme}://{self.venues.default}/BTCUSDT); subscribe to be "
                    "notified when it changes.",
                    watch=self.watch_market,
                )
            )
        account = (
            ("account", "balances", "balances", "Balances (free/locked per asset)", self.read_balances),
            ("orders", "open", "open_orders", "Open orders", self.read_open_orders),
        )
        watches = {"balances": self.watch_balances, "open": self.watch_open_orders}
        for scheme, name, title, what, read in account:
            app.add_template(
                ResourceTemplate(
                    f"{scheme}://{{exchange}}/{name}",
                    title,
                    read,
                    f"{what} of the account; subscribe to be notified when they change.",
                    watch=watches[name],
                )
            )
            for venue in self.venues:
                app.add_resource(
                    Resource(
                        f"{scheme}://{venue.name}/{name}",
                        f"{venue.name} {title}",
                        read,
                        f"{what} of the {venue.name} account ({venue.mode}).",
                        watch=watches[name],
                    )
                )


def _account_status(cache: AccountCache) -> str:
    return "live" if cache.state.seeded else "loading"
