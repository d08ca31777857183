"""The reference fixtures the official MCP conformance suite calls (``tradingmcp serve --conformance-fixtures``).

The suite's server scenarios (npm ``@modelcontextprotocol/conformance``) call tools, resources and prompts by fixed
names (``test_simple_text``, ``test://static-text``, ``test_prompt_with_arguments``...) with fixed expected shapes,
so a server is scored on the protocol rather than on what it happens to offer. This module registers them on an
:class:`~tradingmcp.server.mcp.registry.McpApp` through the engine's own registry, so the suite drives the same
dispatch, validation, content encoding, progress, logging, resource and prompt code every other tool uses.

Never registered by default: they exist for the conformance runs only (``tests/interop/test_conformance.py``). None
reaches a venue; every tool is read-only and scoped ``read``.
"""

from __future__ import annotations

import asyncio
import base64
import struct
import zlib
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from tradingmcp.server.mcp.context import CallContext
from tradingmcp.server.mcp.registry import (
    McpApp,
    Prompt,
    PromptArgument,
    Resource,
    ResourceTemplate,
    Tool,
    ToolError,
    ToolFn,
    ToolResult,
)
from tradingmcp.server.tools import conformance_rounds as rounds

STEP_S = 0.05
"""Pause between the log lines and progress steps of the slow fixtures (s): they arrive as separate messages."""
WATCHED_URI = "test://watched-resource"
EMPTY_SCHEMA: dict[str, Any] = {"type": "object", "properties": {}}
JSON_SCHEMA_2020_12: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "$defs": {
        "address": {
            "$anchor": "postalAddress",
            "type": "object",
            "properties": {"street": {"type": "string"}, "city": {"type": "string"}},
        }
    },
    "properties": {
        "name": {"type": "string"},
        "address": {"$ref": "#/$defs/address"},
        "contactMethod": {"type": "string", "enum": ["phone", "email"]},
        "phone": {"type": "string"},
        "email": {"type": "string"},
    },
    "allOf": [{"anyOf": [{"required": ["phone"]}, {"required": ["email"]}]}],
    "if": {"properties": {"contactMethod": {"const": "phone"}}, "required": ["contactMethod"]},
    "then": {"required": ["phone"]},
    "else": {"required": ["email"]},
    "additionalProperties": False,
}
"""An input schema using 2020-12 keywords (``$schema``, ``$defs``, ``$anchor``, ``$ref``, ``allOf``/``anyOf``,
``if``/``then``/``else``, ``additionalProperties``) that ``tools/list`` must hand out unchanged (SEP-1613, SEP-2106);
the engine's validator checks the subset it knows and accepts the rest, as JSON Schema says of unknown keywords."""
COMPLETIONS: tuple[str, ...] = ("paris", "park", "party", "pasta", "python")
"""What ``completion/complete`` offers for the arguments of ``test_prompt_with_arguments`` (filtered by prefix)."""


def _png_1x1() -> bytes:
    """A valid 1x1 RGBA PNG (one opaque pixel), built here rather than stored."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x20\x80\xc0\xff")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def _wav_silence() -> bytes:
    """A valid mono 16-bit 8 kHz WAV holding one silent sample."""
    data = b"\x00\x00"
    fmt = struct.pack("<HHIIHH", 1, 1, 8000, 16000, 2, 16)
    return (
        b"RIFF"
        + struct.pack("<I", 36 + len(data))
        + b"WAVEfmt "
        + struct.pack("<I", 16)
        + fmt
        + b"data"
        + (struct.pack("<I", len(data)) + data)
    )


PNG = _png_1x1()
PNG_B64 = base64.b64encode(PNG).decode()
WAV_B64 = base64.b64encode(_wav_silence()).decode()


def _text(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def _image() -> dict[str, Any]:
    return {"type": "image", "data": PNG_B64, "mimeType": "image/png"}


def _embedded(uri: str, mime_type: str, text: str) -> dict[str, Any]:
    return {"type": "resource", "resource": {"uri": uri, "mimeType": mime_type, "text": text}}


# ---------------------------------------------------------------- tools
def simple_text(call: CallContext, args: dict[str, Any]) -> ToolResult:
    return ToolResult(content=[_text("This is a simple text response for testing.")])


def image_content(call: CallContext, args: dict[str, Any]) -> ToolResult:
    return ToolResult(content=[_image()])


def audio_content(call: CallContext, args: dict[str, Any]) -> ToolResult:
    return ToolResult(content=[{"type": "audio", "data": WAV_B64, "mimeType": "audio/wav"}])


def embedded_resource(call: CallContext, args: dict[str, Any]) -> ToolResult:
    return ToolResult(content=[_embedded("test://embedded-resource", "text/plain", "This is an embedded resource.")])


def multiple_content_types(call: CallContext, args: dict[str, Any]) -> ToolResult:
    data = orjson.dumps({"test": "data", "value": 123}).decode()
    blocks = [_text("Multiple content types:"), _image(), _embedded("test://mixed-content", "application/json", data)]
    return ToolResult(content=blocks)


async def with_logging(call: CallContext, args: dict[str, Any]) -> ToolResult:
    """Three ``info`` log lines, a step apart, then a text result."""
    for i, line in enumerate(("Tool execution started", "Tool processing data", "Tool execution completed")):
        if i:
            await asyncio.sleep(STEP_S)
        call.log("info", line, "conformance")
    return ToolResult(content=[_text("Tool with logging executed successfully")])


async def with_progress(call: CallContext, args: dict[str, Any]) -> ToolResult:
    """Progress 0, 50 and 100 of 100 (when the caller sent a progress token), a step apart; answers the token."""
    for i, done in enumerate((0, 50, 100)):
        if i:
            await asyncio.sleep(STEP_S)
        call.progress(done, 100, f"Completed step {done} of 100")
    return ToolResult(content=[_text(str(call.progress_token))])


def error_handling(call: CallContext, args: dict[str, Any]) -> ToolResult:
    raise ToolError("This tool intentionally returns an error for testing", "test_error")


def missing_capability(call: CallContext, args: dict[str, Any]) -> ToolResult:
    return ToolResult(content=[_text("Success")])


def logging_tool(call: CallContext, args: dict[str, Any]) -> ToolResult:
    """One ``info`` line, sent only when the caller asked for logs (2026-07-28: ``_meta`` logLevel)."""
    call.log("info", "Diagnostic trace logging activated", "conformance")
    return ToolResult(content=[_text("Logging evaluated")])


async def streaming(call: CallContext, args: dict[str, Any]) -> ToolResult:
    """Progress 50 of 100 on the call's own stream (when asked for), then the answer."""
    call.progress(50, 100, "half way")
    await asyncio.sleep(STEP_S)
    return ToolResult(content=[_text("Streaming complete")])


def json_schema_tool(call: CallContext, args: dict[str, Any]) -> ToolResult:
    return ToolResult(content=[_text(f"JSON Schema 2020-12 tool called with: {orjson.dumps(args).decode()}")])


# ---------------------------------------------------------------- asking the client (2025-11-25)
async def _ask(call: CallContext, method: str, params: dict[str, Any]) -> dict[str, Any]:
    """Send the client ``method`` on this call's route and wait for its result.

    Raises:
        ToolError: the client answered with an error, or the connection closed first.
    """
    answer: asyncio.Future[tuple[Any, dict[str, Any] | None]] = asyncio.get_running_loop().create_future()

    def answered(result: Any, error: dict[str, Any] | None) -> None:
        if not answer.done():
            answer.set_result((result, error))

    call.request(method, params, answered)
    result, error = await answer
    if error is not None or not isinstance(result, dict):
        reason = error.get("message") if error is not None else "not an object"
        raise ToolError(f"the client's answer to {method} failed: {reason}", "client_error")
    return result


async def sampling(call: CallContext, args: dict[str, Any]) -> ToolResult:
    message = {"role": "user", "content": {"type": "text", "text": args["prompt"]}}
    result = await _ask(call, "sampling/createMessage", {"messages": [message], "maxTokens": 100})
    content = result.get("content")
    text = content.get("text") if isinstance(content, dict) else None
    return ToolResult(content=[_text(f"LLM response: {text}")])


def _elicited(result: dict[str, Any], prefix: str) -> ToolResult:
    content = orjson.dumps(result.get("content")).decode()
    return ToolResult(content=[_text(f"{prefix}: action={result.get('action')}, content={content}")])


async def elicitation(call: CallContext, args: dict[str, Any]) -> ToolResult:
    schema = {
        "type": "object",
        "properties": {
            "username": {"type": "string", "description": "User's response"},
            "email": {"type": "string", "description": "User's email address"},
        },
        "required": ["username", "email"],
    }
    result = await _ask(call, "elicitation/create", {"message": args["message"], "requestedSchema": schema})
    return _elicited(result, "User response")


ELICIT_DEFAULTS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "default": "John Doe"},
        "age": {"type": "integer", "default": 30},
        "score": {"type": "number", "default": 95.5},
        "status": {"type": "string", "enum": ["active", "inactive", "pending"], "default": "active"},
        "verified": {"type": "boolean", "default": True},
    },
}
"""SEP-1034: a default for every primitive type."""
ELICIT_ENUMS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "untitledSingle": {"type": "string", "enum": ["option1", "option2", "option3"]},
        "titledSingle": {
            "type": "string",
            "oneOf": [
                {"const": "value1", "title": "First Option"},
                {"const": "value2", "title": "Second Option"},
                {"const": "value3", "title": "Third Option"},
            ],
        },
        "legacyEnum": {
            "type": "string",
            "enum": ["opt1", "opt2", "opt3"],
            "enumNames": ["Option One", "Option Two", "Option Three"],
        },
        "untitledMulti": {"type": "array", "items": {"type": "string", "enum": ["option1", "option2", "option3"]}},
        "titledMulti": {
            "type": "array",
            "items": {
                "anyOf": [
                    {"const": "value1", "title": "First Choice"},
                    {"const": "value2", "title": "Second Choice"},
                    {"const": "value3", "title": "Third Choice"},
                ]
            },
        },
    },
}
"""SEP-1330: the five enum shapes (untitled and titled single-select, legacy ``enumNames``, untitled and titled
multi-select)."""


async def elicitation_defaults(call: CallContext, args: dict[str, Any]) -> ToolResult:
    message = "Please review and update the form fields with defaults"
    return _elicited(
        await _ask(call, "elicitation/create", {"message": message, "requestedSchema": ELICIT_DEFAULTS}),
        "Elicitation completed",
    )


async def elicitation_enums(call: CallContext, args: dict[str, Any]) -> ToolResult:
    message = "Please select options from the enum fields"
    return _elicited(
        await _ask(call, "elicitation/create", {"message": message, "requestedSchema": ELICIT_ENUMS}),
        "Elicitation completed",
    )


ASKING_TOOLS: tuple[tuple[str, str, ToolFn, dict[str, Any], str], ...] = (
    (
        "test_sampling",
        "Asks the client's LLM (sampling/createMessage) about its prompt.",
        sampling,
        {"type": "object", "properties": {"prompt": {"type": "string"}}, "required": ["prompt"]},
        "sampling",
    ),
    (
        "test_elicitation",
        "Asks the user (elicitation/create) for a username and an email.",
        elicitation,
        {"type": "object", "properties": {"message": {"type": "string"}}, "required": ["message"]},
        "elicitation",
    ),
    (
        "test_elicitation_sep1034_defaults",
        "Asks the user for fields that all have defaults.",
        elicitation_defaults,
        dict(EMPTY_SCHEMA),
        "elicitation",
    ),
    (
        "test_elicitation_sep1330_enums",
        "Asks the user to pick from every kind of enum.",
        elicitation_enums,
        dict(EMPTY_SCHEMA),
        "elicitation",
    ),
)
"""2025-11-25 tools that ask the client while they run (a request on the call's own route); each relies on the
client capability it uses (-32021 without it), and a 2026-07-28 call of one is an ``isError`` result (that era asks
through input-required results: :mod:`~tradingmcp.server.tools.conformance_rounds`)."""


def header_param_tool(call: CallContext, args: dict[str, Any]) -> ToolResult:
    return ToolResult(content=[_text(f"Region: {args['region']}")])


HEADER_PARAM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"region": {"type": "string", "x-mcp-header": "Region"}, "query": {"type": "string"}},
    "required": ["region"],
}
"""A parameter mirrored into the ``Mcp-Param-Region`` header (2026-07-28, SEP-2243): the custom-header scenario
checks the server validates it against the body (missing, mismatched, malformed Base64)."""


TOOLS: tuple[tuple[str, str, ToolFn], ...] = (
    ("test_simple_text", "Returns one text block.", simple_text),
    ("test_image_content", "Returns one PNG image block.", image_content),
    ("test_audio_content", "Returns one WAV audio block.", audio_content),
    ("test_embedded_resource", "Returns one embedded text resource.", embedded_resource),
    ("test_multiple_content_types", "Returns text, image and embedded resource blocks.", multiple_content_types),
    ("test_tool_with_logging", "Logs three info lines while it runs.", with_logging),
    ("test_tool_with_progress", "Reports progress 0, 50, 100 of 100 while it runs.", with_progress),
    ("test_error_handling", "Always fails with an isError result.", error_handling),
)

DIAGNOSTIC_TOOLS: tuple[tuple[str, str, ToolFn, tuple[str, ...]], ...] = (
    (
        "test_missing_capability",
        "Relies on the client's sampling capability (-32021 without it).",
        missing_capability,
        ("sampling",),
    ),
    ("test_logging_tool", "Logs one info line only when the caller asked for logs.", logging_tool, ()),
    (
        "test_streaming_elicitation",
        "Relies on elicitation; reports progress on its own stream, then answers.",
        streaming,
        ("elicitation",),
    ),
)
"""The 2026-07-28 stateless scenario's probes: a declared client capability (-32021), logs only on request, and a
response stream that carries notifications and the answer, never a request of the server's own."""


# ---------------------------------------------------------------- prompts
def _simple_prompt(arguments: dict[str, str]) -> list[dict[str, Any]]:
    return [{"role": "user", "content": _text("This is a simple prompt for testing.")}]


def _prompt_with_arguments(arguments: dict[str, str]) -> list[dict[str, Any]]:
    text = f"Prompt with arguments: arg1='{arguments['arg1']}', arg2='{arguments['arg2']}'"
    return [{"role": "user", "content": _text(text)}]


def _prompt_with_resource(arguments: dict[str, str]) -> list[dict[str, Any]]:
    embedded = _embedded(arguments["resourceUri"], "text/plain", "Embedded resource content for testing.")
    return [
        {"role": "user", "content": embedded},
        {"role": "user", "content": _text("Please process the embedded resource above.")},
    ]


def _prompt_with_image(arguments: dict[str, str]) -> list[dict[str, Any]]:
    return [
        {"role": "user", "content": _image()},
        {"role": "user", "content": _text("Please analyze the image above.")},
    ]


def _complete_by_prefix(argument: str, value: str, context: dict[str, str]) -> Sequence[str]:
    return [v for v in COMPLETIONS if v.startswith(value)]


PROMPTS: tuple[Prompt, ...] = (
    Prompt("test_simple_prompt", "A prompt without arguments.", _simple_prompt, title="Simple Test Prompt"),
    Prompt(
        "test_prompt_with_arguments",
        "A prompt with two required arguments.",
        _prompt_with_arguments,
        (PromptArgument("arg1", "First test argument", True), PromptArgument("arg2", "Second test argument", True)),
        title="Prompt With Arguments",
        complete=_complete_by_prefix,
    ),
    Prompt(
        "test_prompt_with_embedded_resource",
        "A prompt embedding the resource it is given.",
        _prompt_with_resource,
        (PromptArgument("resourceUri", "URI of the resource to embed", True),),
        title="Prompt With Embedded Resource",
    ),
    Prompt("test_prompt_with_image", "A prompt with an image.", _prompt_with_image, title="Prompt With Image"),
    rounds.PROMPT,
)


# ---------------------------------------------------------------- resources
class Watched:
    """``test://watched-resource``: text that changes when :meth:`bump` is called, announced to subscribers."""

    def __init__(self) -> None:
        self.version = 0
        self._changed: list[Callable[[], None]] = []

    def read(self, uri: str) -> str:
        return f"Watched resource content, version {self.version}"

    def watch(self, uri: str, changed: Callable[[], None]) -> Callable[[], None]:
        self._changed.append(changed)
        return lambda: self._changed.remove(changed)

    def bump(self) -> None:
        self.version += 1
        for changed in list(self._changed):
            changed()


def _template_data(uri: str) -> str:
    rest = uri.removeprefix("test://template/")
    ident = rest.removesuffix("/data") if rest.endswith("/data") else rest
    return orjson.dumps({"id": ident, "templateTest": True, "data": f"Data for ID: {ident}"}).decode()


def register_conformance_fixtures(app: McpApp) -> Watched:
    """Register the suite's reference tools, resources, resource template and prompts on ``app``.

    Returns the watched resource (its :meth:`Watched.bump` announces a change to subscribers).

    Raises:
        ValueError: a fixture's name is already registered on ``app``.
    """
    for name, description, fn in TOOLS:
        app.add_tool(Tool(name, description, fn, dict(EMPTY_SCHEMA), open_world=False))
    app.add_tool(
        Tool(
            "json_schema_2020_12_tool",
            "Declares its input with JSON Schema 2020-12 keywords.",
            json_schema_tool,
            JSON_SCHEMA_2020_12,
            open_world=False,
        )
    )
    app.add_tool(
        Tool(
            "test_header_param",
            "Echoes its region, which a Streamable HTTP client mirrors into the Mcp-Param-Region header.",
            header_param_tool,
            HEADER_PARAM_SCHEMA,
            open_world=False,
        )
    )
    for name, description, fn, schema, capability in ASKING_TOOLS:
        app.add_tool(Tool(name, description, fn, schema, open_world=False, client_capabilities=(capability,)))
    for name, description, fn in rounds.ROUND_TRIP_TOOLS:
        app.add_tool(Tool(name, description, fn, dict(EMPTY_SCHEMA), open_world=False))
    for name, description, fn, needs in DIAGNOSTIC_TOOLS:
        app.add_tool(Tool(name, description, fn, dict(EMPTY_SCHEMA), open_world=False, client_capabilities=needs))
    for prompt in PROMPTS:
        app.add_prompt(prompt)
    static_text = "This is the content of the static text resource."
    app.add_resource(
        Resource("test://static-text", "static-text", lambda uri: static_text, "A static text resource", "text/plain")
    )
    app.add_resource(Resource("test://static-binary", "static-binary", lambda uri: PNG, "A PNG image", "image/png"))
    app.add_template(
        ResourceTemplate(
            "test://template/{id}/data",
            "template",
            _template_data,
            "JSON naming the id it was read with",
            "application/json",
            complete=_complete_by_prefix,
        )
    )
    watched = Watched()
    app.add_resource(
        Resource(
            WATCHED_URI, "watched-resource", watched.read, "Changes when bumped", "text/plain", watch=watched.watch
        )
    )
    return watched
