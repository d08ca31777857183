"""``POST /webhooks/tradingview``: the aiohttp shell around :mod:`.alerts`.

The route is an open path of the port's guard (TradingView sends no bearer token): it authenticates the alert by its
shared secret (:func:`~.alerts.read_alert`). Answers (JSON ``{"status": ..., ...}``):

* 200 ``ok``: a ``signal`` published on the configured stream (``stream``, ``seq``, ``delivered``: subscribers
  reached; on a gateway of the bus, ``bus``: true and ``delivered`` 0, the signal reaching every gateway's
  subscribers through the bus), or an ``order`` placed (``order``, ``duplicate``: the desk already had the client order id);
* 200 ``duplicate``: the alert id was accepted less than ``dedupe_window_s`` ago; nothing done;
* 429 ``rate_limited`` (``Retry-After``): over ``rate_per_s``/``rate_burst`` from one client address; counted in
  :attr:`TradingViewHook.throttled`, logged, not audited one by one;
* 400 ``bad_json`` / ``bad_alert``, 401 ``bad_secret``, 413 ``too_large`` (unread past ``max_body_bytes``), 503
  ``starting`` (no venue up yet) or ``bus_unavailable`` (a gateway's bus did not store the signal);
* an order that was not placed: the status of its error code in :data:`ORDER_STATUS` (400 ``invalid_argument``, 422
  a refusal of the desk: ``safety_*``, ``filter_failure``, ``confirmation_required``..., 502 ``exchange_error``; on a
  gateway 503 ``trader_unavailable``, 504 ``trader_timeout``), the same table on a single process and on a gateway.

Where the server has an audit log (not on a bus gateway), every request that reaches the handler gets one audit
entry (a ``tool_call`` row, tool ``webhook:tradingview``, principal the configured one once the secret matched, else
``anonymous``; the alert without its secret as arguments; a body that is no JSON is recorded by its size only). An
``order`` goes through the same :class:`~tradingmcp.server.trading.desk.TradingDesk` as ``place_order``: the venue's
argument checks, every pre-trade check, the confirmation threshold (an alert cannot confirm: such an order is
refused), the journal, and idempotency by the client order id derived from the alert id
(:func:`~.alerts.client_order_id`), so a repeat past the window still never places a second order. On a bus gateway
(``order_place``) the order is the trader's ``place_order``, called with the configured principal and scopes: the
trader's desk checks, places and audits it, and its idempotency answers an alert that reached two gateways.
"""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from tradingmcp.server.audit import AuditLog
from tradingmcp.server.mcp.registry import ToolCallRecord, ToolError
from tradingmcp.server.mcp.streams import StreamHub, StreamSource
from tradingmcp.server.tools.shapes import order_json
from tradingmcp.server.trading.desk import TradingDesk
from tradingmcp.server.venues import Venues
from tradingmcp.server.webhooks.alerts import Alert, AlertRefused, RecentIds, client_order_id, read_alert
from tradingmcp.server.webhooks.config import PATH, TradingViewConfig
from tradingmcp.transport.jsonrpc import JsonRpcError
from tradingmcp.transport.ratelimit import RateLimit, TokenBucket

TOOL = "webhook:tradingview"
"""The ``tool`` column of the webhook's audit entries."""
SIGNALS_KIND = "signals"
MAX_ADDRESSES = 4096
"""Client addresses whose rate buckets are kept at most."""
log = logging.getLogger("tradingmcp.server.webhooks")


@dataclass(frozen=True)
class HookBackend:
    """What the webhook uses once the venues are up: the venues, the trading desk (None: no trading) and the
    audit log (None: off)."""

    venues: Venues
    desk: TradingDesk | None
    audit: AuditLog | None


BackendGetter = Callable[[], HookBackend | None]
"""The backend at request time (None while the server starts or has no venues)."""

SignalPublish = Callable[[str, Any], Awaitable[int]]
"""Where a gateway's signals go instead of the local hub: ``(stream key, message data) -> seq`` once stored on the
bus; raises :class:`SignalNotPublished`."""


OrderPlace = Callable[[str, tuple[str, ...], dict[str, Any]], Awaitable[dict[str, Any]]]
"""Where a gateway's orders go instead of a local desk: ``(principal, scopes, place_order arguments) ->`` the
structured result of ``place_order`` (``{"exchange", "mode", "order": order_json, "duplicate", ...}``); raises
:class:`~tradingmcp.server.mcp.registry.ToolError` (the tool's error, or the forwarding's ``trader_unavailable``,
``trader_timeout``, ``trader_error``) or :class:`~tradingmcp.transport.jsonrpc.JsonRpcError` (arguments refused)."""

ORDER_STATUS: Mapping[str, int] = {
    "invalid_argument": 400,
    "forbidden": 403,
    "exchange_error": 502,
    "trader_error": 502,
    "trader_unavailable": 503,
    "trader_timeout": 504,
}
"""The HTTP status of an order alert that placed nothing, by the error code of the refusal: any code not here
(``safety_*``, ``filter_failure``, ``confirmation_required``...) is a refusal of the desk's checks, 422.
``trader_unavailable``: no trader took the order (nothing was sent); ``trader_timeout``: the trader took it and did not
answer in time (its outcome is unknown; a repeat of the alert is answered by the desk's idempotency)."""


def order_status(code: str) -> int:
    """The HTTP status of an order refused with the error code ``code`` (:data:`ORDER_STATUS`, else 422)."""
    return ORDER_STATUS.get(code, 422)


class SignalNotPublished(Exception):
    """The signal was not published (the bus did not store it); the message says why."""


def signals_source() -> StreamSource:
    """The push stream kind ``signals`` (``signals:<name>``): fed by webhooks, nothing upstream to start; lossless."""

    def nothing(key: str) -> None:
        return None

    return StreamSource(SIGNALS_KIND, "alerts posted to the server's webhooks", nothing, nothing, conflates=False)


class TradingViewHook:
    """The route of one configured TradingView webhook (:meth:`routes`); registers the ``signals`` stream kind on
    ``hub``.

    Args:
        clock: monotonic seconds (the duplicate window).
        signal_publish: a gateway's way of publishing signals on the bus (None: on ``hub``).
        order_place: a gateway's way of placing orders through the trader (None: the backend's desk).
    """

    def __init__(
        self,
        config: TradingViewConfig,
        hub: StreamHub,
        backend: BackendGetter,
        clock: Callable[[], float] = time.monotonic,
        signal_publish: SignalPublish | None = None,
        order_place: OrderPlace | None = None,
    ) -> None:
        self.config = config
        self.hub = hub
        self.backend = backend
        self.signal_publish = signal_publish
        self.order_place = order_place
        self.clock = clock
        self.recent = RecentIds(config.dedupe_window_s, config.max_ids)
        self.throttled = 0
        """Requests answered 429 (over the rate of their client address)."""
        limit = RateLimit(config.rate_per_s, config.rate_burst)
        self._limit = limit if limit.enabled else None
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()
        if SIGNALS_KIND not in hub.sources:
            hub.add_source(signals_source())

    def _take(self, address: str) -> float:
        """One request of ``address`` against its bucket: 0.0 (go) or the seconds to wait. At most
        :data:`MAX_ADDRESSES` buckets are kept (the least recently used goes)."""
        if self._limit is None:
            return 0.0
        bucket = self._buckets.get(address)
        if bucket is None:
            bucket = self._buckets[address] = TokenBucket(self._limit, self.clock)
            if len(self._buckets) > MAX_ADDRESSES:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(address)
        return bucket.take()

    def routes(self) -> list[web.RouteDef]:
        return [web.post(PATH, self.post)]

    async def post(self, request: web.Request) -> web.StreamResponse:
        """One posted alert (see the module docstring); audited whatever its outcome, unless over the rate."""
        wait_s = self._take(request.remote or "")
        if wait_s:
            self.throttled += 1
            if self.throttled & (self.throttled - 1) == 0:  # the 1st, 2nd, 4th, 8th...: a flood is not a log flood
                log.warning(
                    "tradingview webhook: %d request(s) over the rate so far, last from %s",
                    self.throttled,
                    request.remote,
                )
            body = {"status": "refused", "error": {"code": "rate_limited", "message": "too many requests"}}
            response = _json(429, body)
            response.headers["Retry-After"] = str(max(1, math.ceil(wait_s)))
            return response
        started = time.perf_counter_ns()
        wall_ms = time.time_ns() // 1_000_000
        outcome = _Outcome()
        try:
            response = await self._handle(request, outcome)
        finally:
            self._audit(outcome, wall_ms, started)
        return response

    async def _handle(self, request: web.Request, outcome: _Outcome) -> web.Response:
        cfg = self.config
        size = request.content_length
        if size is not None and size > cfg.max_body_bytes:
            return outcome.refuse(
                413, "too_large", f"the body is over {cfg.max_body_bytes} bytes", {"body_bytes": size}
            )
        body = await _read_body(request, cfg.max_body_bytes + 1)
        if len(body) > cfg.max_body_bytes:
            return outcome.refuse(413, "too_large", f"the body is over {cfg.max_body_bytes} bytes", {})
        try:
            alert = read_alert(body, cfg)
        except AlertRefused as exc:
            log.warning("tradingview webhook from %s refused: %s %s", request.remote, exc.status, exc.code)
            return outcome.refuse(exc.status, exc.code, exc.message, {"body_bytes": len(body)})
        outcome.principal = cfg.principal
        outcome.arguments = {"alert_id": alert.alert_id, "symbol": alert.symbol, "alert": alert.fields}
        args: dict[str, Any] | None = None
        backend = self.backend()
        if cfg.action == "order":
            try:
                args = self._order_args(alert)
            except AlertRefused as exc:
                return outcome.refuse(exc.status, exc.code, exc.message)
            if self.order_place is None and (backend is None or backend.desk is None):
                return outcome.refuse(503, "starting", "no venue is up yet; the alert was not acted on")
        if not self.recent.take(alert.alert_id, self.clock()):
            log.info("tradingview alert %r: duplicate within %g s, ignored", alert.alert_id, cfg.dedupe_window_s)
            return outcome.answer(200, {"status": "duplicate", "alert_id": alert.alert_id}, code="duplicate")
        if args is None:
            return await self._signal(alert, outcome)
        return await self._order(alert, args, backend, outcome)

    async def _signal(self, alert: Alert, outcome: _Outcome) -> web.Response:
        stream = self.config.stream
        if self.signal_publish is not None:
            try:
                stored = await self.signal_publish(stream, alert.signal(time.time_ns() // 1_000_000))
            except SignalNotPublished as exc:
                self.recent.forget(alert.alert_id)  # not acted on: a retry of the same alert may go through
                log.warning("tradingview alert %r: %s", alert.alert_id, exc)
                return outcome.refuse(503, "bus_unavailable", str(exc))
            log.info("tradingview alert %r: signal on %s stored on the bus as seq %d", alert.alert_id, stream, stored)
            answer = {"status": "ok", "action": "signal", "alert_id": alert.alert_id, "stream": stream, "seq": stored}
            return outcome.answer(200, {**answer, "delivered": 0, "bus": True})
        delivered = self.hub.publish(stream, alert.signal(time.time_ns() // 1_000_000), conflate=False)
        seq = self.hub.last_seq(stream) if delivered or self.hub.window(stream) is not None else None
        log.info("tradingview alert %r: signal on %s to %d subscriber(s)", alert.alert_id, stream, delivered)
        answer = {"status": "ok", "action": "signal", "alert_id": alert.alert_id, "stream": stream, "seq": seq}
        return outcome.answer(200, {**answer, "delivered": delivered})

    def _order_args(self, alert: Alert) -> dict[str, Any]:
        """The ``place_order`` arguments of an alert.

        Raises:
            AlertRefused: 400 ``bad_alert`` naming the fields an order needs that the alert lacks.
        """
        cfg = self.config
        missing = [n for n, v in (("symbol", alert.symbol), ("side", alert.side)) if v is None]
        quantity = alert.quantity or cfg.quantity
        if quantity is None:
            missing.append("quantity")
        if cfg.order_type == "LIMIT" and alert.price is None:
            missing.append("price")
        if missing or alert.symbol is None or alert.side is None or quantity is None:
            fields = ", ".join(repr(cfg.field_of(n)) for n in missing)
            raise AlertRefused(400, "bad_alert", f"an order alert needs the field(s) {fields} (side: buy or sell)")
        args: dict[str, Any] = {
            "symbol": alert.symbol,
            "side": alert.side,
            "type": cfg.order_type,
            "quantity": quantity,
            "client_order_id": client_order_id(alert.alert_id),
        }
        if cfg.order_type == "LIMIT":
            args["price"] = alert.price
        if cfg.exchange is not None:
            args["exchange"] = cfg.exchange
        return args

    async def _order(
        self, alert: Alert, args: dict[str, Any], backend: HookBackend | None, outcome: _Outcome
    ) -> web.Response:
        cfg = self.config
        outcome.arguments = {**args, "alert_id": alert.alert_id, "alert": alert.fields}
        try:
            if self.order_place is not None:
                placed = await self.order_place(cfg.principal, cfg.scopes, args)
            else:
                assert backend is not None
                placed = await self._place_here(backend, args, outcome)
        except JsonRpcError as exc:
            return outcome.refuse(order_status("invalid_argument"), "invalid_argument", exc.message)
        except ToolError as exc:
            if exc.code == "trader_unavailable":  # nothing was sent: a retry of the same alert may go through
                self.recent.forget(alert.alert_id)
            log.warning("tradingview alert %r: order refused: %s", alert.alert_id, exc.code)
            return outcome.refuse(order_status(exc.code), exc.code, exc.message, None, exc.details)
        order = placed["order"]
        log.info(
            "tradingview alert %r: order %s %s %s (%s), duplicate=%s",
            alert.alert_id,
            order.get("side"),
            order.get("orig_qty"),
            order.get("symbol"),
            order.get("status"),
            placed.get("duplicate"),
        )
        answer = {"status": "ok", "action": "order", "alert_id": alert.alert_id, "exchange": placed.get("exchange")}
        return outcome.answer(
            200, {**answer, "mode": placed.get("mode"), "order": order, "duplicate": bool(placed.get("duplicate"))}
        )

    async def _place_here(self, backend: HookBackend, args: dict[str, Any], outcome: _Outcome) -> dict[str, Any]:
        """The order of ``args`` through this server's desk: ``{"exchange", "mode", "order", "duplicate"}``.

        Raises:
            JsonRpcError: the venue's argument checks refused it.
            ToolError: the desk refused it, or the exchange did (``exchange_error``).
        """
        desk = backend.desk
        assert desk is not None
        venue = backend.venues.for_args(args)
        outcome.arguments["exchange"] = venue.name
        request = await desk.parse(venue, args)
        # the id is ours, derived from the alert: ask the exchange too, so a repeat after a restart (a MARKET
        # order is closed at once, and the exchange refuses only an open order's id twice) finds the order
        placed = await desk.place(self.config.principal, venue, request, ask_exchange=True)
        assert placed.order is not None
        if placed.checked is not None:
            desk.placed(venue, args, placed)
        return {
            "exchange": venue.name,
            "mode": venue.mode,
            "order": order_json(placed.order),
            "duplicate": placed.duplicate,
        }

    def _audit(self, outcome: _Outcome, wall_ms: int, started_ns: int) -> None:
        backend = self.backend()
        audit = backend.audit if backend is not None else None
        if audit is None or not audit.config.enabled:
            return
        latency_us = (time.perf_counter_ns() - started_ns) / 1000
        audit.writer.submit(
            ToolCallRecord(
                principal=outcome.principal,
                tool=TOOL,
                arguments=outcome.arguments,
                outcome="ok" if outcome.status < 400 else "tool_error",
                result={"structuredContent": outcome.body},
                error_code=outcome.code,
                error=outcome.error,
                latency_us=latency_us,
                time_ms=wall_ms,
                started_ns=started_ns,
            )
        )


class _Outcome:
    """What one request came to: its answer and what its audit entry records."""

    def __init__(self) -> None:
        self.principal = "anonymous"
        self.arguments: dict[str, Any] = {}
        self.status = 500
        self.code: str | None = "internal"
        self.error: str | None = "the handler failed"
        self.body: dict[str, Any] = {}

    def answer(self, status: int, body: dict[str, Any], code: str | None = None) -> web.Response:
        self.status, self.body, self.code, self.error = status, body, code, None
        return _json(status, body)

    def refuse(
        self,
        status: int,
        code: str,
        message: str,
        arguments: dict[str, Any] | None = None,
        details: dict[str, Any] | None = None,
    ) -> web.Response:
        if arguments is not None:
            self.arguments = arguments
        body = {"status": "refused", "error": {"code": code, "message": message, **(details or {})}}
        self.status, self.body, self.code, self.error = status, body, code, message
        return _json(status, body)


async def _read_body(request: web.Request, limit: int) -> bytes:
    """The body, read until its end or ``limit`` bytes (a read returns what has arrived, so it loops)."""
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = await request.content.read(limit - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _json(status: int, body: dict[str, Any]) -> web.Response:
    return web.Response(status=status, body=orjson.dumps(body, default=str), content_type="application/json")
