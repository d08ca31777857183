"""Webhooks on the MCP port's plain-HTTP side: alerts from outside (TradingView) turned into push-stream signals or
guarded orders.

* :mod:`.config`: ``[webhooks.tradingview]`` of the server's config file, environment overrides;
* :mod:`.alerts`: sans-I/O: an alert's body checked (JSON, shared secret in constant time, fields), the duplicate
  window, the client order id derived from an alert id;
* :mod:`.hook`: ``POST /webhooks/tradingview``, the aiohttp shell (stream publish, the trading desk or a gateway's
  trader, the audit log; :data:`~.hook.ORDER_STATUS`, the HTTP status of an order that was not placed).

:func:`webhook_routes` is what ``app/serve.py`` mounts; :data:`OPEN_PATHS` the paths the port's guard lets through
without a bearer token (the alert authenticates by its secret).
"""

from __future__ import annotations

from aiohttp import web

from tradingmcp.server.mcp.streams import StreamHub
from tradingmcp.server.webhooks.config import PATH, TradingViewConfig
from tradingmcp.server.webhooks.hook import (
    ORDER_STATUS,
    BackendGetter,
    HookBackend,
    OrderPlace,
    SignalNotPublished,
    SignalPublish,
    TradingViewHook,
    order_status,
)

OPEN_PATHS = frozenset({PATH})
"""Answered without a bearer token: the webhook checks its own shared secret."""


def webhook_routes(
    config: TradingViewConfig,
    hub: StreamHub,
    backend: BackendGetter,
    signal_publish: SignalPublish | None = None,
    order_place: OrderPlace | None = None,
) -> list[web.RouteDef]:
    """The webhook's route when ``config`` has a secret (none otherwise: the path answers 404); ``signal_publish``:
    a gateway's signals go to the bus (:data:`~.hook.SignalPublish`); ``order_place``: a gateway's orders go to the
    trader (:data:`~.hook.OrderPlace`)."""
    if not config.enabled:
        return []
    hook = TradingViewHook(config, hub, backend, signal_publish=signal_publish, order_place=order_place)
    return hook.routes()


__all__ = [
    "OPEN_PATHS",
    "ORDER_STATUS",
    "PATH",
    "BackendGetter",
    "HookBackend",
    "OrderPlace",
    "SignalNotPublished",
    "SignalPublish",
    "TradingViewConfig",
    "TradingViewHook",
    "order_status",
    "webhook_routes",
]
