"""Shared pieces of the HTTP face tests: request builders for both eras and an SSE reader over aiohttp's client."""

from __future__ import annotations

from typing import Any

import aiohttp
import orjson

from tradingmcp.transport.mcpnames import META_CLIENT_CAPS, META_VERSION

ACCEPT = "application/json, text/event-stream"
MODERN = "2026-07-28"
TOKEN = "http-test-token"  # a test-only token, never a real secret
OTHER_TOKEN = "http-other-token"


def modern_request(rid: int | str, method: str, params: dict[str, Any] | None = None, **meta: Any) -> dict[str, Any]:
    """A 2026-07-28 request: version and client capabilities in ``_meta``."""
    p = dict(params or {})
    p["_meta"] = {META_VERSION: MODERN, META_CLIENT_CAPS: {}, **meta}
    return {"jsonrpc": "2.0", "id": rid, "method": method, "params": p}


def modern_headers(body: dict[str, Any], token: str | None = TOKEN, **extra: str) -> dict[str, str]:
    """The headers a 2026-07-28 client sends with ``body`` (mirrored method and name)."""
    h = {
        "Content-Type": "application/json",
        "Accept": ACCEPT,
        "MCP-Protocol-Version": MODERN,
        "Mcp-Method": body["method"],
    }
    params = body.get("params") or {}
    name = params.get("name") if body["method"] in ("tools/call", "prompts/get") else params.get("uri")
    if isinstance(name, str):
        h["Mcp-Name"] = name
    if token:
        h["Authorization"] = f"Bearer {token}"
    h.update(extra)
    return h


def legacy_headers(session_id: str | None = None, token: str | None = TOKEN, **extra: str) -> dict[str, str]:
    h = {"Content-Type": "application/json", "Accept": ACCEPT}
    if session_id:
        h["Mcp-Session-Id"] = session_id
    if token:
        h["Authorization"] = f"Bearer {token}"
    h.update(extra)
    return h


INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 0,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}


async def open_session(http: aiohttp.ClientSession, url: str, token: str | None = TOKEN) -> str:
    """``initialize`` (2025-11-25) → the ``Mcp-Session-Id``."""
    async with http.post(url, data=orjson.dumps(INITIALIZE), headers=legacy_headers(token=token)) as resp:
        assert resp.status == 200, await resp.text()
        return resp.headers["Mcp-Session-Id"]


async def post(http: aiohttp.ClientSession, url: str, body: Any, headers: dict[str, str]) -> tuple[int, Any]:
    """POST ``body`` (JSON, or raw bytes); returns the status and the JSON body (or the SSE events' messages)."""
    data = body if isinstance(body, bytes) else orjson.dumps(body)
    async with http.post(url, data=data, headers=headers) as resp:
        if resp.headers.get("Content-Type", "").startswith("text/event-stream"):
            return resp.status, [e["data"] for e in await read_events(resp)]
        raw = await resp.read()
        return resp.status, orjson.loads(raw) if raw else None


async def read_events(resp: aiohttp.ClientResponse, count: int | None = None) -> list[dict[str, Any]]:
    """SSE events of ``resp`` as ``{"id", "event", "data"}`` (data parsed as JSON), until ``count`` or the end."""
    events: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    while count is None or len(events) < count:
        line = await resp.content.readline()
        if not line:
            break
        text = line.decode().rstrip("\r\n")
        if not text:
            if "data" in current:
                current["data"] = orjson.loads(current["data"])
                events.append(current)
            current = {}
            continue
        if text.startswith(":"):
            continue
        field, _, value = text.partition(":")
        current[field] = value[1:] if value.startswith(" ") else value
    return events
