"""Parsing raw Binance request parameters (``str -> str``) with Binance's own rejections.

Follows https://developers.binance.com/docs/binance-spot-api-docs/rest-api/general-api-information (parameter rules)
and the -1100..-1130 rows of https://developers.binance.com/docs/binance-spot-api-docs/errors.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from tradingmcp.sim.errors import (
    BinanceError,
    illegal_chars,
    invalid_param_value,
    mandatory_param,
    param_empty,
)

DECIMAL_RANGE = "^([0-9]{1,20})(\\.[0-9]{1,20})?$"
_DECIMAL_RE = re.compile(DECIMAL_RANGE)
_INT_RE = re.compile(r"^-?[0-9]{1,20}$")
CLIENT_ID_RANGE = "^[a-zA-Z0-9-_]{1,36}$"
"""Binance Spot's legal range of client order ids (``newClientOrderId``, ``listClientOrderId``...), as its -1100 message
quotes it. The patterns here are whole-value matches: ``fullmatch``, so a trailing newline is illegal too (Python's
``$`` would accept one)."""
CLIENT_ID_RE = re.compile(CLIENT_ID_RANGE)


class Params:
    """Typed access to one request's parameters.

    Args:
        raw: the request parameters as parsed from query string / form body / WS API ``params`` (values as str).
    """

    def __init__(self, raw: Mapping[str, str]) -> None:
        self.raw = raw

    def __contains__(self, name: str) -> bool:
        return self.raw.get(name) not in (None, "")

    def opt_str(self, name: str) -> str | None:
        """The value, or None when absent.

        Raises:
            BinanceError: -1105 when sent empty.
        """
        value = self.raw.get(name)
        if value is None:
            return None
        value = str(value)
        if value == "":
            raise param_empty(name)
        return value

    def req_str(self, name: str) -> str:
        """The value.

        Raises:
            BinanceError: -1102 when absent or empty.
        """
        value = self.raw.get(name)
        if value is None:
            raise mandatory_param(name)
        value = str(value)
        if value == "":
            raise mandatory_param(name)
        return value

    def opt_decimal(self, name: str) -> Decimal | None:
        """A non-negative decimal (``^([0-9]{1,20})(\\.[0-9]{1,20})?$``), or None when absent.

        Raises:
            BinanceError: -1100 when malformed; -1105 when empty.
        """
        value = self.raw.get(name)  # opt_str, inlined: four decimals per new order
        if value is None:
            return None
        value = str(value)
        if value == "":
            raise param_empty(name)
        if not _DECIMAL_RE.fullmatch(value):
            raise illegal_chars(name, DECIMAL_RANGE)
        try:
            return Decimal(value)
        except InvalidOperation as exc:  # pragma: no cover - the regex admits only valid decimals
            raise illegal_chars(name, DECIMAL_RANGE) from exc

    def req_decimal(self, name: str) -> Decimal:
        """A mandatory decimal (see :meth:`opt_decimal`).

        Raises:
            BinanceError: -1102 when absent; -1100 when malformed.
        """
        value = self.opt_decimal(name)
        if value is None:
            raise mandatory_param(name)
        return value

    def opt_int(self, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int | None:
        """An integer (ids, ms timestamps, limits), or None when absent.

        Raises:
            BinanceError: -1100 when not an integer; -1130 when outside ``[minimum, maximum]``.
        """
        value = self.opt_str(name)
        if value is None:
            return None
        if not _INT_RE.fullmatch(value):
            raise illegal_chars(name, "^-?[0-9]{1,20}$")
        number = int(value)
        if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
            raise invalid_param_value(name)
        return number

    def opt_bool(self, name: str) -> bool | None:
        """``"true"``/``"false"`` (any case), or None when absent.

        Raises:
            BinanceError: -1130 for any other value.
        """
        value = self.opt_str(name)
        if value is None:
            return None
        lowered = value.lower()
        if lowered not in ("true", "false"):
            raise invalid_param_value(name)
        return lowered == "true"

    def opt_enum(self, name: str, allowed: tuple[str, ...], error: BinanceError | None = None) -> str | None:
        """One of ``allowed``, or None when absent.

        Raises:
            BinanceError: ``error`` (default -1130) for a value outside ``allowed``.
        """
        value = self.opt_str(name)
        if value is None:
            return None
        if value not in allowed:
            raise error if error is not None else invalid_param_value(name)
        return value

    def opt_client_id(self, name: str) -> str | None:
        """A client order id (``^[a-zA-Z0-9-_]{1,36}$``), or None when absent.

        Raises:
            BinanceError: -1100 when it breaks the pattern.
        """
        value = self.opt_str(name)
        if value is not None and not CLIENT_ID_RE.fullmatch(value):
            raise illegal_chars(name, CLIENT_ID_RANGE)
        return value
