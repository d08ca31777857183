"""OutboundQueue, sans-I/O: a list as the connection, a flag as its write-buffer state, an injected clock."""

from __future__ import annotations

from tradingmcp.transport.outbound import OutboundQueue


class Wire:
    """What the queue writes to: a list of frames and a paused flag."""

    def __init__(self) -> None:
        self.frames: list[bytes] = []
        self.paused = False
        self.now = 100.0

    @property
    def writing_paused(self) -> bool:
        return self.paused

    def queue(self) -> OutboundQueue:
        return OutboundQueue(self.frames.append, self, clock=lambda: self.now)


def test_writes_straight_through_while_keeping_up() -> None:
    w = Wire()
    q = w.queue()
    q.send(b"r1")
    q.send_conflatable("k", b"n1")
    q.send_conflatable("k", b"n2")
    assert w.frames == [b"r1", b"n1", b"n2"]
    assert (len(q), q.queued_bytes, q.sent, q.conflated, q.behind_since) == (0, 0, 3, 0, None)
    assert q.behind_for() == 0.0


def test_conflates_latest_wins_and_never_drops_responses() -> None:
    w = Wire()
    q = w.queue()
    w.paused = True
    q.send_conflatable(("book", "BTCUSDT"), b"b1")
    q.send(b"resp-1")
    q.send_conflatable(("book", "BTCUSDT"), b"b2-longer")
    q.send_conflatable(("book", "ETHUSDT"), b"e1")
    q.send_conflatable(("book", "BTCUSDT"), b"b3")
    q.send(b"resp-2")
    assert w.frames == []
    assert q.conflated == 2
    assert len(q) == 4
    assert q.queued_bytes == len(b"b3") + len(b"resp-1") + len(b"e1") + len(b"resp-2")
    w.paused = False
    assert q.flush() == 4
    # the conflated slot keeps its original position, holding the latest value
    assert w.frames == [b"b3", b"resp-1", b"e1", b"resp-2"]
    assert (len(q), q.queued_bytes, q.behind_since, q.sent) == (0, 0, None, 4)
    # the slot is free again: the next message with that key is a new entry
    w.paused = True
    q.send_conflatable(("book", "BTCUSDT"), b"b4")
    assert len(q) == 1 and q.conflated == 2


def test_order_kept_behind_a_queue_even_when_not_paused() -> None:
    w = Wire()
    q = w.queue()
    w.paused = True
    q.send(b"a")
    w.paused = False  # the buffer drained but on_writable has not run yet
    q.send(b"b")
    q.send_conflatable("k", b"c")
    assert w.frames == []  # nothing overtakes what is queued
    q.flush()
    assert w.frames == [b"a", b"b", b"c"]


def test_flush_stops_when_the_connection_pauses_again() -> None:
    w = Wire()
    frames: list[bytes] = []

    def write(data: bytes) -> None:
        frames.append(data)
        if len(frames) == 2:
            w.paused = True

    q = OutboundQueue(write, w, clock=lambda: w.now)
    w.paused = True
    for i in range(5):
        q.send(b"m%d" % i)
    w.paused = False
    assert q.flush() == 2
    assert frames == [b"m0", b"m1"] and len(q) == 3
    assert q.behind_since is not None  # still behind
    w.paused = False
    assert q.flush() == 3
    assert frames == [b"m0", b"m1", b"m2", b"m3", b"m4"] and q.behind_since is None


def test_behind_for_uses_the_injected_clock() -> None:
    w = Wire()
    q = w.queue()
    w.paused = True
    q.send(b"x")
    assert q.behind_since == 100.0
    w.now = 103.5
    q.send(b"y")
    assert q.behind_since == 100.0  # since the first queued message, not the latest
    assert q.behind_for() == 3.5
    w.paused = False
    q.flush()
    assert q.behind_for() == 0.0
    w.paused = True
    w.now = 200.0
    q.send(b"z")
    w.now = 201.0
    assert q.behind_for() == 1.0


def test_queued_bytes_track_conflation_size_changes() -> None:
    w = Wire()
    q = w.queue()
    w.paused = True
    q.send_conflatable("k", b"x" * 100)
    q.send_conflatable("k", b"x" * 10)
    assert q.queued_bytes == 10
    q.send_conflatable("k", b"x" * 1000)
    assert q.queued_bytes == 1000
    w.paused = False
    q.flush()
    assert q.queued_bytes == 0 and w.frames == [b"x" * 1000]
