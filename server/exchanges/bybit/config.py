"""Configuration of the Bybit V5 spot adapter.

API docs: https://bybit-exchange.github.io/docs/v5/guide (REST hosts), /v5/ws/connect (WebSocket hosts).
"""

from __future__ import annotations

from dataclasses import dataclass, field

BYBIT_TESTNET_REST_URL = "https://api-testnet.bybit.com"
"""Testnet REST base (paths are ``/v5/...``)."""
BYBIT_TESTNET_PUBLIC_WS_URL = "wss://stream-testnet.bybit.com/v5/public/spot"
BYBIT_TESTNET_PRIVATE_WS_URL = "wss://stream-testnet.bybit.com/v5/private"
BYBIT_TESTNET_TRADE_WS_URL = "wss://stream-testnet.bybit.com/v5/trade"
BYBIT_REST_URL = "https://api.bybit.com"
"""Mainnet REST base: real funds (only with ``allow_live``)."""
BYBIT_PUBLIC_WS_URL = "wss://stream.bybit.com/v5/public/spot"
BYBIT_PRIVATE_WS_URL = "wss://stream.bybit.com/v5/private"
BYBIT_TRADE_WS_URL = "wss://stream.bybit.com/v5/trade"

DEFAULT_RECV_WINDOW_MS = 5000
"""Bybit's default ``X-BAPI-RECV-WINDOW``."""
BOOK_DEPTHS = (50, 200, 1000)
"""Spot ``orderbook.{depth}`` topics that send deltas (depth 1 is snapshots only)."""


@dataclass(frozen=True, slots=True)
class BybitConfig:
    """Connection settings for Bybit spot (testnet by default, or the simulator's Bybit face).

    Attributes:
        api_key: the ``X-BAPI-API-KEY`` value; empty for public-only use.
        api_secret: the HMAC secret; never shown by ``repr``.
        testnet: True (default) for Bybit's testnet; False is mainnet and needs ``allow_live``.
        allow_live: confirms that mainnet (real funds) is meant.
        rest_url, public_ws_url, private_ws_url, trade_ws_url: override the endpoints (the simulator's face, a proxy); None picks
            testnet or mainnet's.
        trade_over_ws: place and cancel orders over the order entry WebSocket (``/v5/trade``) instead of REST.
        recv_window_ms: ``X-BAPI-RECV-WINDOW`` of signed requests (ms).
        request_timeout_s: total timeout of one REST request.
        max_retry_after_s: the longest rate-limit wait the client sits out by itself before raising (s).
        ping_interval_s: seconds between ``{"op":"ping"}`` messages (Bybit advises 20 s).
        ws_ack_timeout_s: seconds to wait for an op's answer (subscribe, auth).
        book_depth: the ``orderbook.{depth}`` topic a DEPTH stream subscribes (50, 200 or 1000).
        reconnect_delay_s, max_reconnect_delay_s: first and longest pause between reconnect attempts.
        event_queue_size: events buffered for a slow consumer before the oldest are dropped (with a notice).
        client_order_prefix: prefix of generated ``orderLinkId`` values.

    Raises:
        ValueError: mainnet without ``allow_live``, or an out-of-range setting.
    """

    api_key: str = ""
    api_secret: str = field(default="", repr=False)
    testnet: bool = True
    allow_live: bool = False
    rest_url: str | None = None
    public_ws_url: str | None = None
    private_ws_url: str | None = None
    trade_ws_url: str | None = None
    trade_over_ws: bool = False
    recv_window_ms: int = DEFAULT_RECV_WINDOW_MS
    request_timeout_s: float = 10.0
    max_retry_after_s: float = 5.0
    ping_interval_s: float = 20.0
    ws_ack_timeout_s: float = 5.0
    book_depth: int = 50
    reconnect_delay_s: float = 0.2
    max_reconnect_delay_s: float = 10.0
    event_queue_size: int = 10_000
    client_order_prefix: str = "tmcp"

    def __post_init__(self) -> None:
        if not self.testnet and not self.allow_live:
            raise ValueError("Bybit mainnet trades real funds: set allow_live=True to use it (testnet is the default)")
        if not 0 < self.recv_window_ms <= 60_000:
            raise ValueError(f"recv_window_ms must be in 1..60000, got {self.recv_window_ms}")
        if self.request_timeout_s <= 0 or self.ws_ack_timeout_s <= 0 or self.ping_interval_s <= 0:
            raise ValueError("timeouts and the ping interval must be > 0")
        if self.book_depth not in BOOK_DEPTHS:
            raise ValueError(f"book_depth must be one of {BOOK_DEPTHS}, got {self.book_depth}")
        if len(self.client_order_prefix) > 8:
            raise ValueError("client_order_prefix must be at most 8 characters (orderLinkId is at most 36)")

    @property
    def has_credentials(self) -> bool:
        """True when both the API key and secret are set."""
        return bool(self.api_key and self.api_secret)

    @property
    def effective_rest_url(self) -> str:
        """The REST base in use."""
        return self.rest_url or (BYBIT_TESTNET_REST_URL if self.testnet else BYBIT_REST_URL)

    @property
    def effective_public_ws_url(self) -> str:
        """The public spot stream in use."""
        return self.public_ws_url or (BYBIT_TESTNET_PUBLIC_WS_URL if self.testnet else BYBIT_PUBLIC_WS_URL)

    @property
    def effective_private_ws_url(self) -> str:
        """The private stream in use."""
        return self.private_ws_url or (BYBIT_TESTNET_PRIVATE_WS_URL if self.testnet else BYBIT_PRIVATE_WS_URL)

    @property
    def effective_trade_ws_url(self) -> str:
        """The order entry stream in use."""
        return self.trade_ws_url or (BYBIT_TESTNET_TRADE_WS_URL if self.testnet else BYBIT_TRADE_WS_URL)
