"""Decimal amounts: the range an order's amounts live in, the one parser of decimal tool arguments, and exact
arithmetic on what it admits.

The range is Binance's for decimal request parameters, ``^([0-9]{1,20})(\\.[0-9]{1,20})?$``: at most 20 digits
before the point and 20 after, no sign, no exponent (anything else gets -1100 "Illegal characters found in parameter
...", https://developers.binance.com/docs/binance-spot-api-docs/errors). Every decimal argument of a tool
(``quantity``, ``quote_quantity``, ``price``, ``stop_price``, ``stop_limit_price``, ``level``...) goes through
:func:`decimal_arg`, which refuses anything outside that range with JSON-RPC ``-32602`` naming the argument.

A JSON number is read through its shortest text form (``0.001`` → ``"0.001"``), which is the number that was sent
only while it has at most 15 significant digits (a binary double keeps no more); a longer one is refused with a
request to send the decimal as a string.

Values in the range have at most 40 significant digits and lie within ``[1e-20, 1e20)``: in :data:`EXACT` and
:data:`WIDE` (precision 100) their sums, differences, remainders and products are exact and nothing overflows, so a
rule check never rounds away digits the user gave nor raises.
"""

from __future__ import annotations

import re
from decimal import (
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
)
from typing import Any

from tradingmcp.server.exchanges.wire import plain
from tradingmcp.transport.jsonrpc import ErrorCode, JsonRpcError

MAX_INT_DIGITS = 20
"""Most digits before the decimal point (Binance's decimal parameters)."""
MAX_FRAC_DIGITS = 20
"""Most digits after the decimal point (Binance's decimal parameters)."""
MAX_FLOAT_DIGITS = 15
"""Most significant digits a JSON number may carry: every decimal of at most 15 significant digits survives the
round trip through a binary double (DBL_DIG), so its shortest text form is the number that was sent."""
CALCULABLE_INT_DIGITS = 30
"""Most digits before the point of a value the rule checks compute with (:func:`calculable`)."""
CALCULABLE_FRAC_DIGITS = 60
"""Most digits after the point of a value the rule checks compute with (:func:`calculable`)."""
PLAIN_PATTERN = r"^[0-9]{1,20}(\.[0-9]{1,20})?$"
"""The text form decimal arguments take (JSON Schema ``pattern`` of a decimal string)."""
EXPECTED = 'a decimal string like "0.001" (digits with an optional point, at most 20 on each side, no sign or exponent)'
"""What a decimal argument must look like (the tail of most refusals)."""

EXACT = Context(
    prec=100,
    rounding=ROUND_HALF_EVEN,
    Emin=-999_999,
    Emax=999_999,
    traps=[InvalidOperation, DivisionByZero, Overflow, Inexact],
)
"""Arithmetic that is exact or raises: sums, differences, remainders and products of values in the range are exact
(at most 80 digits); anything that would round raises ``Inexact`` and anything out of bounds ``Overflow`` or
``InvalidOperation`` (all ``ArithmeticError``)."""
WIDE = Context(
    prec=100, rounding=ROUND_HALF_EVEN, Emin=-999_999, Emax=999_999, traps=[InvalidOperation, DivisionByZero, Overflow]
)
"""Arithmetic that rounds to 100 digits: exact on :func:`calculable` values for sums, differences and remainders
against an exchange's rule values, rounded (never raising) for the products and quotients of estimates."""

_PLAIN = re.compile(r"[0-9]{1,20}(?:\.[0-9]{1,20})?").fullmatch
_DIGITS = re.compile(r"([0-9]+)(?:\.([0-9]+))?").fullmatch
_INT_LIMIT = 10**MAX_INT_DIGITS
_FRAC_20 = Decimal(1).scaleb(-MAX_FRAC_DIGITS)
_FRAC_60 = Decimal(1).scaleb(-CALCULABLE_FRAC_DIGITS)
_SHOWN = 64


class DecimalArgError(ValueError):
    """A refused decimal: ``reason`` says why (a sentence to follow the argument's name). ``value`` is the number
    when it is one that was refused only for its digits after the point (a caller may name the valid values next to
    it), else None."""

    def __init__(self, reason: str, value: Decimal | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.value = value


class InvalidDecimal(JsonRpcError):
    """JSON-RPC ``-32602`` for a decimal argument: ``Invalid params: <path>: <reason>``; ``data`` is
    ``{path, field}`` plus ``nearest_valid`` (decimal strings) once :meth:`naming` added them.

    Attributes:
        path: where the argument sits, e.g. ``arguments.orders[2].quantity``.
        field: the argument's name, e.g. ``quantity``.
        reason: why it was refused.
        value: see :class:`DecimalArgError`.
    """

    def __init__(self, path: str, field: str, reason: str, value: Decimal | None = None, **extra: Any) -> None:
        super().__init__(
            ErrorCode.INVALID_PARAMS, f"Invalid params: {path}: {reason}", {"path": path, "field": field, **extra}
        )
        self.path = path
        self.field = field
        self.reason = reason
        self.value = value

    def naming(self, what: str, values: list[Decimal]) -> InvalidDecimal:
        """This error with ``; nearest valid <what>: <v1> or <v2>`` added and ``nearest_valid`` (the values as
        decimal strings) in its data."""
        shown = [plain(v) for v in values]
        return InvalidDecimal(
            self.path,
            self.field,
            f"{self.reason}; nearest valid {what}: {' or '.join(shown)}",
            self.value,
            nearest_valid=shown,
        )


def in_range(value: Decimal) -> bool:
    """True when ``value`` is finite with at most 20 digits before the point and 20 after (trailing zeros after the
    point not counted; any sign): what :func:`parse_decimal` admits, as a number."""
    return _within(value, MAX_INT_DIGITS, _FRAC_20)


def calculable(value: Decimal) -> bool:
    """True when ``value`` is finite with at most 30 digits before the point and 60 after (trailing zeros not
    counted): wider than :func:`in_range`, narrow enough that :data:`WIDE` subtracts an exchange's rule values (at
    most 20 digits on each side) from it and takes their remainders exactly."""
    return _within(value, CALCULABLE_INT_DIGITS, _FRAC_60)


def _within(value: Decimal, int_digits: int, frac_unit: Decimal) -> bool:
    """Finite, at most ``int_digits`` digits before the point, and a whole multiple of ``frac_unit`` (quantizing
    to it changes nothing: no digit below it)."""
    if not value.is_finite():
        return False
    if value.is_zero():
        return True
    return value.adjusted() < int_digits and value.quantize(frac_unit, context=WIDE) == value


def parse_decimal(raw: object, *, positive: bool = True) -> Decimal:
    """The Decimal of a decimal argument: a string matching :data:`PLAIN_PATTERN`, or a JSON number (int, or float
    of at most 15 significant digits) whose plain form does.

    Args:
        raw: the argument as decoded from JSON.
        positive: refuse zero (else zero is allowed; a sign never is).

    Raises:
        DecimalArgError: anything else (NaN, Infinity, a sign, an exponent, too many digits, not a number), saying why.
    """
    if type(raw) is str:
        text = raw
    elif type(raw) is int:
        if not 0 <= raw < _INT_LIMIT:
            raise _int_error(raw, positive)
        text = str(raw)
    elif type(raw) is float:
        text = _float_text(raw)
    else:
        raise DecimalArgError(f"must be {EXPECTED}, got a JSON {_json_kind(raw)}")
    if _PLAIN(text) is None:
        raise _explain(raw, text, positive)
    value = Decimal(text)
    if positive and not value:
        raise DecimalArgError(f"must be positive, got {_show(raw)}")
    return value


def decimal_arg(args: dict[str, Any], name: str, *, path: str = "arguments", positive: bool = True) -> Decimal | None:
    """``args[name]`` through :func:`parse_decimal`; None when absent (missing or JSON null).

    Raises:
        InvalidDecimal: -32602 naming ``<path>.<name>`` when it is refused.
    """
    raw = args.get(name)
    if raw is None:
        return None
    if type(raw) is str and _PLAIN(raw) is not None:  # the common case, inline (every order's hot path)
        value = Decimal(raw)
        if value or not positive:
            return value
    try:
        return parse_decimal(raw, positive=positive)
    except DecimalArgError as exc:
        raise InvalidDecimal(f"{path}.{name}", name, exc.reason, exc.value) from None


# --- why a value was refused (the slow path: only refused values get here) -----------------------------------------
def _show(raw: object) -> str:
    """The refused value as it came, cut short when long (an error must not echo a megabyte)."""
    if type(raw) is str and len(raw) > _SHOWN:
        return repr(raw[:_SHOWN]) + f"... ({len(raw)} characters)"
    return repr(raw)


def _json_kind(raw: object) -> str:
    return {bool: "boolean", list: "array", dict: "object", type(None): "null"}.get(type(raw), type(raw).__name__)


def _int_error(number: int, positive: bool) -> DecimalArgError:
    if number < 0:
        shown = str(number) if number > -_INT_LIMIT else "a negative integer"
        return DecimalArgError(f"must be {'positive' if positive else 'zero or more'}, got {shown}")
    return DecimalArgError(f"has more than {MAX_INT_DIGITS} digits before the point; expected {EXPECTED}")


def _float_text(raw: float) -> str:
    """The plain text of a JSON number that arrived as a float (its shortest repr, exponent written out).

    Raises:
        DecimalArgError: not finite, or more significant digits than a double keeps (it may not be the number sent).
    """
    value = Decimal(repr(raw))
    if not value.is_finite():
        raise DecimalArgError(f"is not a finite number; expected {EXPECTED}")
    if value.adjusted() >= MAX_INT_DIGITS:
        raise DecimalArgError(
            f"{_show(raw)} has more than {MAX_INT_DIGITS} digits before the point; expected {EXPECTED}"
        )
    if value and value.adjusted() < -MAX_FRAC_DIGITS:
        raise DecimalArgError(
            f"{_show(raw)} has more than {MAX_FRAC_DIGITS} digits after the point; expected {EXPECTED}"
        )
    if len(value.normalize(WIDE).as_tuple().digits) > MAX_FLOAT_DIGITS:
        raise DecimalArgError(
            f"the JSON number {_show(raw)} has more than {MAX_FLOAT_DIGITS} significant digits and may not be the "
            f"number sent; send it as a string, {EXPECTED}"
        )
    return format(value, "f")


def _explain(raw: object, text: str, positive: bool) -> DecimalArgError:
    """Why ``text`` (the argument, or a JSON number's plain form) does not match :data:`PLAIN_PATTERN`."""
    shown = _show(raw)
    sign = "positive" if positive else "zero or more"
    digits = _DIGITS(text)
    if digits is not None:  # plain digits, too many of them
        whole, frac = digits.group(1), digits.group(2) or ""
        if len(whole) > MAX_INT_DIGITS:
            return DecimalArgError(
                f"{shown} has {len(whole)} digits before the point (at most {MAX_INT_DIGITS}); expected {EXPECTED}"
            )
        value = Decimal(text)
        if positive and not value:
            return DecimalArgError(f"must be positive, got {shown}")
        reason = f"{shown} has {len(frac)} digits after the point (at most {MAX_FRAC_DIGITS}); expected {EXPECTED}"
        # the number itself, for callers that name the valid values next to it
        return DecimalArgError(reason, value if calculable(value) else None)
    if len(text) > 10_000:  # no Decimal of a huge string that is not even digits
        return DecimalArgError(f"{shown} is not {EXPECTED}")
    try:
        value = Decimal(text)
    except InvalidOperation:
        return DecimalArgError(f"{shown} is not a number; expected {EXPECTED}")
    if value.is_nan() or value.is_infinite():
        return DecimalArgError(f"{shown} is not a finite number; expected {EXPECTED}")
    if value.is_signed() or text.lstrip().startswith("+"):
        if value < 0:
            return DecimalArgError(f"must be {sign}, got {shown}")
        return DecimalArgError(f"{shown} carries a sign; expected {EXPECTED}")
    if "e" in text or "E" in text:
        if in_range(value) and (value or not positive):
            return DecimalArgError(f"{shown} is in exponent notation; write it out as {plain(value)!r}")
        if value.adjusted() >= MAX_INT_DIGITS:
            return DecimalArgError(
                f"{shown} is in exponent notation and has more than {MAX_INT_DIGITS} digits before the point; "
                f"expected {EXPECTED}"
            )
        if not value:
            return DecimalArgError(f"must be {sign}, got {shown}")
        return DecimalArgError(
            f"{shown} is in exponent notation and has more than {MAX_FRAC_DIGITS} digits after the point; "
            f"expected {EXPECTED}"
        )
    return DecimalArgError(f"{shown} is not written as {EXPECTED}")
