"""Resource subscriptions and ``notifications/resources/updated``, rate-limited per client so an assistant is not flooded.

2025-11-25: ``resources/subscribe`` → ``{"method": "notifications/resources/updated", "params": {"uri": ...}}``.
2026-07-28: ``subscriptions/listen`` with ``resourceSubscriptions`` → the same notification with
``params._meta["io.modelcontextprotocol/subscriptionId"]`` = the listen request's id.

Per (client, uri), at most one update per ``min_interval_s``: the first goes out at once, later ones within the window
collapse into one trailing update at the window's end (an update says "re-read"; one is enough). The window's timer is
the shell's (``call_later``); the hub itself runs no event loop.

A resource that changes by itself declares a ``watch`` (:data:`~tradingmcp.server.mcp.registry.WatchFn`): the hub
starts it when a uri gets its first subscriber (across all clients) and stops it when the last one leaves.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

import orjson

from tradingmcp.transport import jsonrpc
from tradingmcp.transport.mcpnames import META_SUBSCRIPTION, RESOURCES_UPDATED

if TYPE_CHECKING:
    from tradingmcp.server.mcp.engine import ServerSession

UPDATED = RESOURCES_UPDATED
_Key = tuple["ServerSession", "jsonrpc.RequestId | None"]
CallLater = Callable[[float, Callable[[], None]], object]
"""``call_later(delay_s, fn)``: call ``fn()`` once after ``delay_s`` seconds (the shell's timer)."""


class ResourceHub:
    """All resource subscriptions of a server. ``notify_updated(uri)`` after the resource changed.

    Args:
        min_interval_s: the per-(client, uri) window (s).
        call_later: the timer for trailing updates (:func:`~tradingmcp.server.mcp.runner.loop_call_later` on asyncio);
            None: no timer, so no window either (every update goes out at once).
    """

    def __init__(self, min_interval_s: float = 0.25, call_later: CallLater | None = None) -> None:
        self.min_interval_s = min_interval_s
        self._call_later = call_later
        self._subs: dict[str, set[_Key]] = {}
        self._last: dict[tuple[_Key, str], float] = {}
        self._pending: set[tuple[_Key, str]] = set()
        self._stops: dict[str, Callable[[], None]] = {}  # uri -> stop of its watch
        self.sent = 0
        self.coalesced = 0

    def subscribe(self, session: ServerSession, uri: str, listen_id: jsonrpc.RequestId | None) -> None:
        """Add a subscriber; the first one of ``uri`` starts the resource's ``watch``.

        Raises:
            JsonRpcError: the resource's ``watch`` refused ``uri`` (nothing is subscribed then).
        """
        subs = self._subs.get(uri)
        if subs is None:
            watch = session.app.find_watch(uri)
            if watch is not None:
                self._stops[uri] = watch(uri, lambda: self.notify_updated(uri))
            subs = self._subs[uri] = set()
        subs.add((session, listen_id))

    def unsubscribe(self, session: ServerSession, uri: str, listen_id: jsonrpc.RequestId | None) -> None:
        subs = self._subs.get(uri)
        if subs is not None:
            subs.discard((session, listen_id))
            if not subs:
                del self._subs[uri]
                stop = self._stops.pop(uri, None)
                if stop is not None:
                    stop()

    def listener_gone(self, session: ServerSession, listen_id: jsonrpc.RequestId) -> None:
        for uri in list(self._subs):
            self.unsubscribe(session, uri, listen_id)

    def release(self, session: ServerSession) -> None:
        for uri, subs in list(self._subs.items()):
            for key in [k for k in subs if k[0] is session]:
                self.unsubscribe(session, uri, key[1])

    def subscribers(self, uri: str) -> int:
        return len(self._subs.get(uri, ()))

    def notify_updated(self, uri: str) -> None:
        """Tell every subscriber of ``uri`` that it changed (rate-limited per subscriber)."""
        subs = self._subs.get(uri)
        if not subs:
            return
        plain: bytes | None = None
        now = time.monotonic()
        for key in list(subs):
            slot = (key, uri)
            if slot in self._pending:
                self.coalesced += 1
                continue
            wait = self._last.get(slot, -1e9) + self.min_interval_s - now
            if wait > 0 and self._call_later is not None:
                self._pending.add(slot)
                self._call_later(wait, partial(self._trailing, slot))
                continue
            if key[1] is None:
                plain = plain or jsonrpc.encode_notification(UPDATED, {"uri": uri})
                self._send(slot, plain, now)
            else:
                self._send(slot, _tagged(uri, key[1]), now)

    def _trailing(self, slot: tuple[_Key, str]) -> None:
        self._pending.discard(slot)
        key, uri = slot
        if key in self._subs.get(uri, ()):
            data = jsonrpc.encode_notification(UPDATED, {"uri": uri}) if key[1] is None else _tagged(uri, key[1])
            self._send(slot, data, time.monotonic())

    def _send(self, slot: tuple[_Key, str], data: bytes, now: float) -> None:
        session, listen_id = slot[0]
        if not session.closed:  # a listen stream's updates go to that request's route
            sink = session.sink if listen_id is None else session.listeners.get(listen_id, session.sink)
            sink.send(data)
            self._last[slot] = now
            self.sent += 1

    @staticmethod
    def contents(uri: str, value: Any, mime_type: str | None = None) -> dict[str, Any]:
        """A ``resources/read`` content item for what a reader returned: str → ``text``, bytes → base64 ``blob``,
        both labelled ``mime_type`` (the resource's declared type; default ``text/plain`` and
        ``application/octet-stream``); anything else → its JSON as ``text``, ``application/json``."""
        if isinstance(value, str):
            return {"uri": uri, "mimeType": mime_type or "text/plain", "text": value}
        if isinstance(value, bytes):
            blob = base64.b64encode(value).decode()
            return {"uri": uri, "mimeType": mime_type or "application/octet-stream", "blob": blob}
        return {"uri": uri, "mimeType": "application/json", "text": orjson.dumps(value).decode()}


def _tagged(uri: str, listen_id: jsonrpc.RequestId) -> bytes:
    return jsonrpc.encode_notification(UPDATED, {"uri": uri, "_meta": {META_SUBSCRIPTION: listen_id}})
