"""The MEXC face's check of a signed request (sans-I/O), with MEXC's error codes.

Follows https://mexcdevelop.github.io/apidocs/spot_v3_en/#signed: the API key travels in ``X-MEXC-APIKEY``;
``signature`` (in the query or the body) is the HMAC-SHA256, lowercase hex, of ``totalParams`` = the query string
concatenated with the body (no ``&`` between them), both exactly as received (still percent-encoded) and without the
``signature`` pair; ``timestamp`` must satisfy ``timestamp < serverTime + 1000`` and
``serverTime - timestamp <= recvWindow`` (recvWindow 5000 ms by default, at most 60000).

Codes: 700001 missing key, 10072 unknown key, 44444 missing (or malformed) ``signature``/``timestamp``, 700002 wrong
signature, 700005 recvWindow above 60000, 700003 timestamp outside recvWindow.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from urllib.parse import parse_qsl

from tradingmcp.sim.mexc.wire import MexcError
from tradingmcp.sim.signing import hmac_hex, strip_signature

API_KEY_HEADER = "X-MEXC-APIKEY"
"""The header carrying the API key."""
DEFAULT_RECV_WINDOW_MS = 5000
MAX_RECV_WINDOW_MS = 60000
FUTURE_TOLERANCE_MS = 1000
"""How far ahead of the server clock a ``timestamp`` may be."""


def verify(
    api_key: str | None, keys: Mapping[str, str], query: str, body: str, server_time_ms: int
) -> tuple[str, dict[str, str]]:
    """Check one signed request; returns the caller's API key and the decoded parameters (a query parameter wins
    over a body one).

    Args:
        api_key: the ``X-MEXC-APIKEY`` header, or None.
        keys: ``{api_key: secret}`` the face knows.
        query: the raw query string as received (no ``?``).
        body: the raw form body as received (``""`` for none).
        server_time_ms: the face's clock (epoch ms).

    Raises:
        MexcError: 700001, 10072, 44444, 700002, 700005 or 700003 (see the module docstring).
    """
    if not api_key:
        raise MexcError(700001, "API-key format invalid.")
    secret = keys.get(api_key)
    if secret is None:
        raise MexcError(10072, "Api key info invalid")
    query_rest, query_sig = strip_signature(query)
    body_rest, body_sig = strip_signature(body)
    given = query_sig if query_sig is not None else body_sig
    params = dict(parse_qsl(body_rest, keep_blank_values=True))
    params.update(parse_qsl(query_rest, keep_blank_values=True))
    if not given:
        raise MexcError(44444, "param 'signature' cannot be null")
    if not hmac.compare_digest(hmac_hex(secret, query_rest + body_rest), given.lower()):
        raise MexcError(700002, "Signature for this request is not valid.")
    _check_timestamp(params, server_time_ms)
    return api_key, params


def _check_timestamp(params: Mapping[str, str], server_time_ms: int) -> None:
    raw = params.get("timestamp")
    if not raw:
        raise MexcError(44444, "param 'timestamp' cannot be null")
    try:
        timestamp = int(raw)
        recv_window = int(float(params.get("recvWindow") or DEFAULT_RECV_WINDOW_MS))
    except ValueError:
        raise MexcError(44444, "param 'timestamp' or 'recvWindow' is malformed") from None
    if recv_window > MAX_RECV_WINDOW_MS:
        raise MexcError(700005, "recvWindow must less than 60000")
    if not (timestamp < server_time_ms + FUTURE_TOLERANCE_MS and server_time_ms - timestamp <= recv_window):
        raise MexcError(700003, "Timestamp for this request is outside of the recvWindow.")
