"""The place-with-lookup policy (``placing.place_with_lookup``) driven directly, with plain async callables standing in
for the exchange's two calls (placing an order, asking for it by client order id).

The stand-in exchange fills every order at once (a MARKET order) and accepts a client order id again when it holds no
open order with it, as Binance and MEXC do: a send after an order already went through makes a second order, which
is exactly what the policy must never allow. Each send and lookup can be made to fail the way the real ones do: the
request is refused before the matching engine (503, no order), or the order is made and its reply lost (timeout), or
the lookup itself fails (5xx)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import pytest

from tradingmcp.server.exchanges.errors import ExchangeUnavailable, OrderRejected, UnknownOrder
from tradingmcp.server.exchanges.placing import Placed, place_with_lookup

CID = "cid-1"
OK, LOST_BEFORE, LOST_REPLY = "ok", "lost_before", "lost_reply"  # what happens to a send
ANSWER, DOWN = "answer", "down"  # what happens to a lookup


@dataclass
class Exchange:
    """The exchange side of one client order id: the orders it made, every call in order (``calls``; ``trace`` adds
    each call's outcome and how many orders the exchange held when it came), and scripted outcomes for the next sends
    and lookups (then: ``OK`` / ``ANSWER``)."""

    sends: list[str] = field(default_factory=list)
    lookups: list[str] = field(default_factory=list)
    orders: list[str] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    trace: list[tuple[str, str, int]] = field(default_factory=list)

    async def send(self) -> str:
        outcome = self.sends.pop(0) if self.sends else OK
        self.calls.append("send")
        self.trace.append(("send", outcome, len(self.orders)))
        if outcome == LOST_BEFORE:
            raise ExchangeUnavailable("HTTP 503: service busy", exchange="stand-in", code=-1000, status=503)
        order = f"{CID}#{len(self.orders) + 1}"
        self.orders.append(order)  # filled at once: the id is free again, a second send would make a second order
        if outcome == LOST_REPLY:
            raise ExchangeUnavailable("no reply within 5 s", exchange="stand-in")
        return order

    async def lookup(self) -> str:
        outcome = self.lookups.pop(0) if self.lookups else ANSWER
        self.calls.append("lookup")
        self.trace.append(("lookup", outcome, len(self.orders)))
        if outcome == DOWN:
            raise ExchangeUnavailable("HTTP 502: bad gateway", exchange="stand-in", status=502)
        if not self.orders:
            raise UnknownOrder("Order does not exist.", exchange="stand-in", code=-2013)
        return self.orders[-1]


async def place(ex: Exchange, max_sends: int = 2) -> Placed[str]:
    return await place_with_lookup(ex.send, ex.lookup, CID, max_sends=max_sends)


def assert_says_query_first(exc: ExchangeUnavailable) -> None:
    text = str(exc)
    assert "unknown outcome" in text
    assert f"query get_order(client_order_id={CID!r}) before placing it again" in text


async def test_an_answered_send_is_all() -> None:
    ex = Exchange()
    assert await place(ex) == Placed(f"{CID}#1", found_after_unknown_outcome=False, sends=1)
    assert ex.calls == ["send"]


async def test_found_after_an_unknown_outcome_is_not_sent_again() -> None:
    ex = Exchange(sends=[LOST_REPLY])
    placed = await place(ex)
    assert placed == Placed(f"{CID}#1", found_after_unknown_outcome=True, sends=1)
    assert ex.calls == ["send", "lookup"]
    assert ex.orders == [f"{CID}#1"]  # no duplicate


async def test_surely_absent_is_sent_exactly_once_more() -> None:
    ex = Exchange(sends=[LOST_BEFORE])
    placed = await place(ex)
    assert placed == Placed(f"{CID}#1", found_after_unknown_outcome=False, sends=2)
    assert ex.calls == ["send", "lookup", "send"]
    assert ex.orders == [f"{CID}#1"]


async def test_a_resend_with_an_unknown_outcome_is_looked_up_too() -> None:
    ex = Exchange(sends=[LOST_BEFORE, LOST_REPLY])
    placed = await place(ex)
    assert placed == Placed(f"{CID}#1", found_after_unknown_outcome=True, sends=2)
    assert ex.calls == ["send", "lookup", "send", "lookup"]
    assert ex.orders == [f"{CID}#1"]


async def test_never_a_third_send() -> None:
    ex = Exchange(sends=[LOST_BEFORE, LOST_BEFORE, LOST_BEFORE])
    with pytest.raises(ExchangeUnavailable) as info:
        await place(ex)
    assert ex.calls == ["send", "lookup", "send", "lookup"]
    assert ex.orders == []
    assert_says_query_first(info.value)
    assert "HTTP 503: service busy" in str(info.value) and info.value.status == 503  # the send's failure, kept
    assert isinstance(info.value.__cause__, ExchangeUnavailable) and info.value.__cause__.status == 503


@pytest.mark.parametrize("first_send", [LOST_REPLY, LOST_BEFORE])
async def test_a_failed_lookup_sends_nothing_more(first_send: str) -> None:
    """Whether or not the order was made, a lookup that fails leaves the outcome unknown: nothing is sent again."""
    ex = Exchange(sends=[first_send], lookups=[DOWN])
    with pytest.raises(ExchangeUnavailable) as info:
        await place(ex)
    assert ex.calls == ["send", "lookup"]
    assert len(ex.orders) == (1 if first_send == LOST_REPLY else 0)
    assert_says_query_first(info.value)
    assert "checking it failed (HTTP 502: bad gateway)" in str(info.value)
    assert isinstance(info.value.__cause__, ExchangeUnavailable) and info.value.__cause__.status == 502


async def test_a_failed_lookup_after_the_resend_sends_nothing_more() -> None:
    ex = Exchange(sends=[LOST_BEFORE, LOST_REPLY], lookups=[ANSWER, DOWN])
    with pytest.raises(ExchangeUnavailable) as info:
        await place(ex)
    assert ex.calls == ["send", "lookup", "send", "lookup"]
    assert ex.orders == [f"{CID}#1"]
    assert_says_query_first(info.value)


async def test_a_refusal_is_not_looked_up() -> None:
    """Only an unknown outcome is looked up: a refused order (or any other error) goes back to the caller as it is."""
    refused = OrderRejected("Account has insufficient balance", exchange="stand-in", code=-2010)
    calls: list[str] = []

    async def send() -> str:
        calls.append("send")
        raise refused

    async def lookup() -> str:
        calls.append("lookup")
        return "never"

    with pytest.raises(OrderRejected) as info:
        await place_with_lookup(send, lookup, CID)
    assert info.value is refused and calls == ["send"]


async def test_max_sends_bounds_the_sends() -> None:
    ex = Exchange(sends=[LOST_BEFORE])
    with pytest.raises(ExchangeUnavailable) as info:
        await place(ex, max_sends=1)
    assert ex.calls == ["send", "lookup"] and ex.orders == []
    assert_says_query_first(info.value)
    with pytest.raises(ValueError, match="max_sends"):
        await place(Exchange(), max_sends=0)
    assert (await place(Exchange(sends=[LOST_BEFORE] * 3), max_sends=4)).sends == 4


SEND_FAULTS = list(itertools.product([OK, LOST_BEFORE, LOST_REPLY], repeat=3))
LOOKUP_FAULTS = list(itertools.product([ANSWER, DOWN], repeat=3))


@pytest.mark.parametrize("lookups", LOOKUP_FAULTS, ids="-".join)
@pytest.mark.parametrize("sends", SEND_FAULTS, ids="-".join)
async def test_no_fault_sequence_makes_a_duplicate(sends: tuple[str, ...], lookups: tuple[str, ...]) -> None:
    """Every sequence of send and lookup outcomes: at most one order, at most two sends, never a send after a failed
    lookup or after the order was found, and either the one order comes back or the error says to query first."""
    ex = Exchange(sends=list(sends), lookups=list(lookups))
    try:
        placed = await place(ex)
    except ExchangeUnavailable as exc:
        assert_says_query_first(exc)
        placed = None
    assert len(ex.orders) <= 1
    assert ex.calls.count("send") <= 2
    assert ex.calls[0] == "send" and all(b != a for a, b in itertools.pairwise(ex.calls))  # send and lookup alternate
    for (call, outcome, held), (after, _, _) in itertools.pairwise(ex.trace):
        if call == "lookup" and after == "send":  # resent only after the exchange said it has no such order
            assert outcome == ANSWER and held == 0
    last_call, last_outcome, last_held = ex.trace[-1]
    settled = (last_call, last_outcome) == ("send", OK) or (last_call, last_outcome, last_held) == ("lookup", ANSWER, 1)
    assert (placed is not None) == settled  # gives up only when the outcome is still unknown
    if placed is not None:
        assert ex.orders == [placed.order]
        assert placed.sends == ex.calls.count("send")
        assert placed.found_after_unknown_outcome == (last_call == "lookup")
