"""The *trader* role: the one owner of each venue account's order path, reached by gateways over request/reply.

Per venue, a :class:`~tradingmcp.server.bus.lease.Lease` decides which trader process is active; only the active one
listens on the venue's request subject (:func:`~tradingmcp.server.bus.subjects.trader_subject`) and publishes its
account streams (``orders:<venue>``, ``balances:<venue>``, continuing their ``seq`` from the bus). A standby keeps
its connections warm and answers only :data:`~tradingmcp.server.bus.forward.DESCRIBE`.

A request is ``{"tool", "args", "principal", "scopes"}`` and, optionally, ``"call_id"`` (a read-only tool's call that
the gateway may cancel on :func:`~tradingmcp.server.bus.subjects.cancel_subject`: the tool is stopped and the call
audited as ``cancelled``; a tool that is not read-only always runs to its end) and ``"progress_to"`` (a subject where
the tool's ``notifications/progress`` go, as ``{"progress", "total", "message"}``, for the gateway to relay); the tool
runs here with the caller's identity and scopes (its scope and arguments checked again), and the answer is
``{"result": CallToolResult}`` or ``{"rpc_error": {"code", "message", "data"}}``. A malformed request is answered
``-32602`` and counted as a drop. The active trader also answers
reads of its account resources (:func:`~tradingmcp.server.bus.subjects.resource_subject`) for the gateways'
``orders://`` and ``account://`` resources.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from tradingmcp.server.bus.conn import BusLink
from tradingmcp.server.bus.forward import DESCRIBE
from tradingmcp.server.bus.lease import Lease
from tradingmcp.server.bus.publisher import PublishingHub
from tradingmcp.server.bus.subjects import (
    ACCOUNT_KINDS,
    cancel_subject,
    numbering_subject,
    resource_subject,
    trader_subject,
)
from tradingmcp.server.mcp.mrtr import NO_INPUTS, Inputs
from tradingmcp.server.mcp.registry import McpApp, ToolCallRecord, ToolError, error_result, to_tool_result
from tradingmcp.server.mcp.streams import Subscriber
from tradingmcp.server.venues import Venues
from tradingmcp.transport.auth import SCOPES, Principal
from tradingmcp.transport.jsonrpc import ErrorCode, JsonRpcError

log = logging.getLogger("tradingmcp.server.bus.trader")


class _NoPush:
    def send(self, data: bytes) -> None:
        pass

    def send_conflatable(self, key: Any, data: bytes) -> None:
        pass


ProgressFn = Callable[[float, "float | None", "str | None"], None]
"""Sends one progress step ``(progress, total, message)`` towards the caller."""
_MAX_SUBJECT = 256


class BusCall:
    """A :class:`~tradingmcp.server.mcp.context.CallContext` for a call that came over the bus: progress goes to
    ``on_progress`` when the caller asked for it (the gateway relays it), no log lines, no pushes (streams reach
    clients through their gateway)."""

    def __init__(self, principal: Principal, request_id: str, on_progress: ProgressFn | None = None) -> None:
        self._principal = principal
        self._request_id = request_id
        self._subscriber = _NoPush()
        self._on_progress = on_progress

    @property
    def principal(self) -> Principal:
        return self._principal

    @property
    def request_id(self) -> str:
        return self._request_id

    @property
    def progress_token(self) -> Any:
        return self._request_id if self._on_progress is not None else None

    @property
    def log_level(self) -> str | None:
        return None

    @property
    def inputs(self) -> Inputs:
        return NO_INPUTS

    @property
    def subscriber(self) -> Subscriber:
        return self._subscriber

    def progress(self, progress: float, total: float | None = None, message: str | None = None) -> None:
        if self._on_progress is not None:
            self._on_progress(progress, total, message)

    def log(self, level: str, data: Any, logger: str | None = None) -> None:
        pass

    def request(
        self, method: str, params: dict[str, Any], on_answer: Callable[[Any, dict[str, Any] | None], None]
    ) -> None:
        raise ToolError(f"{method} cannot reach the client of a call forwarded over the bus", "unsupported")


def holder_id() -> str:
    """This process's name in a lease: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


class Trader:
    """``Trader(link, app, hub, venues, lease_ttl_s)``: ``app`` carries the full toolset built on ``hub`` for
    ``venues`` (started); ``await start()`` … ``await close()``. ``active`` names the venues it leads now."""

    def __init__(self, link: BusLink, app: McpApp, hub: PublishingHub, venues: Venues, lease_ttl_s: float) -> None:
        self.link = link
        self.app = app
        self.hub = hub
        self.venues = venues
        self.holder = holder_id()
        self.leases = [
            Lease(link, f"trader_{v.name}", self.holder, lease_ttl_s, self._gainer(v.name), self._loser(v.name))
            for v in venues
        ]
        self.active: set[str] = set()
        self.calls = 0
        self._subs: dict[str, Subscription] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._cancellable: dict[str, asyncio.Future[Any]] = {}  # call_id → the running read-only tool

    async def start(self) -> None:
        await self.link.ensure_streams()
        self.hub.publisher.start()
        await self.link.nc.subscribe(DESCRIBE, queue="describe", cb=self._on_describe)
        for lease in self.leases:
            lease.start()

    def description(self) -> dict[str, Any]:
        """What a gateway registers: every tool (wire shape plus ``scope`` and ``timeout_s``), the venues and the
        handshake's instructions."""
        tools = [{**t.to_wire(), "scope": t.scope, "timeout_s": t.timeout_s} for t in self.app.tools.values()]
        return {
            "tools": tools,
            "venues": [{"name": v.name, "mode": v.mode} for v in self.venues],
            "instructions": self.app.instructions,
            "description": self.app.description,
            "experimental": self.app.experimental,
        }

    async def _on_describe(self, msg: Msg) -> None:
        if msg.reply:
            await msg.respond(orjson.dumps(self.description()))

    def _gainer(self, venue: str) -> Any:
        async def gain() -> None:
            for key in (f"orders:{venue}", f"balances:{venue}"):
                self.hub.publisher.seqs.pop(key, None)  # continue from what the previous holder left on the bus
                await self.hub.hold(key)
            self._subs[venue] = await self.link.nc.subscribe(trader_subject(venue), cb=self._on_call)
            self._subs[f"{venue}.numbering"] = await self.link.nc.subscribe(
                numbering_subject(venue), cb=self._on_numbering
            )
            self._subs[f"{venue}.resource"] = await self.link.nc.subscribe(
                resource_subject(venue), cb=self._on_resource
            )
            self._subs[f"{venue}.cancel"] = await self.link.nc.subscribe(cancel_subject(venue), cb=self._on_cancel)
            self.active.add(venue)

        return gain

    def _loser(self, venue: str) -> Any:
        async def lose() -> None:
            self.active.discard(venue)
            for name in (venue, f"{venue}.numbering", f"{venue}.resource", f"{venue}.cancel"):
                sub = self._subs.pop(name, None)
                if sub is not None:
                    with contextlib.suppress(Exception):
                        await sub.unsubscribe()
            for key in [k for k in self.hub.active() if k.split(":")[:2] in ([kind, venue] for kind in ACCOUNT_KINDS)]:
                await self.hub.release_hold(key)

        return lose

    async def _on_numbering(self, msg: Msg) -> None:
        """A gateway wants an account stream of a venue this trader leads: publish it from now on (one symbol's
        ``orders:<venue>:SYMBOL`` too) and answer its numbering."""
        pub = self.hub.publisher
        try:
            key = orjson.loads(msg.data)["stream"]
            if not isinstance(key, str) or key.split(":", 1)[0] not in ACCOUNT_KINDS or len(key) > 128:
                raise TypeError("not an account stream key")
            if key.split(":")[1] not in self.active:
                raise TypeError(f"this trader does not lead {key.split(':')[1][:40]!r}")
            await self.hub.hold(key)
            answer: dict[str, Any] = {"epoch": pub.epochs[key], "seq": pub.seqs[key]}
        except (orjson.JSONDecodeError, KeyError, TypeError, IndexError, ValueError) as exc:
            self.link.drop("rpc", msg.subject, f"bad numbering request: {exc}")
            answer = {
                "error": {
                    "code": int(ErrorCode.INVALID_PARAMS),
                    "message": f"not a stream this trader publishes: {exc}",
                }
            }
        except JsonRpcError as exc:  # the account streams refused the key (a malformed symbol)
            answer = {"error": {"code": exc.code, "message": exc.message}}
        if msg.reply:
            await msg.respond(orjson.dumps(answer))

    async def _on_resource(self, msg: Msg) -> None:
        """A gateway reads one of this trader's resources (``{"uri"}`` → ``{"value"}``): the account resources it
        serves from its account caches (``orders://<venue>/open``, ``account://<venue>/balances``)."""
        answer: dict[str, Any]
        try:
            uri = orjson.loads(msg.data)["uri"]
            if not isinstance(uri, str) or len(uri) > 256:
                raise TypeError("uri is not a string of at most 256 characters")
            reader = self.app.find_reader(uri)
            if reader is None:
                raise JsonRpcError(ErrorCode.RESOURCE_NOT_FOUND, f"Resource not found: {uri}", {"uri": uri})
            answer = {"value": reader(uri)}
        except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
            self.link.drop("rpc", msg.subject, f"bad resource request: {exc}")
            answer = {"rpc_error": {"code": int(ErrorCode.INVALID_PARAMS), "message": f"bad resource request: {exc}"}}
        except JsonRpcError as exc:
            answer = {"rpc_error": {"code": exc.code, "message": exc.message, "data": exc.data}}
        if msg.reply:
            with contextlib.suppress(Exception):
                await msg.respond(orjson.dumps(answer))

    async def _on_call(self, msg: Msg) -> None:
        self._spawn(self._serve_call(msg))

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _on_cancel(self, msg: Msg) -> None:
        """A gateway's caller cancelled a read-only call: stop it if it still runs here."""
        try:
            call_id = orjson.loads(msg.data)["call_id"]
            if not isinstance(call_id, str):
                raise TypeError("call_id must be a string")
        except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
            self.link.drop("rpc", msg.subject, f"bad cancel: {exc}")
            return
        running = self._cancellable.get(call_id)
        if running is not None:
            running.cancel()

    def _progress_to(self, subject: str) -> ProgressFn:
        def send(progress: float, total: float | None, message: str | None) -> None:
            body = orjson.dumps({"progress": progress, "total": total, "message": message})
            self._spawn(self.link.nc.publish(subject, body))  # tasks start in order: the steps stay in order

        return send

    async def _serve_call(self, msg: Msg) -> None:
        self.calls += 1
        try:
            answer = await self.call(msg.data)
        except JsonRpcError as exc:
            answer = {"rpc_error": {"code": exc.code, "message": exc.message, "data": exc.data}}
        if msg.reply:
            with contextlib.suppress(Exception):
                await msg.respond(orjson.dumps(answer))

    async def call(self, body: bytes) -> dict[str, Any]:
        """Run one forwarded tool call; returns ``{"result": CallToolResult}``.

        Raises:
            JsonRpcError: a malformed request or an unknown tool (-32602), invalid arguments (-32602), or the tool's
                own JSON-RPC error.
        """
        try:
            doc = orjson.loads(body)
            name, args, who, scopes = doc["tool"], doc["args"], doc["principal"], doc["scopes"]
            call_id, progress_to = doc.get("call_id"), doc.get("progress_to")
            if not (isinstance(name, str) and isinstance(args, dict) and isinstance(who, str)):
                raise TypeError("tool, args, principal have the wrong types")
            if not isinstance(scopes, list) or not all(s in SCOPES for s in scopes):
                raise TypeError("scopes must be a list of known scopes")
            for field_name, value in (("call_id", call_id), ("progress_to", progress_to)):
                if value is not None and not (isinstance(value, str) and 0 < len(value) <= _MAX_SUBJECT):
                    raise TypeError(f"{field_name} must be a string of 1..{_MAX_SUBJECT} characters")
        except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
            self.link.drop("rpc", "trader call", str(exc))
            raise JsonRpcError(ErrorCode.INVALID_PARAMS, f"malformed trader request: {exc}") from None
        tool = self.app.tools.get(name)
        if tool is None:
            raise JsonRpcError(ErrorCode.INVALID_PARAMS, f"Unknown tool: {name[:80]!r}")
        tool.validate(args)
        principal = Principal(who, frozenset(scopes))
        started_ns, time_ms = time.perf_counter_ns(), int(time.time() * 1000)
        if not principal.can(tool.scope):
            result = error_result(
                ToolError(
                    f"token {who!r} lacks the {tool.scope!r} scope needed by {tool.name}",
                    "forbidden",
                    {"required_scope": tool.scope},
                )
            )
        else:
            on_progress = self._progress_to(progress_to) if progress_to is not None else None
            try:
                value = tool.fn(BusCall(principal, call_id or f"bus-{self.calls}", on_progress), args)
                if asyncio.iscoroutine(value):
                    run = asyncio.wait_for(value, tool.timeout_s) if tool.timeout_s else value
                    value = await (self._cancellable_run(call_id, run) if call_id and tool.read_only else run)
                result = to_tool_result(value)
            except ToolError as exc:
                result = error_result(exc)
            except TimeoutError:
                result = error_result(
                    ToolError(f"{tool.name} did not finish within {tool.timeout_s} s", "deadline_exceeded")
                )
        self._observe(who, name, args, result, started_ns, time_ms)
        return {"result": result}

    async def _cancellable_run(self, call_id: str, run: Coroutine[Any, Any, Any]) -> Any:
        """Run a read-only tool that :meth:`_on_cancel` may stop (then a ``cancelled`` tool error)."""
        inner = asyncio.ensure_future(run)
        self._cancellable[call_id] = inner
        try:
            return await inner
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if not inner.cancelled() or (task is not None and task.cancelling()):
                raise  # this trader is shutting down, not the caller cancelling
            raise ToolError("cancelled by the caller", "cancelled") from None
        finally:
            if self._cancellable.get(call_id) is inner:
                del self._cancellable[call_id]

    def _observe(
        self, who: str, name: str, args: dict[str, Any], result: dict[str, Any], started_ns: int, time_ms: int
    ) -> None:
        """The trader's audit log and metrics see a forwarded call like a local one."""
        if not self.app.observers:
            return
        is_error = bool(result.get("isError"))
        structured = result.get("structuredContent")
        err = structured.get("error") if is_error and isinstance(structured, dict) else None
        code = err.get("code") if isinstance(err, dict) else None
        message = err.get("message") if isinstance(err, dict) else None
        rec = ToolCallRecord(
            who,
            name,
            args,
            "tool_error" if is_error else "ok",
            result,
            code if isinstance(code, str | int) else None,
            message if isinstance(message, str) else None,
            (time.perf_counter_ns() - started_ns) / 1000,
            time_ms,
            started_ns,
        )
        for observer in self.app.observers:
            with contextlib.suppress(Exception):
                observer(rec)

    async def close(self) -> None:
        for lease in self.leases:
            await lease.close()
        for task in list(self._tasks):
            task.cancel()
        await self.hub.publisher.close()
