"""TradingView alerts, sans-I/O: body bytes → a checked :class:`Alert`, the duplicate check, the client order id.

:func:`read_alert` checks in this order: the body is a JSON object (else :class:`AlertRefused` 400 ``bad_json``), it
carries the shared secret (compared in constant time, :func:`hmac.compare_digest`; else 401 ``bad_secret``), and its
values have the expected shapes (else 400 ``bad_alert``). The secret never leaves this module: :attr:`Alert.fields`
is the alert without its secret field, and no error message repeats a value of the secret field.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections import OrderedDict
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

from tradingmcp.server.trading.idempotency import ALERT_PREFIX
from tradingmcp.server.webhooks.config import TradingViewConfig

MAX_ID_CHARS = 128
"""Longest alert id kept (a longer one is refused as ``bad_alert``)."""
CLIENT_ID_PREFIX = ALERT_PREFIX
_SYMBOL = re.compile(r"^[A-Z0-9._-]{1,32}$")
_SIDES = {"buy": "BUY", "sell": "SELL", "long": "BUY", "short": "SELL"}


class AlertRefused(Exception):
    """An alert the webhook refuses: ``status`` (HTTP), ``code`` (``bad_json``, ``bad_secret``, ``bad_alert``) and a
    message that names the field at fault, never the secret."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Alert:
    """A checked alert.

    Attributes:
        alert_id: the id field's value, or ``sha256:<hex>`` of the alert without its secret when it has none.
        symbol: upper case without TradingView's ``EXCHANGE:`` prefix (None: no symbol field).
        side: ``BUY`` or ``SELL`` (from ``buy``/``long``, ``sell``/``short``; None: none or another word).
        quantity, price: plain decimal strings (None: absent).
        exchange, time: as sent (None: absent).
        fields: the whole alert without its secret field (what a signal carries and the audit log keeps).
    """

    alert_id: str
    symbol: str | None
    side: str | None
    quantity: str | None
    price: str | None
    exchange: str | None
    time: str | None
    fields: dict[str, Any]

    def signal(self, received_ms: int) -> dict[str, Any]:
        """The stream message of a ``signal`` action: ``{source, alert_id, symbol, side, quantity, price, exchange,
        time, received_ms, alert}`` (``received_ms``: server wall clock, ms since the epoch)."""
        return {
            "source": "tradingview",
            "alert_id": self.alert_id,
            "symbol": self.symbol,
            "side": self.side,
            "quantity": self.quantity,
            "price": self.price,
            "exchange": self.exchange,
            "time": self.time,
            "received_ms": received_ms,
            "alert": self.fields,
        }


def read_alert(body: bytes, config: TradingViewConfig) -> Alert:
    """Parse and check one posted alert (see the module docstring).

    Raises:
        AlertRefused: 400 ``bad_json``, 401 ``bad_secret`` or 400 ``bad_alert``.
    """
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise AlertRefused(400, "bad_json", "the body is not JSON (set the alert's message to a JSON object)") from None
    if not isinstance(doc, dict):
        raise AlertRefused(400, "bad_json", "the body must be a JSON object")
    secret_field = config.field_of("secret")
    presented = doc.pop(secret_field, None)
    if not secret_matches(presented, config.secret):
        raise AlertRefused(401, "bad_secret", f"missing or wrong shared secret in field {secret_field!r}")
    return alert_of(doc, config)


def alert_of(doc: dict[str, Any], config: TradingViewConfig) -> Alert:
    """The checked alert of an alert object whose secret field was already taken out (:func:`read_alert`'s value
    checks; also what a backtest replays: ``tradingmcp backtest --alerts``).

    Raises:
        AlertRefused: 400 ``bad_alert``.
    """
    id_value = doc.get(config.field_of("id"))
    if id_value is None:
        alert_id = "sha256:" + hashlib.sha256(orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)).hexdigest()
    else:
        alert_id = _text(doc, config.field_of("id"))
        if not alert_id or len(alert_id) > MAX_ID_CHARS:
            raise AlertRefused(400, "bad_alert", f"field {config.field_of('id')!r}: 1 to {MAX_ID_CHARS} characters")
    return Alert(
        alert_id=alert_id,
        symbol=_symbol(doc, config.field_of("symbol")),
        side=_side(doc, config.field_of("side")),
        quantity=_decimal(doc, config.field_of("quantity")),
        price=_decimal(doc, config.field_of("price")),
        exchange=_optional_text(doc, config.field_of("exchange")),
        time=_optional_text(doc, config.field_of("time")),
        fields=doc,
    )


def secret_matches(presented: object, expected: str | None) -> bool:
    """True when ``presented`` is the configured secret (constant time in its content; False without a secret)."""
    if expected is None or not isinstance(presented, str):
        return False
    return hmac.compare_digest(presented.encode(), expected.encode())


def client_order_id(alert_id: str) -> str:
    """The client order id of the order an alert places: ``tv-`` + 32 hex digits of SHA-256 of its id (35
    characters of ``[A-Za-z0-9-]``, within Binance's 36), the same for every repeat of the alert, so the desk's
    idempotency answers a repeat with the order already placed."""
    return CLIENT_ID_PREFIX + hashlib.sha256(alert_id.encode()).hexdigest()[:32]


class RecentIds:
    """The alert ids accepted within the last ``window_s`` seconds (at most ``max_ids``, the oldest dropped first).

    :meth:`take` is the duplicate check: True the first time an id comes within the window, False for a repeat.
    ``now`` is a monotonic clock in seconds (the caller's, so tests need no sleeping).
    """

    def __init__(self, window_s: float, max_ids: int) -> None:
        self.window_s = window_s
        self.max_ids = max_ids
        self._seen: OrderedDict[str, float] = OrderedDict()

    def __len__(self) -> int:
        return len(self._seen)

    def take(self, alert_id: str, now: float) -> bool:
        """Record ``alert_id`` at ``now``; False when it was already recorded less than ``window_s`` ago."""
        seen = self._seen
        horizon = now - self.window_s
        while seen:
            oldest_id, at = next(iter(seen.items()))
            if at > horizon and len(seen) < self.max_ids:
                break
            del seen[oldest_id]
        if alert_id in seen:
            return False
        seen[alert_id] = now
        return True

    def forget(self, alert_id: str) -> None:
        """Drop ``alert_id`` (taken but not acted on: its repeat is not a duplicate)."""
        self._seen.pop(alert_id, None)


def _text(doc: dict[str, Any], name: str) -> str:
    value = doc.get(name)
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise AlertRefused(400, "bad_alert", f"field {name!r} must be a string or a number")
    return str(value).strip()


def _optional_text(doc: dict[str, Any], name: str) -> str | None:
    if doc.get(name) is None:
        return None
    text = _text(doc, name)
    if len(text) > MAX_ID_CHARS:
        raise AlertRefused(400, "bad_alert", f"field {name!r}: at most {MAX_ID_CHARS} characters")
    return text


def _symbol(doc: dict[str, Any], name: str) -> str | None:
    text = _optional_text(doc, name)
    if text is None:
        return None
    symbol = text.rsplit(":", 1)[-1].upper()  # {{ticker}} is BTCUSDT; a chart's full name is BINANCE:BTCUSDT
    if not _SYMBOL.match(symbol):
        raise AlertRefused(400, "bad_alert", f"field {name!r} is not a symbol (letters and digits, e.g. BTCUSDT)")
    return symbol


def _side(doc: dict[str, Any], name: str) -> str | None:
    text = _optional_text(doc, name)
    return None if text is None else _SIDES.get(text.lower())


def _decimal(doc: dict[str, Any], name: str) -> str | None:
    """A plain decimal string of a string or number field (a JSON number is read through its shortest repr)."""
    value = doc.get(name)
    if value is None or value == "":
        return None
    text = _text(doc, name)
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise AlertRefused(400, "bad_alert", f"field {name!r} must be a decimal number") from None
    if not number.is_finite() or number < 0:
        raise AlertRefused(400, "bad_alert", f"field {name!r} must be a finite number >= 0")
    plain = format(number, "f")
    return plain.rstrip("0").rstrip(".") if "." in plain else plain
