"""The HTTP face of a bus gateway (``serve --bus … --role gateway``) beside ``/mcp``: the web console and the
TradingView webhook's ``signal`` action.

The console's page is an MCP client of the gateway: its panels call the tools the gateway forwards to the trader
(status, balances, P&L, open orders, audit log, kill switch) and subscribe to the streams the gateway reads from the
bus. A signal posted to one gateway is stored on the bus (:class:`~tradingmcp.server.bus.signals.SignalWriter`) and
reaches the ``signals:<name>`` subscribers of every gateway. A webhook ``order`` action is not served by a gateway
(:data:`GATEWAY_ORDER_HOOK`): the one order path of a deployment is the trader's, through ``place_order``.

A gateway has no audit log of its own (the trader's audits the forwarded tool calls), so its webhook requests are
logged, not audited. The routes are made before the bus link exists (the port is bound first), so the signal writer is set once the
gateway is connected; until then a signal is answered 503 ``bus_unavailable``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tradingmcp.server.console import OPEN_PATHS as CONSOLE_OPEN_PATHS
from tradingmcp.server.console import console_routes
from tradingmcp.server.mcp.streams import StreamHub
from tradingmcp.server.webhooks import OPEN_PATHS as WEBHOOK_OPEN_PATHS
from tradingmcp.server.webhooks import SignalNotPublished, TradingViewConfig, webhook_routes

if TYPE_CHECKING:  # nats-py (the extra "bus") is imported only when --bus is given
    from tradingmcp.server.bus.signals import SignalWriter

GATEWAY_OPEN_PATHS = CONSOLE_OPEN_PATHS | WEBHOOK_OPEN_PATHS
"""The paths of a gateway's face its guard answers without a token (the console's files, the webhook)."""
GATEWAY_ORDER_HOOK = (
    "[webhooks.tradingview] action 'order' is not served by a bus gateway (orders go through the trader's "
    "place_order); use action 'signal' there, or run the webhook on a single-process server"
)
"""The one-line refusal of a gateway configured with a webhook ``order`` action."""


class GatewayFace:
    """The console and webhook routes of one gateway; :attr:`signals` is set once the bus link is up."""

    def __init__(self) -> None:
        self.signals: SignalWriter | None = None

    def routes(self, hub: StreamHub, tradingview: TradingViewConfig | None) -> Sequence[web.AbstractRouteDef]:
        """The console's routes, and the webhook's when ``tradingview`` is given (its action must be ``signal``)."""
        routes: list[web.AbstractRouteDef] = list(console_routes())
        if tradingview is not None:
            routes += webhook_routes(tradingview, hub, lambda: None, signal_publish=self._publish)
        return routes

    async def _publish(self, key: str, data: Any) -> int:
        from tradingmcp.server.bus.signals import SignalNotStored

        if self.signals is None:
            raise SignalNotPublished("the gateway is not on the bus yet")
        try:
            return await self.signals.publish(key, data)
        except (SignalNotStored, ValueError) as exc:
            raise SignalNotPublished(str(exc)) from None
