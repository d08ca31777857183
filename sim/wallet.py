"""The Binance face's routes outside ``/api/v3``: what general-purpose clients (ccxt) ask of a Binance host.

* ``GET /sapi/v1/system/status`` (https://developers.binance.com/docs/wallet/others/system-status, weight 1):
  ``{"status": 0, "msg": "normal"}``;
* ``GET /sapi/v1/asset/tradeFee`` (https://developers.binance.com/docs/wallet/asset/trade-fee, USER_DATA, weight 1):
  ``[{"symbol", "makerCommission", "takerCommission"}]`` for every served symbol, or the one ``symbol`` names;
* ``GET /sapi/v1/capital/config/getall`` (https://developers.binance.com/docs/wallet/capital, USER_DATA, weight 10):
  the assets of the served symbols with the account's free and locked amounts; the simulator takes no deposits and
  makes no withdrawals, so every network says so (``depositEnable``/``withdrawEnable`` false);
* ``GET /fapi/v1/exchangeInfo`` and ``GET /dapi/v1/exchangeInfo`` (USDⓈ-M and COIN-M futures listings, weight 1): the
  simulator lists no futures, so ``symbols`` is empty (a client that loads every market type sees the spot ones only);
* any other path: HTTP 404 with Binance's error body ``{"code": -1000, "msg": "Unknown endpoint METHOD PATH"}``.

Signed requests are checked as on ``/api/v3`` (:func:`tradingmcp.sim.signing.verify_rest`); weights are charged on
the same limiter.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl

import orjson
from aiohttp import web

from tradingmcp.sim.errors import BinanceError
from tradingmcp.sim.market import fmt8
from tradingmcp.sim.rest import SimState
from tradingmcp.sim.signing import verify_rest
from tradingmcp.sim.weights import RateLimitedError

__all__ = ["add_wallet_routes", "unknown_endpoint"]

Params = Mapping[str, str]


def unknown_endpoint(method: str, path: str) -> web.Response:
    """HTTP 404 with Binance's error body for a path the simulator does not serve."""
    return _json({"code": -1000, "msg": f"Unknown endpoint {method} {path}"}, 404)


def _json(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json", headers=headers)


def _served_symbols(state: SimState, params: Params) -> list[str]:
    symbol = params.get("symbol")
    if symbol:
        state.exchange_info.symbol(symbol)  # -1121 when not listed
        return [symbol] if symbol in state.markets else []
    return list(state.markets)


def _trade_fee(state: SimState, api_key: str, params: Params) -> Any:
    maker, taker = fmt8(state.engine.maker_fee), fmt8(state.engine.taker_fee)
    return [{"symbol": s, "makerCommission": maker, "takerCommission": taker} for s in _served_symbols(state, params)]


def _capital_config(state: SimState, api_key: str, params: Params) -> Any:
    acct = state.engine.account_of(api_key)
    assets: dict[str, None] = {}
    for symbol in state.markets:
        info = state.exchange_info.symbol(symbol)
        assets[info.base_asset] = assets[info.quote_asset] = None
    rows = []
    for asset in assets:
        network = {
            "network": asset, "coin": asset, "name": asset, "isDefault": True, "depositEnable": False,
            "withdrawEnable": False, "depositDesc": "simulator: no deposits", "withdrawDesc": "simulator: no withdrawals",
            "withdrawFee": "0", "withdrawMin": "0", "withdrawMax": "0", "withdrawIntegerMultiple": "0.00000001",
            "minConfirm": 1, "unLockConfirm": 0, "sameAddress": False, "resetAddressStatus": False,
        }  # fmt: skip
        rows.append({
            "coin": asset, "name": asset, "depositAllEnable": False, "withdrawAllEnable": False, "trading": True,
            "free": fmt8(acct.free_of(asset)), "locked": fmt8(acct.locked_of(asset)), "freeze": "0", "withdrawing": "0",
            "ipoing": "0", "ipoable": "0", "storage": "0", "isLegalMoney": False, "networkList": [network],
        })  # fmt: skip
    return rows


def _futures_info(state: SimState, params: Params) -> Any:
    return {
        "timezone": "UTC", "serverTime": state.server_ms(), "futuresType": "", "rateLimits": [],
        "exchangeFilters": [], "assets": [], "symbols": [],
    }  # fmt: skip


PublicCall = Callable[[SimState, Params], Any]
SignedCall = Callable[[SimState, str, Params], Any]

_PUBLIC: dict[str, tuple[PublicCall, int]] = {
    "/sapi/v1/system/status": (lambda state, params: {"status": 0, "msg": "normal"}, 1),
    "/fapi/v1/exchangeInfo": (_futures_info, 1),
    "/dapi/v1/exchangeInfo": (_futures_info, 1),
}
_SIGNED: dict[str, tuple[SignedCall, int]] = {
    "/sapi/v1/asset/tradeFee": (_trade_fee, 1),
    "/sapi/v1/capital/config/getall": (_capital_config, 10),
}


def add_wallet_routes(app: web.Application, state: SimState) -> None:
    """Add the routes of the module docstring to the face's root ``app``, the catch-all last (add it after every
    other route and sub-application)."""

    async def handle(request: web.Request) -> web.StreamResponse:
        path, method = request.path, request.method
        public, signed = _PUBLIC.get(path), _SIGNED.get(path)
        if method != "GET" or (public is None and signed is None):
            return unknown_endpoint(method, path)
        query = request.rel_url.raw_query_string
        params: dict[str, str] = dict(parse_qsl(query, keep_blank_values=True))
        now = state.server_ms()
        ip = request.remote or "127.0.0.1"
        headers: dict[str, str] = {}
        try:
            weight = public[1] if public is not None else signed[1] if signed is not None else 1
            headers["X-MBX-USED-WEIGHT-1M"] = str(state.limiter.charge(ip, weight, now))
            if public is not None:
                return _json(public[0](state, params), headers=headers)
            assert signed is not None
            api_key = verify_rest(request.headers.get("X-MBX-APIKEY"), query, "", params, state.api_keys, now)
            return _json(signed[0](state, api_key, params), headers=headers)
        except RateLimitedError as exc:
            headers["Retry-After"] = str(exc.retry_after_s)
            return _json(exc.body(), exc.http_status, headers)
        except BinanceError as exc:
            return _json(exc.body(), exc.http_status, headers)

    app.router.add_route("*", "/{tail:.*}", handle)
