"""Wire conventions Binance Spot and MEXC Spot v3 share, in one place.

* numbers travel as decimal strings: :func:`dec` reads them, :func:`plain` writes them (no exponent, no trailing
  zeros);
* signed requests carry ``signature`` = HMAC-SHA256, lower-case hex, over the raw query string concatenated with the raw
  body (Binance "SIGNED endpoint security", MEXC "Signature"): :func:`hmac_sha256_hex`, :func:`hmac_sha256_signer`;
* ``GET /api/v3/account`` lists ``balances: [{asset, free, locked}]`` on both: :func:`balances`.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from tradingmcp.server.exchanges.models import Balance

ZERO = Decimal(0)


def dec(value: Any) -> Decimal:
    """A wire number (string, int or None) as Decimal; None and "" become 0."""
    if value is None or value == "":
        return ZERO
    return Decimal(value) if isinstance(value, str) else Decimal(str(value))


def plain(value: Decimal) -> str:
    """A Decimal in plain notation without trailing zeros: ``Decimal("0.01000000")`` → ``"0.01"``,
    ``Decimal("1E+2")`` → ``"100"``, any zero (``-0``, ``0E-8``) → ``"0"``."""
    if value == 0:
        return "0"
    return format(value.normalize(), "f")


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
