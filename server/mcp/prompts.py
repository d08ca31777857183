"""Prompts and completion: ``prompts/list``, ``prompts/get`` and ``completion/complete``.

Follows MCP 2025-11-25 "Prompts" (https://modelcontextprotocol.io/specification/2025-11-25/server/prompts) and
"Completion" (https://modelcontextprotocol.io/specification/2025-11-25/server/utilities/completion); the same
shapes in 2026-07-28. Handlers have the engine's shape ``(session, request_id, params, meta, modern, out) -> result``
(:data:`~tradingmcp.server.mcp.engine.Handler`) and raise :class:`~tradingmcp.transport.jsonrpc.JsonRpcError`
-32602 naming the field for bad params: an unknown prompt or reference, a missing required argument, a value that is
not a string.

A prompt with an ``ask`` renderer may ask a 2026-07-28 client for input first (Multi Round-Trip Requests,
:mod:`~tradingmcp.server.mcp.mrtr`): ``prompts/get`` then answers an ``InputRequiredResult``, and the retry's answers
and verified state reach the renderer; the handshake era gets its plain ``render``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tradingmcp.server.mcp.mrtr import InputRequired
from tradingmcp.server.mcp.protocol import PENDING, Sink, list_page
from tradingmcp.transport import jsonrpc
from tradingmcp.transport.jsonrpc import ErrorCode, JsonRpcError, quote
from tradingmcp.transport.mcpnames import META_CLIENT_CAPS

if TYPE_CHECKING:
    from tradingmcp.server.mcp.engine import ServerSession
    from tradingmcp.server.mcp.registry import CompleteFn, McpApp

MAX_COMPLETIONS = 100
"""The spec's cap on ``completion.values`` per answer (``hasMore`` says when there were more)."""


def _bad(message: str) -> JsonRpcError:
    return JsonRpcError(ErrorCode.INVALID_PARAMS, f"Invalid params: {message}")


def _string_map(value: Any, field: str) -> dict[str, str]:
    """``value`` as a map of strings (absent: empty); -32602 naming ``field`` otherwise."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _bad(f"{field} must be an object of strings")
    for key, item in value.items():
        if not isinstance(item, str):
            raise _bad(f"{field}.{quote(key)} must be a string")
    return value


def prompts_list(
    session: ServerSession, rid: jsonrpc.RequestId, params: dict[str, Any], meta: Any, modern: bool, out: Sink
) -> dict[str, Any]:
    """``prompts/list``: one page of ``app.page_size`` prompts; ``nextCursor`` when more follow."""
    prompts = list(session.app.prompts.values())
    return list_page("prompts", prompts, params.get("cursor"), session.app.page_size, lambda p: p.to_wire())


def prompts_get(
    session: ServerSession, rid: jsonrpc.RequestId, params: dict[str, Any], meta: Any, modern: bool, out: Sink
) -> Any:
    """``prompts/get``: the messages of prompt ``params.name`` for ``params.arguments`` (a map of strings); for a
    prompt that asks first (``ask``, 2026-07-28), an ``InputRequiredResult`` sent through ``out`` (then ``PENDING``).

    Raises:
        JsonRpcError: -32602 for an unknown prompt, a missing required argument, a non-string value, malformed
            ``inputResponses`` or a ``requestState`` that fails verification; -32021 when the prompt asks for a
            capability the client did not declare.
    """
    name = params.get("name")
    prompt = session.app.prompts.get(name) if isinstance(name, str) else None
    if prompt is None:
        raise _bad(f"unknown prompt {quote(name)}")
    arguments = _string_map(params.get("arguments"), "arguments")
    for arg in prompt.arguments:
        if arg.required and arg.name not in arguments:
            raise _bad(f"arguments.{arg.name} is required by prompt {prompt.name}")
    if modern and prompt.ask is not None:
        caps = meta.get(META_CLIENT_CAPS) if isinstance(meta, dict) else None
        states = session.app.request_states
        inputs = states.inputs((session.principal.name, "prompts/get", prompt.name, arguments), params, caps)
        try:
            rendered = prompt.ask(arguments, inputs)
        except InputRequired as ask:
            out.send(jsonrpc.encode_result(rid, states.result(ask, inputs)))
            return PENDING
    else:
        rendered = prompt.render(arguments)
    result: dict[str, Any] = dict(rendered) if isinstance(rendered, dict) else {"messages": list(rendered)}
    if prompt.description:
        result.setdefault("description", prompt.description)
    return result


def complete(
    session: ServerSession, rid: jsonrpc.RequestId, params: dict[str, Any], meta: Any, modern: bool, out: Sink
) -> dict[str, Any]:
    """``completion/complete``: values for one argument of a prompt (``ref/prompt``) or one variable of a resource
    template (``ref/resource``, by its template or a concrete uri); none when the prompt or template offers none.

    Raises:
        JsonRpcError: -32602 for a malformed or unknown ``ref``, a malformed ``argument`` or ``context.arguments``.
    """
    ref = params.get("ref")
    if not isinstance(ref, dict):
        raise _bad("ref (object) is required")
    argument = params.get("argument")
    if not isinstance(argument, dict):
        raise _bad("argument (object with name and value) is required")
    arg_name, value = argument.get("name"), argument.get("value")
    if not isinstance(arg_name, str):
        raise _bad("argument.name must be a string")
    if not isinstance(value, str):
        raise _bad("argument.value must be a string")
    context = params.get("context")
    if context is not None and not isinstance(context, dict):
        raise _bad("context must be an object")
    chosen = _string_map(context.get("arguments") if context else None, "context.arguments")
    completer = _completer(session.app, ref)
    values = [] if completer is None else [v for v in completer(arg_name, value, chosen) if isinstance(v, str)]
    return {
        "completion": {
            "values": values[:MAX_COMPLETIONS],
            "total": len(values),
            "hasMore": len(values) > MAX_COMPLETIONS,
        }
    }


def _completer(app: McpApp, ref: dict[str, Any]) -> CompleteFn | None:
    """The completer ``ref`` names (None: the prompt or template exists and offers no completions).

    Raises:
        JsonRpcError: -32602 for an unknown reference type, prompt or resource.
    """
    kind = ref.get("type")
    if kind == "ref/prompt":
        name = ref.get("name")
        prompt = app.prompts.get(name) if isinstance(name, str) else None
        if prompt is None:
            raise _bad(f"ref.name: unknown prompt {quote(name)}")
        return prompt.complete
    if kind == "ref/resource":
        uri = ref.get("uri")
        if not isinstance(uri, str):
            raise _bad("ref.uri must be a string")
        for tpl in app.templates:
            if uri == tpl.uri_template or tpl.matches(uri):
                return tpl.complete
        if uri in app.resources:
            return None
        raise _bad(f"ref.uri: no resource or template {quote(uri)}")
    raise _bad(f"ref.type must be 'ref/prompt' or 'ref/resource', not {quote(kind)}")
