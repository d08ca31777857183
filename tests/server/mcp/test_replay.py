"""The replay window and the hub's resume, with no event loop: the window is plain data, and ``StreamHub.subscribe`` of
a source that starts synchronously finishes without suspending, so the test drives its coroutine by hand.

What must hold: a resume inside the window gets every message after ``since_seq`` exactly once, then the live ones;
one outside it (or of another epoch, or across a restart of the stream) says ``resumed: false`` and starts at the oldest
message held; conflatable messages (full states) collapse to the latest one; the window is bounded by count, bytes and
age and never loses its newest message; a publish appends once whatever the number of subscribers.
"""

from __future__ import annotations

from collections.abc import Coroutine, Hashable
from typing import Any, TypeVar

import orjson
import pytest

from tradingmcp.server.mcp.replay import MARK_EVERY, ReplayWindow, Retention
from tradingmcp.server.mcp.streams import StreamHub, StreamSource

T = TypeVar("T")
KEY = "ticks:sim:BTCUSDT"


def done(coro: Coroutine[Any, Any, T]) -> T:
    """The result of a coroutine that completes without suspending (the hub with a synchronous source)."""
    try:
        coro.send(None)
    except StopIteration as stop:
        result: T = stop.value
        return result
    raise AssertionError("the coroutine suspended")


class Recorder:
    """A subscriber (the connection's part): records each message it is handed and how."""

    def __init__(self) -> None:
        self.got: list[tuple[int, bool, bytes]] = []  # (seq, conflatable, bytes)

    def send(self, data: bytes) -> None:
        self.got.append((orjson.loads(data)["params"]["seq"], False, data))

    def send_conflatable(self, key: Hashable, data: bytes) -> None:
        assert key == KEY
        self.got.append((orjson.loads(data)["params"]["seq"], True, data))

    @property
    def seqs(self) -> list[int]:
        return [seq for seq, _, _ in self.got]


def filled(n: int, retention: Retention | None = None, conflatable: bool = False) -> ReplayWindow:
    w = ReplayWindow(retention or Retention(), conflatable)
    for seq in range(1, n + 1):
        assert w.append(b"m%d" % seq, conflatable) == seq
    return w


def test_a_resume_inside_the_window_gets_every_later_message_once() -> None:
    w = filled(10)
    plan = w.plan(4)
    assert plan.resumed and plan.first_seq == 5
    assert plan.messages == [(s, b"m%d" % s, False) for s in range(5, 11)]
    # up to date (or resuming from 0 with everything still held): resumed, nothing to replay or all of it
    assert w.plan(10) == (True, 11, [])
    assert [s for s, _, _ in w.plan(0).messages] == list(range(1, 11))
    assert w.plan(None) == (False, 11, [])  # a fresh subscriber starts live


def test_the_count_bound_drops_the_oldest_and_an_older_resume_is_refused() -> None:
    w = filled(10, Retention(max_count=4))
    assert (len(w), w.first_seq, w.last_seq) == (4, 7, 10)
    assert w.plan(6).resumed and w.plan(6).first_seq == 7
    refused = w.plan(5)  # seq 6 is gone
    assert not refused.resumed and refused.first_seq == 7
    assert [s for s, _, _ in refused.messages] == [7, 8, 9, 10]  # what it can still give
    assert not w.plan(11).resumed  # a seq the stream never published: another numbering


def test_the_bytes_and_age_bounds_and_the_newest_message_always_stays() -> None:
    w = ReplayWindow(Retention(max_bytes=10))
    for _ in range(5):
        w.append(b"abcd", False)
    assert (len(w), w.nbytes, w.first_seq) == (2, 8, 4)
    w.append(b"x" * 50, False)  # alone over the bound: kept, as the newest
    assert (len(w), w.first_seq, w.nbytes) == (1, 6, 50)

    now = [0.0]
    aged = ReplayWindow(Retention(max_age_s=10.0), clock=lambda: now[0])
    for _ in range(MARK_EVERY):  # a time mark at t=0 after the first batch
        aged.append(b"m", False)
    now[0] = 5.0
    for _ in range(MARK_EVERY):  # the next at t=5: nothing is 10 s old yet
        aged.append(b"m", False)
    assert aged.first_seq == 1
    now[0] = 12.0
    for _ in range(MARK_EVERY):  # at t=12 the first batch (up to the t=0 mark) is older than 10 s
        aged.append(b"m", False)
    assert (aged.first_seq, len(aged)) == (MARK_EVERY + 1, 2 * MARK_EVERY)
    now[0] = 100.0
    for _ in range(MARK_EVERY):
        aged.append(b"m", False)
    assert aged.first_seq == 3 * MARK_EVERY + 1  # everything before the t=12 mark is gone


def test_conflatable_states_collapse_to_the_latest_lossless_ones_all_replay() -> None:
    # a kline stream: the open candle (conflatable) and the closed ones (lossless)
    w = ReplayWindow(Retention(), conflating=True)
    kinds = [True, True, False, True, True, False, True]
    for seq, conflatable in enumerate(kinds, 1):
        assert w.append(b"k%d" % seq, conflatable) == seq
    plan = w.plan(1)
    assert plan.resumed and [s for s, _, _ in plan.messages] == [3, 6, 7]
    assert w.plan(6).messages == [(7, b"k7", True)]
    assert w.plan(7) == (True, 8, [])

    # a book: every message a full snapshot; a resume too old for the window still gets the latest snapshot
    book = filled(20, Retention(max_count=5), conflatable=True)
    assert book.plan(17) == (True, 20, [(20, b"m20", True)])
    assert book.plan(3) == (False, 20, [(20, b"m20", True)])


def test_a_hole_in_the_numbering_restarts_the_window() -> None:
    w = filled(5)
    w.skip_to(9)  # a source numbering its own messages skipped 6..8
    assert w.append(b"m9", False) == 9
    assert (w.first_seq, w.last_seq, len(w)) == (9, 9, 1)
    assert not w.plan(5).resumed and w.plan(8).resumed


def test_retention_refuses_bounds_that_are_not_positive() -> None:
    for bad in ({"max_count": 0}, {"max_bytes": 0}, {"max_age_s": 0.0}, {"linger_s": -1.0}):
        with pytest.raises(ValueError, match="retention"):
            Retention(**bad)
    assert Retention(linger_s=0).linger_s == 0


def hub_with_source(conflates: bool = True, retention: Retention | None = None) -> tuple[StreamHub, list[str]]:
    events: list[str] = []
    hub = StreamHub(retention)
    hub.add_source(
        StreamSource(
            "ticks", "test", lambda k: events.append("start"), lambda k: events.append("stop"), conflates=conflates
        )
    )
    return hub, events


def test_the_hub_replays_then_goes_live_with_no_gap_and_no_duplicate() -> None:
    hub, _ = hub_with_source(conflates=False)
    first = Recorder()
    att = done(hub.subscribe(first, KEY))
    assert (att.new, att.seq, att.first_seq, att.replayed, att.resumed, att.conflates) == (True, 0, 1, 0, None, False)
    epoch = att.epoch
    assert epoch == hub.epoch_of(KEY) and epoch.startswith(hub.epoch)
    for i in range(1, 8):
        assert hub.publish(KEY, {"i": i}, conflate=False) == 1

    late = Recorder()  # had seq 1..3 on an earlier connection
    att = done(hub.subscribe(late, KEY, since_seq=3, epoch=epoch))
    assert (att.resumed, att.seq, att.first_seq, att.replayed) == (True, 7, 4, 4)
    hub.publish(KEY, {"i": 8}, conflate=False)
    assert late.seqs == [4, 5, 6, 7, 8]
    assert not any(conflatable for _, conflatable, _ in late.got)
    # the replay hands over the very bytes the live subscriber got: one serialization per message
    assert [data for _, _, data in late.got[:4]] == [data for _, _, data in first.got[3:7]]

    # subscribing again on the same connection changes nothing
    again = done(hub.subscribe(late, KEY, since_seq=0, epoch=epoch))
    assert (again.new, again.replayed, again.resumed) == (False, 0, None) and late.seqs[-1] == 8


def test_one_append_per_publish_whatever_the_subscribers() -> None:
    hub, _ = hub_with_source()
    subs = [Recorder() for _ in range(5)]
    for s in subs:
        done(hub.subscribe(s, KEY))
    for i in range(3):
        assert hub.publish(KEY, {"i": i}) == 5
    window = hub.window(KEY)
    assert window is not None and len(window) == 3 and window.last_seq == hub.last_seq(KEY) == 3


def test_another_epoch_or_a_restarted_stream_is_never_resumed() -> None:
    hub, events = hub_with_source(conflates=False)
    sub = Recorder()
    epoch = done(hub.subscribe(sub, KEY)).epoch
    for i in range(3):
        hub.publish(KEY, {"i": i}, conflate=False)

    other = Recorder()
    att = done(hub.subscribe(other, KEY, since_seq=2, epoch="another-server.1"))
    assert (att.resumed, att.first_seq) == (False, 1) and other.seqs == [1, 2, 3]

    # every subscriber leaves: the source stops; messages of the market meanwhile were never published
    assert done(hub.unsubscribe(sub, KEY)) and done(hub.unsubscribe(other, KEY))
    assert events == ["start", "stop"] and hub.window(KEY) is None and hub.last_seq(KEY) == 3
    back = Recorder()
    att = done(hub.subscribe(back, KEY, since_seq=3, epoch=epoch))
    assert events == ["start", "stop", "start"]
    assert att.epoch != epoch and att.resumed is False and att.seq == 3  # the numbering goes on, the run is new
    hub.publish(KEY, {"i": 3}, conflate=False)
    assert back.seqs == [4]


def test_a_book_resume_gets_the_latest_snapshot_as_a_conflatable_message() -> None:
    hub, _ = hub_with_source(conflates=True, retention=Retention(max_count=3))
    epoch = done(hub.subscribe(Recorder(), KEY)).epoch
    for i in range(10):
        hub.publish(KEY, {"book": i})
    fresh = Recorder()
    att = done(hub.subscribe(fresh, KEY, since_seq=2, epoch=epoch))
    assert (att.resumed, att.first_seq, att.replayed, att.conflates) == (False, 10, 1, True)
    assert fresh.got[0][:2] == (10, True) and orjson.loads(fresh.got[0][2])["params"]["data"] == {"book": 9}


def test_messages_numbered_upstream_keep_their_seq_and_epoch() -> None:
    hub, _ = hub_with_source(conflates=False)
    sub = Recorder()
    done(hub.subscribe(sub, KEY))
    for seq in (7, 8, 8, 9):  # a feed's numbering; 8 twice (a redelivery) goes out once
        hub.publish_numbered(KEY, seq, {"s": seq}, epoch="feed.1", conflate=False)
    assert sub.seqs == [7, 8, 9] and hub.epoch_of(KEY) == "feed.1"
    late = Recorder()
    att = done(hub.subscribe(late, KEY, since_seq=7, epoch="feed.1"))
    assert (att.resumed, att.first_seq, late.seqs) == (True, 8, [8, 9])
    hub.publish_numbered(KEY, 12, {"s": 12}, epoch="feed.1", conflate=False)  # a hole: the window restarts
    assert not done(hub.subscribe(Recorder(), KEY, since_seq=9, epoch="feed.1")).resumed
    hub.publish_numbered(KEY, 1, {"s": 1}, epoch="feed.2", conflate=False)  # the feed restarted
    window = hub.window(KEY)
    assert window is not None and (window.first_seq, window.last_seq, hub.epoch_of(KEY)) == (1, 1, "feed.2")
    assert late.seqs == [8, 9, 12, 1]
