"""Prompts, completion, content blocks and resource content types in the session core (no event loop).

Bytes in through ``ServerSession.on_message``, JSON out through a recording sink, in both protocol eras
(MCP 2025-11-25 "Prompts" and "Completion"; 2026-07-28 with the version in ``_meta``).
"""

from __future__ import annotations

import base64
from collections.abc import Hashable, Sequence
from typing import Any

import orjson

from tradingmcp.server.mcp.context import CallContext
from tradingmcp.server.mcp.engine import ServerSession
from tradingmcp.server.mcp.prompts import MAX_COMPLETIONS
from tradingmcp.server.mcp.registry import (
    McpApp,
    Prompt,
    PromptArgument,
    Resource,
    ResourceTemplate,
    ToolResult,
)
from tradingmcp.transport.auth import Principal
from tradingmcp.transport.jsonrpc import ErrorCode
from tradingmcp.transport.mcpnames import META_CLIENT_CAPS, META_VERSION

MODERN = {META_VERSION: "2026-07-28", META_CLIENT_CAPS: {}}
INITIALIZE = b'{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25"}}'
CITIES = ("paris", "park", "party", "porto")


class ListSink:
    """Records what the core writes."""

    def __init__(self) -> None:
        self.out: list[Any] = []

    def send(self, data: bytes) -> None:
        self.out.append(orjson.loads(data))

    def send_conflatable(self, key: Hashable, data: bytes) -> None:
        self.send(data)

    def close(self, code: int, reason: str) -> None:
        raise AssertionError(f"closed: {code} {reason}")


def greet(arguments: dict[str, str]) -> list[dict[str, Any]]:
    text = f"Hello {arguments['name']} from {arguments.get('city', 'nowhere')}"
    return [{"role": "user", "content": {"type": "text", "text": text}}]


def complete_city(argument: str, value: str, context: dict[str, str]) -> Sequence[str]:
    if argument != "city":
        return []
    return [c for c in CITIES if c.startswith(value)] + [f"{context.get('name', '?')}-town"]


def prompt_app() -> McpApp:
    app = McpApp(name="prompt-test")
    app.add_prompt(
        Prompt(
            "greet",
            "Greets someone.",
            greet,
            (PromptArgument("name", "who", required=True), PromptArgument("city", "where")),
            title="Greeting",
            complete=complete_city,
        )
    )
    app.add_prompt(Prompt("plain", "No arguments.", lambda args: {"messages": [], "description": "custom"}))
    app.add_prompt(
        Prompt("many", "Too many completions.", greet, complete=lambda a, v, c: [str(i) for i in range(250)])
    )
    app.add_resource(Resource("test://text", "text", lambda uri: "plain words", mime_type="text/plain"))
    app.add_resource(Resource("test://png", "png", lambda uri: b"\x89PNG", mime_type="image/png"))
    app.add_template(
        ResourceTemplate(
            "test://item/{id}", "item", lambda uri: {"id": uri}, complete=lambda a, v, c: [f"{v}1", f"{v}2"]
        )
    )

    @app.tool("blocks", "Returns image and embedded resource blocks.")
    def blocks(call: CallContext, args: dict[str, Any]) -> ToolResult:
        return ToolResult(
            content=[
                {"type": "image", "data": "AAAA", "mimeType": "image/png"},
                {"type": "resource", "resource": {"uri": "test://e", "mimeType": "text/plain", "text": "e"}},
            ]
        )

    return app


def ask(session: ServerSession, sink: ListSink, rid: int, method: str, params: dict[str, Any]) -> Any:
    session.on_message(orjson.dumps({"jsonrpc": "2.0", "id": rid, "method": method, "params": params}))
    return sink.out[-1]


def sessions() -> list[tuple[ServerSession, ListSink, dict[str, Any]]]:
    """A handshake-era session (initialized) and a 2026-07-28 one, each with the ``_meta`` its requests carry."""
    out = []
    for meta in ({}, MODERN):
        sink = ListSink()
        session = ServerSession(prompt_app(), sink, Principal("alice", frozenset({"read"})))
        if not meta:
            session.on_message(INITIALIZE)
        out.append((session, sink, {"_meta": meta} if meta else {}))
    return out


def test_prompts_are_announced_listed_and_rendered_in_both_eras() -> None:
    for session, sink, meta in sessions():
        if meta:
            caps = ask(session, sink, 1, "server/discover", meta)["result"]["capabilities"]
        else:
            caps = sink.out[0]["result"]["capabilities"]
        assert caps["prompts"] == {"listChanged": False} and caps["completions"] == {}
        listed = ask(session, sink, 2, "prompts/list", meta)["result"]
        assert listed["prompts"][0] == {
            "name": "greet",
            "description": "Greets someone.",
            "title": "Greeting",
            "arguments": [
                {"name": "name", "required": True, "description": "who"},
                {"name": "city", "required": False, "description": "where"},
            ],
        }
        assert [p["name"] for p in listed["prompts"]] == ["greet", "plain", "many"]
        if meta:
            assert listed["cacheScope"] == "public" and listed["ttlMs"] >= 0 and listed["resultType"] == "complete"
        got = ask(
            session, sink, 3, "prompts/get", {"name": "greet", "arguments": {"name": "Ann", "city": "Oslo"}, **meta}
        )
        assert got["result"]["messages"] == [
            {"role": "user", "content": {"type": "text", "text": "Hello Ann from Oslo"}}
        ]
        assert got["result"]["description"] == "Greets someone."
        plain = ask(session, sink, 4, "prompts/get", {"name": "plain", **meta})["result"]
        assert plain["messages"] == [] and plain["description"] == "custom"


def test_bad_prompt_requests_name_the_field_and_the_session_keeps_serving() -> None:
    for session, sink, meta in sessions():
        cases = [
            ({"name": "nope"}, "unknown prompt"),
            ({"name": 7}, "unknown prompt"),
            ({"name": "greet", "arguments": {"city": "Oslo"}}, "arguments.name is required"),
            ({"name": "greet", "arguments": {"name": 5}}, "arguments.'name' must be a string"),
            ({"name": "greet", "arguments": ["Ann"]}, "arguments must be an object"),
        ]
        for rid, (params, words) in enumerate(cases, start=10):
            error = ask(session, sink, rid, "prompts/get", {**params, **meta})["error"]
            assert error["code"] == ErrorCode.INVALID_PARAMS and words in error["message"], error
        assert "result" in ask(session, sink, 99, "prompts/get", {"name": "greet", "arguments": {"name": "B"}, **meta})


def test_completion_offers_prompt_and_template_values_capped_at_100() -> None:
    for session, sink, meta in sessions():
        ref = {"type": "ref/prompt", "name": "greet"}
        got = ask(
            session,
            sink,
            1,
            "completion/complete",
            {
                "ref": ref,
                "argument": {"name": "city", "value": "par"},
                "context": {"arguments": {"name": "Ann"}},
                **meta,
            },
        )["result"]
        assert got["completion"] == {"values": ["paris", "park", "party", "Ann-town"], "total": 4, "hasMore": False}
        many = {"ref": {"type": "ref/prompt", "name": "many"}, "argument": {"name": "x", "value": ""}, **meta}
        capped = ask(session, sink, 2, "completion/complete", many)["result"]["completion"]
        assert len(capped["values"]) == MAX_COMPLETIONS and capped["total"] == 250 and capped["hasMore"] is True
        for uri in ("test://item/{id}", "test://item/7"):
            tpl = {"ref": {"type": "ref/resource", "uri": uri}, "argument": {"name": "id", "value": "a"}, **meta}
            assert ask(session, sink, 3, "completion/complete", tpl)["result"]["completion"]["values"] == ["a1", "a2"]
        none = {"ref": {"type": "ref/prompt", "name": "plain"}, "argument": {"name": "x", "value": ""}, **meta}
        assert ask(session, sink, 4, "completion/complete", none)["result"]["completion"] == {
            "values": [],
            "total": 0,
            "hasMore": False,
        }


def test_bad_completion_requests_name_the_field() -> None:
    session, sink, meta = sessions()[1]
    arg = {"name": "city", "value": "p"}
    cases = [
        ({"argument": arg}, "ref (object) is required"),
        ({"ref": {"type": "ref/prompt", "name": "nope"}, "argument": arg}, "ref.name: unknown prompt"),
        ({"ref": {"type": "ref/resource", "uri": "test://other"}, "argument": arg}, "ref.uri: no resource"),
        ({"ref": {"type": "ref/tool", "name": "x"}, "argument": arg}, "ref.type must be"),
        ({"ref": {"type": "ref/prompt", "name": "greet"}}, "argument (object"),
        ({"ref": {"type": "ref/prompt", "name": "greet"}, "argument": {"name": "city"}}, "argument.value"),
        (
            {"ref": {"type": "ref/prompt", "name": "greet"}, "argument": arg, "context": {"arguments": {"n": 1}}},
            "context.arguments.'n' must be a string",
        ),
    ]
    for rid, (params, words) in enumerate(cases, start=1):
        error = ask(session, sink, rid, "completion/complete", {**params, **meta})["error"]
        assert error["code"] == ErrorCode.INVALID_PARAMS and words in error["message"], error


def test_tool_content_blocks_and_resource_content_types() -> None:
    for session, sink, meta in sessions():
        result = ask(session, sink, 1, "tools/call", {"name": "blocks", "arguments": {}, **meta})["result"]
        assert [b["type"] for b in result["content"]] == ["image", "resource"] and result["isError"] is False
        assert result["content"][1]["resource"]["text"] == "e" and "structuredContent" not in result
        text = ask(session, sink, 2, "resources/read", {"uri": "test://text", **meta})["result"]["contents"]
        assert text == [{"uri": "test://text", "mimeType": "text/plain", "text": "plain words"}]
        png = ask(session, sink, 3, "resources/read", {"uri": "test://png", **meta})["result"]["contents"][0]
        assert png["mimeType"] == "image/png" and base64.b64decode(png["blob"]) == b"\x89PNG"
        item = ask(session, sink, 4, "resources/read", {"uri": "test://item/7", **meta})["result"]["contents"][0]
        assert item["mimeType"] == "application/json" and orjson.loads(item["text"]) == {"id": "test://item/7"}


def test_an_app_without_prompts_announces_none() -> None:
    sink = ListSink()
    session = ServerSession(McpApp(), sink)
    session.on_message(INITIALIZE)
    caps = sink.out[-1]["result"]["capabilities"]
    assert "prompts" not in caps and "completions" not in caps
    assert ask(session, sink, 1, "prompts/list", {})["result"] == {"prompts": []}
