"""Bybit V5 trading and account endpoints (spot) over the simulator's matching engine (sans-I/O).

Each method takes the caller's API key and the request's parameters (``str → str``: the JSON body of a POST, the query
of a GET) and returns the ``result`` object, or raises :class:`~tradingmcp.sim.bybit.wire.BybitError`. Bybit's order
parameters become the engine's (Binance) ones: ``Limit`` + ``GTC|IOC|FOK`` → LIMIT, ``Limit`` + ``PostOnly`` →
LIMIT_MAKER, ``Market`` → MARKET with ``qty`` in the quote coin for a buy and the base coin for a sell unless
``marketUnit`` says otherwise (https://bybit-exchange.github.io/docs/v5/order/create-order). Before the engine sees an
order, Bybit's own rules from the face's instruments-info (:mod:`tradingmcp.sim.bybit.info`) are checked.

Only ``category=spot`` is served (10001 otherwise). ``/v5/order/realtime`` lists open orders, or with ``orderId`` /
``orderLinkId`` that order in any state (Bybit keeps closed orders findable there for a while);
``/v5/order/history`` lists every order, newest first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from tradingmcp.sim.bybit import info, wire
from tradingmcp.sim.bybit.wire import BybitError, OrderIds, params_error, plain
from tradingmcp.sim.errors import BinanceError
from tradingmcp.sim.matching import MatchingEngine
from tradingmcp.sim.params import CLIENT_ID_RE
from tradingmcp.sim.state import Order

Params = Mapping[str, str]
T = TypeVar("T")

ORDER_TYPES = {("Limit", "GTC"): ("LIMIT", "GTC"), ("Limit", "IOC"): ("LIMIT", "IOC"),
               ("Limit", "FOK"): ("LIMIT", "FOK"), ("Limit", "PostOnly"): ("LIMIT_MAKER", None)}  # fmt: skip
"""(orderType, timeInForce) → (engine type, engine timeInForce) for limit orders."""


def _decimal(p: Params, name: str) -> Decimal | None:
    raw = p.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise params_error(f"{name} {raw!r} is not a number") from None
    if not value.is_finite() or value < 0:
        raise params_error(f"{name} {raw!r} is not a number")
    return value


SEVEN_DAYS_MS = 7 * 86_400_000


def _time_window(p: Params) -> tuple[int | None, int | None]:
    """``startTime`` and ``endTime`` (ms) when given; Bybit refuses a window longer than 7 days."""
    out: list[int | None] = []
    for name in ("startTime", "endTime"):
        raw = p.get(name)
        if raw is None or raw == "":
            out.append(None)
            continue
        if not str(raw).isdigit():
            raise params_error(f"{name} {raw!r} must be a time in ms")
        out.append(int(raw))
    start, end = out
    if start is not None and end is not None and not 0 <= end - start <= SEVEN_DAYS_MS:
        raise params_error("the time between startTime and endTime must be at most 7 days")
    return start, end


def _category(p: Params) -> None:
    if p.get("category") != "spot":
        raise params_error("category must be spot (the simulator serves spot only)")


class BybitTrading:
    """The V5 trading endpoints bound to one engine.

    Args:
        engine: the simulator's matching engine (accounts keyed by API key).
        rules: Bybit rules per served symbol.
        ids: the shared engine ↔ Bybit order id table.
    """

    def __init__(self, engine: MatchingEngine, rules: Mapping[str, info.BybitRules], ids: OrderIds) -> None:
        self.engine = engine
        self.rules = rules
        self.ids = ids

    def _symbol(self, p: Params, *, required: bool = True) -> str | None:
        symbol = (p.get("symbol") or "").upper()
        if not symbol:
            if required:
                raise params_error("symbol is mandatory")
            return None
        if symbol not in self.rules:
            raise wire.invalid_symbol()
        return symbol

    def _call(self, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except BinanceError as exc:
            raise wire.from_binance(exc) from None

    def _find(self, api_key: str, p: Params) -> Order | None:
        """The caller's order named by ``orderId`` or ``orderLinkId`` (None when absent)."""
        acct = self._call(lambda: self.engine.account_of(api_key))
        symbol = self._symbol(p, required=False)
        if p.get("orderId"):
            found = self.ids.engine(p["orderId"])
            if found is None or (symbol and found[0] != symbol):
                return None
            order = self.engine.orders.get(found)
            return order if order is not None and order.api_key == api_key else None
        link = p.get("orderLinkId")
        if link:
            matches = [o for o in acct.orders if o.client_order_id == link and (not symbol or o.symbol == symbol)]
            return max(matches, key=lambda o: o.seq) if matches else None
        return None

    def _fee(self, api_key: str, order: Order) -> Decimal:
        acct = self.engine.account_of(api_key)
        return sum((t.commission for t in acct.trades if t.symbol == order.symbol and t.order_id == order.order_id),
                   Decimal(0))  # fmt: skip

    def _row(self, api_key: str, order: Order) -> dict[str, Any]:
        return wire.order_row(order, self.ids, self._fee(api_key, order))

    # ---- orders ---------------------------------------------------------------------------------------------------

    def create(self, api_key: str, p: Params) -> dict[str, Any]:
        """``POST /v5/order/create`` → ``{orderId, orderLinkId}``."""
        _category(p)
        symbol = self._symbol(p)
        assert symbol is not None
        side = p.get("side", "")
        if side not in ("Buy", "Sell"):
            raise params_error(f"side must be Buy or Sell, got {side!r}")
        kind = p.get("orderType", "")
        qty, price = _decimal(p, "qty"), _decimal(p, "price")
        if qty is None:
            raise params_error("qty is mandatory")
        out = {"symbol": symbol, "side": side.upper(), "newOrderRespType": "RESULT"}
        if kind == "Market":
            unit = p.get("marketUnit") or ("quoteCoin" if side == "Buy" else "baseCoin")
            if unit not in ("baseCoin", "quoteCoin"):
                raise params_error(f"marketUnit must be baseCoin or quoteCoin, got {unit!r}")
            base_qty, quote_qty = (qty, None) if unit == "baseCoin" else (None, qty)
            info.check_order(self.rules[symbol], price=None, base_qty=base_qty, quote_qty=quote_qty,
                             reference_price=self.engine.reference_price(symbol))  # fmt: skip
            out["type"] = "MARKET"
            out["quantity" if unit == "baseCoin" else "quoteOrderQty"] = plain(qty)
        elif kind == "Limit":
            tif = p.get("timeInForce") or "GTC"
            found = ORDER_TYPES.get((kind, tif))
            if found is None:
                raise params_error(f"timeInForce must be GTC, IOC, FOK or PostOnly, got {tif!r}")
            if price is None:
                raise params_error("price is mandatory for a Limit order")
            info.check_order(self.rules[symbol], price=price, base_qty=qty, quote_qty=None, reference_price=None)
            out["type"], engine_tif = found
            if engine_tif:
                out["timeInForce"] = engine_tif
            out["quantity"], out["price"] = plain(qty), plain(price)
        else:
            raise params_error(f"orderType must be Limit or Market, got {kind!r}")
        link = p.get("orderLinkId")
        if link:
            if not CLIENT_ID_RE.fullmatch(link):
                raise params_error("orderLinkId: up to 36 letters, digits, '-' and '_'")
            if any(o.client_order_id == link for o in self._call(lambda: self.engine.account_of(api_key)).orders):
                raise BybitError(wire.DUPLICATE_LINK_ID, "Duplicate clientOrderId.")
            out["newClientOrderId"] = link
        body = self._call(lambda: self.engine.new_order(api_key, out))
        order = self.engine.orders[(symbol, int(body["orderId"]))]
        return {"orderId": self.ids.wire(symbol, order.order_id), "orderLinkId": order.client_order_id}

    def cancel(self, api_key: str, p: Params) -> dict[str, Any]:
        """``POST /v5/order/cancel`` by ``orderId`` or ``orderLinkId`` → ``{orderId, orderLinkId}``."""
        _category(p)
        self._symbol(p)
        if not p.get("orderId") and not p.get("orderLinkId"):
            raise params_error("orderId or orderLinkId is mandatory")
        order = self._find(api_key, p)
        if order is None or not order.is_open:
            raise wire.order_not_exist()
        self._call(lambda: self.engine.cancel_order(api_key, {"symbol": order.symbol, "orderId": str(order.order_id)}))
        return {"orderId": self.ids.wire(order.symbol, order.order_id), "orderLinkId": order.client_order_id}

    def cancel_all(self, api_key: str, p: Params) -> dict[str, Any]:
        """``POST /v5/order/cancel-all`` (``symbol`` optional) → ``{list: [{orderId, orderLinkId}], success}``."""
        _category(p)
        symbol = self._symbol(p, required=False)
        acct = self._call(lambda: self.engine.account_of(api_key))
        orders = [o for o in acct.orders if o.is_open and (symbol is None or o.symbol == symbol)]
        for s in sorted({o.symbol for o in orders}):
            self._call(lambda s=s: self.engine.cancel_open_orders(api_key, {"symbol": s}))  # type: ignore[misc]
        return {"list": [{"orderId": self.ids.wire(o.symbol, o.order_id), "orderLinkId": o.client_order_id}
                         for o in orders], "success": "1"}  # fmt: skip

    def realtime(self, api_key: str, p: Params) -> dict[str, Any]:
        """``GET /v5/order/realtime``: one order by ``orderId``/``orderLinkId`` (any state), else open orders."""
        _category(p)
        symbol = self._symbol(p, required=False)
        if p.get("orderId") or p.get("orderLinkId"):
            order = self._find(api_key, p)
            rows = [self._row(api_key, order)] if order is not None else []
        else:
            acct = self._call(lambda: self.engine.account_of(api_key))
            rows = [self._row(api_key, o) for o in sorted(acct.orders, key=lambda o: -o.seq)
                    if o.is_open and (symbol is None or o.symbol == symbol)]  # fmt: skip
        return {"list": rows[: self._limit(p, 20, 50)], "nextPageCursor": "", "category": "spot"}

    def history(self, api_key: str, p: Params) -> dict[str, Any]:
        """``GET /v5/order/history``: every order (newest first), narrowed by ``symbol``/``orderId``/``orderLinkId``."""
        _category(p)
        symbol = self._symbol(p, required=False)
        if p.get("orderId") or p.get("orderLinkId"):
            order = self._find(api_key, p)
            orders = [order] if order is not None else []
        else:
            acct = self._call(lambda: self.engine.account_of(api_key))
            orders = [o for o in sorted(acct.orders, key=lambda o: -o.seq) if symbol is None or o.symbol == symbol]
        rows = [self._row(api_key, o) for o in orders[: self._limit(p, 20, 50)]]
        return {"list": rows, "nextPageCursor": "", "category": "spot"}

    def executions(self, api_key: str, p: Params) -> dict[str, Any]:
        """``GET /v5/execution/list``: the caller's fills (newest first), by ``symbol`` and/or ``orderId``, from
        ``startTime`` to ``endTime`` (ms, inclusive; at most 7 days apart)."""
        _category(p)
        symbol = self._symbol(p, required=False)
        acct = self._call(lambda: self.engine.account_of(api_key))
        wanted = self.ids.engine(p["orderId"]) if p.get("orderId") else None
        if p.get("orderId") and wanted is None:
            return {"list": [], "nextPageCursor": "", "category": "spot"}
        start, end = _time_window(p)
        rows = []
        for t in reversed(acct.trades):
            if (symbol and t.symbol != symbol) or (wanted and (t.symbol, t.order_id) != wanted):
                continue
            if (start is not None and t.time < start) or (end is not None and t.time > end):
                continue
            order = self.engine.orders[(t.symbol, t.order_id)]
            rows.append({
                "symbol": t.symbol, "orderId": self.ids.wire(t.symbol, t.order_id),
                "orderLinkId": order.client_order_id, "side": wire.side(order.side),
                "orderPrice": plain(order.price), "orderQty": plain(order.orig_qty), "leavesQty": "0",
                "orderType": wire.order_type(order.type), "stopOrderType": "", "execFee": plain(t.commission),
                "feeCurrency": t.commission_asset, "execId": str(t.id), "execPrice": plain(t.price),
                "execQty": plain(t.qty), "execType": "Trade", "execValue": plain(t.quote_qty),
                "execTime": str(t.time), "isMaker": t.is_maker, "feeRate": "0.001", "markPrice": "",
                "indexPrice": "", "underlyingPrice": "", "blockTradeId": "", "closedSize": "", "seq": t.id,
            })  # fmt: skip
        return {"list": rows[: self._limit(p, 50, 100)], "nextPageCursor": "", "category": "spot"}

    def wallet(self, api_key: str, p: Params) -> dict[str, Any]:
        """``GET /v5/account/wallet-balance?accountType=UNIFIED`` (``coin`` narrows): one UNIFIED account."""
        if p.get("accountType") not in ("UNIFIED", "SPOT"):
            raise params_error("accountType must be UNIFIED")
        acct = self._call(lambda: self.engine.account_of(api_key))
        wanted = {c for c in (p.get("coin") or "").split(",") if c}
        coins = [coin_row(a, acct.free_of(a), acct.locked_of(a))
                 for a in dict.fromkeys([*acct.free, *acct.locked]) if not wanted or a in wanted]  # fmt: skip
        return {"list": [{"accountType": "UNIFIED", "accountIMRate": "0", "accountMMRate": "0",
                          "totalEquity": "", "totalWalletBalance": "", "coin": coins}]}  # fmt: skip

    def coins(self, api_key: str, p: Params) -> dict[str, Any]:
        """``GET /v5/asset/coin/query-info``: the coins of the served symbols, one chain each (deposits and
        withdrawals are not simulated; clients such as ccxt read it when loading markets)."""
        self._call(lambda: self.engine.account_of(api_key))
        infos = [self.engine.exchange_info.symbol(s) for s in self.rules]
        names = sorted({i.base_asset for i in infos} | {i.quote_asset for i in infos})
        wanted = p.get("coin")
        rows = [{"name": c, "coin": c, "remainAmount": "1000000", "chains": [
            {"chainType": c, "confirmation": "1", "withdrawFee": "0", "depositMin": "0", "withdrawMin": "0",
             "chain": c, "chainDeposit": "0", "chainWithdraw": "0", "minAccuracy": "8", "withdrawPercentageFee": "0",
             "contractAddress": ""}]} for c in names if not wanted or c == wanted]  # fmt: skip
        return {"rows": rows}

    def api_key_info(self, api_key: str, p: Params) -> dict[str, Any]:
        """``GET /v5/user/query-api``: the caller's key (read-write, spot and wallet permissions, a unified account)."""
        acct = self._call(lambda: self.engine.account_of(api_key))
        return {"id": str(acct.uid), "note": "simulator", "apiKey": api_key, "readOnly": 0, "secret": "",
                "permissions": {"Spot": ["SpotTrade"], "Wallet": ["AccountTransfer"], "ContractTrade": [],
                                "Options": [], "Derivatives": [], "CopyTrading": [], "BlockTrade": [],
                                "Exchange": [], "NFT": []},
                "ips": ["*"], "type": 1, "deadlineDay": -1, "expiredAt": "", "createdAt": "", "unified": 0,
                "uta": 1, "userID": acct.uid, "inviterID": 0, "vipLevel": "No VIP", "mktMakerLevel": "0",
                "affiliateID": 0, "rsaPublicKey": "", "isMaster": True}  # fmt: skip

    def account_info(self, api_key: str, p: Params) -> dict[str, Any]:
        """``GET /v5/account/info``: a unified trading account (``unifiedMarginStatus`` 6, UTA 2.0 Pro)."""
        self._call(lambda: self.engine.account_of(api_key))
        return {"marginMode": "REGULAR_MARGIN", "updatedTime": "0", "unifiedMarginStatus": 6, "dcpStatus": "OFF",
                "timeWindow": 10, "smpGroup": 0, "isMasterTrader": False, "spotHedgingStatus": "OFF"}  # fmt: skip

    @staticmethod
    def _limit(p: Params, default: int, maximum: int) -> int:
        raw = p.get("limit") or str(default)
        if not raw.isdigit() or int(raw) < 1:
            raise params_error(f"limit {raw!r} must be a positive integer")
        return min(int(raw), maximum)


def coin_row(asset: str, free: Decimal, locked: Decimal) -> dict[str, Any]:
    """One ``coin`` entry of a wallet (REST and the ``wallet`` topic): ``walletBalance`` = free + locked."""
    total = free + locked
    return {"coin": asset, "equity": plain(total), "walletBalance": plain(total), "locked": plain(locked),
            "free": plain(free), "availableToWithdraw": plain(free), "usdValue": "", "unrealisedPnl": "0",
            "cumRealisedPnl": "0", "borrowAmount": "0", "accruedInterest": "0", "totalOrderIM": "0",
            "totalPositionIM": "0", "totalPositionMM": "0", "bonus": "0", "collateralSwitch": True,
            "marginCollateral": True, "spotHedgingQty": "0"}  # fmt: skip
