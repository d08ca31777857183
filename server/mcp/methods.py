"""The engine's request handlers other than tools: lifecycle (``initialize``, ``server/discover``, ``ping``,
``logging/setLevel``) and resources (``resources/*``, 2026-07-28 ``subscriptions/listen``).

Every handler has the shape ``(session, request_id, params, meta, modern, out) -> result dict | PENDING`` and raises
:class:`~tradingmcp.transport.jsonrpc.JsonRpcError` for a wire error; the engine encodes the answer and sends it
through ``out``, the request's route. Follows
https://modelcontextprotocol.io/specification (2025-11-25 "Lifecycle", "Resources", "Logging"; 2026-07-28 drafts for
``server/discover`` and ``subscriptions/listen``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tradingmcp.server.mcp.mrtr import InputRequired
from tradingmcp.server.mcp.protocol import LOG_LEVELS, PENDING, Sink, list_page, uri_param
from tradingmcp.transport import jsonrpc
from tradingmcp.transport.jsonrpc import ErrorCode, JsonRpcError
from tradingmcp.transport.mcpnames import (
    HANDSHAKE_VERSIONS,
    LATEST_HANDSHAKE,
    META_CLIENT_CAPS,
    META_SERVER_INFO,
    META_SUBSCRIPTION,
    MODERN_VERSIONS,
    STREAM,
    STREAMS_EXTENSION,
    SUBSCRIPTIONS_ACKNOWLEDGED,
)

if TYPE_CHECKING:
    from tradingmcp.server.mcp.engine import ServerSession
    from tradingmcp.server.mcp.registry import McpApp


def capabilities(app: McpApp) -> dict[str, Any]:
    """The server's capabilities (the same in both eras): ``extensions`` holds our stream extension (SEP-2133, which
    a 2026-07-28 client must declare to get its pushes), ``experimental`` the same for handshake-era clients and
    ``app.experimental``; ``prompts`` when the app has prompts, ``completions`` when it has prompts or resource
    templates to complete."""
    caps: dict[str, Any] = {
        "tools": {"listChanged": False},
        "resources": {"subscribe": True, "listChanged": False},
        "logging": {},
        "extensions": {STREAMS_EXTENSION: {"method": STREAM}},
        "experimental": {"tradingmcp/streams": {"method": STREAM}, **app.experimental},
    }
    if app.prompts:
        caps["prompts"] = {"listChanged": False}
    if app.prompts or app.templates:
        caps["completions"] = {}
    return caps


# ---------------------------------------------------------------- lifecycle
def initialize(
    session: ServerSession, rid: jsonrpc.RequestId, params: dict[str, Any], meta: Any, modern: bool, out: Sink
) -> dict[str, Any]:
    """``initialize``: agree on a version (the client's if we speak it, else our latest) and remember the client."""
    requested = params.get("protocolVersion")
    if not isinstance(requested, str):
        raise JsonRpcError(ErrorCode.INVALID_PARAMS, "Invalid params: protocolVersion (string) is required")
    session.protocol_version = requested if requested in HANDSHAKE_VERSIONS else LATEST_HANDSHAKE
    caps = params.get("capabilities")
    session.client_capabilities = caps if isinstance(caps, dict) else {}
    info = params.get("clientInfo")
    session.client_info = info if isinstance(info, dict) else {}
    session.initialized = True
    answer: dict[str, Any] = {
        "protocolVersion": session.protocol_version,
        "capabilities": capabilities(session.app),
        "serverInfo": session.app.server_info(),
    }
    if session.app.instructions:
        answer["instructions"] = session.app.instructions
    return answer


def discover(
    session: ServerSession, rid: jsonrpc.RequestId, params: dict[str, Any], meta: Any, modern: bool, out: Sink
) -> dict[str, Any]:
    """``server/discover`` (2026-07-28): versions, capabilities and server info without a handshake."""
    answer: dict[str, Any] = {
        "supportedVersions": [*MODERN_VERSIONS, *reversed(HANDSHAKE_VERSIONS)],
        "capabilities": capabilities(session.app),
        "cacheScope": "public",
        "ttlMs": 60_000,
        "_meta": {META_SERVER_INFO: session.app.server_info()},
    }
    if session.app.instructions:
        answer["instructions"] = session.app.instructions
    return answer


def ping(
    session: ServerSession, rid: jsonrpc.RequestId, params: dict[str, Any], meta: Any, modern: bool, out: Sink
) -> Any:
    """``ping``: an empty result."""
    return {}


def set_level(
    session: ServerSession, rid: jsonrpc.RequestId, params: dict[str, Any], meta: Any, modern: bool, out: Sink
) -> dict[str, Any]:
    """``logging/setLevel``: the lowest level of ``notifications/message`` this session wants."""
    level = params.get("level")
    if level not in LOG_LEVELS:
        raise JsonRpcError(ErrorCode.INVALID_PARAMS, f"Invalid params: level must be one of {list(LOG_LEVELS)}")
    session.log_level = level
    return {}


# ---------------------------------------------------------------- resources
def resources_list(
    session: ServerSession, rid: jsonrpc.RequestId, params: dict[str, Any], meta: Any, modern: bool, out: Sink
) -> dict[str, Any]:
    """``resources/list``: one page of ``app.page_size`` resources; ``nextCursor`` when more follow."""
    res = list(session.app.resources.values())
    return list_page("resources", res, params.get("cursor"), session.app.page_size, lambda r: r.to_wire())


def templates_list(
    session: ServerSession, rid: jsonrpc.RequestId, params: dict[str, Any], meta: Any, modern: bool, out: Sink
) -> dict[str, Any]:
    """``resources/templates/list``: every resource template (one page)."""
    return {"resourceTemplates": [t.to_wire() for t in session.app.templates]}


def resources_read(
    session: ServerSession, rid: jsonrpc.RequestId, params: dict[str, Any], meta: Any, modern: bool, out: Sink
) -> Any:
    """``resources/read``: the current contents of ``params.uri`` (-32002 when no resource serves it); for a resource
    that asks first (``ask``, 2026-07-28), an ``InputRequiredResult`` sent through ``out`` (then ``PENDING``).

    Raises:
        JsonRpcError: -32002 unknown uri; -32602 malformed ``inputResponses`` or a ``requestState`` that fails
            verification; -32021 when the resource asks for a capability the client did not declare.
    """
    uri = uri_param(params)
    app = session.app
    reader = app.find_reader(uri)
    if reader is None:
        raise JsonRpcError(ErrorCode.RESOURCE_NOT_FOUND, f"Resource not found: {uri}", {"uri": uri})
    ask = app.find_asker(uri) if modern else None
    if ask is None:
        value = reader(uri)
    else:
        states = app.request_states
        caps = meta.get(META_CLIENT_CAPS) if isinstance(meta, dict) else None
        inputs = states.inputs((session.principal.name, "resources/read", uri, None), params, caps)
        try:
            value = ask(uri, inputs)
        except InputRequired as asked:
            out.send(jsonrpc.encode_result(rid, states.result(asked, inputs)))
            return PENDING
    return {"contents": [session.resources.contents(uri, value, app.find_mime_type(uri))]}


def resources_subscribe(
    session: ServerSession, rid: jsonrpc.RequestId, params: dict[str, Any], meta: Any, modern: bool, out: Sink
) -> dict[str, Any]:
    """``resources/subscribe``: ``notifications/resources/updated`` for ``params.uri`` from now on."""
    uri = uri_param(params)
    if session.app.find_reader(uri) is None:
        raise JsonRpcError(ErrorCode.RESOURCE_NOT_FOUND, f"Resource not found: {uri}", {"uri": uri})
    session.resources.subscribe(session, uri, None)
    return {}


def resources_unsubscribe(
    session: ServerSession, rid: jsonrpc.RequestId, params: dict[str, Any], meta: Any, modern: bool, out: Sink
) -> dict[str, Any]:
    """``resources/unsubscribe`` (unknown uris are fine)."""
    session.resources.unsubscribe(session, uri_param(params), None)
    return {}


def listen(
    session: ServerSession, rid: jsonrpc.RequestId, params: dict[str, Any], meta: Any, modern: bool, out: Sink
) -> Any:
    """``subscriptions/listen`` (2026-07-28): acknowledge the honoured uris, then stream their updates tagged with
    this request's id, all through ``out``; answered only when the server ends the stream (:func:`end_listeners`)."""
    wanted = params.get("notifications")
    if not isinstance(wanted, dict):
        raise JsonRpcError(ErrorCode.INVALID_PARAMS, "Invalid params: notifications (object) is required")
    uris = [u for u in wanted.get("resourceSubscriptions") or [] if isinstance(u, str)]
    honoured = [u for u in uris if session.app.find_reader(u) is not None]
    session.listeners[rid] = out
    ack = {"notifications": {"resourceSubscriptions": honoured}, "_meta": {META_SUBSCRIPTION: rid}}
    out.send(jsonrpc.encode_notification(SUBSCRIPTIONS_ACKNOWLEDGED, ack))
    for uri in honoured:
        session.resources.subscribe(session, uri, rid)
    return PENDING


def end_listeners(session: ServerSession) -> None:
    """Graceful shutdown: answer every open ``subscriptions/listen`` of ``session`` (the stream ended)."""
    for rid in list(session.listeners):
        out = session.listeners.pop(rid)
        session.resources.listener_gone(session, rid)
        result = {
            "resultType": "complete",
            "_meta": {META_SUBSCRIPTION: rid, META_SERVER_INFO: session.app.server_info()},
        }
        out.send(jsonrpc.encode_result(rid, result))
