"""What a server offers: tools, resources, resource templates, prompts and live streams (the registry the engine
dispatches on).

A tool is a plain function ``fn(call, arguments) -> result`` (sync: runs inline on the hot path, no task) or an
``async def`` (the session's shell runs it as a task: cancellable, may report progress); ``call`` is a
:class:`~tradingmcp.server.mcp.context.CallContext`. ``result`` is a :class:`ToolResult`, a ``dict``
(becomes ``structuredContent`` plus a JSON text block) or a ``str``. Raising :class:`ToolError` gives an ``isError``
result the model can read; raising :class:`~tradingmcp.transport.jsonrpc.JsonRpcError` gives a JSON-RPC error;
raising :class:`~tradingmcp.server.mcp.mrtr.InputRequired` asks a 2026-07-28 client for input (elicitation, sampling,
roots) and the tool is called again with the answers in ``call.inputs``.

Shapes follow MCP 2025-11-25 ``Tool`` (name, title, description, inputSchema, outputSchema, annotations),
``Resource``/``ResourceTemplate`` and ``Prompt``/``PromptArgument``
(https://modelcontextprotocol.io/specification/2025-11-25/server/prompts); prompt arguments and resource template
variables may offer completions (``completion/complete``,
https://modelcontextprotocol.io/specification/2025-11-25/server/utilities/completion).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from tradingmcp.server.mcp.mrtr import RequestStates
from tradingmcp.server.mcp.schema import compile_schema
from tradingmcp.server.mcp.xheader import HeaderParam, header_params

if TYPE_CHECKING:
    from tradingmcp.server.mcp.context import CallContext
    from tradingmcp.server.mcp.mrtr import Inputs

ToolFn = Callable[["CallContext", dict[str, Any]], Any]
ReadFn = Callable[[str], Any]
WatchFn = Callable[[str, Callable[[], None]], Callable[[], None]]
"""``watch(uri, changed) -> stop``: called when ``uri`` gets its first subscriber (``resources/subscribe`` or
``subscriptions/listen``); the resource calls ``changed()`` each time it changes (the :class:`ResourceHub` sends
``notifications/resources/updated``, rate-limited per client); ``stop()`` is called when its last subscriber leaves.
May raise :class:`~tradingmcp.transport.jsonrpc.JsonRpcError` to refuse the subscription (e.g. a malformed uri)."""
CompleteFn = Callable[[str, str, dict[str, str]], Sequence[str]]
"""``complete(argument, value, context) -> values``: candidate values for the prompt argument (or template variable)
named ``argument`` whose partial input is ``value``, best first; ``context`` holds the values of the other arguments
the client already chose. The engine sends at most 100 and says whether more exist."""
PromptFn = Callable[[dict[str, str]], Any]
"""``render(arguments) -> messages``: the prompt's ``PromptMessage`` dicts (``{"role", "content"}``) for the given
arguments (every required one present, all strings), or a ``GetPromptResult`` dict (``{"messages": [...]}``, optionally
``description``). May raise :class:`~tradingmcp.transport.jsonrpc.JsonRpcError` (e.g. -32602 for a bad value)."""
AskingReadFn = Callable[[str, "Inputs"], Any]
"""``ask(uri, inputs) -> contents``: a resource's 2026-07-28 reader, which may raise
:class:`~tradingmcp.server.mcp.mrtr.InputRequired` to ask the client first and reads the answers from ``inputs`` on
the retry; returns what :data:`ReadFn` does."""
AskingPromptFn = Callable[[dict[str, str], "Inputs"], Any]
"""``ask(arguments, inputs) -> messages``: a prompt's 2026-07-28 renderer, which may raise
:class:`~tradingmcp.server.mcp.mrtr.InputRequired` to ask the client first and reads the answers from ``inputs`` on
the retry (:class:`~tradingmcp.server.mcp.mrtr.Inputs`); returns what :data:`PromptFn` does."""


@dataclass(slots=True)  # not frozen: a frozen dataclass's __init__ is measurably slower on the hot path
class ToolCallRecord:
    """One finished ``tools/call``, as observers (audit log, metrics) see it.

    ``outcome`` is ``ok``, ``tool_error`` (an ``isError`` result: ToolError or a missing scope, ``error_code``
    ``forbidden``), ``rpc_error`` (a JSON-RPC error: unknown tool, bad params, too many in flight) or ``internal``.
    ``result`` is the ``CallToolResult`` dict (its ``structuredContent`` may be an ``orjson.Fragment``: encode it with
    orjson); None for JSON-RPC errors. ``latency_us`` runs from dispatch to the answer being written (µs);
    ``time_ms`` is the wall clock at dispatch (ms since the epoch); ``started_ns`` is ``time.perf_counter_ns()`` at
    dispatch (CLOCK_MONOTONIC on Linux, shared by every process of the machine: it joins with other processes'
    stamps). Observers run after the answer is written. Arguments are as received: observers must redact before
    storing.
    """

    principal: str
    tool: str
    arguments: dict[str, Any]
    outcome: str
    result: dict[str, Any] | None
    error_code: str | int | None
    error: str | None
    latency_us: float
    time_ms: int
    started_ns: int = 0


CallObserver = Callable[[ToolCallRecord], None]
"""Called synchronously on the event loop after each ``tools/call``: must be cheap and must not raise (queue the
record and do the work elsewhere)."""


class ToolError(Exception):
    """A tool-level failure reported to the model as ``isError: true`` (not a protocol error).

    Args:
        message: what went wrong and what to do about it.
        code: a short machine-readable code (``"filter_failure"``, ``"forbidden"``...), in ``structuredContent.error``.
        details: extra JSON-serializable facts (nearest valid value, limits...).
    """

    def __init__(self, message: str, code: str = "error", details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.details = details or {}


@dataclass(slots=True)
class ToolResult:
    """A tool's result: ``structured`` becomes ``structuredContent``; ``text`` the text block (JSON of it if None).

    ``content``, when given, is the whole ``content`` list as MCP content blocks (``text``, ``image``, ``audio``,
    ``resource_link``, ``resource``: MCP 2025-11-25 "Tool Result"), sent as given in place of the text block.
    """

    structured: Any = None
    text: str | None = None
    is_error: bool = False
    content: list[dict[str, Any]] | None = None

    def to_wire(self) -> dict[str, Any]:
        if self.content is not None:
            blocks: dict[str, Any] = {"content": self.content, "isError": self.is_error}
            if self.structured is not None:
                blocks["structuredContent"] = self.structured
            return blocks
        if self.text is None and self.structured is not None:
            return _structured(self.structured, self.is_error)
        text = self.text if self.text is not None else "null"  # JSON of structured=None
        out: dict[str, Any] = {"content": [{"type": "text", "text": text}], "isError": self.is_error}
        if self.structured is not None:
            out["structuredContent"] = self.structured
        return out


def _structured(value: Any, is_error: bool = False) -> dict[str, Any]:
    """A result whose text block is the JSON of ``value``: serialized once, embedded as-is (``orjson.Fragment``) in
    ``structuredContent`` so encoding the response does not serialize it a second time (hot path)."""
    raw = orjson.dumps(value)
    return {
        "content": [{"type": "text", "text": raw.decode()}],
        "structuredContent": orjson.Fragment(raw),
        "isError": is_error,
    }


def to_tool_result(value: Any) -> dict[str, Any]:
    """Normalize whatever a tool returned into a ``CallToolResult`` dict (for the engine to encode with orjson)."""
    if isinstance(value, ToolResult):
        return value.to_wire()
    if isinstance(value, dict):
        return _structured(value)
    if isinstance(value, str):
        return {"content": [{"type": "text", "text": value}], "isError": False}
    if value is None:
        return {"content": [], "isError": False}
    return ToolResult(value).to_wire()


def error_result(exc: ToolError) -> dict[str, Any]:
    err = {"code": exc.code, "message": exc.message, **exc.details}
    return {
        "content": [{"type": "text", "text": f"Error: {exc.message}"}],
        "structuredContent": {"error": err},
        "isError": True,
    }


@dataclass(slots=True)
class Tool:
    """One tool. ``scope`` is the token scope required to call it (``read`` or ``trade``); ``timeout_s`` bounds an
    async tool's run (s; past it the call is cancelled and answered with an ``isError`` ``deadline_exceeded`` result;
    None: no bound); ``client_capabilities`` names the client capabilities a call relies on (``sampling``,
    ``elicitation``, ``roots``): a caller that did not declare them gets -32021 before the tool runs;
    ``client_extensions`` names the extensions (SEP-2133 identifiers) a 2026-07-28 caller must declare in
    ``capabilities.extensions`` (-32021 otherwise; handshake-era callers are not asked, as before extensions existed)."""

    name: str
    description: str
    fn: ToolFn
    input_schema: dict[str, Any]
    output_schema: dict[str, Any] | None = None
    title: str | None = None
    scope: str = "read"
    read_only: bool = True
    destructive: bool = False
    idempotent: bool = True
    open_world: bool = True
    timeout_s: float | None = None
    client_capabilities: tuple[str, ...] = ()
    client_extensions: tuple[str, ...] = ()
    is_async: bool = field(init=False)
    validate: Callable[[Any], None] = field(init=False, repr=False)
    header_params: tuple[HeaderParam, ...] = field(init=False, repr=False)
    """Arguments mirrored into ``Mcp-Param-*`` HTTP headers (``x-mcp-header`` in ``input_schema``)."""

    def __post_init__(self) -> None:
        self.is_async = inspect.iscoroutinefunction(self.fn)
        self.validate = compile_schema(self.input_schema)
        self.header_params = header_params(self.input_schema)  # raises ValueError for a malformed annotation

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "description": self.description,
            "inputSchema": self.input_schema,
            "annotations": {
                "readOnlyHint": self.read_only,
                "destructiveHint": self.destructive,
                "idempotentHint": self.idempotent,
                "openWorldHint": self.open_world,
            },
        }
        if self.title:
            out["title"] = self.title
            out["annotations"]["title"] = self.title
        if self.output_schema is not None:
            out["outputSchema"] = self.output_schema
        return out


@dataclass(slots=True)
class Resource:
    """A readable resource; ``read(uri)`` returns text (str), JSON (dict/list) or bytes (sent base64 as ``blob``).
    The content's ``mimeType`` is ``mime_type`` (JSON values are always ``application/json``). ``ask``, when set,
    reads it instead for a 2026-07-28 request and may ask the client for input first (:data:`AskingReadFn`)."""

    uri: str
    name: str
    read: ReadFn
    description: str = ""
    mime_type: str = "application/json"
    watch: WatchFn | None = None
    ask: AskingReadFn | None = None

    def to_wire(self) -> dict[str, Any]:
        return {"uri": self.uri, "name": self.name, "description": self.description, "mimeType": self.mime_type}


@dataclass(slots=True)
class ResourceTemplate:
    """A family of resources (RFC 6570 level-1 ``uri_template``, e.g. ``ticker://{exchange}/{symbol}``);
    ``complete`` offers values for its variables (``completion/complete`` with a ``ref/resource``)."""

    uri_template: str
    name: str
    read: ReadFn
    description: str = ""
    mime_type: str = "application/json"
    watch: WatchFn | None = None
    ask: AskingReadFn | None = None
    complete: CompleteFn | None = None
    prefix: str = field(init=False)

    def __post_init__(self) -> None:
        self.prefix = self.uri_template.split("{", 1)[0]

    def matches(self, uri: str) -> bool:
        return uri.startswith(self.prefix) and len(uri) > len(self.prefix)

    def to_wire(self) -> dict[str, Any]:
        return {
            "uriTemplate": self.uri_template,
            "name": self.name,
            "description": self.description,
            "mimeType": self.mime_type,
        }


@dataclass(frozen=True, slots=True)
class PromptArgument:
    """One argument of a prompt (a string the client fills in)."""

    name: str
    description: str = ""
    required: bool = False

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "required": self.required}
        if self.description:
            out["description"] = self.description
        return out


@dataclass(slots=True)
class Prompt:
    """A prompt template the client can list and get (``prompts/list``, ``prompts/get``); ``render`` builds its
    messages (:data:`PromptFn`), ``complete`` offers values for its arguments (:data:`CompleteFn`); ``ask``, when
    set, renders it instead for a 2026-07-28 request and may ask the client for input first (:data:`AskingPromptFn`).
    """

    name: str
    description: str
    render: PromptFn
    arguments: tuple[PromptArgument, ...] = ()
    title: str | None = None
    complete: CompleteFn | None = None
    ask: AskingPromptFn | None = None

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "description": self.description}
        if self.title:
            out["title"] = self.title
        if self.arguments:
            out["arguments"] = [a.to_wire() for a in self.arguments]
        return out


@dataclass
class McpApp:
    """The registry a server serves. Register tools with :meth:`tool` or :meth:`add_tool`.

    What the handshake tells a client about the server (``initialize`` and 2026-07-28 ``server/discover``): ``name``,
    ``version`` and ``description`` (its ``serverInfo``, MCP 2025-11-25 ``Implementation``), ``instructions`` (a hint
    for the model) and ``experimental`` (entries added to ``capabilities.experimental``, each a JSON object keyed by a
    ``vendor/name``). The composition root fills them in (:meth:`add_instructions`) before serving.
    """

    name: str = "tradingmcp"
    version: str = "0.1.0"
    instructions: str | None = None
    description: str | None = None
    experimental: dict[str, dict[str, Any]] = field(default_factory=dict)
    tools: dict[str, Tool] = field(default_factory=dict)
    resources: dict[str, Resource] = field(default_factory=dict)
    templates: list[ResourceTemplate] = field(default_factory=list)
    prompts: dict[str, Prompt] = field(default_factory=dict)
    page_size: int = 100
    observers: list[CallObserver] = field(default_factory=list)
    request_states: RequestStates = field(default_factory=RequestStates)
    """Seals the ``requestState`` of input-required results (one random key per server: every session shares it)."""

    def add_tool(self, tool: Tool) -> Tool:
        if tool.name in self.tools:
            raise ValueError(f"duplicate tool {tool.name!r}")
        self.tools[tool.name] = tool
        return tool

    def tool(
        self,
        name: str,
        description: str,
        input_schema: dict[str, Any] | None = None,
        **options: Any,
    ) -> Callable[[ToolFn], ToolFn]:
        """Decorator: ``@app.tool("echo", "Echo the input", {"type": "object", ...}, scope="read")``."""

        def register(fn: ToolFn) -> ToolFn:
            schema = input_schema or {"type": "object", "properties": {}}
            self.add_tool(Tool(name=name, description=description, fn=fn, input_schema=schema, **options))
            return fn

        return register

    def add_resource(self, resource: Resource) -> None:
        self.resources[resource.uri] = resource

    def add_template(self, template: ResourceTemplate) -> None:
        self.templates.append(template)

    def add_prompt(self, prompt: Prompt) -> Prompt:
        if prompt.name in self.prompts:
            raise ValueError(f"duplicate prompt {prompt.name!r}")
        self.prompts[prompt.name] = prompt
        return prompt

    def serving(self, uri: str) -> Resource | ResourceTemplate | None:
        """The resource named ``uri``, else the first template matching it (None: nothing serves ``uri``)."""
        res = self.resources.get(uri)
        if res is not None:
            return res
        return next((tpl for tpl in self.templates if tpl.matches(uri)), None)

    def find_mime_type(self, uri: str) -> str | None:
        """The declared ``mimeType`` of the resource or template serving ``uri`` (None: no resource serves it)."""
        found = self.serving(uri)
        return found.mime_type if found is not None else None

    def find_reader(self, uri: str) -> ReadFn | None:
        found = self.serving(uri)
        return found.read if found is not None else None

    def find_asker(self, uri: str) -> AskingReadFn | None:
        """The ``ask`` reader of the resource or template serving ``uri`` (None: it reads without asking)."""
        found = self.serving(uri)
        return found.ask if found is not None else None

    def find_watch(self, uri: str) -> WatchFn | None:
        """The ``watch`` of the resource or template serving ``uri`` (None: it never announces changes itself)."""
        found = self.serving(uri)
        return found.watch if found is not None else None

    def add_instructions(self, text: str) -> None:
        """Append ``text`` to :attr:`instructions` (as a new line; it becomes them when there are none)."""
        self.instructions = f"{self.instructions}\n{text}" if self.instructions else text

    def server_info(self) -> dict[str, str]:
        """``serverInfo``: name and version, and ``description`` when set."""
        info = {"name": self.name, "version": self.version}
        if self.description:
            info["description"] = self.description
        return info


MaybeAwaitable = Any | Awaitable[Any]
