"""Webhook signals on the bus: a ``signals:<name>`` message published by whichever gateway received the alert, so
the clients of every gateway get it (each gateway reads ``tmcp.sig.<name>`` like any other stream subject,
:class:`~tradingmcp.server.bus.gateway.BusStreams`).

Several gateways may publish the same key, so no one of them owns its numbering: each publish reads the subject's
last message (its ``seq`` and ``epoch``) and stores the next one on the condition that the subject's last stream
sequence is still the one read (JetStream's ``Nats-Expected-Last-Subject-Sequence``); when another gateway stored one
in between, the publish reads again and retries. ``seq`` thus stays contiguous per key across gateways, and the
answer is given once JetStream stored the message.
"""

from __future__ import annotations

import secrets
from typing import Any

import nats
from nats.js.errors import APIError, NotFoundError

from tradingmcp.server.bus.conn import BusLink
from tradingmcp.server.bus.subjects import StreamMessage, decode, stream_name_of, subject_of

MAX_TRIES = 20
"""Publishes raced by other gateways before one gives up (:class:`SignalNotStored`)."""
WRONG_LAST_SEQUENCE = 10071
"""JetStream's error code for a failed ``Nats-Expected-Last-Subject-Sequence`` condition."""


class SignalNotStored(Exception):
    """The bus did not store the signal (unreachable, or lost every race); the message says why."""


class SignalWriter:
    """Publishes signal messages for the gateway's webhooks (see the module docstring). ``published`` counts the
    stored ones, ``raced`` the retries another gateway's publish caused."""

    def __init__(self, link: BusLink, timeout_s: float = 5.0) -> None:
        self.link = link
        self.timeout_s = timeout_s
        self.published = 0
        self.raced = 0
        self._streams_ready = False

    async def publish(self, key: str, data: Any) -> int:
        """Store ``data`` as the next lossless message of ``key``; returns its ``seq``.

        Raises:
            ValueError: ``key`` cannot be a subject.
            SignalNotStored: the bus did not store it.
        """
        subject, stream = subject_of(key), stream_name_of(key)
        try:
            if not self._streams_ready:  # a gateway may be the first on the bus to publish a signal
                await self.link.ensure_streams()
                self._streams_ready = True
            for _ in range(MAX_TRIES):
                last_sseq, seq, epoch = 0, 0, ""
                try:
                    last = await self.link.js.get_last_msg(stream, subject)
                    last_sseq = last.seq or 0
                    tail = decode(last.data or b"", key)
                    seq, epoch = tail.seq, tail.epoch
                except NotFoundError:
                    pass
                except (
                    ValueError
                ) as exc:  # a foreign message holds the tail: go on after it with a numbering of our own
                    self.link.drop("sig", subject, str(exc))
                body = StreamMessage(key, seq + 1, epoch or f"sig-{secrets.token_hex(6)}", data, True).encode()
                headers = {"Nats-Expected-Last-Subject-Sequence": str(last_sseq)}
                try:
                    await self.link.js.publish(subject, body, timeout=self.timeout_s, stream=stream, headers=headers)
                except APIError as exc:
                    if exc.err_code == WRONG_LAST_SEQUENCE:
                        self.raced += 1
                        continue
                    raise
                self.published += 1
                return seq + 1
        except (nats.errors.Error, TimeoutError, OSError) as exc:
            raise SignalNotStored(f"the bus did not store the signal on {subject}: {type(exc).__name__}") from None
        raise SignalNotStored(f"the signal on {subject} lost {MAX_TRIES} races with other gateways; not stored")
