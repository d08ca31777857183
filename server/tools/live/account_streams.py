"""Account push streams ``orders:<exchange>[:SYMBOL]`` and ``balances:<exchange>``, fed by the venue's account events.

Every :class:`~tradingmcp.server.exchanges.models.OrderEvent` of the account (Binance ``executionReport``) is pushed on
``orders:<exchange>`` and on ``orders:<exchange>:<SYMBOL>`` (symbol case-insensitive) as
:func:`~tradingmcp.server.tools.shapes.order_event_json`; every
:class:`~tradingmcp.server.exchanges.models.BalanceEvent` (``outboundAccountPosition`` / ``balanceUpdate``) on
``balances:<exchange>`` as :func:`~tradingmcp.server.tools.shapes.balance_event_json`. Both are lossless
(``conflate=False``: a slow client gets every fill, in order) with the hub's per-stream ``seq`` (+1 per message, no
gaps).

Wire (``notifications/tradingmcp/stream``)::

    {"stream": "orders:binance", "seq": 7, "data": {"event": "order", "execution_type": "TRADE", "event_time_ms": ..,
     "reject_reason": "NONE", "order": {order_json}, "fill": {fill_json} | null}}
    {"stream": "balances:binance", "seq": 3, "data": {"event": "balance", "event_time_ms": .., "balances":
     [{asset, free, locked, total}], "delta_asset": null, "delta": null}}

The venue's user data stream is always open (the :class:`~tradingmcp.server.venues.UserEventBus`), so subscribing
starts nothing upstream; an event is rendered only when someone subscribes to one of its streams.
"""

from __future__ import annotations

from tradingmcp.server.exchanges.models import BalanceEvent, OrderEvent, UserEvent
from tradingmcp.server.mcp.streams import StreamHub, StreamSource
from tradingmcp.server.tools.market.args import SYMBOL_RE, listed_symbol
from tradingmcp.server.tools.shapes import balance_event_json, order_event_json
from tradingmcp.server.venues import Venue
from tradingmcp.transport.jsonrpc import ErrorCode, JsonRpcError


class AccountStreams:
    """The ``orders:`` and ``balances:`` stream sources of one venue (registered on ``hub`` at construction).

    Args:
        venue: the venue whose account events are pushed (its ``user`` bus is listened to from now on).
        hub: the server's stream hub.
    """

    def __init__(self, venue: Venue, hub: StreamHub) -> None:
        self.venue = venue
        self.hub = hub
        name = venue.name
        self.orders_key = f"orders:{name}"
        self.balances_key = f"balances:{name}"
        self.published = 0
        self._symbol_keys: dict[str, set[str]] = {}  # SYMBOL -> subscribed orders:<exchange>:<symbol> keys
        hub.add_source(
            StreamSource(
                self.orders_key,
                f"every order update of the {name} account (lossless); orders:{name}:SYMBOL for one symbol",
                self._start_orders,
                self._stop_orders,
                conflates=False,
            )
        )
        hub.add_source(
            StreamSource(
                self.balances_key,
                f"every balance update of the {name} account (lossless)",
                self._check_balances_key,
                _nothing,
                conflates=False,
            )
        )
        self.remove_listener = venue.user.add_listener(self.on_event)

    def _symbol_of(self, key: str) -> str | None:
        """The upper-cased SYMBOL of ``orders:<exchange>:SYMBOL`` (None for the whole account).

        Raises:
            JsonRpcError: -32602 on a malformed key.
        """
        parts = key.split(":")
        if len(parts) == 2:
            return None
        if len(parts) == 3 and SYMBOL_RE.fullmatch(parts[2]):
            return parts[2].upper()
        raise JsonRpcError(
            ErrorCode.INVALID_PARAMS,
            f"bad stream key {key!r}: use {self.orders_key} or {self.orders_key}:SYMBOL (e.g. BTCUSDT)",
        )

    async def _start_orders(self, key: str) -> None:
        symbol = self._symbol_of(key)
        if symbol is not None:
            await listed_symbol(self.venue.adapter, self.venue.name, key, symbol)
            self._symbol_keys.setdefault(symbol, set()).add(key)

    def _stop_orders(self, key: str) -> None:
        symbol = self._symbol_of(key)
        keys = self._symbol_keys.get(symbol) if symbol is not None else None
        if keys is not None and symbol is not None:
            keys.discard(key)
            if not keys:
                del self._symbol_keys[symbol]

    def _check_balances_key(self, key: str) -> None:
        if key != self.balances_key:
            raise JsonRpcError(ErrorCode.INVALID_PARAMS, f"bad stream key {key!r}: use {self.balances_key}")

    def on_event(self, ev: UserEvent) -> None:
        """Publish one account event on its streams (a :class:`UserEventBus` listener; sync, never blocks)."""
        hub = self.hub
        if isinstance(ev, OrderEvent):
            symbol_keys = self._symbol_keys.get(ev.order.symbol, ())
            if hub.subscriber_count(self.orders_key) or symbol_keys:
                data = order_event_json(ev)
                hub.publish(self.orders_key, data, conflate=False)
                for key in symbol_keys:
                    hub.publish(key, data, conflate=False)
                self.published += 1
        elif isinstance(ev, BalanceEvent) and hub.subscriber_count(self.balances_key):
            hub.publish(self.balances_key, balance_event_json(ev), conflate=False)
            self.published += 1


def _nothing(key: str) -> None:
    """Start/stop of an account stream: the user data stream is always open, nothing to do."""
