"""Bybit's order entry WebSocket (``/v5/trade``): orders placed and cancelled over one authenticated connection.

Follows https://bybit-exchange.github.io/docs/v5/websocket/trade/guideline: ``auth`` first, then ``{"reqId",
"header": {"X-BAPI-TIMESTAMP", "X-BAPI-RECV-WINDOW"}, "op": "order.create" | "order.cancel", "args": [params]}`` with
the REST parameters (:mod:`.params`); the answer carries ``retCode``/``retMsg``, ``data`` (``{orderId,
orderLinkId}``) and the limit ``header``. A connection that drops (or an answer that does not come) while an order
is in flight leaves its outcome UNKNOWN: ``ExchangeUnavailable``, which the adapter settles by ``orderLinkId`` over
REST before anything is sent again. The connection is opened on first use and again after a drop.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tradingmcp.server.exchanges.bybit.config import BybitConfig
from tradingmcp.server.exchanges.bybit.errors import bybit_error, error_for_code
from tradingmcp.server.exchanges.bybit.ratelimit import HeaderLimiter
from tradingmcp.server.exchanges.bybit.signing import RECV_WINDOW_HEADER, TIMESTAMP_HEADER, Signer
from tradingmcp.server.exchanges.bybit.streams import BybitSocket
from tradingmcp.server.exchanges.errors import AuthError

AUTH_VALID_MS = 10_000


class OrderEntry:
    """Orders over ``/v5/trade``.

    Args:
        config: ``effective_trade_ws_url``, keys, timeouts.
        limiter: where each answer's limit ``header`` is recorded (the REST client's, so both paths share it).
        server_ms: the server clock estimate (local clock + offset) for ``X-BAPI-TIMESTAMP``.
    """

    def __init__(self, config: BybitConfig, limiter: HeaderLimiter, server_ms: Any) -> None:
        if not config.has_credentials:
            raise bybit_error(AuthError, None, "order entry needs an API key and secret")
        self.config = config
        self.limiter = limiter
        self.server_ms = server_ms
        self.signer = Signer(config.api_key, config.api_secret, config.recv_window_ms)
        self.connects = 0
        self._sock: BybitSocket | None = None
        self._lock = asyncio.Lock()

    async def _socket(self) -> BybitSocket:
        async with self._lock:
            if self._sock is not None and self._sock.is_open:
                return self._sock
            if self._sock is not None:
                await self._sock.close()
            cfg = self.config
            sock = BybitSocket(cfg.effective_trade_ws_url, lambda msg: None, ping_interval_s=cfg.ping_interval_s,
                               ack_timeout_s=cfg.request_timeout_s, open_timeout_s=cfg.request_timeout_s)  # fmt: skip
            await sock.open()
            try:
                answer = await sock.op(
                    "auth", self.signer.ws_auth_args(self.server_ms() + AUTH_VALID_MS), id_key="reqId"
                )
                if answer.get("retCode") != 0:
                    raise bybit_error(
                        AuthError, answer.get("retCode"), f"order entry auth refused: {answer.get('retMsg')}"
                    )
            except BaseException:
                await sock.close()
                raise
            self._sock = sock
            self.connects += 1
            return sock

    async def request(self, op: str, params: dict[str, Any]) -> dict[str, Any]:
        """Send one order op; returns its ``data``.

        Raises:
            ExchangeUnavailable: no connection, or it dropped before the answer (outcome unknown for a create).
            ExchangeError: Bybit's typed refusal (``retCode``).
        """
        sock = await self._socket()
        header = {TIMESTAMP_HEADER: str(self.server_ms()), RECV_WINDOW_HEADER: str(self.config.recv_window_ms)}
        answer = await sock.op(op, [params], id_key="reqId", extra={"header": header})
        if isinstance(answer.get("header"), dict):
            self.limiter.on_headers(f"WS {op}", answer["header"])
        code = answer.get("retCode")
        if code != 0:
            error = error_for_code(int(code) if isinstance(code, int) else -1, str(answer.get("retMsg") or ""))
            if error.retry_after_s is not None and int(code or 0) == 10006:
                self.limiter.on_limited(int(time.time() * 1000) + int(error.retry_after_s * 1000))
            raise error
        data: dict[str, Any] = answer.get("data") or {}
        return data

    async def close(self) -> None:
        """Close the connection; idempotent."""
        if self._sock is not None:
            await self._sock.close()
            self._sock = None
