"""The Bybit face's order entry WebSocket ``/v5/trade`` (aiohttp shell over the same trading endpoints as REST).

Follows https://bybit-exchange.github.io/docs/v5/websocket/trade/guideline: ``{"op": "auth", "args": [api_key,
expires, signature]}`` first (answer ``{"retCode", "retMsg", "op", "connId"}``; a second auth → 20001), then
``{"reqId", "header": {"X-BAPI-TIMESTAMP", "X-BAPI-RECV-WINDOW"}, "op": "order.create" | "order.cancel", "args":
[params]}`` (one order per request), answered ``{"reqId", "retCode", "retMsg", "op", "data", "retExtInfo",
"header": {"X-Bapi-Limit", "X-Bapi-Limit-Status", "X-Bapi-Limit-Reset-Timestamp", "Timenow"}, "connId"}``;
``{"op": "ping"}`` → ``{"op": "pong", ...}``. ``reqId`` is echoed only when sent. ``order.amend`` is not offered
(10001). The timestamp rule and the per-second limits are REST's (:mod:`.signing`, :mod:`.rest`).

Tests steer it with ``faults`` (``{"order.create": ["drop_before" | "drop_after"]}``: the connection is closed
without an answer, before or after the engine acted) and read ``requests`` (op, params).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tradingmcp.sim.bybit import signing, wire
from tradingmcp.sim.bybit.orders import BybitTrading
from tradingmcp.sim.bybit.rest import SecondWindow
from tradingmcp.sim.bybit.wire import BybitError

log = logging.getLogger(__name__)

OPS: dict[str, tuple[str, Callable[[BybitTrading, str, Mapping[str, str]], Any]]] = {
    "order.create": ("POST /order/create", lambda t, k, p: t.create(k, p)),
    "order.cancel": ("POST /order/cancel", lambda t, k, p: t.cancel(k, p)),
}


@dataclass
class TradeEndpoint:
    """``/v5/trade`` over ``trading`` (see the module docstring)."""

    trading: BybitTrading
    keys: Mapping[str, str]
    now_ms: Callable[[], int]
    on_engine_events: Callable[[], None]
    limiter: SecondWindow
    faults: dict[str, list[str]] = field(default_factory=dict)
    requests: deque[tuple[str, dict[str, str]]] = field(default_factory=lambda: deque(maxlen=10_000))
    connections: list[web.WebSocketResponse] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def answer(self, conn_id: str, api_key: str | None, msg: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        """The answer to one message and the caller's API key after it (sans-I/O; faults are the shell's)."""
        op = str(msg.get("op"))
        out: dict[str, Any] = {"op": op, "connId": conn_id}
        if "reqId" in msg:
            out["reqId"] = msg["reqId"]
        if op == "ping":
            return {**out, "op": "pong", "args": [str(self.now_ms())]}, api_key
        if op == "auth":
            if api_key is not None:
                return {**out, "retCode": 20001, "retMsg": "Repeat auth"}, api_key
            try:
                api_key = signing.verify_ws_auth(msg.get("args"), self.keys, self.now_ms())
            except BybitError as exc:
                return {**out, "retCode": exc.code, "retMsg": exc.msg}, None
            return {**out, "retCode": 0, "retMsg": "OK"}, api_key
        found = OPS.get(op)
        if found is None:
            return {**out, "retCode": wire.PARAMS_ERROR, "retMsg": f"op {op!r} is not supported"}, api_key
        if api_key is None:
            return {**out, "retCode": 10003, "retMsg": "Request not authorized"}, api_key
        endpoint, handler = found
        try:
            params = self._params(msg)
            self._check_time(msg.get("header"))
            allowed, remaining, limit, reset = self.limiter.charge(api_key, endpoint, self.now_ms())
            header = {"X-Bapi-Limit": str(limit), "X-Bapi-Limit-Status": str(remaining),
                      "X-Bapi-Limit-Reset-Timestamp": str(reset), "Timenow": str(self.now_ms())}  # fmt: skip
            if not allowed:
                return {**out, "retCode": wire.TOO_MANY_VISITS, "retMsg": "Too many visits!", "header": header}, api_key
            self.requests.append((op, params))
            try:
                data = handler(self.trading, api_key, params)
            finally:
                self.on_engine_events()
        except BybitError as exc:
            return {**out, "retCode": exc.code, "retMsg": exc.msg, "data": {}}, api_key
        return {**out, "retCode": 0, "retMsg": "OK", "data": data, "retExtInfo": {}, "header": header}, api_key

    @staticmethod
    def _params(msg: Mapping[str, Any]) -> dict[str, str]:
        args = msg.get("args")
        if not isinstance(args, list) or len(args) != 1 or not isinstance(args[0], dict):
            raise wire.params_error("args must hold exactly one order object")
        return {str(k): ("true" if v is True else "false" if v is False else str(v))
                for k, v in args[0].items() if v is not None}  # fmt: skip

    def _check_time(self, header: object) -> None:
        if not isinstance(header, dict):
            raise BybitError(wire.TIMESTAMP_ERROR, "header with X-BAPI-TIMESTAMP is mandatory")
        try:
            ts = int(header.get("X-BAPI-TIMESTAMP", ""))
            window = int(header.get("X-BAPI-RECV-WINDOW") or signing.DEFAULT_RECV_WINDOW_MS)
        except ValueError:
            raise BybitError(wire.TIMESTAMP_ERROR, "invalid X-BAPI-TIMESTAMP") from None
        now = self.now_ms()
        if not now - window <= ts < now + signing.FUTURE_TOLERANCE_MS:
            raise BybitError(wire.TIMESTAMP_ERROR, "invalid request, please check your server timestamp or recv_window")

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """The aiohttp handler of ``/v5/trade``."""
        ws = web.WebSocketResponse(heartbeat=20.0, autoping=True)
        await ws.prepare(request)
        conn_id, api_key = f"trade-{next(self._ids)}", None
        self.connections.append(ws)
        try:
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    continue
                try:
                    body = json.loads(msg.data)
                except ValueError:
                    await ws.send_str(json.dumps({"retCode": wire.PARAMS_ERROR, "retMsg": "Invalid JSON"}))
                    continue
                if not isinstance(body, dict):
                    continue
                faults = self.faults.get(str(body.get("op")))
                fault = faults.pop(0) if faults and api_key is not None else None
                if fault == "drop_before":
                    await ws.close(code=1011, message=b"fault: dropped before acting")
                    break
                answer, api_key = self.answer(conn_id, api_key, body)
                if fault == "drop_after":
                    await ws.close(code=1011, message=b"fault: dropped after acting")
                    break
                await ws.send_str(json.dumps(answer, separators=(",", ":")))
        finally:
            self.connections.remove(ws)
        return ws

    async def cut(self) -> None:
        """Close every order entry connection."""
        for ws in list(self.connections):
            await asyncio.shield(ws.close(code=1001, message=b"going away"))
