"""The live resources of a bus gateway, in the shapes of :mod:`tradingmcp.server.tools.live.resources`, served from the gateway's own streams (the bus, read by
:class:`~tradingmcp.server.bus.gateway.BusStreams`): a ticker from ``book_ticker:`` + ``trades:<exchange>:<SYMBOL>``,
a book from ``book:<exchange>:<SYMBOL>`` (each message is the whole top 10 with its ``last_update_id``).

``resources/read`` is synchronous, so each resource is a small cache fed by an internal subscriber of those streams
(:class:`~tradingmcp.server.tools.live.feeds.Feed`), kept while the resource has subscribers (``resources/subscribe``
or ``subscriptions/listen``) and for ``linger_s`` after each read. A gateway has no exchange connection to prime a cold
cache with, so the first read of a symbol answers ``status: "loading"`` until its first message comes over the bus
(read again a moment later, or subscribe); then ``"live"``, and ``"last_known"`` once the subscription has ended.
Every change calls the resource's watchers (``notifications/resources/updated``, rate-limited per client by the
engine).

Market: ``ticker://{exchange}/{symbol}`` and ``book://{exchange}/{symbol}`` (:class:`BusMarketResources`).

Account: ``orders://{exchange}/open`` and ``account://{exchange}/balances`` (:class:`BusAccountResources`): the
account caches live in the venue's active trader, so the gateway keeps the trader's last answer
(:func:`~tradingmcp.server.bus.subjects.resource_subject`), asked again whenever an event of the account's stream
(``orders:<exchange>``, ``balances:<exchange>``) comes over the bus while the resource is watched or read. The first
read answers ``status: "loading"`` while that answer is on its way; a trader that cannot be reached leaves the last
answer with a ``message`` saying so.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import nats
import orjson

from tradingmcp.server.bus.conn import BusLink
from tradingmcp.server.bus.subjects import resource_subject
from tradingmcp.server.mcp.registry import McpApp, Resource, ResourceTemplate
from tradingmcp.server.mcp.streams import StreamHub
from tradingmcp.server.tools.live.feeds import Feed
from tradingmcp.server.tools.live.resources import MarketCache, not_found
from tradingmcp.server.tools.market.args import SYMBOL_RE

LINGER_S = 30.0
"""How long a read keeps a resource's streams subscribed (s)."""


class BusMarketResources:
    """``ticker://`` and ``book://`` of ``venues`` (names) from ``hub``; :meth:`register` adds them to an app."""

    def __init__(self, hub: StreamHub, venues: list[str], linger_s: float = LINGER_S) -> None:
        self.hub = hub
        self.venues = venues
        self.linger_s = linger_s
        self.markets: dict[tuple[str, str, str], MarketCache] = {}

    def market(self, uri: str) -> MarketCache:
        """The cache serving ``uri`` (created on first use).

        Raises:
            JsonRpcError: -32002 for a malformed uri, an exchange the gateway does not serve or a bad symbol.
        """
        kind, _, body = uri.partition("://")
        exchange, sep, symbol = body.partition("/")
        if not sep or not symbol or "/" in symbol:
            raise not_found(uri, f"use {kind}://<exchange>/<SYMBOL>")
        exchange = exchange.lower()
        if exchange not in self.venues:
            raise not_found(uri, f"exchange {exchange!r} is not served here; available: {self.venues}")
        if not SYMBOL_RE.fullmatch(symbol):
            raise not_found(uri, f"{symbol!r} is not a symbol (letters and digits, e.g. BTCUSDT)")
        key = (kind, exchange, symbol.upper())
        market = self.markets.get(key)
        if market is None:
            market = self.markets[key] = MarketCache(kind, exchange, symbol.upper(), self.hub, self.linger_s)
        return market

    def read(self, uri: str) -> dict[str, Any]:
        market = self.market(uri)
        market.feed.touch()
        return market.read()

    def watch(self, uri: str, changed: Callable[[], None]) -> Callable[[], None]:
        market = self.market(uri)
        market.listeners.append(changed)
        market.feed.watch()

        def stop() -> None:
            market.listeners.remove(changed)
            if not market.listeners:
                market.feed.unwatch()

        return stop

    def register(self, app: McpApp) -> None:
        example = self.venues[0] if self.venues else "binance"
        for scheme, what in (("ticker", "best bid/ask, spread, mid and last trade"), ("book", "top 10 order book")):
            app.add_template(
                ResourceTemplate(
                    f"{scheme}://{{exchange}}/{{symbol}}",
                    scheme,
                    self.read,
                    f"Live {what} of a symbol (e.g. {scheme}://{example}/BTCUSDT), from the deployment's market "
                    "feed; subscribe to be notified when it changes.",
                    watch=self.watch,
                )
            )

    def close(self) -> None:
        """Stop every resource's internal subscription (shutdown)."""
        for market in self.markets.values():
            market.feed.close()


ACCOUNT_RESOURCES = (
    ("orders", "open", "orders", "Open orders"),
    ("account", "balances", "balances", "Balances (free/locked per asset)"),
)
"""``(scheme, name, account stream kind, what)`` of each account resource."""


class BusAccount:
    """The gateway's copy of one account resource ``uri`` of ``exchange``'s trader, asked again on each event of
    ``stream_key``."""

    def __init__(
        self, uri: str, exchange: str, stream_key: str, link: BusLink, hub: StreamHub, linger_s: float, timeout_s: float
    ) -> None:
        self.uri = uri
        self.exchange = exchange
        self.link = link
        self.timeout_s = timeout_s
        self.value: dict[str, Any] | None = None
        self.error: str | None = None
        self.listeners: list[Callable[[], None]] = []
        self.feed = Feed(hub, (stream_key,), self.on_event, linger_s)
        self.feed.on_started = self.fetch
        self._task: asyncio.Task[None] | None = None
        self._again = False

    def on_event(self, key: str, data: Any) -> None:
        self.refresh()

    def refresh(self) -> None:
        """Ask the trader again (one request at a time; events during it ask once more after it)."""
        if self._task is not None and not self._task.done():
            self._again = True
            return
        self._task = asyncio.get_running_loop().create_task(self._refresh())

    async def _refresh(self) -> None:
        self._again = True
        while self._again:
            self._again = False
            await self.fetch()

    async def fetch(self) -> None:
        """One read of the trader's resource; the watchers are told when the answer differs."""
        try:
            reply = await self.link.nc.request(
                resource_subject(self.exchange), orjson.dumps({"uri": self.uri}), self.timeout_s
            )
            doc = orjson.loads(reply.data)
        except (nats.errors.Error, TimeoutError) as exc:
            self.error = f"the {self.exchange} trader did not answer ({type(exc).__name__}); this is its last answer"
            return
        except orjson.JSONDecodeError:
            self.link.drop("rpc", resource_subject(self.exchange), "a resource answer that is not JSON")
            return
        value = doc.get("value") if isinstance(doc, dict) else None
        if not isinstance(value, dict):
            err = doc.get("rpc_error") if isinstance(doc, dict) else None
            self.error = str(err.get("message")) if isinstance(err, dict) else "the trader's answer had no value"
            return
        self.error = None
        if value != self.value:
            self.value = value
            for listener in list(self.listeners):
                listener()

    def read(self) -> dict[str, Any]:
        self.feed.touch()
        if self.value is None:
            self.refresh()
            out: dict[str, Any] = {"exchange": self.exchange, "status": "loading"}
            out["message"] = self.error or "asking the trader: read again in a moment, or subscribe to this resource"
            return out
        out = dict(self.value)
        if not self.feed.active:
            out["status"] = "last_known"
        if self.error:
            out["message"] = self.error
        return out

    async def aclose(self) -> None:
        self.feed.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


class BusAccountResources:
    """``orders://<exchange>/open`` and ``account://<exchange>/balances`` of ``venues`` (names) through the traders;
    :meth:`register` adds them to an app."""

    def __init__(
        self, link: BusLink, hub: StreamHub, venues: list[str], timeout_s: float, linger_s: float = LINGER_S
    ) -> None:
        self.accounts: dict[str, BusAccount] = {}
        for venue in venues:
            for scheme, name, kind, _ in ACCOUNT_RESOURCES:
                uri = f"{scheme}://{venue}/{name}"
                self.accounts[uri] = BusAccount(uri, venue, f"{kind}:{venue}", link, hub, linger_s, timeout_s)

    def account(self, uri: str) -> BusAccount:
        """Raises: JsonRpcError: -32002 for a uri no trader of this deployment serves."""
        account = self.accounts.get(uri)
        if account is None:
            raise not_found(uri, f"available: {sorted(self.accounts)}")
        return account

    def read(self, uri: str) -> dict[str, Any]:
        return self.account(uri).read()

    def watch(self, uri: str, changed: Callable[[], None]) -> Callable[[], None]:
        account = self.account(uri)
        account.listeners.append(changed)
        account.feed.watch()

        def stop() -> None:
            account.listeners.remove(changed)
            if not account.listeners:
                account.feed.unwatch()

        return stop

    def register(self, app: McpApp) -> None:
        for scheme, name, _, what in ACCOUNT_RESOURCES:
            title = "open_orders" if name == "open" else name
            app.add_template(
                ResourceTemplate(
                    f"{scheme}://{{exchange}}/{name}",
                    title,
                    self.read,
                    f"{what} of the account (from its trader); subscribe to be notified when they change.",
                    watch=self.watch,
                )
            )
        for uri, account in self.accounts.items():
            scheme = uri.split("://", 1)[0]
            what = next(w for s, _, _, w in ACCOUNT_RESOURCES if s == scheme)
            app.add_resource(
                Resource(
                    uri,
                    f"{account.exchange} {uri.rsplit('/', 1)[1]}",
                    self.read,
                    f"{what} of the {account.exchange} account.",
                    watch=self.watch,
                )
            )

    async def aclose(self) -> None:
        for account in self.accounts.values():
            await account.aclose()
