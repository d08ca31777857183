"""How to run the simulator (:class:`SimConfig`) and where its market comes from (:func:`resolve_data`)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tradingmcp.sim.data import DataNotFoundError, binance_recordings, data_root
from tradingmcp.sim.streams import StreamConfig
from tradingmcp.sim.weights import RateLimitConfig
from tradingmcp.transport import ws

__all__ = ["BINANCE_SIM_KEY", "BINANCE_SIM_SECRET", "SimConfig", "resolve_data"]

log = logging.getLogger(__name__)

BINANCE_SIM_KEY = "sim-key"
"""The API key of the simulator's default account (its HMAC secret is :data:`BINANCE_SIM_SECRET`)."""
BINANCE_SIM_SECRET = "sim-secret"
_DEFAULT_KEYS = {BINANCE_SIM_KEY: BINANCE_SIM_SECRET}
_DEFAULT_BALANCES = {"USDT": "10000", "BTC": "1", "ETH": "10"}


@dataclass(frozen=True)
class SimConfig:
    """How to run the simulator.

    Attributes:
        host: listen address (loopback).
        port: REST listen port; 0 picks a free one.
        ws_port: market streams and WS API listen port; 0 picks a free one, None means ``port + 1`` when ``port`` is
            set (else a free one).
        data_dir: data root (holds ``binance/recorded``); None → :func:`tradingmcp.sim.data.data_root`.
        synthetic: force the seeded synthetic market (also used when no recording is found).
        symbols: upper-case symbols to replay.
        speed: replay pace multiplier (1.0 real time, 11.0 replays the 10.8-minute recording in ~1 minute,
            ``math.inf`` unpaced, 0 manual stepping).
        loop: restart the replay at the end (ids and times keep growing) instead of stopping.
        api_keys: ``{api_key: secret}`` accepted for signed requests (each gets an account).
        balances: initial free balance per asset (decimal strings), for every account.
        seed: seed of the synthetic market.
        synthetic_duration_s: exchange-time length of one synthetic pass (s).
        time_offset_ms: added to recorded exchange times; None aligns the first event with the wall clock at start.
        maker_fee: maker commission rate (0.001 = 0.1 %).
        taker_fee: taker commission rate.
        limits: request weight / order limits (lower them to hit 429 quickly).
        streams: stream ping interval and per-connection limits.
        ws_queue_bytes: unsent bytes a WS API session's transport may hold before it is closed as too slow (1008).
        ws_backend: WebSocket library of the stream and WS API port (``"picows"`` or ``"websockets"``).
        price_offset_bps: every replayed price (book, book ticker, trades, hence fills) moved by this many basis
            points (:class:`~tradingmcp.sim.replay.PriceOffset`); 0 replays the recorded prices.
    """

    host: str = "127.0.0.1"
    port: int = 0
    ws_port: int | None = None
    data_dir: Path | None = None
    synthetic: bool = False
    symbols: tuple[str, ...] = ("BTCUSDT", "ETHUSDT")
    speed: float = 1.0
    loop: bool = False
    api_keys: Mapping[str, str] = field(default_factory=lambda: dict(_DEFAULT_KEYS))
    balances: Mapping[str, str] = field(default_factory=lambda: dict(_DEFAULT_BALANCES))
    seed: int = 0
    synthetic_duration_s: float = 600.0
    time_offset_ms: int | None = None
    maker_fee: str = "0.001"
    taker_fee: str = "0.001"
    limits: RateLimitConfig = field(default_factory=RateLimitConfig)
    streams: StreamConfig = field(default_factory=StreamConfig)
    ws_queue_bytes: int = 16 << 20
    ws_backend: ws.Backend = ws.DEFAULT_BACKEND
    price_offset_bps: float = 0.0


def resolve_data(config: SimConfig) -> Path | None:
    """The data root when every symbol has a recording and ``synthetic`` is off, else None (synthetic market)."""
    if config.synthetic:
        return None
    try:
        root = config.data_dir or data_root()
        for symbol in config.symbols:
            binance_recordings(symbol, root)
    except DataNotFoundError as exc:
        log.warning("no recording (%s); using the seeded synthetic market", exc)
        return None
    return root
