"""The bot's trading tools answered in-process by the simulator's matching engine (sans-I/O).

The live path is bot → ``place_order`` / ``replace_order`` / ``cancel_order`` tool call → server → Binance adapter →
``POST /api/v3/order`` / ``order/cancelReplace`` / ``DELETE /api/v3/order`` on the simulator → the Binance body →
:mod:`tradingmcp.server.exchanges.binance.parse` → :mod:`tradingmcp.server.tools.shapes`. Here the same request
parameters (:mod:`tradingmcp.server.exchanges.binance.params`) go straight into
:class:`~tradingmcp.sim.matching.MatchingEngine`, and its bodies and ``executionReport`` events come back through the
same shapes, so :class:`~tradingmcp.client.bot.core.BotCore` sees exactly what the server would send:
``CallToolResult``-like dicts (``isError``, ``structuredContent``) and ``order_event_json`` push messages. The bodies
and events become those shapes through :mod:`.results` (the same fields and numbers, without the server's models), or
with ``wire=True`` through the server's own parsers (:mod:`tradingmcp.server.exchanges.binance.parse`), which the tests
hold the first way to.
What the server adds on top (its safety checks, journal, rate limiter) is not modelled: the bot's own risk gate still
applies.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tradingmcp.client.bot.actions import Action, plain
from tradingmcp.research.backtest.results import cancel_replace_of, order_event_of, order_json_of
from tradingmcp.server.exchanges.binance import parse
from tradingmcp.server.exchanges.binance.errors import error_for_code
from tradingmcp.server.exchanges.binance.parse.account import execution_report
from tradingmcp.server.tools.shapes import order_event_json, order_json
from tradingmcp.server.trading.errors import tool_error
from tradingmcp.sim.errors import BinanceError
from tradingmcp.sim.matching import MatchingEngine

API_KEY = "backtest"
"""The one simulated account's API key."""


def error_result(code: str, message: str, **details: Any) -> dict[str, Any]:
    """A tool's ``isError`` result with ``structuredContent.error`` ``{code, message, **details}``."""
    return {"isError": True, "structuredContent": {"error": {"code": code, "message": message, **details}}}


def _exchange_error(exc: BinanceError, **details: Any) -> dict[str, Any]:
    """A refused request as the server's ``isError`` result (:func:`~tradingmcp.server.trading.errors.tool_error`)."""
    err = tool_error(error_for_code(exc.code, exc.msg, exc.http_status), **details)
    return error_result(err.code, err.message, **err.details)


class SimVenue:
    """The simulated account's order tools over one :class:`MatchingEngine`.

    Args:
        engine: the matching engine (its books are the replayed ones); the account :data:`API_KEY` must exist.
        exchange: the venue name the results carry (``binance``).
        wire: read the engine's bodies and events with the server's parsers and models (slower; the same results).
    """

    def __init__(self, engine: MatchingEngine, exchange: str = "binance", *, wire: bool = False) -> None:
        self.engine = engine
        self.exchange = exchange
        self.requests = 0
        self.wire = wire

    def execute(self, action: Action) -> dict[str, Any]:
        """Run one bot action; returns its tool result (``{"isError", "structuredContent"}``).

        Place and replace send LIMIT_MAKER orders with ``newOrderRespType=FULL`` (as the adapter does), or LIMIT IOC
        for an action marked ``taker`` (a strategy that takes liquidity); a replace is
        ``cancelReplace`` with ``STOP_ON_FAILURE``; a refused replace whose cancel went through answers
        ``replace_failed`` with the cancelled order, as the ``replace_order`` tool does.
        """
        self.requests += 1
        if action.kind == "cancel":
            return self._cancel(action)
        assert action.price is not None and action.qty is not None
        params = {
            "symbol": action.symbol,
            "side": action.side,
            "type": "LIMIT_MAKER",
            "newClientOrderId": action.client_order_id,
            "newOrderRespType": "FULL",
            "quantity": plain(action.qty),
            "price": plain(action.price),
        }
        if getattr(action, "taker", False):  # the bot's Action has ``taker`` once strategies may take liquidity
            params["type"], params["timeInForce"] = "LIMIT", "IOC"
        if action.kind == "place":
            return self._place(params)
        params["cancelReplaceMode"] = "STOP_ON_FAILURE"
        params["cancelOrigClientOrderId"] = str(action.old_client_order_id)
        return self._replace(params)

    def _ok(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"isError": False, "structuredContent": {"exchange": self.exchange, "mode": "simulator", **body}}

    def _place(self, params: dict[str, str]) -> dict[str, Any]:
        try:
            body = self.engine.new_order(API_KEY, params)
        except BinanceError as exc:
            return _exchange_error(exc, client_order_id=params["newClientOrderId"])
        order = order_json(parse.order(body)) if self.wire else order_json_of(body)
        return self._ok({"order": order, "duplicate": False, "dry_run": False})

    def _cancel_replace(self, body: dict[str, Any]) -> tuple[str, str, dict[str, Any] | None, dict[str, Any] | None]:
        if not self.wire:
            return cancel_replace_of(body)
        result = parse.cancel_replace(body)
        return (
            result.cancel_result,
            result.new_order_result,
            order_json(result.cancelled) if result.cancelled else None,
            order_json(result.new_order) if result.new_order else None,
        )

    def _replace(self, params: dict[str, str]) -> dict[str, Any]:
        try:
            body = self.engine.cancel_replace(API_KEY, params)
        except BinanceError as exc:
            if exc.data is None:
                return _exchange_error(exc, client_order_id=params["newClientOrderId"])
            cancel_result, new_order_result, cancelled, _ = self._cancel_replace(exc.data)
            return error_result(
                "replace_failed",
                f"replace: cancel {cancel_result}, new order {new_order_result}",
                cancel_result=cancel_result,
                new_order_result=new_order_result,
                cancelled=cancelled,
            )
        cancel_result, new_order_result, cancelled, new_order = self._cancel_replace(body)
        assert new_order is not None
        return self._ok(
            {
                "dry_run": False,
                "cancelled": cancelled,
                "order": new_order,
                "cancel_result": cancel_result,
                "new_order_result": new_order_result,
            }
        )

    def _cancel(self, action: Action) -> dict[str, Any]:
        params = {"symbol": action.symbol, "origClientOrderId": action.client_order_id}
        try:
            body = self.engine.cancel_order(API_KEY, params)
        except BinanceError as exc:
            return _exchange_error(exc)
        return self._ok({"order": order_json(parse.order(body)) if self.wire else order_json_of(body)})

    def order_events(self) -> list[dict[str, Any]]:
        """The account's order events queued by the engine since the last call, as ``orders:<exchange>`` push
        messages (``order_event_json``), oldest first; other user events (balances, lists) are dropped."""
        events = self.engine.drain_events()
        if self.wire:
            return [order_event_json(execution_report(ev)) for _, ev in events if ev.get("e") == "executionReport"]
        return [order_event_of(ev) for _, ev in events if ev.get("e") == "executionReport"]

    def balances(self) -> dict[str, Decimal]:
        """Free + locked balance per asset of the simulated account."""
        acct = self.engine.account_of(API_KEY)
        assets = sorted(set(acct.free) | set(acct.locked))
        return {a: acct.free.get(a, Decimal(0)) + acct.locked.get(a, Decimal(0)) for a in assets}
