"""Configuration of a CCXT venue: which ccxt exchange, its credentials, sandbox or live, and where its endpoints are.

ccxt keeps every endpoint of an exchange in ``exchange.urls["api"]`` (a tree of URL strings; sandbox mode swaps in
``urls["test"]``, https://docs.ccxt.com/#/README?id=testnets-and-sandbox-environments). :func:`redirect_urls` points
every one of them at another host, keeping the paths: how a CCXT venue reaches the simulator's Binance and MEXC faces
(or a proxy).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

__all__ = ["CCXT_PREFIX", "EXCHANGE_ID", "CcxtConfig", "ccxt_id", "redirect_urls"]

EXCHANGE_ID = re.compile(r"^[a-z][a-z0-9]{1,31}$")
"""What a ccxt exchange id looks like (``binance``, ``okx``, ``gateio``): lower-case letters and digits."""
CCXT_PREFIX = "ccxt:"
"""How a command line names a CCXT venue: ``ccxt:<id>``."""


def ccxt_id(exchange: str) -> str | None:
    """The ccxt id of ``ccxt:<id>`` (lower-cased), None for any other value.

    Raises:
        ValueError: ``ccxt:`` followed by something that is not a ccxt id.
    """
    if not exchange.lower().startswith(CCXT_PREFIX):
        return None
    found = exchange[len(CCXT_PREFIX) :].lower()
    if not EXCHANGE_ID.fullmatch(found):
        raise ValueError(f"ccxt:<id> needs a ccxt exchange id (like ccxt:okx), got {exchange!r}")
    return found


@dataclass(frozen=True, slots=True)
class CcxtConfig:
    """Settings of one CCXT venue.

    Attributes:
        exchange_id: the ccxt id (``binance``, ``mexc``, ``okx``...).
        api_key / secret / password: credentials (ccxt ``apiKey``/``secret``/``password``); ``secret`` and
            ``password`` never shown by ``repr``. Empty: public data only.
        sandbox: use the exchange's sandbox (testnet) URLs; an exchange without one is live unless redirected.
        allow_live: allow a venue that trades real funds (no sandbox and no redirection); refused otherwise.
        rest_url / ws_url: redirect every REST (http/https) and WebSocket (ws/wss) URL of the exchange to this base
            (``http://127.0.0.1:PORT``), keeping the paths (:func:`redirect_urls`); None keeps ccxt's URLs.
        options: extra ccxt ``options`` (merged over ccxt's defaults).
        request_timeout_s: ccxt's ``timeout`` of one REST request.
        event_queue_size: market/user events buffered for a slow consumer before the oldest are dropped.
        client_order_prefix: prefix of generated client order ids.
        account_symbols: symbols an account-wide open-orders query covers when the exchange needs a symbol.
        retry_delay_s / max_retry_delay_s: first and longest pause before a failed watch loop tries again.

    Raises:
        ValueError: a malformed ``exchange_id`` or non-positive timeouts.
    """

    exchange_id: str
    api_key: str = ""
    secret: str = field(default="", repr=False)
    password: str = field(default="", repr=False)
    sandbox: bool = True
    allow_live: bool = False
    rest_url: str | None = None
    ws_url: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    request_timeout_s: float = 10.0
    event_queue_size: int = 10_000
    client_order_prefix: str = "tmcp"
    account_symbols: tuple[str, ...] = ()
    retry_delay_s: float = 0.2
    max_retry_delay_s: float = 10.0

    def __post_init__(self) -> None:
        if not EXCHANGE_ID.fullmatch(self.exchange_id):
            raise ValueError(f"exchange_id must match {EXCHANGE_ID.pattern}, got {self.exchange_id!r}")
        if self.request_timeout_s <= 0 or self.retry_delay_s <= 0 or self.max_retry_delay_s <= 0:
            raise ValueError("request_timeout_s, retry_delay_s and max_retry_delay_s must be > 0")
        if len(self.client_order_prefix) > 8:
            raise ValueError("client_order_prefix must be at most 8 characters")

    @property
    def has_credentials(self) -> bool:
        """True when an API key and secret are set (private calls usable)."""
        return bool(self.api_key and self.secret)

    @property
    def redirected(self) -> bool:
        """True when the endpoints are pointed elsewhere (:attr:`rest_url` or :attr:`ws_url`)."""
        return self.rest_url is not None or self.ws_url is not None


def redirect_urls(node: Any, rest_url: str | None, ws_url: str | None) -> Any:
    """A copy of ccxt's URL tree ``node`` with the scheme and host of each URL replaced.

    Args:
        node: ``exchange.urls["api"]`` (nested dicts of URL strings) or one URL.
        rest_url: base (``http://127.0.0.1:PORT``) for http/https URLs; None leaves them.
        ws_url: base (``ws://127.0.0.1:PORT``) for ws/wss URLs; None leaves them.

    Returns:
        The same shape; paths, queries and anything that is not a URL unchanged (``https://x.com/api/v3`` →
        ``http://127.0.0.1:PORT/api/v3``).
    """
    if isinstance(node, Mapping):
        return {k: redirect_urls(v, rest_url, ws_url) for k, v in node.items()}
    if not isinstance(node, str) or "://" not in node:
        return node
    parts = urlsplit(node)
    base = ws_url if parts.scheme in ("ws", "wss") else rest_url
    if base is None:
        return node
    to = urlsplit(base)
    return urlunsplit((to.scheme, to.netloc, to.path.rstrip("/") + parts.path, parts.query, parts.fragment))
