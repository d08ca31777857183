"""Every error the TradingMCP client raises, in one place.

* :class:`McpClientError`: the base of all of them.
* :class:`RpcError`: the server answered with a JSON-RPC error response (``code``, ``message``, ``data``; codes per
  JSON-RPC 2.0 §5.1 and MCP, e.g. ``-32602`` invalid params).
* :class:`RequestTimeout`: no answer within the call's timeout; the server was told to cancel the request.
* :class:`ConnectionLost`: the link was down or dropped while the call was in flight; the call was NOT re-sent.
* :class:`InputRequiredError`: the client could not answer a server's request for input (2026-07-28 input-required
  rounds, or the 2025-11-25 server-to-client requests): no handler for it, a handler that is not one or answered with
  the wrong shape, a malformed input-required result, or more rounds than ``ClientOptions.max_input_rounds``.

Not raised here but by :func:`~tradingmcp.client.session.connect`: :class:`~tradingmcp.transport.ws.HandshakeRejected`
(the server refused the upgrade: HTTP 401 bad token, 403 origin/host) and ``OSError`` / ``TimeoutError`` (unreachable).
"""

from __future__ import annotations

from typing import Any


class McpClientError(Exception):
    """Base of the client's errors."""


class ConnectionLost(McpClientError, ConnectionError):
    """The link dropped (or was not up) while the call was in flight; the call was not re-sent."""


class RequestTimeout(McpClientError, TimeoutError):
    """No answer within the timeout; the server was sent ``notifications/cancelled`` for it."""


class InputRequiredError(McpClientError):
    """The client could not answer the server's request for input (see the module docstring); the request that asked
    was not retried again."""


class RpcError(McpClientError):
    """A JSON-RPC error response.

    Attributes:
        code: the JSON-RPC error code (0 when the server sent none or a malformed one).
        message: the error message.
        data: the optional ``data`` member (any JSON value), None when absent.
    """

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(f"{message} (JSON-RPC error {code})")
        self.code = code
        self.message = message
        self.data = data


def rpc_error(err: Any) -> RpcError:
    """The :class:`RpcError` for a JSON-RPC ``error`` member (tolerates a malformed one)."""
    if not isinstance(err, dict):
        return RpcError(0, str(err))
    try:
        code = int(err.get("code", 0))
    except (TypeError, ValueError):
        code = 0
    return RpcError(code, str(err.get("message", "")), err.get("data"))
