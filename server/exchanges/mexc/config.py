"""Configuration of the MEXC Spot adapter.

API docs: https://mexcdevelop.github.io/apidocs/spot_v3_en/#general-info
"""

from __future__ import annotations

from dataclasses import dataclass, field

MEXC_REST_URL = "https://api.mexc.com"
"""Production REST base (paths are ``/api/v3/...``). MEXC has no spot testnet."""

MEXC_WS_URL = "wss://wbs-api.mexc.com/ws"
"""Production spot WebSocket (protobuf pushes). The old JSON endpoint ``wss://wbs.mexc.com/ws`` closed 2025-08-04."""

DEFAULT_RECV_WINDOW_MS = 5000
"""MEXC's default ``recvWindow`` when none is sent."""

MAX_RECV_WINDOW_MS = 60000
"""Largest ``recvWindow`` MEXC accepts (code 700005 above it)."""


@dataclass(frozen=True, slots=True)
class MexcConfig:
    """Connection settings for MEXC Spot (or the simulator's MEXC face).

    Attributes:
        api_key: the ``X-MEXC-APIKEY`` value; empty for public-only use.
        api_secret: the HMAC secret; never shown by ``repr``.
        rest_url: REST base without ``/api/v3`` (default ``https://api.mexc.com``; the simulator's on loopback).
        ws_url: WebSocket URL (default ``wss://wbs-api.mexc.com/ws``).
        recv_window_ms: ``recvWindow`` sent with signed requests, 1..60000 ms.
        request_timeout_s: total timeout of one REST request in seconds.
        max_retry_after_s: longest 429 ``Retry-After`` the client waits out by itself before raising, in seconds.
        ping_interval_s: seconds between WebSocket PINGs (MEXC cuts a connection after 60 s without data).
        ws_ack_timeout_s: seconds to wait for a SUBSCRIPTION/UNSUBSCRIPTION ack.
        max_topics_per_connection: subscriptions per WebSocket connection (MEXC's limit: 30); more open more
            connections.
        push_interval: aggregation of the ``aggre.*`` topics, ``100ms`` or ``10ms``.
        depth_snapshot_limit: levels of the REST snapshot that seeds a local book (MEXC recommends 1000).
        reconnect_delay_s: first pause before reopening a dropped stream; doubles up to ``max_reconnect_delay_s``.
        max_reconnect_delay_s: longest pause between reconnect attempts, in seconds.
        listen_key_keepalive_s: seconds between listenKey keepalives (a key lives 60 min; MEXC suggests 30 min).
        fill_merge_window_ms: how long an order push waits for its deal push (and vice versa) to be merged into
            one ``OrderEvent`` with ``last_fill``, in ms.
        event_queue_size: market/user events buffered for a slow consumer before the oldest are dropped (with an
            in-band ``StreamStatus("overflow")``).
        client_order_prefix: prefix of generated ``newClientOrderId`` values.
        account_symbols: symbols whose open orders an account-wide query covers besides those traded or streamed
            this session (MEXC's ``GET /api/v3/openOrders`` needs a symbol, so "all open orders" is a fan-out).

    Raises:
        ValueError: on a ``recv_window_ms`` outside 1..60000, non-positive timeouts, or a bad stream setting.
    """

    api_key: str = ""
    api_secret: str = field(default="", repr=False)
    rest_url: str = MEXC_REST_URL
    ws_url: str = MEXC_WS_URL
    recv_window_ms: int = DEFAULT_RECV_WINDOW_MS
    request_timeout_s: float = 10.0
    max_retry_after_s: float = 5.0
    ping_interval_s: float = 20.0
    ws_ack_timeout_s: float = 5.0
    max_topics_per_connection: int = 30
    push_interval: str = "100ms"
    depth_snapshot_limit: int = 1000
    reconnect_delay_s: float = 0.2
    max_reconnect_delay_s: float = 10.0
    listen_key_keepalive_s: float = 1800.0
    fill_merge_window_ms: int = 500
    event_queue_size: int = 10_000
    client_order_prefix: str = "tmcp"
    account_symbols: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not 0 < self.recv_window_ms <= MAX_RECV_WINDOW_MS:
            raise ValueError(f"recv_window_ms must be in 1..{MAX_RECV_WINDOW_MS}, got {self.recv_window_ms}")
        if self.request_timeout_s <= 0:
            raise ValueError("request_timeout_s must be > 0")
        if self.max_retry_after_s < 0:
            raise ValueError("max_retry_after_s must be >= 0")
        if not 0 < self.ping_interval_s < 60:
            raise ValueError("ping_interval_s must be in (0, 60): MEXC drops a connection after 60 s without data")
        if not 0 < self.max_topics_per_connection <= 30:
            raise ValueError("max_topics_per_connection must be in 1..30 (MEXC's limit)")
        if self.push_interval not in ("100ms", "10ms"):
            raise ValueError("push_interval must be '100ms' or '10ms'")
        if len(self.client_order_prefix) > 8:
            raise ValueError("client_order_prefix must be at most 8 characters (client order ids are max 32)")

    @property
    def has_credentials(self) -> bool:
        """True when both the API key and secret are set (signed endpoints usable)."""
        return bool(self.api_key and self.api_secret)
