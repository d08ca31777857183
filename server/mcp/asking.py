"""The handshake era's side of a tool that asks: its input requests sent as server-to-client requests (loop-free).

A tool written for Multi Round-Trip Requests raises :class:`~tradingmcp.server.mcp.mrtr.InputRequired`. A 2026-07-28
client gets an ``InputRequiredResult`` and retries by itself; a 2025-11-25 client cannot, so the server drives the
rounds: :class:`Asking` sends each input request to the client on the call's own route (``elicitation/create``,
``sampling/createMessage``, ``roots/list``, as 2025-11-25 servers do), gathers the answers by key, and hands them to
``done`` once all are in, which runs the tool again with them (:mod:`~tradingmcp.server.mcp.toolcall`). The state the
tool raised with stays in memory here: nothing is sealed, since it never leaves the server.

An error answer, or the connection closing first, ends the asking through ``failed``; ``notifications/cancelled`` of
the call ends it through :meth:`Asking.cancel` (the session's ``cancel``), after which late answers are ignored.
Follows https://modelcontextprotocol.io/specification/2025-11-25/client (sampling, elicitation, roots).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final

from tradingmcp.transport import jsonrpc

if TYPE_CHECKING:
    from tradingmcp.server.mcp.engine import Answered, ServerSession
    from tradingmcp.server.mcp.protocol import Sink

MAX_ROUNDS: Final = 16
"""Most rounds of input the server drives for one handshake-era call (a tool that never stops asking then fails)."""


class Asking:
    """One round of input requests of a handshake-era ``tools/call`` ``rid``.

    Args:
        session: the client's session (sends the requests, matches the answers).
        sink: the route of the call (its requests go out there, beside its progress and log lines).
        rid: the id of the ``tools/call`` that asks.
        requests: ``{key: {"method", "params"}}``, checked against the client's capabilities.
        done: called once with ``{key: result}`` when every request is answered.
        failed: called once with a sentence when one is answered with an error or the connection closes first.
    """

    __slots__ = ("_asked", "_done", "_failed", "answers", "ended", "requests", "rid", "session", "sink")

    def __init__(
        self,
        session: ServerSession,
        sink: Sink,
        rid: jsonrpc.RequestId,
        requests: Mapping[str, Mapping[str, Any]],
        done: Callable[[dict[str, Any]], None],
        failed: Callable[[str], None],
    ) -> None:
        self.session = session
        self.sink = sink
        self.rid = rid
        self.requests = requests
        self.answers: dict[str, Any] = {}
        self.ended = False
        self._done = done
        self._failed = failed
        self._asked: list[jsonrpc.RequestId] = []

    def __repr__(self) -> str:
        return f"Asking(id={self.rid!r}, answered={len(self.answers)}/{len(self.requests)}, ended={self.ended})"

    def start(self) -> None:
        """Send every request; the session remembers this asking until it ends (its ``cancel`` reaches it)."""
        self.session.asking[self.rid] = self
        for key, request in self.requests.items():
            self._asked.append(self.session.request(request["method"], request["params"], self.sink, self._on(key)))

    def cancel(self) -> None:
        """The call was cancelled: stop waiting (answers still due are ignored), never call ``done`` or ``failed``."""
        self._end()

    def _end(self) -> None:
        self.ended = True
        if self.session.asking.get(self.rid) is self:
            del self.session.asking[self.rid]
        outgoing = self.session.outgoing
        for asked in self._asked:
            outgoing.pop(asked, None)

    def _on(self, key: str) -> Answered:
        def answered(result: Any, error: dict[str, Any] | None) -> None:
            if self.ended:
                return
            if error is not None or not isinstance(result, dict):
                self._end()
                method = self.requests[key]["method"]
                reason = error.get("message") if isinstance(error, dict) else "not an object"
                self._failed(f"the client's answer to {method} ({key}) failed: {reason}")
                return
            self.answers[key] = result
            if len(self.answers) == len(self.requests):
                self._end()
                self._done(self.answers)

        return answered
