"""MEXC request signing (sans-I/O): the client's signer.

MEXC signs ``totalParams`` = the query string concatenated with the request body (NO ``&`` between them) with
HMAC-SHA256 keyed by the API secret; the signature is lowercase hex, sent as the ``signature`` parameter, with the key
in the ``X-MEXC-APIKEY`` header. A request is accepted when
``timestamp < serverTime + 1000 and serverTime - timestamp <= recvWindow`` (recvWindow defaults to 5000 ms, max 60000).
Values containing special characters (e.g. the JSON of ``batchOrders``) are percent-encoded with UPPERCASE hex before
signing. API doc: https://mexcdevelop.github.io/apidocs/spot_v3_en/#signed

Never log the secret or a signature.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from tradingmcp.server.exchanges.mexc.config import DEFAULT_RECV_WINDOW_MS, MAX_RECV_WINDOW_MS
from tradingmcp.server.exchanges.wire import encode_query, hmac_sha256_hex, signed_query

API_KEY_HEADER = "X-MEXC-APIKEY"
"""Header carrying the API key on signed (and listenKey) requests."""

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
