"""The user data stream on the WS API order channel's own connection (``binance.userdata``): subscribed on that
connection (python-binance's stays closed), events delivered in the frame callback (no task), statuses on drop and
resubscription after every reconnect, a refused subscription retried, ``eventStreamTerminated`` resubscribed.
Real simulator, real sockets on 127.0.0.1; drops come from a loopback TCP proxy in front of the simulator."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal

import pytest

from tradingmcp.server.exchanges.binance.adapter import BinanceAdapter
from tradingmcp.server.exchanges.models import (
    Order,
    OrderEvent,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    StreamStatus,
    UserEvent,
)
from tradingmcp.sim.app import Simulator

from .conftest import sim_config
from .tcpproxy import TcpProxy

pytestmark = pytest.mark.data


def limit_buy(cid: str) -> OrderRequest:
    return OrderRequest(
        "BTCUSDT", Side.BUY, OrderType.LIMIT, quantity=Decimal("0.001"), price=Decimal("50000"), client_order_id=cid
    )


class Recorder:
    """A synchronous listener on the adapter's user events: keeps each event and whether it ran inside a task."""

    def __init__(self) -> None:
        self.events: list[UserEvent] = []
        self.in_task: list[bool] = []
        self.changed = asyncio.Event()

    def __call__(self, event: UserEvent) -> None:
        self.events.append(event)
        self.in_task.append(asyncio.current_task() is not None)
        self.changed.set()

    async def wait_for(self, want: Callable[[UserEvent], bool], timeout_s: float = 5.0) -> UserEvent:
        async with asyncio.timeout(timeout_s):
            while True:
                for event in self.events:
                    if want(event):
                        return event
                self.changed.clear()
                await self.changed.wait()

    def statuses(self) -> list[str]:
        return [e.state for e in self.events if isinstance(e, StreamStatus)]


def new_order(cid: str) -> Callable[[UserEvent], bool]:
    return lambda e: isinstance(e, OrderEvent) and e.order.client_order_id == cid and e.order.status is OrderStatus.NEW


async def test_events_ride_the_order_channel_and_are_handled_after_the_reply_resumes_its_caller(
    adapter: BinanceAdapter,
) -> None:
    await adapter.start_user_stream()
    seen = Recorder()
    adapter.user_events().listen(seen)  # type: ignore[attr-defined]
    assert adapter.client.ws_api.ws is None  # python-binance's WS API connection is not opened
    assert adapter.ws.connects == 1 and adapter.ws.requests == {"userDataStream.subscribe.signature": 1}
    assert adapter.user_stream is not None and adapter.user_stream.subscription_id is not None
    placed = await adapter.place_order(limit_buy("ud-1"))
    # the executionReport follows the reply on the wire; the caller waiting on the reply runs before it is handled
    assert not any(new_order("ud-1")(e) for e in seen.events)
    event = await seen.wait_for(new_order("ud-1"))
    assert isinstance(event, OrderEvent) and event.order.order_id == placed.order_id
    assert seen.statuses() == ["connected"]  # queued before the listener came, handed over first
    assert seen.in_task[1:] and not any(seen.in_task[1:])  # every later event came in a loop callback, no task
    await adapter.cancel_order("BTCUSDT", order_id=placed.order_id)
    gone = await seen.wait_for(lambda e: isinstance(e, OrderEvent) and e.order.status is OrderStatus.CANCELED)
    assert isinstance(gone, OrderEvent) and gone.order.client_order_id == "ud-1"


async def test_drop_queues_reconnecting_then_resubscribes(sim: Simulator, proxy: TcpProxy) -> None:
    async with BinanceAdapter(sim_config(sim, ws_api_url=proxy.url)) as ex:
        await ex.start_user_stream()
        seen = Recorder()
        ex.user_events().listen(seen)  # type: ignore[attr-defined]
        proxy.reset_all()  # the connection dies: the subscription is gone on the exchange side
        lost = await seen.wait_for(lambda e: isinstance(e, StreamStatus) and e.state == "reconnecting")
        assert isinstance(lost, StreamStatus) and "re-read open orders and balances" in lost.detail
        assert lost.time_ms > 0
        async with asyncio.timeout(5):
            await ex.start_user_stream()  # returns once the new connection's subscription is acknowledged
        assert seen.statuses() == ["connected", "reconnecting", "connected"]
        assert ex.ws.connects == 2 and ex.user_stream is not None and ex.user_stream.subscriptions == 2
        placed = await ex.place_order(limit_buy("ud-after"))  # over the new connection, after the subscription
        event = await seen.wait_for(new_order("ud-after"))
        assert isinstance(event, OrderEvent) and event.order.order_id == placed.order_id


class OrderOnOpen:
    """Wraps the channel's sink: the moment a connection opens (right after the user stream wrote its subscription)
    it starts placing an order, which reaches the exchange before the subscription is acknowledged."""

    def __init__(self, ex: BinanceAdapter, cid: str) -> None:
        assert ex.ws.sink is not None
        self.inner = ex.ws.sink
        self.ex = ex
        self.cid = cid
        self.placing: asyncio.Task[Order] | None = None
        self.subscribed_at_send: bool | None = None
        self.opened = asyncio.Event()

    def on_open(self) -> None:
        self.inner.on_open()
        if self.placing is None:
            assert self.ex.user_stream is not None
            self.subscribed_at_send = self.ex.user_stream.subscription_id is not None
            self.placing = asyncio.get_running_loop().create_task(self.ex.place_order(limit_buy(self.cid)))
            self.opened.set()

    def on_push(self, msg: dict[str, object]) -> None:
        self.inner.on_push(msg)

    def on_lost(self, reason: str) -> None:
        self.inner.on_lost(reason)


async def test_order_sent_before_the_subscription_ack_still_reports(sim: Simulator, proxy: TcpProxy) -> None:
    async with BinanceAdapter(sim_config(sim, ws_api_url=proxy.url)) as ex:
        await ex.start_user_stream()
        seen = Recorder()
        ex.user_events().listen(seen)  # type: ignore[attr-defined]
        probe = OrderOnOpen(ex, "ud-race")
        ex.ws.sink = probe
        proxy.reset_all()
        async with asyncio.timeout(5):
            await probe.opened.wait()
            assert probe.placing is not None
            placed = await probe.placing
        assert probe.subscribed_at_send is False  # the order went out before the new subscription was acknowledged
        assert ex.ws.requests["order.place"] == 1  # over the new connection, not REST
        event = await seen.wait_for(new_order("ud-race"))
        assert isinstance(event, OrderEvent) and event.order.order_id == placed.order_id


async def test_refused_subscription_times_out_with_one_notice(sim: Simulator) -> None:
    config = sim_config(sim, api_secret="not-the-secret", request_timeout_s=0.5, ws_api_reconnect_max_s=0.2)
    async with BinanceAdapter(config) as ex:
        with pytest.raises(TimeoutError):
            await ex.start_user_stream()
        user = ex.user_stream
        assert user is not None and user.subscriptions == 0 and user.subscription_id is None
        events = ex.user_events()
        seen = Recorder()
        events.listen(seen)  # type: ignore[attr-defined]
        assert ex.ws.requests["userDataStream.subscribe.signature"] >= 2  # retried with backoff
        assert seen.statuses() == ["reconnecting"]  # one notice per outage, not one per retry
        status = seen.events[0]
        assert isinstance(status, StreamStatus) and "subscription refused" in status.detail


async def test_event_stream_terminated_resubscribes(adapter: BinanceAdapter) -> None:
    await adapter.start_user_stream()
    stream = adapter.user_stream
    assert stream is not None and stream.subscription_id is not None
    seen = Recorder()
    adapter.user_events().listen(seen)  # type: ignore[attr-defined]
    # the exchange ends the subscription (as after userDataStream.unsubscribe) and pushes eventStreamTerminated
    await adapter.ws.request("userDataStream.unsubscribe", {"subscriptionId": stream.subscription_id}, signed=False)
    stream.on_push({"subscriptionId": stream.subscription_id, "event": {"e": "eventStreamTerminated", "E": 1}})
    assert seen.statuses() == ["connected", "reconnecting"]
    await seen.wait_for(lambda _: seen.statuses() == ["connected", "reconnecting", "connected"])
    assert stream.subscriptions == 2 and adapter.ws.connects == 1  # subscribed again on the same connection
    placed = await adapter.place_order(limit_buy("ud-term"))
    event = await seen.wait_for(new_order("ud-term"))
    assert isinstance(event, OrderEvent) and event.order.order_id == placed.order_id


async def test_close_unsubscribes(sim: Simulator, adapter: BinanceAdapter) -> None:
    await adapter.start_user_stream()
    stream = adapter.user_stream
    assert stream is not None
    await stream.close()
    assert stream.subscription_id is None and adapter.ws.sink is None
    assert adapter.ws.requests.get("userDataStream.unsubscribe") == 1  # acknowledged by the exchange
    placed = await adapter.place_order(limit_buy("ud-closed"))  # the channel itself stays up for orders
    assert placed.status is OrderStatus.NEW
