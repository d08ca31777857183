"""JSON-RPC 2.0 framing, sans-I/O: classify an incoming message, encode responses, errors and notifications.

Follows https://www.jsonrpc.org/specification and MCP's use of it (no batches since 2025-06-18). Everything here works on
``bytes`` (UTF-8 JSON, one message per WebSocket text frame) with orjson and builds no pydantic models: this is the hot
path. Error codes are the JSON-RPC ones plus MCP's.

Error messages repeat a caller's value (an unknown tool name, a property name, an enum value) through :func:`quote`: at
most :data:`MAX_QUOTED_CHARS` characters of it, so a message's length does not grow with the caller's input.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Final

import orjson

JSONRPC: Final = "2.0"
MAX_ID_LENGTH: Final = 256
"""Longest string id we accept (characters); longer ids, and integers outside ±2**53, are -32600."""
MAX_SAFE_INT: Final = 2**53 - 1
MAX_QUOTED_CHARS: Final = 64
"""Most characters of a caller's value that :func:`quote` repeats in an error message."""

RequestId = str | int


class ErrorCode(IntEnum):
    """JSON-RPC 2.0 error codes (§5.1) and MCP's additions."""

    PARSE_ERROR = -32700
    INVALID_REQUEST = -32600
    METHOD_NOT_FOUND = -32601
    INVALID_PARAMS = -32602
    INTERNAL_ERROR = -32603
    # MCP / implementation-defined (-32000..-32099)
    CONNECTION_CLOSED = -32000
    REQUEST_TIMEOUT = -32001
    TOO_MANY_REQUESTS = -32005
    UNAUTHORIZED = -32010
    FORBIDDEN = -32011
    RESOURCE_NOT_FOUND = -32002
    MISSING_CLIENT_CAPABILITY = -32021
    UNSUPPORTED_PROTOCOL_VERSION = -32022


class JsonRpcError(Exception):
    """An error that becomes a JSON-RPC error response (the single place exceptions turn into wire errors).

    Attributes:
        code: the JSON-RPC error code.
        message: a short human sentence saying what is wrong and what to do.
        data: optional JSON-serializable details.
    """

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = int(code)
        self.message = message
        self.data = data


def quote(value: Any, limit: int = MAX_QUOTED_CHARS) -> str:
    """``value`` as an error message shows it: ``repr`` of a string, JSON of anything else; when longer than
    ``limit``, its first ``limit`` characters followed by ``… (N characters)`` (a string's length) or
    ``… (N bytes of JSON)``.

    At most ``limit`` + 40 characters whatever ``value`` is; a string is read no further than ``limit`` + 1 characters.
    """
    if isinstance(value, str):
        size = f"{len(value)} characters"
        fits = len(value) <= limit
        text = repr(value[: limit + 1])
    else:
        try:
            raw = orjson.dumps(value)  # values a caller can send are JSON: linear in their size
        except TypeError:
            raw = f"<{type(value).__name__}>".encode()
        size = f"{len(raw)} bytes of JSON"
        fits = len(raw) <= limit
        text = raw[: 4 * (limit + 1)].decode(errors="ignore")
    if fits and len(text) <= limit + 2:
        return text
    return f"{text[:limit]}… ({size})"


def short(value: Any) -> Any:
    """``value`` itself when it is a scalar or a string of at most :data:`MAX_QUOTED_CHARS` characters, else its
    :func:`quote`: a caller's value repeated in an error's ``data`` stays small."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str) and len(value) <= MAX_QUOTED_CHARS:
        return value
    return quote(value)


class Kind(IntEnum):
    REQUEST = 1
    NOTIFICATION = 2
    RESPONSE = 3
    ERROR_RESPONSE = 4


@dataclass(slots=True)
class Message:
    """A classified incoming JSON-RPC message.

    Attributes:
        kind: request, notification, response or error response.
        id: the request id (requests and responses), else None.
        method: the method name (requests and notifications), else "".
        params: the params object (dict) or None.
        result: the result (responses) or the error object (error responses).
    """

    kind: Kind
    id: RequestId | None
    method: str
    params: dict[str, Any] | None
    result: Any


def _check_id(raw: Any) -> RequestId:
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        raise JsonRpcError(ErrorCode.INVALID_REQUEST, "id must be a string or an integer")
    if isinstance(raw, int) and not -MAX_SAFE_INT <= raw <= MAX_SAFE_INT:
        raise JsonRpcError(ErrorCode.INVALID_REQUEST, "integer id out of range (|id| must be <= 2**53-1)")
    if isinstance(raw, str) and len(raw) > MAX_ID_LENGTH:
        raise JsonRpcError(ErrorCode.INVALID_REQUEST, f"string id longer than {MAX_ID_LENGTH} characters")
    return raw


def parse(data: bytes | bytearray | memoryview | str) -> Message:
    """Parse and classify one JSON-RPC message.

    Args:
        data: one UTF-8 JSON text (a WebSocket text frame's payload).

    Returns:
        The classified message.

    Raises:
        JsonRpcError: -32700 for invalid JSON (``id`` unknown: answer with ``id: null``); -32600 for valid JSON that is not
            a JSON-RPC 2.0 message (arrays/batches, wrong ``jsonrpc``, bad id, bad method, non-object params). When the
            id could be read it is in ``error.data["id"]`` so the caller can answer that request.
    """
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise JsonRpcError(ErrorCode.PARSE_ERROR, f"Parse error: invalid JSON ({exc.msg})") from None
    return classify(obj)


def request_parts(obj: Any) -> tuple[RequestId, str, dict[str, Any] | None] | None:
    """``(id, method, params)`` when ``obj`` (decoded JSON) is a well-formed request, else None (hot path).

    A cheap exact-type test of the common case: None means "not obviously a valid request", and :func:`classify`
    gives the exact answer (a notification, a response, or the -32600 error to send).
    """
    if type(obj) is not dict or obj.get("jsonrpc") != JSONRPC:
        return None
    rid = obj.get("id")
    method = obj.get("method")
    params = obj.get("params")
    if type(method) is not str or not method or (params is not None and type(params) is not dict):
        return None
    if type(rid) is int:
        if -MAX_SAFE_INT <= rid <= MAX_SAFE_INT:
            return rid, method, params
    elif type(rid) is str and len(rid) <= MAX_ID_LENGTH:
        return rid, method, params
    return None


def classify(obj: Any) -> Message:
    """Classify one decoded JSON value (``orjson.loads`` output) as a JSON-RPC message.

    Raises:
        JsonRpcError: -32600 as for :func:`parse`.
    """
    if not isinstance(obj, dict):
        what = (
            "batches are not supported (MCP removed them in 2025-06-18)" if isinstance(obj, list) else "not an object"
        )
        raise JsonRpcError(ErrorCode.INVALID_REQUEST, f"Invalid Request: {what}")
    raw_id = obj.get("id")
    safe_id: RequestId | None = None
    if "id" in obj and raw_id is not None:
        try:
            safe_id = _check_id(raw_id)
        except JsonRpcError as exc:
            raise JsonRpcError(exc.code, "Invalid Request: " + exc.message) from None
    if obj.get("jsonrpc") != JSONRPC:
        raise JsonRpcError(ErrorCode.INVALID_REQUEST, 'Invalid Request: "jsonrpc" must be "2.0"', {"id": safe_id})
    method = obj.get("method")
    if method is not None:
        if not isinstance(method, str) or not method:
            raise JsonRpcError(ErrorCode.INVALID_REQUEST, "Invalid Request: method must be a string", {"id": safe_id})
        params = obj.get("params")
        if params is not None and not isinstance(params, dict):
            raise JsonRpcError(ErrorCode.INVALID_REQUEST, "Invalid Request: params must be an object", {"id": safe_id})
        if "id" in obj:
            if raw_id is None:
                raise JsonRpcError(ErrorCode.INVALID_REQUEST, "Invalid Request: id must not be null", {"id": None})
            return Message(Kind.REQUEST, safe_id, method, params, None)
        return Message(Kind.NOTIFICATION, None, method, params, None)
    if "result" in obj and "id" in obj:
        return Message(Kind.RESPONSE, safe_id, "", None, obj["result"])
    if "error" in obj and "id" in obj and isinstance(obj["error"], dict):
        return Message(Kind.ERROR_RESPONSE, safe_id, "", None, obj["error"])
    raise JsonRpcError(
        ErrorCode.INVALID_REQUEST, "Invalid Request: neither a request, a notification nor a response", {"id": safe_id}
    )


def encode_result(request_id: RequestId, result: Any) -> bytes:
    """A response ``{"jsonrpc":"2.0","id":..,"result":..}`` as UTF-8 bytes."""
    return orjson.dumps({"jsonrpc": JSONRPC, "id": request_id, "result": result})


def encode_error(request_id: RequestId | None, code: int, message: str, data: Any = None) -> bytes:
    """An error response; ``request_id`` None when it could not be read (parse errors)."""
    err: dict[str, Any] = {"code": int(code), "message": message}
    if data is not None:
        err["data"] = data
    return orjson.dumps({"jsonrpc": JSONRPC, "id": request_id, "error": err})


def encode_request(request_id: RequestId, method: str, params: dict[str, Any] | None = None) -> bytes:
    """A request; ``params`` omitted when None."""
    if params is None:
        return orjson.dumps({"jsonrpc": JSONRPC, "id": request_id, "method": method})
    return orjson.dumps({"jsonrpc": JSONRPC, "id": request_id, "method": method, "params": params})


def encode_notification(method: str, params: dict[str, Any] | None = None) -> bytes:
    """A notification (no id); ``params`` omitted when None."""
    if params is None:
        return orjson.dumps({"jsonrpc": JSONRPC, "method": method})
    return orjson.dumps({"jsonrpc": JSONRPC, "method": method, "params": params})
