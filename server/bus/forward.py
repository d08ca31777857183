"""A bus gateway's tools: every tool call of its clients forwarded to the trader over request/reply.

The trader's description (:func:`describe_trader`): its tools, venues and instructions, asked on :data:`DESCRIBE`,
which every trader answers (active or standby).

Tools (:class:`TraderTools`): every tool the trader offers, registered on the gateway's app from the trader's own
description and forwarded over request/reply with the caller's identity and scopes; the trader's answer is the
answer. While no trader answers (a failover), the call is retried until ``request_timeout_s``; a trader that took
the call and never answered is a ``trader_timeout`` error saying the outcome is unknown, never a second send. A
caller that asked for progress gets the trader's ``notifications/progress`` relayed (over a reply subject of its
own); a read-only call that its caller cancels (``notifications/cancelled``, or its connection closing) is cancelled
on the trader too (:func:`~tradingmcp.server.bus.subjects.cancel_subject`), so a ``wait_for_event`` stops waiting
there; a call that is not read-only runs to its end on the trader, whose journal and audit log keep its outcome.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import secrets
import time
from collections.abc import Callable, Coroutine
from typing import Any

import nats
import orjson
from nats.aio.msg import Msg

from tradingmcp.server.bus.conn import BusLink
from tradingmcp.server.bus.subjects import TRADER_PREFIX, cancel_subject, trader_subject
from tradingmcp.server.mcp.context import CallContext
from tradingmcp.server.mcp.registry import McpApp, Tool, ToolError, ToolResult
from tradingmcp.transport.jsonrpc import ErrorCode, JsonRpcError

DESCRIBE = f"{TRADER_PREFIX}.describe"
"""Request subject answered by every trader (active or standby): its tools and venues."""
# The shortest wait for one forwarded call's answer, in s: longer than the bus's no-responders answer on any link we serve.
_MIN_TRY_S = 0.5
_OWN_TIMEOUT_MARGIN_S = 5.0
"""How much longer than a call's own ``timeout_s`` argument its forwarder waits for the trader's answer (s)."""


async def describe_trader(link: BusLink, timeout_s: float) -> dict[str, Any]:
    """The trader's description (``{"tools": [...], "venues": [...], "instructions": str}``), waiting up to
    ``timeout_s`` for a trader to answer.

    Raises:
        TimeoutError: no trader answered in time.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            reply = await link.nc.request(DESCRIBE, b"{}", timeout=min(2.0, max(0.1, deadline - time.monotonic())))
            doc = orjson.loads(reply.data)
            if isinstance(doc, dict) and isinstance(doc.get("tools"), list):
                return doc
            link.drop("rpc", DESCRIBE, "a trader description without tools")
        except (nats.errors.NoRespondersError, TimeoutError):
            pass
        except orjson.JSONDecodeError:
            link.drop("rpc", DESCRIBE, "a trader description that is not JSON")
        if time.monotonic() >= deadline:
            raise TimeoutError(f"no trader answered on the bus within {timeout_s:.0f} s")
        await asyncio.sleep(0.2)


def _progress_relay(call: CallContext) -> Callable[[Msg], Coroutine[Any, Any, None]]:
    """The callback of a forwarded call's progress subject: each well-formed step goes to ``call.progress``."""

    async def relay(msg: Msg) -> None:
        with contextlib.suppress(orjson.JSONDecodeError, TypeError, KeyError):
            doc = orjson.loads(msg.data)
            progress, total, message = doc["progress"], doc.get("total"), doc.get("message")
            if isinstance(progress, int | float) and isinstance(total, int | float | None):
                call.progress(progress, total, message if isinstance(message, str) else None)

    return relay


class TraderTools:
    """Registers on ``app`` every tool of the trader's description that ``app`` does not have itself, each forwarding
    its calls to the trader of the call's venue (``exchange`` argument, else the first venue); :meth:`call` forwards
    a call of a caller that is no MCP client (a webhook's order alert) the same way."""

    def __init__(self, link: BusLink, description: dict[str, Any], request_timeout_s: float) -> None:
        self.link = link
        self.request_timeout_s = request_timeout_s
        self.venues: list[str] = [str(v["name"]) for v in description.get("venues", []) if isinstance(v, dict)]
        self.description = description
        self.forwarded = 0
        self._call_ids = (f"{secrets.token_hex(6)}.{n}" for n in itertools.count(1))  # unique across gateways

    def register(self, app: McpApp) -> None:
        for wire in self.description["tools"]:
            name = wire.get("name")
            if not isinstance(name, str) or name in app.tools:
                continue
            ann = wire.get("annotations") or {}
            app.add_tool(
                Tool(
                    name,
                    str(wire.get("description", "")),
                    self._forwarder(name, wire.get("timeout_s"), bool(ann.get("readOnlyHint", False))),
                    wire.get("inputSchema") or {"type": "object"},
                    output_schema=wire.get("outputSchema"),
                    title=wire.get("title"),
                    scope=str(wire.get("scope", "trade")),
                    read_only=bool(ann.get("readOnlyHint", False)),
                    destructive=bool(ann.get("destructiveHint", True)),
                    idempotent=bool(ann.get("idempotentHint", False)),
                    open_world=bool(ann.get("openWorldHint", True)),
                    timeout_s=None,  # the forwarder bounds the wait itself
                )
            )

    def _tool_wait_s(self, tool_timeout: Any) -> float:
        """How long a call of a tool with the trader's ``timeout_s`` ``tool_timeout`` is waited for (s)."""
        if isinstance(tool_timeout, int | float) and tool_timeout > 0:
            return max(self.request_timeout_s, float(tool_timeout) + 2.0)
        return self.request_timeout_s

    def _venue_of(self, args: dict[str, Any]) -> str:
        """The venue a call goes to: its ``exchange`` argument, else the trader's first venue."""
        venue = args.get("exchange") if isinstance(args.get("exchange"), str) else None
        return venue or (self.venues[0] if self.venues else "binance")

    def _forwarder(self, name: str, tool_timeout: Any, read_only: bool) -> Callable[[CallContext, dict[str, Any]], Any]:
        wait_s = self._tool_wait_s(tool_timeout)

        async def forward(call: CallContext, args: dict[str, Any]) -> Any:
            wait = wait_s
            own = args.get("timeout_s")  # a tool that waits by design (wait_for_event) is given its own bound
            if isinstance(own, int | float) and not isinstance(own, bool) and own > 0:
                wait = max(wait, float(own) + _OWN_TIMEOUT_MARGIN_S)
            venue = self._venue_of(args)
            doc: dict[str, Any] = {
                "tool": name,
                "args": args,
                "principal": call.principal.name,
                "scopes": sorted(call.principal.scopes),
            }
            call_id = next(self._call_ids) if read_only else None
            if call_id is not None:
                doc["call_id"] = call_id
            progress = None
            if call.progress_token is not None:
                progress = await self.link.nc.subscribe(self.link.nc.new_inbox(), cb=_progress_relay(call))
                doc["progress_to"] = progress.subject
            try:
                return await self.request(venue, name, orjson.dumps(doc), wait)
            except asyncio.CancelledError:
                if call_id is not None:
                    with contextlib.suppress(Exception):
                        await self.link.nc.publish(cancel_subject(venue), orjson.dumps({"call_id": call_id}))
                raise
            finally:
                if progress is not None:
                    with contextlib.suppress(Exception):
                        await progress.unsubscribe()

        return forward

    async def call(
        self, name: str, args: dict[str, Any], principal: str, scopes: tuple[str, ...], find_s: float | None = None
    ) -> ToolResult:
        """Call the trader's tool ``name`` for a caller that is no MCP client (a webhook's order alert): as
        ``principal`` with ``scopes``, to the trader of the venue of ``args`` (``exchange``, else the first venue),
        waiting as long as a client's call of the tool would, and looking for a trader that takes it for ``find_s``
        (s; default: as long as the wait).

        Raises:
            ToolError: ``unsupported`` (the trader offers no tool ``name``), or as :meth:`request`.
            JsonRpcError: as :meth:`request`.
        """
        wire = next((t for t in self.description["tools"] if t.get("name") == name), None)
        if wire is None:
            raise ToolError(f"the trader offers no {name} tool", "unsupported")
        wait_s = self._tool_wait_s(wire.get("timeout_s"))
        venue = self._venue_of(args)
        body = orjson.dumps({"tool": name, "args": args, "principal": principal, "scopes": sorted(scopes)})
        result: ToolResult = await self.request(venue, name, body, wait_s, find_s)
        return result

    async def request(self, venue: str, name: str, body: bytes, wait_s: float, find_s: float | None = None) -> Any:
        """Send one call to ``venue``'s trader and turn its answer into the tool's result: tries again while no trader
        takes it for ``find_s`` (s; default ``wait_s``), and waits for the answer of the one that took it until
        ``wait_s`` from the start.

        Raises:
            ToolError: no trader answered (``trader_unavailable``) or the one that took it went silent
                (``trader_timeout``: the outcome is unknown).
            JsonRpcError: the trader answered with a JSON-RPC error.
        """
        subject = trader_subject(venue)
        started = time.monotonic()
        deadline = started + wait_s
        find = wait_s if find_s is None else min(find_s, wait_s)
        tried = False
        while True:
            left = deadline - time.monotonic()
            # A try shorter than the bus's no-responders answer could time out with nobody having taken the call and be
            # reported as an unknown outcome; so a try gets at least _MIN_TRY_S, and none starts with less than that left.
            if tried and (left < _MIN_TRY_S or time.monotonic() - started >= find):
                raise ToolError(
                    f"no trader for {venue} answered within {find:.0f} s (failover or outage); nothing was sent",
                    "trader_unavailable",
                    {"exchange": venue},
                )
            tried = True
            try:
                reply = await self.link.nc.request(subject, body, timeout=max(left, _MIN_TRY_S))
                break
            except nats.errors.NoRespondersError:  # nobody holds the lease right now: nothing was taken, retry
                await asyncio.sleep(min(0.1, max(0.0, deadline - time.monotonic())))
            except TimeoutError:
                raise ToolError(
                    f"the {venue} trader took {name} but did not answer within {wait_s:.0f} s: its outcome is unknown; "
                    "look it up (get_order by client order id) before sending it again",
                    "trader_timeout",
                    {"exchange": venue},
                ) from None
        self.forwarded += 1
        try:
            doc = orjson.loads(reply.data)
        except orjson.JSONDecodeError:
            self.link.drop("rpc", subject, "a trader answer that is not JSON")
            raise ToolError("the trader's answer was unreadable", "trader_error") from None
        if isinstance(doc, dict) and isinstance(doc.get("rpc_error"), dict):
            err = doc["rpc_error"]
            code = err["code"] if type(err.get("code")) is int else int(ErrorCode.INTERNAL_ERROR)
            raise JsonRpcError(code, str(err.get("message", "")), err.get("data"))
        result = doc.get("result") if isinstance(doc, dict) else None
        if not isinstance(result, dict):
            self.link.drop("rpc", subject, "a trader answer without result")
            raise ToolError("the trader's answer had no result", "trader_error")
        content = result.get("content") or []
        text = content[0].get("text") if content and isinstance(content[0], dict) else None
        return ToolResult(result.get("structuredContent"), text, bool(result.get("isError", False)))
