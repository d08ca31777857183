"""The MCP client's protocol core, sans-I/O: no socket, no event loop, no timer.

:class:`ClientCore` numbers the requests, speaks the client's protocol era and encodes every outgoing message as the
bytes of one WebSocket text frame (requests, notifications, cancellations, the handshake). :meth:`ClientCore.receive`
decodes each text frame the server sends into one event, delivered as one call on the :class:`Handlers` it was built
with (no event object is built on the hot path):

* ``response(request_id, result, error)``: the answer to a request; ``error`` is an
  :class:`~tradingmcp.client.errors.RpcError` when the server answered with one, else None;
* ``notification(note)``: a server :class:`Notification` (``method``, ``params``);
* ``input_request(request_id, method, params)``: a request from the server that the client's
  :class:`~tradingmcp.client.features.ClientFeatures` answer (``elicitation/create``, ``sampling/createMessage``,
  ``roots/list``, each only with its handler; the 2025-11-25 era); answer it with :meth:`ClientCore.encode_answer`;
* ``server_request(request_id, method, reply)``: any other request from the server; ``reply`` is the answer to send
  (``{}`` for ``ping``, else ``-32601``);
* ``parse_error(detail)``: the frame is not JSON.

``notifications/progress`` of a request sent with ``on_progress`` goes to that handler instead of ``notification``;
JSON that is none of the above is ignored.

Eras (https://modelcontextprotocol.io/specification): in 2025-11-25 each link starts with the ``initialize`` handshake
(:meth:`ClientCore.greeting`, then :meth:`ClientCore.greeted` gives the ``notifications/initialized`` to send); in
2026-07-28 there is no handshake (``server/discover`` tells what the server offers) and every request carries
``_meta`` with the protocol version, the client's capabilities and its info.

The core keeps no call in flight: whoever sends a request keeps what waits for its answer and its deadline (the asyncio
shell, :mod:`tradingmcp.client.shell`) and looks a response up by its id. Messages follow JSON-RPC 2.0
(https://www.jsonrpc.org/specification) and the MCP base protocol
(https://modelcontextprotocol.io/specification/2025-11-25/basic).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Final, NamedTuple

import orjson

from tradingmcp.client.errors import RpcError, rpc_error
from tradingmcp.client.features import ClientFeatures
from tradingmcp.transport import jsonrpc
from tradingmcp.transport.mcpnames import (
    CANCELLED,
    INITIALIZED,
    LATEST_HANDSHAKE,
    META_CLIENT_CAPS,
    META_CLIENT_INFO,
    META_SERVER_INFO,
    META_VERSION,
    MODERN_VERSIONS,
    PROGRESS,
    STREAM,
    STREAMS_EXTENSION,
)

_loads = orjson.loads
_dumps = orjson.dumps
_new = tuple.__new__  # builds a Notification without the NamedTuple's Python-level __new__ (the frame hot path)

Frame = bytes | bytearray | memoryview | str
"""One text frame's payload (UTF-8 JSON); a memoryview need only be valid during :meth:`ClientCore.receive`."""
ProgressHandler = Callable[[dict[str, Any]], None]
"""Takes the ``params`` of each ``notifications/progress`` of one request."""

CLIENT_INFO: Final = {"name": "tradingmcp-client", "version": "0.1.0"}
"""The default ``clientInfo``."""
CLIENT_CAPABILITIES: Final[dict[str, Any]] = {"extensions": {STREAMS_EXTENSION: {}}}
"""The capabilities of a client with no handlers, in both eras: our stream notifications (the extension a 2026-07-28
server asks for before ``subscribe``); each handler of :class:`~tradingmcp.client.features.ClientFeatures` adds its
own (:attr:`ClientCore.capabilities`)."""
PING: Final = "ping"
"""A server's liveness request (2025-11-25), answered ``{}``."""
TIMEOUT_REASON: Final = "client timeout"
"""``reason`` of the ``notifications/cancelled`` sent for a request that got no answer in time."""


class Notification(NamedTuple):
    """A server notification: ``method`` and ``params`` (dict)."""

    method: str
    params: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Handlers:
    """Where :meth:`ClientCore.receive` delivers what a frame holds: exactly one call per frame that is a message
    (see the module docstring). A handler's exception propagates out of :meth:`ClientCore.receive`.

    Attributes:
        response: ``(request_id, result, error)``; ``error`` is an ``RpcError`` or None.
        notification: ``(Notification)``.
        server_request: ``(request_id, method, reply_bytes)``.
        parse_error: ``(detail)``: what the JSON decoder said.
        input_request: ``(request_id, method, params)``; required when the core has features to answer with.
    """

    response: Callable[[Any, Any, RpcError | None], None]
    notification: Callable[[Notification], None]
    server_request: Callable[[Any, str, bytes], None]
    parse_error: Callable[[str], None]
    input_request: Callable[[Any, str, dict[str, Any]], None] | None = None


class Phase(IntEnum):
    """Where the current link is in its lifecycle."""

    IDLE = 0
    """No link, or a link that has not been greeted yet."""
    GREETING = 1
    """``initialize`` (2025-11-25) or ``server/discover`` (2026-07-28) sent; its answer is awaited."""
    READY = 2
    """Greeted: ``server_info``, ``server_capabilities`` and ``protocol_version`` describe this link's server."""


def progress_token(request_id: int) -> str:
    """The ``progressToken`` of request ``request_id`` when it was sent with ``on_progress``."""
    return f"p{request_id}"


class ClientCore:
    """Ids, era, encoding and decoding of one client session (see the module docstring).

    Args:
        handlers: where decoded frames go.
        protocol_version: ``2025-11-25`` (or an older handshake revision) or ``2026-07-28``.
        client_info: ``clientInfo`` sent to the server (``name``, ``version``).
        features: the handlers that answer the server's input requests (None: none); they decide the capabilities.

    Raises:
        ValueError: ``features`` with handlers but no ``handlers.input_request`` to deliver their requests to.

    Attributes:
        version: the protocol version asked for. modern: True in the 2026-07-28 era (per-request ``_meta``).
        phase: the current link's :class:`Phase`.
        capabilities: the client capabilities declared (``initialize``, or ``_meta`` of every 2026-07-28 request).
        answers: the input request methods the features answer.
        server_info, server_capabilities, protocol_version: what the server announced when last greeted (kept
            across a dropped link until the next greeting answers).
    """

    def __init__(
        self,
        handlers: Handlers,
        protocol_version: str = LATEST_HANDSHAKE,
        client_info: dict[str, str] | None = None,
        features: ClientFeatures | None = None,
    ) -> None:
        features = features if features is not None else ClientFeatures()
        self.answers = features.methods
        if self.answers and handlers.input_request is None:
            raise ValueError("a client with input handlers needs Handlers.input_request")
        self.capabilities = features.capabilities(CLIENT_CAPABILITIES)
        self.version = protocol_version
        self.modern = protocol_version in MODERN_VERSIONS
        self.client_info = client_info if client_info is not None else dict(CLIENT_INFO)
        self.phase = Phase.IDLE
        self.server_info: dict[str, Any] = {}
        self.server_capabilities: dict[str, Any] = {}
        self.protocol_version: str | None = None
        self._last_id = 0
        self._meta = {
            META_VERSION: protocol_version,
            META_CLIENT_CAPS: self.capabilities,
            META_CLIENT_INFO: self.client_info,
        }
        self._progress: dict[str, ProgressHandler] = {}
        self._on_response = handlers.response
        self._on_notification = handlers.notification
        self._on_server_request = handlers.server_request
        self._on_parse_error = handlers.parse_error
        self._on_input_request = handlers.input_request

    @property
    def last_id(self) -> int:
        """The id of the latest request encoded (0 before the first); ids are 1, 2, 3, ... in encoding order."""
        return self._last_id

    # ---------------------------------------------------------------- outbound
    def encode_request(
        self, method: str, params: dict[str, Any] | None = None, *, on_progress: ProgressHandler | None = None
    ) -> tuple[int, bytes]:
        """Request ``method`` with the next id.

        In the 2026-07-28 era ``params._meta`` gets the protocol version, the client's capabilities and info (keys the
        caller put in ``_meta`` win). With ``on_progress`` the request asks for progress (``_meta.progressToken``,
        see :func:`progress_token`) and :meth:`receive` hands the params of each of its ``notifications/progress`` to
        ``on_progress`` until :meth:`end_progress`.

        Returns:
            ``(request_id, frame_bytes)``.
        """
        self._last_id = rid = self._last_id + 1
        if on_progress is not None:
            token = progress_token(rid)
            params = {**(params or {}), "_meta": {**(params or {}).get("_meta", {}), "progressToken": token}}
            self._progress[token] = on_progress
        if self.modern:
            params = {**(params or {}), "_meta": {**self._meta, **(params or {}).get("_meta", {})}}
        if params is None:
            return rid, _dumps({"jsonrpc": "2.0", "id": rid, "method": method})
        return rid, _dumps({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})

    def encode_tool_call(self, name: str, arguments: dict[str, Any] | None = None) -> tuple[int, bytes]:
        """``tools/call`` of tool ``name`` (``arguments`` None: ``{}``): the hot path, one frame literal in the
        2025-11-25 era.

        Returns:
            ``(request_id, frame_bytes)``.
        """
        if self.modern:
            return self.encode_request("tools/call", {"name": name, "arguments": arguments or {}})
        self._last_id = rid = self._last_id + 1
        frame = {
            "jsonrpc": "2.0",
            "id": rid,
            "method": "tools/call",
            "params": {"name": name, "arguments": {} if arguments is None else arguments},
        }
        return rid, _dumps(frame)

    def end_progress(self, request_id: int) -> None:
        """Request ``request_id`` is settled: its later progress notifications are plain notifications."""
        self._progress.pop(progress_token(request_id), None)

    def encode_notification(self, method: str, params: dict[str, Any] | None = None) -> bytes:
        """Notification ``method`` (``params`` omitted when None)."""
        return jsonrpc.encode_notification(method, params)

    def encode_answer(self, request_id: Any, result: dict[str, Any]) -> bytes:
        """The client's answer ``result`` to the server's request ``request_id`` (from ``input_request``)."""
        return jsonrpc.encode_result(request_id, result)

    def encode_refusal(self, request_id: Any, message: str) -> bytes:
        """The client could not answer the server's request ``request_id``: a ``-32603`` error saying ``message``."""
        return jsonrpc.encode_error(request_id, jsonrpc.ErrorCode.INTERNAL_ERROR, message)

    def encode_cancel(self, request_id: int, reason: str = TIMEOUT_REASON) -> bytes:
        """``notifications/cancelled`` asking the server to stop request ``request_id``."""
        return jsonrpc.encode_notification(CANCELLED, {"requestId": request_id, "reason": reason})

    # ---------------------------------------------------------------- lifecycle
    @property
    def greeting_method(self) -> str:
        """The method that opens a link: ``initialize`` (2025-11-25) or ``server/discover`` (2026-07-28)."""
        return "server/discover" if self.modern else "initialize"

    def greeting(self) -> tuple[int, bytes]:
        """The first request on a new link (:attr:`greeting_method`); the phase becomes GREETING.

        Returns:
            ``(request_id, frame_bytes)``; hand its result to :meth:`greeted`.
        """
        if self.modern:
            rid, data = self.encode_request("server/discover", {})
        else:
            params = {
                "protocolVersion": self.version,
                "capabilities": self.capabilities,
                "clientInfo": self.client_info,
            }
            rid, data = self.encode_request("initialize", params)
        self.phase = Phase.GREETING
        return rid, data

    def greeted(self, result: Any) -> bytes | None:
        """The server answered the greeting with ``result``: record what it announced; the phase becomes READY.

        Returns:
            ``notifications/initialized`` to send in the 2025-11-25 era, None in 2026-07-28.
        """
        self.protocol_version = self.version if self.modern else result.get("protocolVersion")
        self.server_capabilities = result.get("capabilities", {})
        self.server_info = result.get("serverInfo") or result.get("_meta", {}).get(META_SERVER_INFO, {})
        self.phase = Phase.READY
        return None if self.modern else jsonrpc.encode_notification(INITIALIZED)

    def link_closed(self) -> None:
        """The link dropped: the next one starts with a new greeting (request ids keep counting)."""
        self.phase = Phase.IDLE

    # ---------------------------------------------------------------- inbound
    def receive(self, data: Frame) -> None:
        """One text frame from the server: one call on the handlers (see the module docstring), or none for JSON that
        is not a message."""
        try:
            msg = _loads(data)
        except orjson.JSONDecodeError as exc:
            self._on_parse_error(exc.msg)
            return
        if type(msg) is not dict:
            return
        rid = msg.get("id")
        if rid is not None and "method" not in msg:
            err = msg.get("error")
            if err is None:
                self._on_response(rid, msg.get("result"), None)
            else:
                self._on_response(rid, None, rpc_error(err))
            return
        method = msg.get("method")
        if not isinstance(method, str):
            return
        params = msg.get("params") or {}
        if rid is not None:
            if method in self.answers and type(params) is dict and self._on_input_request is not None:
                self._on_input_request(rid, method, params)
                return
            if method == PING:
                reply = jsonrpc.encode_result(rid, {})
            elif method in self.answers:
                reply = jsonrpc.encode_error(
                    rid, jsonrpc.ErrorCode.INVALID_PARAMS, f"{method} params must be an object"
                )
            else:
                reply = jsonrpc.encode_error(rid, jsonrpc.ErrorCode.METHOD_NOT_FOUND, f"Method not found: {method}")
            self._on_server_request(rid, method, reply)
            return
        if method == PROGRESS and type(params) is dict:
            token = params.get("progressToken")
            if type(token) is str:
                on_progress = self._progress.get(token)
                if on_progress is not None:
                    on_progress(params)
                    return
        self._on_notification(_new(Notification, (method, params)))


# ---------------------------------------------------------------- stream positions (resume)


@dataclass(slots=True)
class StreamCursor:
    """What the client knows of one subscribed stream (``notifications/tradingmcp/stream``).

    Attributes:
        epoch: the stream's numbering as the server's last ``subscribe`` answer named it (None: not known yet).
        last_seq: the newest ``seq`` the client has (every message up to it was delivered or superseded).
        conflates: the server said the stream conflates (full states, a jump in ``seq`` loses nothing).
        received: stream messages delivered. duplicates: messages dropped because their ``seq`` was already had.
        lost: messages of a lossless stream known missing (a jump in ``seq``, or a resume the server refused).
        skipped: states of a conflating stream superseded before they were sent (a jump in ``seq``).
        resumes: resubscriptions with ``since_seq``; refused: those answered ``resumed: false``; resets: those whose
            numbering had changed (another epoch: what was missed cannot be counted).
        pending: a ``subscribe`` is in flight: its replay may arrive before its answer, and is taken as it comes.
    """

    epoch: str | None = None
    last_seq: int = 0
    conflates: bool = True
    received: int = 0
    duplicates: int = 0
    lost: int = 0
    skipped: int = 0
    resumes: int = 0
    refused: int = 0
    resets: int = 0
    pending: bool = True
    pending_last: int = 0


STREAM_METHOD: Final = STREAM
"""The stream notification method whose ``params`` :meth:`StreamSeqs.on_message` takes."""


class StreamSeqs:
    """The position of each subscribed stream, for a lossless resume after a reconnect (sans-I/O).

    The contract (the server's ``subscribe`` tool): resubscribing with ``{"stream", "since_seq", "epoch"}`` replays
    every message after ``since_seq`` that the server still holds, then continues live; the answer says ``resumed``
    and ``first_seq``. Use: :meth:`subscribing` before sending ``subscribe`` (:meth:`resume_args` gives its arguments),
    :meth:`answered` with its answer, :meth:`on_message` for each stream notification (False: a duplicate, drop it).
    """

    __slots__ = ("cursors",)

    def __init__(self) -> None:
        self.cursors: dict[str, StreamCursor] = {}

    def resume_args(self, key: str) -> dict[str, Any]:
        """The ``subscribe`` arguments for ``key``: with ``since_seq`` and ``epoch`` once the stream has a position."""
        c = self.cursors.get(key)
        if c is None or c.epoch is None:
            return {"stream": key}
        since = max(c.last_seq, c.pending_last) if c.pending else c.last_seq
        return {"stream": key, "since_seq": since, "epoch": c.epoch}

    def subscribing(self, key: str) -> StreamCursor:
        """A ``subscribe`` of ``key`` is about to be sent (first time or resume)."""
        c = self.cursors.get(key)
        if c is None:
            c = self.cursors[key] = StreamCursor()
        elif c.pending and c.pending_last > c.last_seq:  # an earlier attempt delivered a replay, then failed
            c.last_seq = c.pending_last
        c.pending = True
        c.pending_last = 0
        return c

    def answered(self, key: str, answer: dict[str, Any], args: dict[str, Any]) -> StreamCursor:
        """The server answered the ``subscribe`` sent with ``args`` (:meth:`resume_args`): count what a refused resume
        lost, and take the stream's epoch and position from the answer (its ``structuredContent``)."""
        c = self.cursors.get(key) or self.subscribing(key)
        epoch = answer.get("epoch")
        seq = answer.get("seq")
        seq = seq if type(seq) is int else 0
        c.conflates = answer.get("conflates", True) is not False
        since = args.get("since_seq")
        if since is not None:
            c.resumes += 1
            if answer.get("resumed") is not True:
                c.refused += 1
                first = answer.get("first_seq")
                if epoch != args.get("epoch"):
                    c.resets += 1
                    c.last_seq = 0  # the old numbering means nothing now
                elif type(first) is int and first > since + 1:
                    if c.conflates:
                        c.skipped += first - since - 1
                    else:
                        c.lost += first - since - 1
        c.epoch = epoch if isinstance(epoch, str) else None
        c.last_seq = max(c.last_seq, c.pending_last, seq)
        c.pending = False
        return c

    def forget(self, key: str) -> None:
        """``key`` was unsubscribed (or its subscribe failed): no position is kept."""
        self.cursors.pop(key, None)

    def on_message(self, params: dict[str, Any]) -> bool:
        """A stream notification's ``params``; False when it is a duplicate (its ``seq`` was already delivered)."""
        c = self.cursors.get(params.get("stream", ""))
        seq = params.get("seq")
        if c is None or type(seq) is not int:
            return True
        if c.pending:
            if seq <= c.pending_last:
                c.duplicates += 1
                return False
            c.pending_last = seq
            c.received += 1
            return True
        last = c.last_seq
        if seq <= last:
            c.duplicates += 1
            return False
        if seq > last + 1 and last:
            if c.conflates:
                c.skipped += seq - last - 1
            else:
                c.lost += seq - last - 1
        c.last_seq = seq
        c.received += 1
        return True

    def totals(self) -> dict[str, int]:
        """Sums over the streams: ``received``, ``lost``, ``skipped``, ``duplicates``, ``resumes``, ``refused``,
        ``resets``."""
        names = ("received", "lost", "skipped", "duplicates", "resumes", "refused", "resets")
        return {n: sum(getattr(c, n) for c in self.cursors.values()) for n in names}
