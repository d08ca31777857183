"""The *gateway* role's streams: the stream subscriptions of its MCP clients, served from the bus.

Streams (:class:`BusStreams`): every stream kind of the venues is a source of the gateway's
:class:`~tradingmcp.server.mcp.streams.StreamHub`. The first local subscriber of a key asks the feed for it (market
keys; the trader publishes account keys by itself), then opens the gateway's one bus subscription of its subject: a
JetStream pull consumer from the start of the subject's window, read up to the window's end before the
subscription is answered, so the hub's replay window holds what the bus holds and a client coming from another
gateway resumes here (``subscribe`` with ``since_seq`` and ``epoch``). Each message goes into the hub with the ``seq``
and ``epoch`` its publisher gave it (:meth:`~tradingmcp.server.mcp.streams.StreamHub.publish_numbered`: one
serialization, the same bytes for every client of the gateway, the same ``seq`` on every gateway; a redelivery is
dropped there).

Flow control: the gateway takes messages from the bus when its loop has handled the previous ones (one fetch of at most
:data:`FETCH_BATCH` at a time per subscription), so a feed publishing faster than the gateway fans out leaves the
backlog in JetStream, never in the gateway's memory. Of a fetched batch, every lossless message reaches the clients, in
order; a conflatable one followed by a newer conflatable one of the same batch only enters the replay window (its
successor supersedes it, as a slow client's conflation would), so a gateway that is behind skips to the newest state
and its clients see ``seq`` jump. A stream of full states only (:data:`STATE_KINDS`) whose consumer is still more than
a batch behind after one goes further: the consumer is recreated at the subject's newest message, so a gateway that
cannot even read as fast as the feed publishes stays current (its window restarts there, as across any ``seq`` jump
of an upstream). The consumer is recreated from the next stream sequence when it stops answering
(a bus outage or restart, or the server expired it), so nothing is lost or read twice across it.

A message that arrives ahead of a missing one (a publisher sending again what the bus did not
acknowledge, after a bus outage) waits up to :data:`GAP_WAIT_S` for the missing ones, so the order is restored rather
than a hole made; at most :data:`MAX_AHEAD` wait (beyond, the missing ones left the bus's window before the gateway
read them: the gap is accepted at once); a malformed or foreign message is dropped with a metric and a log line. The last local subscriber
leaving closes the subscription. Webhook signals (``signals:<name>``) are read the same way; they are published by
the gateways themselves (:mod:`.signals`), so nothing is asked of the feed for them.

The gateway's tool calls go to the trader through :mod:`.forward`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import nats
import orjson
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import FetchTimeoutError, NotFoundError

from tradingmcp.server.bus.conn import BusLink
from tradingmcp.server.bus.forward import TraderTools  # re-exported (see __all__)
from tradingmcp.server.bus.subjects import (
    ACCOUNT_KINDS,
    FEED_WANT,
    SIGNAL_KIND,
    StreamMessage,
    decode,
    numbering_subject,
    stream_name_of,
    subject_of,
)
from tradingmcp.server.mcp.streams import StreamHub, StreamSource
from tradingmcp.server.tools.market.streams import KIND_SPECS
from tradingmcp.transport.jsonrpc import ErrorCode, JsonRpcError

log = logging.getLogger("tradingmcp.server.bus.gateway")

WANT_REPEAT_S = 2.0
"""How often a gateway repeats its wants to the feed and the traders (a restarted feed, or a trader that took over,
learns them within this)."""
CATCH_UP_TIMEOUT_S = 10.0
GAP_WAIT_S = 5.0
"""How long messages ahead of a missing ``seq`` wait for it (s) before the gap is accepted (the hub then refuses a
resume across it rather than hide it)."""
MAX_AHEAD = 1024
"""Most messages held ahead of a missing ``seq``: beyond, the gap is accepted at once (the missing ones left the bus's
window before this gateway read them, or were lost), so a gateway far behind holds a bounded number."""
FETCH_BATCH = 256
"""Most messages a gateway takes from the bus at once per subscription (what it holds for it beside its NATS client's
buffer of one fetch)."""
FETCH_WAIT_S = 5.0
"""How long one fetch waits for a new message when the gateway is caught up (s); the server's idle heartbeats during
the wait (every :data:`FETCH_HEARTBEAT_S`) tell a quiet subject from a consumer that is gone."""
FETCH_HEARTBEAT_S = 1.0
FETCH_MORE_S = 0.5
"""How long a fetch of messages the server said were waiting may take (s) before the gateway waits afresh."""
STATE_KINDS = frozenset({"book_ticker", "book", "ticker_24h"})
"""Stream kinds whose every message is a full state (the market bridge publishes them all conflatable): a gateway
behind on one skips to the subject's newest message on the bus."""
CONSUMER_IDLE_S = 30.0
"""How long the server keeps a gateway's consumer with no fetch (s): one left behind (a gateway that died or a
consumer replaced after an outage) goes away by itself."""
RENEW_WAIT_S = 0.5
"""Pause between attempts to recreate a consumer while the bus does not take it (s)."""


class _Subscription:
    """The gateway's one bus subscription of a key."""

    def __init__(self, key: str, subject: str) -> None:
        self.key = key
        self.subject = subject
        self.received = 0
        self.ahead: dict[int, StreamMessage] = {}
        self.gap_timer: asyncio.TimerHandle | None = None
        self.caught_up = asyncio.Event()
        self.target_sseq = 0
        self.next_sseq = 0  # the stream sequence to read next (0: the window's start)
        self.held = 0  # messages taken from the bus and not yet handed to the hub
        self.jumped = False  # the consumer was moved to the subject's newest message: take it across the gap
        self.states = key.split(":", 1)[0] in STATE_KINDS
        self.sub: Any = None
        self.task: asyncio.Task[None] | None = None


class BusStreams:
    """Feeds ``hub`` from the bus for the stream kinds of ``venues`` (names). ``received`` counts the well-formed
    messages handed to the hub, ``jumps`` the times a subscription behind on full states went to its subject's newest
    message (see the module docstring)."""

    def __init__(self, link: BusLink, hub: StreamHub, venues: list[str]) -> None:
        self.link = link
        self.hub = hub
        self.subs: dict[str, _Subscription] = {}
        self.received = 0
        self.jumps = 0
        self._repeater: asyncio.Task[None] | None = None
        for venue in venues:
            for kind in KIND_SPECS:
                hub.add_source(
                    StreamSource(
                        f"{kind}:{venue}",
                        f"{kind} of a {venue} symbol",
                        self.open,
                        self.close,
                        conflates=kind != "trades",
                    )
                )
            for kind, what in (("orders", "order"), ("balances", "balance")):
                hub.add_source(
                    StreamSource(
                        f"{kind}:{venue}",
                        f"every {what} update of the {venue} account (lossless)",
                        self.open,
                        self.close,
                        conflates=False,
                    )
                )
        what = "alerts posted to the webhooks of the deployment's gateways"
        hub.add_source(StreamSource(SIGNAL_KIND, what, self.open, self.close, conflates=False))

    def start(self) -> None:
        self._repeater = asyncio.get_running_loop().create_task(self._repeat_wants())

    async def open(self, key: str) -> None:
        """The first local subscriber of ``key``: ask the feed for it, subscribe, and read the bus's window.

        Raises:
            JsonRpcError: the key cannot be a subject or the feed refused it (-32602); no feed answered (-32603).
        """
        try:
            subject = subject_of(key)
        except ValueError as exc:
            raise JsonRpcError(ErrorCode.INVALID_PARAMS, str(exc), {"stream": key[:128]}) from None
        kind = key.split(":", 1)[0]
        numbering: tuple[str, int] | None = None
        if kind in ACCOUNT_KINDS:
            numbering = await self._numbering(key)
        elif kind != SIGNAL_KIND:
            numbering = await self._want(key)
        entry = _Subscription(key, subject)
        stream = stream_name_of(key)
        try:
            last = await self.link.js.get_last_msg(stream, subject)
            entry.target_sseq = last.seq or 0
        except NotFoundError:
            entry.target_sseq = 0
        if entry.target_sseq == 0:
            entry.caught_up.set()
        self.subs[key] = entry
        entry.sub = await self._consumer(entry)
        entry.task = asyncio.get_running_loop().create_task(self._pull(entry))
        try:
            await asyncio.wait_for(entry.caught_up.wait(), CATCH_UP_TIMEOUT_S)
        except TimeoutError:
            log.warning(
                "gateway: %s not caught up with the bus window in %.0f s; serving live", key, CATCH_UP_TIMEOUT_S
            )
        if not entry.received and numbering is not None:  # nothing on the bus yet: take the publisher's numbering
            self.hub.adopt_numbering(key, *numbering)

    def pending(self, key: str) -> int:
        """Messages of ``key`` taken from the bus or buffered by the NATS client, not yet handed to the hub (at most
        about :data:`FETCH_BATCH`; 0 when the gateway does not read ``key``)."""
        entry = self.subs.get(key)
        if entry is None:
            return 0
        return entry.held + (entry.sub.pending_msgs if entry.sub is not None else 0)

    async def _consumer(self, entry: _Subscription, newest: bool = False) -> Any:
        """A pull consumer of ``entry``'s subject from its next stream sequence (the window's start when none yet), or
        from the subject's newest message with ``newest``.

        Raises:
            nats.errors.Error: the bus refused or did not answer.
        """
        if newest:
            policy = DeliverPolicy.LAST_PER_SUBJECT
        else:
            policy = DeliverPolicy.BY_START_SEQUENCE if entry.next_sseq else DeliverPolicy.ALL
        config = ConsumerConfig(
            deliver_policy=policy,
            opt_start_seq=entry.next_sseq if policy is DeliverPolicy.BY_START_SEQUENCE else None,
            ack_policy=AckPolicy.NONE,
            inactive_threshold=CONSUMER_IDLE_S,
            mem_storage=True,
        )
        return await self.link.js.pull_subscribe(
            entry.subject,
            stream=stream_name_of(entry.key),
            config=config,
            pending_msgs_limit=4 * FETCH_BATCH,
            pending_bytes_limit=-1,
        )

    async def _pull(self, entry: _Subscription) -> None:
        """Fetch ``entry``'s messages one batch at a time, each handled before the next is asked for."""
        waiting = 0  # messages the server said follow the last one taken
        while True:
            try:
                if waiting:
                    msgs = await entry.sub.fetch(min(waiting, FETCH_BATCH), timeout=FETCH_MORE_S)
                else:
                    msgs = await entry.sub.fetch(1, timeout=FETCH_WAIT_S, heartbeat=FETCH_HEARTBEAT_S)
            except FetchTimeoutError:  # the consumer is there (it sent heartbeats): nothing new yet
                waiting = 0
                continue
            except TimeoutError:
                if waiting:  # fewer than announced (retention removed some): wait afresh
                    waiting = 0
                    continue
                await self._renew(entry)  # not a word from the consumer: the bus lost it or the link is down
                continue
            except nats.errors.Error as exc:
                log.warning("gateway: %s: fetch failed (%s); recreating the consumer", entry.key, type(exc).__name__)
                await self._renew(entry)
                waiting = 0
                continue
            waiting = self._take(entry, msgs)
            if waiting > FETCH_BATCH and entry.states and entry.caught_up.is_set():
                await self._renew(entry, newest=True)  # still falling behind on full states: go to the newest one
                if entry.gap_timer is not None:  # what waits for a missing state is older than the newest
                    entry.gap_timer.cancel()
                    entry.gap_timer = None
                entry.ahead.clear()
                entry.jumped = True
                self.jumps += 1
                waiting = 0

    async def _renew(self, entry: _Subscription, newest: bool = False) -> None:
        """Replace ``entry``'s consumer by one from its next stream sequence (or the subject's newest message with
        ``newest``), retrying until the bus takes it."""
        old = entry.sub
        with contextlib.suppress(Exception):
            await old.unsubscribe()
        while True:
            if not self.link.connected:
                await self.link.reconnected.wait()
            try:
                entry.sub = await self._consumer(entry, newest)
                return
            except (nats.errors.Error, TimeoutError) as exc:
                log.warning("gateway: %s: consumer not recreated (%s); trying again", entry.key, type(exc).__name__)
                await asyncio.sleep(RENEW_WAIT_S)

    def _take(self, entry: _Subscription, msgs: list[Msg]) -> int:
        """Hand one fetched batch to the hub (see the module docstring); returns how many more messages the server
        holds for the consumer (0 when it said none or did not say)."""
        entry.held = len(msgs)
        decoded: list[tuple[Msg, StreamMessage | None]] = []
        newest = -1  # index of the batch's last conflatable message: the ones before it are superseded
        for msg in msgs:
            try:
                m = decode(msg.data, entry.key)
            except ValueError as exc:
                self.link.drop(entry.subject.split(".")[1], msg.subject, str(exc))
                decoded.append((msg, None))
                continue
            if not m.lossless:
                newest = len(decoded)
            decoded.append((msg, m))
        for i, (msg, got) in enumerate(decoded):
            if got is not None:
                self._on_msg(entry, got, superseded=i < newest and not got.lossless)
            entry.held -= 1
            self._check_caught_up(entry, msg)
        entry.held = 0
        if not msgs:
            return 0
        try:
            meta = msgs[-1].metadata
            entry.next_sseq = meta.sequence.stream + 1
            return int(meta.num_pending)
        except (ValueError, AttributeError, IndexError):
            return 0

    def _on_msg(self, entry: _Subscription, m: StreamMessage, superseded: bool) -> None:
        self.received += 1
        entry.received += 1
        hub, key = self.hub, entry.key
        last = hub.last_seq(key)
        jumped, entry.jumped = entry.jumped, False
        if m.epoch == hub.epoch_of(key) and last and m.seq > last + 1 and not jumped:  # ahead of a missing one: wait
            entry.ahead[m.seq] = m
            if entry.gap_timer is None:
                entry.gap_timer = asyncio.get_running_loop().call_later(GAP_WAIT_S, self._accept_gap, entry)
            elif len(entry.ahead) > MAX_AHEAD:
                entry.gap_timer.cancel()
                self._accept_gap(entry)
        else:
            hub.publish_numbered(key, m.seq, m.data, epoch=m.epoch, conflate=not m.lossless, deliver=not superseded)
            self._release_ahead(entry)

    def _release_ahead(self, entry: _Subscription) -> None:
        """Hand the hub every waiting message that follows its last one now."""
        ahead = entry.ahead
        while ahead and (m := ahead.pop(self.hub.last_seq(entry.key) + 1, None)) is not None:
            self.hub.publish_numbered(entry.key, m.seq, m.data, epoch=m.epoch, conflate=not m.lossless)
        if not ahead and entry.gap_timer is not None:
            entry.gap_timer.cancel()
            entry.gap_timer = None

    def _accept_gap(self, entry: _Subscription) -> None:
        """The missing messages did not come: hand the waiting ones over in order, across the gap."""
        entry.gap_timer = None
        log.warning("gateway: %s: seq %d missing on the bus; going on", entry.key, self.hub.last_seq(entry.key) + 1)
        waiting = [entry.ahead[seq] for seq in sorted(entry.ahead)]
        entry.ahead.clear()
        newest = max((i for i, m in enumerate(waiting) if not m.lossless), default=-1)
        for i, m in enumerate(waiting):  # a conflatable one that a newer one supersedes only enters the window
            self.hub.publish_numbered(
                entry.key, m.seq, m.data, epoch=m.epoch, conflate=not m.lossless, deliver=m.lossless or i >= newest
            )

    @staticmethod
    def _check_caught_up(entry: _Subscription, msg: Msg) -> None:
        if not entry.caught_up.is_set():
            try:
                if msg.metadata.sequence.stream >= entry.target_sseq or msg.metadata.num_pending == 0:
                    entry.caught_up.set()
            except (ValueError, AttributeError, IndexError):
                pass

    async def close(self, key: str) -> None:
        """The last local subscriber of ``key`` left: end its bus subscription (the server drops its consumer after
        :data:`CONSUMER_IDLE_S`)."""
        entry = self.subs.pop(key, None)
        if entry is not None and entry.gap_timer is not None:
            entry.gap_timer.cancel()
        if entry is not None and entry.task is not None:
            entry.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await entry.task
        if entry is not None and entry.sub is not None:
            with contextlib.suppress(Exception):
                await entry.sub.unsubscribe()

    async def _numbering(self, key: str) -> tuple[str, int] | None:
        """An account key's numbering from the venue's active trader (None when no trader tells it now)."""
        try:
            reply = await self.link.nc.request(numbering_subject(key.split(":")[1]), orjson.dumps({"stream": key}), 2.0)
            doc = orjson.loads(reply.data)
            if isinstance(doc.get("epoch"), str) and type(doc.get("seq")) is int:
                return doc["epoch"], doc["seq"]
        except (nats.errors.Error, TimeoutError, orjson.JSONDecodeError, AttributeError):
            pass
        return None

    async def _want(self, key: str) -> tuple[str, int] | None:
        """Ask the feed to publish ``key``; returns its numbering ``(epoch, newest seq)``."""
        try:
            reply = await self.link.nc.request(FEED_WANT, orjson.dumps({"stream": key}), timeout=5.0)
        except nats.errors.NoRespondersError:
            raise JsonRpcError(
                ErrorCode.INTERNAL_ERROR, f"no feed on the bus to publish {key}; try again later"
            ) from None
        except TimeoutError:
            raise JsonRpcError(ErrorCode.INTERNAL_ERROR, f"the feed did not answer for {key} in 5 s") from None
        try:
            doc = orjson.loads(reply.data)
        except orjson.JSONDecodeError:
            self.link.drop("rpc", FEED_WANT, "the feed's answer is not JSON")
            raise JsonRpcError(ErrorCode.INTERNAL_ERROR, f"the feed's answer for {key} was unreadable") from None
        err = doc.get("error") if isinstance(doc, dict) else None
        if isinstance(err, dict):
            code = err["code"] if type(err.get("code")) is int else int(ErrorCode.INTERNAL_ERROR)
            raise JsonRpcError(code, str(err.get("message", "the feed refused the stream")), {"stream": key})
        if isinstance(doc, dict) and isinstance(doc.get("epoch"), str) and type(doc.get("seq")) is int:
            return doc["epoch"], doc["seq"]
        return None

    async def _repeat_wants(self) -> None:
        while True:
            await asyncio.sleep(WANT_REPEAT_S)
            for key in list(self.subs):
                if not self.link.connected:
                    break
                if key.startswith(f"{SIGNAL_KIND}:"):
                    continue
                # a restarted feed, or a trader that took over, learns what this gateway's clients hold
                parts = key.split(":")
                subject = numbering_subject(parts[1]) if parts[0] in ACCOUNT_KINDS else FEED_WANT
                with contextlib.suppress(Exception):
                    await self.link.nc.publish(subject, orjson.dumps({"stream": key}))

    async def aclose(self) -> None:
        if self._repeater is not None:
            self._repeater.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._repeater
        for key in list(self.subs):
            await self.close(key)


# TraderTools lives in .forward; the bus part tests import it from here.
__all__ = ["BusStreams", "TraderTools"]
