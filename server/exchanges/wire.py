"""Wire conventions Binance Spot and MEXC Spot v3 share, in one place.

* numbers travel as decimal strings: :func:`dec` reads them, :func:`plain` writes them (no exponent, no trailing
  zeros);
* every REST parameter travels percent-encoded: :func:`encode_query` is the one builder of query strings (each name
  and value through ``urllib.parse.quote(..., safe="")``, UTF-8, upper-case hex), so a value can never add a parameter
  (``zz&orderId=1``), end the query (``#``) or reach the wire raw (spaces, newlines, non-ASCII);
* signed requests carry ``signature`` = HMAC-SHA256, lower-case hex, over the raw query string concatenated with the raw
  body (Binance "SIGNED endpoint security", MEXC "Signature"), i.e. over exactly the encoded text that is sent:
  :func:`signed_query`, :func:`hmac_sha256_hex`, :func:`hmac_sha256_signer`;
* ``GET /api/v3/account`` lists ``balances: [{asset, free, locked}]`` on both: :func:`balances`.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from tradingmcp.server.exchanges.models import Balance

ZERO = Decimal(0)


def dec(value: Any) -> Decimal:
    """A wire number (string, int or None) as Decimal; None and "" become 0."""
    if value is None or value == "":
        return ZERO
    return Decimal(value) if isinstance(value, str) else Decimal(str(value))


def plain(value: Decimal) -> str:
    """A Decimal in plain notation without trailing zeros, exactly (never rounded to a context precision):
    ``Decimal("0.01000000")`` → ``"0.01"``, ``Decimal("1E+2")`` → ``"100"``, any zero (``-0``, ``0E-8``) → ``"0"``.
    A value whose plain form would run past a thousand digits (no amount of an order or a market) keeps its exponent,
    as do NaN and Infinity."""
    if not value.is_finite():
        return str(value)
    if value == 0:
        return "0"
    if not -1000 < value.adjusted() < 1000:
        return str(value)
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def encode_query(params: Mapping[str, object] | Iterable[tuple[str, object]], safe: str = "") -> str:
    """``k=v&k=v`` in the given order, every name and value percent-encoded (``quote(..., safe=safe)``: UTF-8,
    upper-case hex, a space as ``%20``).

    Unreserved characters (``A-Z a-z 0-9 - . _ ~``) stay as they are, so ordinary values (symbols, decimals, ids) read
    as in the exchanges' examples; ``&``, ``=``, ``%``, ``#``, ``+``, spaces, control characters and non-ASCII are
    always encoded, so the text the exchange decodes holds exactly the pairs given.

    Args:
        params: a mapping or (name, value) pairs; values through ``str`` (bools as ``true``/``false``).
        safe: characters a caller's syntax needs raw (e.g. ``"@/"`` in Binance combined-stream names); empty for
            parameters of a request.

    Returns:
        The query string without ``?``; empty when there are no parameters.
    """
    items = params.items() if isinstance(params, Mapping) else params
    return "&".join(f"{quote(str(k), safe=safe)}={quote(_text(v), safe=safe)}" for k, v in items)


def signed_query(params: Mapping[str, object] | Iterable[tuple[str, object]], sign: Callable[[str], str]) -> str:
    """:func:`encode_query` of ``params`` plus ``&signature=<sign(that text)>``: the signature covers exactly the
    encoded text that is sent, and is itself percent-encoded (base64 Ed25519/RSA signatures hold ``+``, ``/``, ``=``).

    Args:
        params: the request's parameters, including ``timestamp``/``recvWindow`` (all in the query string).
        sign: encoded text → signature (hex HMAC-SHA256, or base64 Ed25519/RSA).
    """
    query = encode_query(params)
    return f"{query}&signature={quote(sign(query), safe='')}"


def hmac_sha256_hex(secret: str, payload: str) -> str:
    """HMAC-SHA256 of ``payload`` keyed with ``secret``, lower-case hex (64 characters)."""
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def hmac_sha256_signer(secret: str) -> Callable[[str], str]:
    """:func:`hmac_sha256_hex` keyed with ``secret`` once: the returned ``payload -> hex`` copies the keyed HMAC
    instead of computing the key schedule per call."""
    template = hmac.new(secret.encode(), digestmod=hashlib.sha256)

    def sign(payload: str) -> str:
        mac = template.copy()
        mac.update(payload.encode())
        return mac.hexdigest()

    return sign


def balances(account: Mapping[str, Any], non_zero: bool = True) -> list[Balance]:
    """``GET /api/v3/account`` body → Balances (only free+locked > 0 when ``non_zero``)."""
    out = [Balance(b["asset"], dec(b["free"]), dec(b["locked"])) for b in account.get("balances", ())]
    return [b for b in out if b.total > 0] if non_zero else out
