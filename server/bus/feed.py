"""The *feed* role: the venues' market-data connections and books, published on the bus on demand.

A gateway asks for a stream key on :data:`~tradingmcp.server.bus.subjects.FEED_WANT` (a request, answered
``{"ok": true, "epoch": str, "seq": int}`` (the key's numbering and newest ``seq``) or ``{"error": {"code",
"message"}}`` with the market bridge's own refusal, e.g. an unlisted symbol);
from then on every message of the key is published on its subject for as long as the feed runs. Gateways repeat
their wants from time to time, so a restarted feed picks up what is wanted. A ``book:`` message is always the whole
top N of the local book with its ``last_update_id``: any one message rebuilds the book.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from nats.aio.msg import Msg

from tradingmcp.server.bus.conn import BusLink
from tradingmcp.server.bus.publisher import BusPublisher, PublishingHub
from tradingmcp.server.bus.subjects import ACCOUNT_KINDS, FEED_WANT
from tradingmcp.server.tools.market.streams import MarketBridge
from tradingmcp.server.venues import Venues
from tradingmcp.transport.jsonrpc import ErrorCode, JsonRpcError

log = logging.getLogger("tradingmcp.server.bus.feed")


class Feed:
    """``Feed(link, hub, bridges)`` publishes the market sources of ``hub`` (fed by ``bridges``, which it starts and
    closes); :meth:`for_venues` makes both for ``venues``. ``await start()`` (adapters already started) …
    ``await close()``. In a process that is also the trader, the feed shares the trader's hub, whose bridges the
    toolset runs (one market-event consumer per adapter)."""

    def __init__(self, link: BusLink, hub: PublishingHub, bridges: list[MarketBridge]) -> None:
        self.link = link
        self.hub = hub
        self.publisher = hub.publisher
        self.bridges = bridges
        self.wants = 0

    @classmethod
    def for_venues(cls, link: BusLink, venues: Venues) -> Feed:
        hub = PublishingHub(BusPublisher(link))
        return cls(link, hub, [MarketBridge(v.name, v.adapter, hub, v.tickers) for v in venues])

    async def start(self) -> None:
        await self.link.ensure_streams()
        self.publisher.start()
        for bridge in self.bridges:
            await bridge.start()
        await self.link.nc.subscribe(FEED_WANT, cb=self._on_want)

    async def want(self, key: str) -> None:
        """Publish ``key`` from now on (idempotent).

        Raises:
            JsonRpcError: an account key or one the market bridge refuses (-32602), or its source failed (-32603).
        """
        if key.split(":", 1)[0] in ACCOUNT_KINDS:
            raise JsonRpcError(ErrorCode.INVALID_PARAMS, f"{key[:80]!r} is an account stream: the trader publishes it")
        try:
            if await self.hub.hold(key):
                log.info("feed: publishing %s", key)
        except ValueError as exc:
            raise JsonRpcError(ErrorCode.INVALID_PARAMS, str(exc)) from None

    async def _on_want(self, msg: Msg) -> None:
        self.wants += 1
        try:
            doc = orjson.loads(msg.data)
            key = doc["stream"]
            if not isinstance(key, str) or len(key) > 128:
                raise TypeError("stream is not a string of at most 128 characters")
        except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
            self.link.drop("rpc", msg.subject, f"bad want: {exc}")
            await self._reply(msg, {"error": {"code": ErrorCode.INVALID_PARAMS, "message": f"bad want: {exc}"}})
            return
        try:
            await self.want(key)
        except JsonRpcError as exc:
            await self._reply(msg, {"error": {"code": int(exc.code), "message": exc.message}})
            return
        pub = self.publisher
        await self._reply(msg, {"ok": True, "epoch": pub.epochs.get(key), "seq": pub.seqs.get(key, 0)})

    async def _reply(self, msg: Msg, body: dict[str, Any]) -> None:
        if msg.reply:
            await msg.respond(orjson.dumps(body))

    async def close(self) -> None:
        for bridge in self.bridges:
            await bridge.close()
        await self.publisher.close()
