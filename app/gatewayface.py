"""The HTTP face of a bus gateway (``serve --bus … --role gateway``) beside ``/mcp``: the web console and the
TradingView webhook (both actions).

The console's page is an MCP client of the gateway: its panels call the tools the gateway forwards to the trader
(status, balances, P&L, open orders, audit log, kill switch) and subscribe to the streams the gateway reads from the
bus. A signal posted to one gateway is stored on the bus (:class:`~tradingmcp.server.bus.signals.SignalWriter`) and
reaches the ``signals:<name>`` subscribers of every gateway. An order alert is the trader's ``place_order``, forwarded
as the gateway forwards its clients' calls (:meth:`~tradingmcp.server.bus.forward.TraderTools.call`) with the
webhook's principal and scopes: the one order path of a deployment stays the trader's (its desk, its checks, its
idempotency by the client order id derived from the alert id, so an alert posted to two gateways places one order).

A gateway has no audit log of its own: the trader's audits the forwarded ``place_order``; the gateway's webhook
requests are logged, not audited. The routes are made before the bus link exists (the port is bound first), so the
signal writer and the trader's tools are set once the gateway is connected; until then a signal is answered 503
``bus_unavailable`` and an order 503 ``trader_unavailable``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tradingmcp.server.console import OPEN_PATHS as CONSOLE_OPEN_PATHS
from tradingmcp.server.console import console_routes
from tradingmcp.server.mcp.registry import ToolError
from tradingmcp.server.mcp.streams import StreamHub
from tradingmcp.server.webhooks import OPEN_PATHS as WEBHOOK_OPEN_PATHS
from tradingmcp.server.webhooks import SignalNotPublished, TradingViewConfig, webhook_routes

if TYPE_CHECKING:  # nats-py (the extra "bus") is imported only when --bus is given
    from tradingmcp.server.bus.forward import TraderTools
    from tradingmcp.server.bus.signals import SignalWriter

GATEWAY_OPEN_PATHS = CONSOLE_OPEN_PATHS | WEBHOOK_OPEN_PATHS
"""The paths of a gateway's face its guard answers without a token (the console's files, the webhook)."""


FIND_TRADER_S = 2.0
"""How long an order alert looks for a trader that takes it (s): TradingView drops a webhook request it has no answer
to within 3 s, so an alert that finds none is answered 503 ``trader_unavailable`` before that (nothing sent)."""


class GatewayFace:
    """The console and webhook routes of one gateway; :attr:`signals` and :attr:`trader` are set once the bus link
    is up."""

    def __init__(self) -> None:
        self.signals: SignalWriter | None = None
        self.trader: TraderTools | None = None

    def routes(self, hub: StreamHub, tradingview: TradingViewConfig | None) -> Sequence[web.AbstractRouteDef]:
        """The console's routes, and the webhook's when ``tradingview`` is given."""
        routes: list[web.AbstractRouteDef] = list(console_routes())
        if tradingview is not None:
            routes += webhook_routes(
                tradingview, hub, lambda: None, signal_publish=self._publish, order_place=self._place
            )
        return routes

    async def _place(self, principal: str, scopes: tuple[str, ...], args: dict[str, Any]) -> dict[str, Any]:
        """An order alert's ``place_order`` on the trader (:data:`~tradingmcp.server.webhooks.OrderPlace`)."""
        if self.trader is None:
            raise ToolError("the gateway is not on the bus yet; nothing was sent", "trader_unavailable")
        result = await self.trader.call("place_order", args, principal, scopes, find_s=FIND_TRADER_S)
        doc = result.structured if isinstance(result.structured, dict) else {}
        if result.is_error:
            error = doc.get("error")
            err: dict[str, Any] = error if isinstance(error, dict) else {}
            details = {k: v for k, v in err.items() if k not in ("code", "message")}
            message = str(err.get("message") or result.text or "the trader refused the order")
            raise ToolError(message, str(err.get("code") or "error"), details)
        if not isinstance(doc.get("order"), dict):
            raise ToolError("the trader's place_order answer had no order", "trader_error")
        return doc

    async def _publish(self, key: str, data: Any) -> int:
        from tradingmcp.server.bus.signals import SignalNotStored

        if self.signals is None:
            raise SignalNotPublished("the gateway is not on the bus yet")
        try:
            return await self.signals.publish(key, data)
        except (SignalNotStored, ValueError) as exc:
            raise SignalNotPublished(str(exc)) from None
