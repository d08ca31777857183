"""MEXC request signing (sans-I/O): the client's signer and the verifier the simulator reuses.

MEXC signs ``totalParams`` = the query string concatenated with the request body (NO ``&`` between them) with
HMAC-SHA256 keyed by the API secret; the signature is lowercase hex, sent as the ``signature`` parameter, with the key
in the ``X-MEXC-APIKEY`` header. A request is accepted when
``timestamp < serverTime + 1000 and serverTime - timestamp <= recvWindow`` (recvWindow defaults to 5000 ms, max 60000).
Values containing special characters (e.g. the JSON of ``batchOrders``) are percent-encoded with UPPERCASE hex before
signing. API doc: https://mexcdevelop.github.io/apidocs/spot_v3_en/#signed

Never log the secret or a signature.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl

from tradingmcp.server.exchanges.mexc.config import DEFAULT_RECV_WINDOW_MS, MAX_RECV_WINDOW_MS
from tradingmcp.server.exchanges.wire import encode_query, hmac_sha256_hex, signed_query, strip_signature

API_KEY_HEADER = "X-MEXC-APIKEY"
"""Header carrying the API key on signed (and listenKey) requests."""

FUTURE_TOLERANCE_MS = 1000
"""How far ahead of the server clock a ``timestamp`` may be (MEXC: ``timestamp < serverTime + 1000``)."""

# MEXC codes the verifier returns (see errors.py for the full table).
CODE_BAD_API_KEY = 700001
CODE_BAD_SIGNATURE = 700002
CODE_TIMESTAMP_OUTSIDE_WINDOW = 700003
CODE_RECV_WINDOW_TOO_LARGE = 700005
CODE_MANDATORY_PARAM = 44444

ParamItems = Mapping[str, object] | Iterable[tuple[str, object]]


def encode_params(params: ParamItems) -> str:
    """Encode parameters as ``k=v&k=v`` in the given order, percent-encoding with UPPERCASE hex: the shared builder
    :func:`~tradingmcp.server.exchanges.wire.encode_query`.

    Unreserved characters (``A-Z a-z 0-9 - . _ ~``) stay as they are, so ordinary values (symbols, decimals,
    integers) read the same as in MEXC's examples, while JSON values (``batchOrders``) and anything else are encoded as
    MEXC requires.

    Args:
        params: a mapping or (name, value) pairs; values are formatted with ``str`` (bools as ``true``/``false``).

    Returns:
        The query string (no leading ``?``); empty when there are no parameters.
    """
    return encode_query(params)


sign = hmac_sha256_hex
"""MEXC's signature: ``sign(secret, total_params)``, totalParams = query string + body, no separator; lowercase hex."""


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """What a signed call puts on the wire: ``query`` (URL query, no ``?``), ``body`` (form body) and ``headers``."""

    query: str
    body: str
    headers: dict[str, str]


class Signer:
    """Signs MEXC requests (sans-I/O: it only builds strings).

    Args:
        api_key: sent in ``X-MEXC-APIKEY``.
        api_secret: HMAC key; kept private, never in ``repr``.
        recv_window_ms: ``recvWindow`` added to every signed request (1..60000).

    Raises:
        ValueError: ``recv_window_ms`` out of range.
    """

    __slots__ = ("_secret", "api_key", "recv_window_ms")

    def __init__(self, api_key: str, api_secret: str, recv_window_ms: int = DEFAULT_RECV_WINDOW_MS) -> None:
        if not 0 < recv_window_ms <= MAX_RECV_WINDOW_MS:
            raise ValueError(f"recv_window_ms must be in 1..{MAX_RECV_WINDOW_MS}")
        self.api_key = api_key
        self._secret = api_secret
        self.recv_window_ms = recv_window_ms

    def __repr__(self) -> str:
        return f"Signer(api_key={self.api_key[:4]}…, recv_window_ms={self.recv_window_ms})"

    def sign_query(self, params: ParamItems, timestamp_ms: int) -> SignedRequest:
        """Sign with every parameter in the query string (MEXC docs, example 2); the body stays empty.

        Adds ``recvWindow`` and ``timestamp`` after ``params`` and ``signature`` last.

        Args:
            params: business parameters in the order to send them.
            timestamp_ms: the request time in ms (local clock + server offset).

        Returns:
            The query, an empty body, and the API-key header.
        """
        items = list(params.items() if isinstance(params, Mapping) else params)
        items += [("recvWindow", self.recv_window_ms), ("timestamp", timestamp_ms)]
        secret = self._secret
        query = signed_query(items, lambda text: sign(secret, text))
        return SignedRequest(query=query, body="", headers={API_KEY_HEADER: self.api_key})

    def sign_split(self, query_params: ParamItems, body_params: ParamItems, timestamp_ms: int) -> SignedRequest:
        """Sign with some parameters in the query and the rest in the body (MEXC docs, example 3).

        ``recvWindow``, ``timestamp`` and ``signature`` go at the end of the body; the signature covers
        query + body with no ``&`` between them.
        """
        query = encode_params(query_params)
        items = list(body_params.items() if isinstance(body_params, Mapping) else body_params)
        items += [("recvWindow", self.recv_window_ms), ("timestamp", timestamp_ms)]
        body = encode_params(items)
        signature = sign(self._secret, query + body)
        return SignedRequest(query=query, body=f"{body}&signature={signature}", headers={API_KEY_HEADER: self.api_key})


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """Outcome of ``verify``: ``ok``, or MEXC's ``code`` and ``msg`` to answer with (HTTP 400)."""

    ok: bool
    code: int = 0
    msg: str = ""
    params: dict[str, str] | None = None


def verify(
    secret: str,
    query: str,
    body: str,
    *,
    server_time_ms: int,
    api_key: str | None = None,
    expected_api_key: str | None = None,
) -> VerifyResult:
    """Check a signed request the way MEXC does (for the simulator).

    The signature may be in the query or the body; the signed text is the raw query (without ``signature``)
    concatenated with the raw body (without ``signature``). Comparison is case-insensitive for hex (MEXC only issues
    lowercase) and constant-time.

    Args:
        secret: the account's API secret.
        query: raw URL query string as received (no ``?``), still percent-encoded.
        body: raw ``application/x-www-form-urlencoded`` body as received.
        server_time_ms: the server's clock in ms.
        api_key: the ``X-MEXC-APIKEY`` header received, if the caller wants it checked.
        expected_api_key: the key the secret belongs to.

    Returns:
        ``VerifyResult(ok=True, params=...)`` with the decoded parameters (query wins over body, as MEXC says), or the
        failure with MEXC's code: 700001 (key), 700002 (signature), 700003 (timestamp outside recvWindow),
        700005 (recvWindow > 60000), 44444 (timestamp/signature missing).
    """
    if expected_api_key is not None and api_key != expected_api_key:
        return VerifyResult(False, CODE_BAD_API_KEY, "API-key format invalid.")
    q_rest, q_sig = strip_signature(query)
    b_rest, b_sig = strip_signature(body)
    given = q_sig if q_sig is not None else b_sig
    params: dict[str, str] = dict(parse_qsl(b_rest, keep_blank_values=True))
    params.update(parse_qsl(q_rest, keep_blank_values=True))
    if not given:
        return VerifyResult(False, CODE_MANDATORY_PARAM, "param 'signature' cannot be null")
    if not hmac.compare_digest(sign(secret, q_rest + b_rest), given.lower()):
        return VerifyResult(False, CODE_BAD_SIGNATURE, "Signature for this request is not valid.")
    return check_timestamp(params, server_time_ms)


def check_timestamp(params: Mapping[str, str], server_time_ms: int) -> VerifyResult:
    """MEXC's timing-security rule on already-decoded parameters.

    Accepts when ``timestamp < server_time_ms + 1000`` and ``server_time_ms - timestamp <= recvWindow``
    (recvWindow default 5000, at most 60000).

    Returns:
        ``VerifyResult(ok=True, params=dict(params))`` or the failure (700003, 700005, 44444).
    """
    ts_raw = params.get("timestamp")
    if not ts_raw:
        return VerifyResult(False, CODE_MANDATORY_PARAM, "param 'timestamp' cannot be null")
    try:
        timestamp = int(ts_raw)
        recv_window = int(float(params.get("recvWindow") or DEFAULT_RECV_WINDOW_MS))
    except ValueError:
        return VerifyResult(False, CODE_MANDATORY_PARAM, "param 'timestamp' or 'recvWindow' is malformed")
    if recv_window > MAX_RECV_WINDOW_MS:
        return VerifyResult(False, CODE_RECV_WINDOW_TOO_LARGE, "recvWindow must less than 60000")
    if timestamp < server_time_ms + FUTURE_TOLERANCE_MS and server_time_ms - timestamp <= recv_window:
        return VerifyResult(True, params=dict(params))
    return VerifyResult(
        False, CODE_TIMESTAMP_OUTSIDE_WINDOW, "Timestamp for this request is outside of the recvWindow."
    )
