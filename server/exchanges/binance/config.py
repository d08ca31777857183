"""Binance adapter configuration (frozen; Spot Testnet by default, mainnet only when explicitly allowed)."""

from __future__ import annotations

from dataclasses import dataclass, field

TESTNET_REST_URL = "https://testnet.binance.vision/api"
TESTNET_STREAM_URL = "wss://stream.testnet.binance.vision/"
TESTNET_WS_API_URL = "wss://ws-api.testnet.binance.vision/ws-api/v3"
MAINNET_REST_URL = "https://api.binance.com/api"
MAINNET_STREAM_URL = "wss://stream.binance.com:9443/"
MAINNET_WS_API_URL = "wss://ws-api.binance.com:443/ws-api/v3"


@dataclass(frozen=True, slots=True)
class BinanceConfig:
    """How to reach Binance Spot.

    Attributes:
        api_key: API key (sent as ``X-MBX-APIKEY``); empty for market data only.
        api_secret: HMAC secret; never shown by ``repr``, never logged. Not needed with ``private_key``.
        private_key: an Ed25519 (or RSA) private key, PEM text, for an asymmetric API key (Binance recommends
            Ed25519: https://developers.binance.com/docs/binance-spot-api-docs/faqs/api_key_types); python-binance
            then signs with it (base64) instead of HMAC. Never shown by ``repr``, never logged.
        private_key_pass: passphrase of an encrypted ``private_key``.
        testnet: use the Spot Testnet (default). Mainnet (real funds) needs ``testnet=False`` AND ``allow_mainnet``.
        allow_mainnet: explicit opt-in to trade with real funds.
        rest_url: REST base ending in ``/api`` (overrides the testnet/mainnet default; e.g. the simulator's).
        stream_url: market-stream base ending in ``/`` (``<base>stream?streams=...``).
        ws_api_url: WebSocket API endpoint (``.../ws-api/v3``): orders and the user data stream share one lean
            connection of our own (see ``binance.wsapi`` and ``binance.userdata``).
        recv_window_ms: ``recvWindow`` of signed requests (Binance default 5000, max 60000).
        request_timeout_s: REST request timeout (s).
        max_rate_wait_s: longest a request may queue in the rate limiter before RateLimited is raised (s).
        rate_safety_fraction: share of each exchange rate limit we use (rest kept for other clients).
        ws_queue_size: python-binance ``max_queue_size`` of a socket (frames buffered before it overflows).
        event_queue_size: market/user events buffered for a slow consumer before the oldest are dropped (with an
            in-band ``StreamStatus("overflow")`` notice).
        depth_snapshot_limit: levels per side of the REST snapshot used to sync local books (≤1000: weight 50).
        depth_update_speed_ms: diff-depth stream speed: 100 (``@depth@100ms``) or 1000 (``@depth``).
        max_streams_per_connection: Binance's cap (1024).
        max_control_messages_per_s: outgoing SUBSCRIBE/UNSUBSCRIBE per second (Binance allows 5 incoming
            messages/s per connection, pongs included, so 4 keeps a margin).
        reconnect_delay_s: pause before reopening a dropped market stream (s); also the first backoff step of the WS
            API order channel (reopen) and of a refused user data subscription (subscribe again).
        ws_api_reconnect_max_s: longest backoff between attempts to reopen the WS API order channel or to make a
            refused user data subscription again (s).
        client_order_prefix: prefix of generated ``newClientOrderId`` values (max 36 characters in total).
    """

    api_key: str = ""
    api_secret: str = field(default="", repr=False)
    private_key: str = field(default="", repr=False)
    private_key_pass: str = field(default="", repr=False)
    testnet: bool = True
    allow_mainnet: bool = False
    rest_url: str | None = None
    stream_url: str | None = None
    ws_api_url: str | None = None
    recv_window_ms: int = 5000
    request_timeout_s: float = 10.0
    max_rate_wait_s: float = 30.0
    rate_safety_fraction: float = 0.9
    ws_queue_size: int = 10_000
    event_queue_size: int = 10_000
    depth_snapshot_limit: int = 1000
    depth_update_speed_ms: int = 100
    max_streams_per_connection: int = 1024
    max_control_messages_per_s: int = 4
    reconnect_delay_s: float = 0.2
    ws_api_reconnect_max_s: float = 30.0
    client_order_prefix: str = "tmcp-"

    def __post_init__(self) -> None:
        if not self.testnet and not self.allow_mainnet:
            raise ValueError("Binance mainnet trades real funds: set allow_mainnet=True to use it (testnet is default)")
        if not 0 < self.recv_window_ms <= 60_000:
            raise ValueError(f"recv_window_ms must be in 1..60000, got {self.recv_window_ms}")
        if self.depth_update_speed_ms not in (100, 1000):
            raise ValueError("depth_update_speed_ms must be 100 or 1000")
        if len(self.client_order_prefix) > 12:
            raise ValueError("client_order_prefix must be at most 12 characters (client ids are max 36)")

    @property
    def effective_rest_url(self) -> str:
        """REST base in use (override, else testnet/mainnet default)."""
        return self.rest_url or (TESTNET_REST_URL if self.testnet else MAINNET_REST_URL)

    @property
    def effective_stream_url(self) -> str:
        """Market-stream base in use, ending in ``/``."""
        url = self.stream_url or (TESTNET_STREAM_URL if self.testnet else MAINNET_STREAM_URL)
        return url if url.endswith("/") else url + "/"

    @property
    def effective_ws_api_url(self) -> str:
        """WebSocket API endpoint in use."""
        return self.ws_api_url or (TESTNET_WS_API_URL if self.testnet else MAINNET_WS_API_URL)
