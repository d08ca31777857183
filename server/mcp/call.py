"""The engine's :class:`~tradingmcp.server.mcp.context.CallContext`: :class:`Call` (caller, progress, logging)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tradingmcp.server.mcp.mrtr import NO_INPUTS, Inputs
from tradingmcp.server.mcp.registry import ToolError
from tradingmcp.transport import jsonrpc
from tradingmcp.transport.auth import Principal
from tradingmcp.transport.mcpnames import META_CLIENT_CAPS, META_LOG_LEVEL, META_VERSION, MODERN_VERSIONS, PROGRESS

if TYPE_CHECKING:
    from tradingmcp.server.mcp.engine import Answered, ServerSession
    from tradingmcp.server.mcp.protocol import Sink
    from tradingmcp.server.mcp.streams import Subscriber


class Call:
    """What a tool sees of its request: who called, and how to report progress or log.

    Built for every tools/call, so it stores only what it was given; ``progress_token``, ``log_level`` and
    ``inputs`` are read from the request when asked for. Progress and log lines go to ``sink``, the route of the
    request (the session's sink when not given). ``params`` are those of the ``tools/call`` (None: it cannot take
    rounds of input); ``inputs`` what its retry brought, when it carried any.
    """

    __slots__ = ("_inputs", "_meta", "_params", "asked", "request_id", "session", "sink")

    def __init__(
        self,
        session: ServerSession,
        request_id: jsonrpc.RequestId,
        meta: dict[str, Any] | None,
        sink: Sink | None = None,
        params: dict[str, Any] | None = None,
        inputs: Inputs | None = None,
    ) -> None:
        self.session = session
        self.request_id = request_id
        self._meta = meta
        self._params = params
        self._inputs = inputs
        self.sink = session.sink if sink is None else sink
        self.asked: list[jsonrpc.RequestId] | None = None
        """Ids of the requests this call sent the client (:meth:`request`), forgotten when the call ends."""

    @property
    def principal(self) -> Principal:
        """Who called (the connection's token)."""
        return self.session.principal

    @property
    def progress_token(self) -> Any:
        """``_meta.progressToken`` of the request, or None when the caller wants no progress."""
        meta = self._meta
        return meta.get("progressToken") if meta else None

    @property
    def log_level(self) -> str | None:
        """The request's ``_meta`` log level (2026-07-28), else the session's (``logging/setLevel``)."""
        meta = self._meta
        level = meta.get(META_LOG_LEVEL) if meta else None
        return level if isinstance(level, str) else self.session.log_level

    @property
    def inputs(self) -> Inputs:
        """The answers and state a retry carried (:class:`~tradingmcp.server.mcp.mrtr.Inputs`): the client's own
        (2026-07-28) or the server's (the handshake era); on a first round, none, with the client's capabilities."""
        found = self._inputs
        if found is None:
            params, meta = self._params, self._meta
            if params is None:
                found = NO_INPUTS
            else:  # bound as tools_call binds a retry's state: the tool's name and its (validated) arguments
                version = meta.get(META_VERSION) if meta else None
                caps = meta.get(META_CLIENT_CAPS) if meta and version in MODERN_VERSIONS else None
                if caps is None and version not in MODERN_VERSIONS:
                    caps = self.session.client_capabilities
                args = params.get("arguments")
                bound = (self.session.principal.name, "tools/call", params["name"], {} if args is None else args)
                found = Inputs(None, None, caps, bound)
            self._inputs = found
        return found

    def again(self, inputs: Inputs) -> Call:
        """This call as the tool sees it once more, with ``inputs`` (the server drove a round of input)."""
        return Call(self.session, self.request_id, self._meta, self.sink, self._params, inputs)

    @property
    def subscriber(self) -> Subscriber:
        """Where this connection's pushes go: the session's sink."""
        return self.session.sink

    def progress(self, progress: float, total: float | None = None, message: str | None = None) -> None:
        """Send ``notifications/progress`` if the caller asked for it (``_meta.progressToken``)."""
        token = self.progress_token
        if token is None:
            return
        params: dict[str, Any] = {"progressToken": token, "progress": progress}
        if total is not None:
            params["total"] = total
        if message is not None:
            params["message"] = message
        self.sink.send(jsonrpc.encode_notification(PROGRESS, params))

    def log(self, level: str, data: Any, logger: str | None = None) -> None:
        """Send ``notifications/message`` when ``level`` is at or above the client's chosen level."""
        self.session.log(level, data, logger, self.log_level, self.sink)

    def request(self, method: str, params: dict[str, Any], on_answer: Answered) -> None:
        """Ask the client (2025-11-25 server-to-client request) on this call's route; ``on_answer(result, error)``
        once (:meth:`~tradingmcp.server.mcp.engine.ServerSession.request`).

        Raises:
            ToolError: ``unsupported`` for a 2026-07-28 call (that era has no server-to-client requests).
        """
        meta = self._meta
        if meta and meta.get(META_VERSION) in MODERN_VERSIONS:
            raise ToolError(
                f"{method} cannot be sent in a 2026-07-28 call (no server-to-client requests)", "unsupported"
            )
        rid = self.session.request(method, params, self.sink, on_answer)
        if self.asked is None:
            self.asked = []
        self.asked.append(rid)

    def forget_asked(self) -> None:
        """The call ended: an answer still due to one of its requests is no longer awaited (it is then ignored)."""
        if self.asked:
            outgoing = self.session.outgoing
            for rid in self.asked:
                outgoing.pop(rid, None)
            self.asked = None
