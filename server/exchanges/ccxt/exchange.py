"""The ccxt object behind a CCXT venue: ``ccxt.pro.<id>`` (ccxt's async REST class with the watch methods) with the
credentials, sandbox mode and endpoints of a :class:`~tradingmcp.server.exchanges.ccxt.config.CcxtConfig`.

Sandbox mode (``set_sandbox_mode(True)``, https://docs.ccxt.com/#/README?id=testnets-and-sandbox-environments) is
used by default where the exchange has one (a ``"test"`` table in ``exchange.urls``). An exchange without one trades real
funds, so it is built only with ``allow_live`` or with its endpoints redirected (:func:`redirect_urls`: the
simulator). When redirecting a sandboxed exchange, the endpoint groups the sandbox table lacks (Binance's ``sapi``
wallet paths) are kept from the live table, so every call ccxt may make goes to the redirected host.
"""

from __future__ import annotations

from typing import Any

from tradingmcp.server.exchanges.ccxt.config import CcxtConfig, redirect_urls
from tradingmcp.server.exchanges.errors import NotSupported

__all__ = ["BuiltExchange", "build_exchange", "ccxt_available", "exchange_ids"]


class BuiltExchange:
    """A configured ccxt.pro exchange and how it was set up.

    Attributes:
        exchange: the ccxt.pro object (``Any``: ccxt ships no type information).
        sandbox: True when sandbox mode is on.
        live: True when it reaches the real exchange with real funds (no sandbox, no redirection).
    """

    def __init__(self, exchange: Any, sandbox: bool, live: bool) -> None:
        self.exchange = exchange
        self.sandbox = sandbox
        self.live = live


def ccxt_available() -> bool:
    """True when the optional ``ccxt`` package is installed."""
    try:
        import ccxt.pro  # noqa: F401
    except ImportError:
        return False
    return True


def exchange_ids() -> list[str]:
    """The exchange ids ccxt.pro offers (empty without ccxt)."""
    if not ccxt_available():
        return []
    import ccxt.pro

    return list(ccxt.pro.exchanges)


def build_exchange(config: CcxtConfig) -> BuiltExchange:
    """The ccxt.pro exchange of ``config`` (see the module docstring); no network I/O.

    Raises:
        NotSupported: ccxt is not installed, ccxt has no such exchange (or no WebSocket class for it), or it would
            trade real funds without ``allow_live``.
    """
    if not ccxt_available():
        raise NotSupported("the CCXT venue needs the optional ccxt package: pip install 'tradingmcp[ccxt]'")
    import ccxt.pro

    cls = getattr(ccxt.pro, config.exchange_id, None)
    if cls is None or config.exchange_id not in ccxt.pro.exchanges:
        raise NotSupported(
            f"ccxt has no exchange {config.exchange_id!r} with WebSocket support (ccxt.pro); see ccxt.pro.exchanges",
            exchange=config.exchange_id,
        )
    settings: dict[str, Any] = {
        "enableRateLimit": True,
        "timeout": int(config.request_timeout_s * 1000),
        "options": {"warnOnFetchOpenOrdersWithoutSymbol": False, **config.options},
    }
    if config.api_key:
        settings["apiKey"] = config.api_key
    if config.secret:
        settings["secret"] = config.secret
    if config.password:
        settings["password"] = config.password
    exchange = cls(settings)
    sandbox = bool(config.sandbox and exchange.urls.get("test"))
    if sandbox:
        exchange.set_sandbox_mode(True)
    live = not sandbox and not config.redirected
    if live and not config.allow_live:
        raise NotSupported(
            f"{config.exchange_id} has no sandbox in ccxt: it would trade REAL funds; set allow_live to use it live",
            exchange=config.exchange_id,
        )
    if config.redirected:
        api = exchange.urls["api"]
        if sandbox and isinstance(api, dict) and isinstance(exchange.urls.get("apiBackup"), dict):
            api = {**exchange.urls["apiBackup"], **api}
        exchange.urls["api"] = redirect_urls(api, config.rest_url, config.ws_url)
    return BuiltExchange(exchange, sandbox, live)
