"""Binance Spot error codes and messages, as the simulator returns them.

Every rejection the simulator makes is a :class:`BinanceError`; the I/O layer turns it into the HTTP status and the
JSON body ``{"code": -1121, "msg": "Invalid symbol."}`` (REST) or the WS API ``error`` object.

Follows https://developers.binance.com/docs/binance-spot-api-docs/errors (the message texts are Binance's own; clients
such as python-binance surface them verbatim as ``BinanceAPIException.message``).
"""

from __future__ import annotations

from typing import Any

# Codes (names as in Binance's error table).
UNKNOWN = -1000
TOO_MANY_REQUESTS = -1003
INVALID_MESSAGE = -1013
TOO_MANY_ORDERS = -1015
INVALID_TIMESTAMP = -1021
INVALID_SIGNATURE = -1022
ILLEGAL_CHARS = -1100
TOO_MANY_PARAMETERS = -1101
MANDATORY_PARAM_EMPTY_OR_MALFORMED = -1102
UNKNOWN_PARAM = -1103
UNREAD_PARAMETERS = -1104
PARAM_EMPTY = -1105
PARAM_NOT_REQUIRED = -1106
BAD_PRECISION = -1111
TIF_NOT_REQUIRED = -1114
INVALID_TIF = -1115
INVALID_ORDER_TYPE = -1116
INVALID_SIDE = -1117
EMPTY_NEW_CL_ORD_ID = -1118
BAD_SYMBOL = -1121
MORE_THAN_XX_HOURS = -1127
OPTIONAL_PARAMS_BAD_COMBO = -1128
INVALID_PARAMETER = -1130
BAD_RECV_WINDOW = -1131
NEW_ORDER_REJECTED = -2010
CANCEL_REJECTED = -2011
NO_SUCH_ORDER = -2013
NO_SUCH_ORDER_LIST = -2018
BAD_API_KEY_FMT = -2014
REJECTED_MBX_KEY = -2015
ORDER_CANCEL_REPLACE_PARTIALLY_FAILED = -2021
ORDER_CANCEL_REPLACE_FAILED = -2022
SUBSCRIPTION_ACTIVE = -2035

# Messages for -2010 NEW_ORDER_REJECTED / -2011 CANCEL_REJECTED (Binance's table of order rejection messages).
MSG_INSUFFICIENT_BALANCE = "Account has insufficient balance for requested action."
MSG_DUPLICATE_ORDER = "Duplicate order sent."
MSG_UNKNOWN_ORDER = "Unknown order sent."
MSG_WOULD_TAKE = "Order would immediately match and take."
MSG_WOULD_TRIGGER = "Order would trigger immediately."
MSG_BAD_PRICE_RELATIONSHIP = "The relationship of the prices for the orders is not correct."
MSG_UNSUPPORTED_COMBINATION = "Unsupported order combination"
MSG_MARKET_CLOSED = "Market is closed."
MSG_NO_LIQUIDITY = "Order book liquidity is less than LOT_SIZE filter minimum quantity."
MSG_CANCEL_RESTRICTED = "Order was not canceled due to cancel restrictions."
MSG_OCO_NOT_SUPPORTED = "OCO orders are not supported for this symbol"
MSG_QUOTE_QTY_NOT_SUPPORTED = "Quote order qty market orders are not support for this symbol."
MSG_CANCEL_REPLACE_NOT_SUPPORTED = "Order cancel-replace is not supported for this symbol."

_TYPE_NOT_SUPPORTED = {
    "MARKET": "Market orders are not supported for this symbol.",
    "STOP_LOSS": "Stop loss orders are not supported for this symbol.",
    "STOP_LOSS_LIMIT": "Stop loss limit orders are not supported for this symbol.",
    "TAKE_PROFIT": "Take profit orders are not supported for this symbol.",
    "TAKE_PROFIT_LIMIT": "Take profit limit orders are not supported for this symbol.",
}


class BinanceError(Exception):
    """A Binance API error.

    Attributes:
        code: Binance's negative error code, e.g. ``-2010``.
        msg: Binance's exact message text.
        http_status: HTTP status to answer with: 400 for request errors, 401 for key/signature errors (-2014/-2015
            on some endpoints use 401), 403 WAF, 409 for a partially failed cancelReplace, 429 rate limit, 418 ban.
        data: extra payload carried in the body as ``"data"`` (cancelReplace failures), or None.
    """

    def __init__(self, code: int, msg: str, http_status: int = 400, data: dict[str, Any] | None = None) -> None:
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg
        self.http_status = http_status
        self.data = data

    def body(self) -> dict[str, Any]:
        """The JSON error body: ``{"code": code, "msg": msg}`` plus ``"data"`` when present."""
        out: dict[str, Any] = {"code": self.code, "msg": self.msg}
        if self.data is not None:
            out["data"] = self.data
        return out

    def __repr__(self) -> str:
        return f"BinanceError(code={self.code}, msg={self.msg!r}, http_status={self.http_status})"


# Factories -------------------------------------------------------------------------------------------------------


def filter_failure(filter_type: str) -> BinanceError:
    """-1013 ``Filter failure: <FILTER_TYPE>`` (e.g. ``LOT_SIZE``, ``PRICE_FILTER``, ``NOTIONAL``)."""
    return BinanceError(INVALID_MESSAGE, f"Filter failure: {filter_type}")


def too_much_weight(limit: int, interval: str = "1m") -> BinanceError:
    """-1003 with HTTP 429: request weight over ``limit`` per ``interval``."""
    return BinanceError(
        TOO_MANY_REQUESTS,
        f"Too much request weight used; current limit is {limit} request weight per {interval}. "
        "Please use WebSocket Streams for live updates to avoid polling the API.",
        http_status=429,
    )


def ip_banned(until_ms: int) -> BinanceError:
    """-1003 with HTTP 418: banned until ``until_ms`` (epoch ms)."""
    return BinanceError(
        TOO_MANY_REQUESTS,
        f"Way too much request weight used; IP banned until {until_ms}. "
        "Please use WebSocket Streams for live updates to avoid bans.",
        http_status=418,
    )


def too_many_orders(limit: int, interval: str = "10s") -> BinanceError:
    """-1015 with HTTP 429: more than ``limit`` new orders per ``interval``."""
    return BinanceError(TOO_MANY_ORDERS, f"Too many new orders; current limit is {limit} orders per {interval}.", 429)


def bad_timestamp() -> BinanceError:
    """-1021: the request's timestamp is outside recvWindow."""
    return BinanceError(INVALID_TIMESTAMP, "Timestamp for this request is outside of the recvWindow.")


def timestamp_ahead() -> BinanceError:
    """-1021: the request's timestamp is more than 1000 ms ahead of the server's clock."""
    return BinanceError(INVALID_TIMESTAMP, "Timestamp for this request was 1000ms ahead of the server's time.")


def bad_signature() -> BinanceError:
    """-1022: the HMAC/RSA/Ed25519 signature does not verify."""
    return BinanceError(INVALID_SIGNATURE, "Signature for this request is not valid.")


def illegal_chars(param: str, legal_range: str) -> BinanceError:
    """-1100: a parameter holds characters outside its legal range (e.g. a malformed decimal)."""
    return BinanceError(
        ILLEGAL_CHARS, f"Illegal characters found in parameter '{param}'; legal range is '{legal_range}'."
    )


def mandatory_param(param: str) -> BinanceError:
    """-1102: a mandatory parameter was not sent, was empty/null, or malformed."""
    return BinanceError(
        MANDATORY_PARAM_EMPTY_OR_MALFORMED, f"Mandatory parameter '{param}' was not sent, was empty/null, or malformed."
    )


def one_of_params(first: str, second: str) -> BinanceError:
    """-1102: one of two alternative parameters must be sent (``quantity``/``quoteOrderQty``, ``orderId``/...)."""
    return BinanceError(
        MANDATORY_PARAM_EMPTY_OR_MALFORMED, f"Param '{first}' or '{second}' must be sent, but both were empty/null!"
    )


def unknown_param() -> BinanceError:
    """-1103: an unknown parameter was sent."""
    return BinanceError(UNKNOWN_PARAM, "An unknown parameter was sent.")


def param_empty(param: str) -> BinanceError:
    """-1105: a parameter was sent empty."""
    return BinanceError(PARAM_EMPTY, f"Parameter '{param}' was empty.")


def param_not_required(param: str) -> BinanceError:
    """-1106: a parameter was sent where the order type does not take it."""
    return BinanceError(PARAM_NOT_REQUIRED, f"Parameter '{param}' sent when not required.")


def bad_precision(param: str) -> BinanceError:
    """-1111: more decimals than the asset's precision allows."""
    return BinanceError(BAD_PRECISION, f"Parameter '{param}' has too much precision.")


def tif_not_required() -> BinanceError:
    """-1114: timeInForce sent for an order type that takes none."""
    return BinanceError(TIF_NOT_REQUIRED, "TimeInForce parameter sent when not required.")


def invalid_tif() -> BinanceError:
    """-1115: unknown timeInForce."""
    return BinanceError(INVALID_TIF, "Invalid timeInForce.")


def invalid_order_type() -> BinanceError:
    """-1116: unknown order type."""
    return BinanceError(INVALID_ORDER_TYPE, "Invalid orderType.")


def invalid_side() -> BinanceError:
    """-1117: side is neither BUY nor SELL."""
    return BinanceError(INVALID_SIDE, "Invalid side.")


def empty_new_client_order_id() -> BinanceError:
    """-1118: newClientOrderId was sent empty."""
    return BinanceError(EMPTY_NEW_CL_ORD_ID, "New client order ID was empty.")


def invalid_symbol() -> BinanceError:
    """-1121: the symbol is not listed in exchangeInfo."""
    return BinanceError(BAD_SYMBOL, "Invalid symbol.")


def more_than_hours(hours: int = 24) -> BinanceError:
    """-1127: startTime and endTime further apart than allowed."""
    return BinanceError(MORE_THAN_XX_HOURS, f"More than {hours} hours between startTime and endTime.")


def invalid_param_value(param: str) -> BinanceError:
    """-1130: the data sent for a parameter is not valid (e.g. ``limit=0``)."""
    return BinanceError(INVALID_PARAMETER, f"Data sent for parameter '{param}' is not valid.")


def bad_recv_window() -> BinanceError:
    """-1131: recvWindow above 60000 ms."""
    return BinanceError(BAD_RECV_WINDOW, "recvWindow must be less than 60000")


def order_rejected(msg: str) -> BinanceError:
    """-2010 NEW_ORDER_REJECTED with one of the ``MSG_*`` texts."""
    return BinanceError(NEW_ORDER_REJECTED, msg)


def insufficient_balance() -> BinanceError:
    """-2010: free balance does not cover the order."""
    return order_rejected(MSG_INSUFFICIENT_BALANCE)


def duplicate_order() -> BinanceError:
    """-2010: the newClientOrderId belongs to an order still open on this account."""
    return order_rejected(MSG_DUPLICATE_ORDER)


def order_type_not_supported(order_type: str) -> BinanceError:
    """-2010: the symbol's ``orderTypes`` does not list ``order_type``."""
    return order_rejected(_TYPE_NOT_SUPPORTED.get(order_type, MSG_UNSUPPORTED_COMBINATION))


def cancel_rejected(msg: str = MSG_UNKNOWN_ORDER) -> BinanceError:
    """-2011 CANCEL_REJECTED (default: the order to cancel is unknown or no longer open)."""
    return BinanceError(CANCEL_REJECTED, msg)


def no_such_order() -> BinanceError:
    """-2013: queried order does not exist."""
    return BinanceError(NO_SUCH_ORDER, "Order does not exist.")


def no_such_order_list() -> BinanceError:
    """-2018 NO_SUCH_ORDER_LIST: queried order list does not exist (``GET /api/v3/orderList``)."""
    return BinanceError(NO_SUCH_ORDER_LIST, "Order list does not exist.")


def bad_api_key_format() -> BinanceError:
    """-2014 with HTTP 401: the API key is malformed."""
    return BinanceError(BAD_API_KEY_FMT, "API-key format invalid.", http_status=401)


def rejected_api_key() -> BinanceError:
    """-2015 with HTTP 401: unknown API key, IP not allowed, or missing permission."""
    return BinanceError(REJECTED_MBX_KEY, "Invalid API-key, IP, or permissions for action.", http_status=401)


def subscription_active() -> BinanceError:
    """-2035: a user data stream subscription is already active on this WS API session."""
    return BinanceError(SUBSCRIPTION_ACTIVE, "User Data Stream subscription already active.")


def cancel_replace_failed(data: dict[str, Any]) -> BinanceError:
    """-2022 with HTTP 400: neither side of a cancelReplace succeeded; ``data`` carries the per-side results."""
    return BinanceError(ORDER_CANCEL_REPLACE_FAILED, "Order cancel-replace failed.", 400, data)


def cancel_replace_partially_failed(data: dict[str, Any]) -> BinanceError:
    """-2021 with HTTP 409: one side of a cancelReplace succeeded, the other failed; ``data`` as Binance sends it."""
    return BinanceError(ORDER_CANCEL_REPLACE_PARTIALLY_FAILED, "Order cancel-replace partially failed.", 409, data)
