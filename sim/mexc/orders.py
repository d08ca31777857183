"""MEXC's signed trading and account endpoints over the simulator's matching engine (sans-I/O).

Each method takes the caller's API key and the request's verified parameters (``str → str``) and returns MEXC's body,
or raises :class:`~tradingmcp.sim.mexc.wire.MexcError`. MEXC parameters are translated to the engine's
(Binance) ones: ``IMMEDIATE_OR_CANCEL``/``FILL_OR_KILL`` become LIMIT with timeInForce IOC/FOK, MEXC order ids
(``C02__…``) become the engine's per-symbol ids. Before the engine sees an order, MEXC's own rules (precisions and
min/max amounts of the derived exchangeInfo, :mod:`tradingmcp.sim.mexc.rules`) are checked:
below the minimum amount → 30002, above the maximum → 30003, other violations → 33333; a ``newClientOrderId`` outside
the legal range (:data:`~tradingmcp.sim.params.CLIENT_ID_RANGE`, held as on Binance) → 700008.

Follows https://mexcdevelop.github.io/apidocs/spot_v3_en/#spot-account-trade.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import orjson

from tradingmcp.sim.errors import BinanceError
from tradingmcp.sim.matching import MatchingEngine
from tradingmcp.sim.mexc import wire
from tradingmcp.sim.mexc.rules import MexcRules, check_order
from tradingmcp.sim.mexc.wire import MexcError, OrderIds, parameter_error, plain
from tradingmcp.sim.params import CLIENT_ID_RE
from tradingmcp.sim.state import Order

MAX_BATCH_ORDERS = 20
"""MEXC's limit of orders in one ``batchOrders`` call."""

Params = Mapping[str, str]
T = TypeVar("T")


def _decimal(p: Params, name: str) -> Decimal | None:
    raw = p.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise parameter_error(f"{name} {raw!r} is not a decimal number") from None
    if not value.is_finite() or value < 0:
        raise parameter_error(f"{name} {raw!r} is not a decimal number")
    return value


class MexcTrading:
    """MEXC trading endpoints bound to one engine.

    Args:
        engine: the simulator's matching engine (accounts keyed by API key).
        rules: MEXC symbol rules per served symbol.
        ids: the shared engine ↔ MEXC order id table.
    """

    def __init__(self, engine: MatchingEngine, rules: Mapping[str, MexcRules], ids: OrderIds) -> None:
        self.engine = engine
        self.rules = rules
        self.ids = ids

    # ---- helpers ------------------------------------------------------------------------------------------------

    def _symbol(self, p: Params) -> str:
        symbol = (p.get("symbol") or "").upper()
        if not symbol:
            raise parameter_error("symbol is mandatory")
        if symbol not in self.rules:
            raise wire.bad_symbol()
        return symbol

    def _order(self, body: Mapping[str, Any]) -> Order:
        return self.engine.orders[(str(body["symbol"]), int(body["orderId"]))]

    def _ref(self, symbol: str, p: Params, *, cancel: bool) -> dict[str, str]:
        """Engine params naming one order (``orderId`` translated, else ``origClientOrderId``)."""
        out = {"symbol": symbol}
        wire_id = p.get("orderId")
        if wire_id:
            found = self.ids.engine(wire_id)
            if found is None or found[0] != symbol:
                raise wire.unknown_order(cancel)
            out["orderId"] = str(found[1])
        elif p.get("origClientOrderId"):
            out["origClientOrderId"] = p["origClientOrderId"]
        else:
            raise wire.need_order_ref()
        return out

    def _check_rules(self, symbol: str, p: Params) -> dict[str, str]:
        """MEXC's parameter and amount rules; returns the engine (Binance) parameters of the order."""
        side, mexc_type = p.get("side", ""), p.get("type", "")
        if side not in ("BUY", "SELL"):
            raise parameter_error(f"side must be BUY or SELL, got {side!r}")
        if mexc_type not in wire.ORDER_TYPES:
            raise parameter_error(f"type must be one of {', '.join(wire.ORDER_TYPES)}, got {mexc_type!r}")
        engine_type, tif = wire.ORDER_TYPES[mexc_type]
        qty, quote_qty, price = _decimal(p, "quantity"), _decimal(p, "quoteOrderQty"), _decimal(p, "price")
        market = engine_type == "MARKET"
        if not market and (qty is None or price is None):
            raise parameter_error(f"{mexc_type} orders need quantity and price")
        if not market and quote_qty is not None:
            raise parameter_error(f"{mexc_type} orders take quantity, not quoteOrderQty")
        if market and (qty is None) == (quote_qty is None):
            raise parameter_error("MARKET orders need exactly one of quantity or quoteOrderQty")
        check_order(
            self.rules[symbol],
            engine_type,
            quantity=qty,
            quote_quantity=quote_qty,
            price=None if market else price,
            reference_price=self.engine.reference_price(symbol) if market else None,
        )
        out = {"symbol": symbol, "side": side, "type": engine_type, "newOrderRespType": "RESULT"}
        if tif:
            out["timeInForce"] = tif
        for name, value in (("quantity", qty), ("quoteOrderQty", quote_qty)):
            if value is not None:
                out[name] = plain(value)
        if engine_type != "MARKET" and price is not None:
            out["price"] = plain(price)
        client_id = p.get("newClientOrderId")
        if client_id:
            if not CLIENT_ID_RE.fullmatch(client_id):
                raise wire.illegal_characters()
            out["newClientOrderId"] = client_id
        return out

    # ---- endpoints ----------------------------------------------------------------------------------------------

    def place(self, api_key: str, p: Params, *, test: bool = False) -> dict[str, Any]:
        """``POST /api/v3/order`` (``test``: ``POST /api/v3/order/test``, answers ``{}``)."""
        symbol = self._symbol(p)
        params = self._check_rules(symbol, p)
        try:
            body = self.engine.new_order(api_key, params, test=test)
        except BinanceError as exc:
            raise wire.from_binance(exc) from None
        if test:
            return {}
        return wire.order_placed(self._order(body), self.ids, int(body["transactTime"]))

    def batch(self, api_key: str, p: Params) -> list[dict[str, Any]]:
        """``POST /api/v3/batchOrders``: ``batchOrders`` is a JSON list of ≤ 20 orders of ONE symbol; one answer per
        order, a failure as ``{"newClientOrderId", "msg", "code"}``."""
        try:
            items = orjson.loads(p.get("batchOrders") or "")
        except orjson.JSONDecodeError:
            raise parameter_error("batchOrders must be a JSON list of orders") from None
        if not isinstance(items, list) or not 0 < len(items) <= MAX_BATCH_ORDERS:
            raise parameter_error(f"batchOrders takes 1..{MAX_BATCH_ORDERS} orders")
        if not all(isinstance(i, dict) for i in items) or len({str(i.get("symbol")) for i in items}) != 1:
            raise parameter_error("batchOrders must be orders of one symbol")
        out: list[dict[str, Any]] = []
        for item in items:
            params = {str(k): str(v) for k, v in item.items()}
            try:
                out.append(self.place(api_key, params))
            except MexcError as exc:
                out.append({"newClientOrderId": params.get("newClientOrderId"), "msg": exc.msg, "code": exc.code})
        return out

    def cancel(self, api_key: str, p: Params) -> dict[str, Any]:
        """``DELETE /api/v3/order`` by ``orderId`` or ``origClientOrderId``."""
        symbol = self._symbol(p)
        try:
            body = self.engine.cancel_order(api_key, self._ref(symbol, p, cancel=True))
        except BinanceError as exc:
            raise wire.from_binance(exc) from None
        return wire.order_canceled(self._order(body), self.ids)

    def get(self, api_key: str, p: Params) -> dict[str, Any]:
        """``GET /api/v3/order``."""
        symbol = self._symbol(p)
        try:
            body = self.engine.get_order(api_key, self._ref(symbol, p, cancel=False))
        except BinanceError as exc:
            raise wire.from_binance(exc) from None
        return wire.order_row(self._order(body), self.ids)

    def open_orders(self, api_key: str, p: Params) -> list[dict[str, Any]]:
        """``GET /api/v3/openOrders`` (``symbol`` is mandatory on MEXC)."""
        symbol = self._symbol(p)
        rows = self._engine_call(lambda: self.engine.open_orders(api_key, {"symbol": symbol}))
        return [wire.order_row(self._order(r), self.ids) for r in rows]

    def cancel_open(self, api_key: str, p: Params) -> list[dict[str, Any]]:
        """``DELETE /api/v3/openOrders`` on ``symbol``."""
        symbol = self._symbol(p)
        acct = self._engine_call(lambda: self.engine.account_of(api_key))
        orders = [o for o in acct.orders if o.symbol == symbol and o.is_open]
        if orders:
            self._engine_call(lambda: self.engine.cancel_open_orders(api_key, {"symbol": symbol}))
        return [wire.order_canceled(o, self.ids) for o in orders]

    def all_orders(self, api_key: str, p: Params) -> list[dict[str, Any]]:
        """``GET /api/v3/allOrders`` (``limit``, ``startTime``, ``endTime``)."""
        symbol = self._symbol(p)
        params = {k: p[k] for k in ("limit", "startTime", "endTime") if p.get(k)}
        rows = self._engine_call(lambda: self.engine.all_orders(api_key, {"symbol": symbol, **params}))
        return [wire.order_row(self._order(r), self.ids) for r in rows]

    def my_trades(self, api_key: str, p: Params) -> list[dict[str, Any]]:
        """``GET /api/v3/myTrades`` (``limit`` ≤ 100, ``orderId``, ``startTime``/``endTime`` in ms, inclusive)."""
        symbol = self._symbol(p)
        params = {"symbol": symbol, "limit": str(min(int(p.get("limit") or 100), 100))}
        params.update({k: p[k] for k in ("startTime", "endTime") if p.get(k)})
        if p.get("orderId"):
            found = self.ids.engine(p["orderId"])
            if found is None:
                return []
            params["orderId"] = str(found[1])
        rows = self._engine_call(lambda: self.engine.my_trades(api_key, params))
        out = []
        for r in rows:
            order = self.engine.orders[(symbol, int(r["orderId"]))]
            out.append({
                "symbol": symbol, "id": f"{int(r['id']):032x}", "orderId": self.ids.wire(symbol, order.order_id),
                "orderListId": -1, "price": plain(r["price"]), "qty": plain(r["qty"]),
                "quoteQty": plain(r["quoteQty"]), "commission": plain(r["commission"]),
                "commissionAsset": r["commissionAsset"], "time": r["time"], "isBuyer": r["isBuyer"],
                "isMaker": r["isMaker"], "isBestMatch": True, "isSelfTrade": False,
                "clientOrderId": order.client_order_id,
            })  # fmt: skip
        return out

    def account(self, api_key: str) -> dict[str, Any]:
        """``GET /api/v3/account``."""
        acct = self._engine_call(lambda: self.engine.account_of(api_key))
        assets = list(dict.fromkeys([*acct.free, *acct.locked]))
        balances = [
            {"asset": a, "free": plain(acct.free_of(a)), "locked": plain(acct.locked_of(a))}
            for a in assets
            if acct.free_of(a) or acct.locked_of(a)
        ]
        return {
            "makerCommission": None, "takerCommission": None, "buyerCommission": None, "sellerCommission": None,
            "canTrade": True, "canWithdraw": True, "canDeposit": True, "updateTime": None, "accountType": "SPOT",
            "balances": balances, "permissions": ["SPOT"],
        }  # fmt: skip

    @staticmethod
    def _engine_call(fn: Callable[[], T]) -> T:
        try:
            return fn()
        except BinanceError as exc:
            raise wire.from_binance(exc) from None
