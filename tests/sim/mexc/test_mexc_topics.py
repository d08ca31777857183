"""The MEXC face's own topic grammar against the adapter's topic builders (two separate implementations of MEXC's
documented names, so each checks the other)."""

from __future__ import annotations

import pytest

from tradingmcp.server.exchanges.mexc import control
from tradingmcp.sim.mexc import topics


def test_the_face_builds_the_names_the_adapter_subscribes() -> None:
    for interval in topics.PUSH_INTERVALS:
        assert topics.aggre_deals("BTCUSDT", interval) == control.aggre_deals_topic("BTCUSDT", interval)
        assert topics.aggre_depth("ETHUSDT", interval) == control.aggre_depth_topic("ETHUSDT", interval)
        assert topics.aggre_book_ticker("BTCUSDT", interval) == control.aggre_book_ticker_topic("BTCUSDT", interval)
    for levels in topics.LIMIT_DEPTH_LEVELS:
        assert topics.limit_depth("BTCUSDT", levels) == control.limit_depth_topic("BTCUSDT", levels)
    for interval in [*topics.KLINE_SECONDS, *topics.KLINE_ALIASES]:
        assert topics.kline("BTCUSDT", interval) == control.kline_topic("BTCUSDT", interval)
    assert (topics.PRIVATE_ORDERS, topics.PRIVATE_DEALS, topics.PRIVATE_ACCOUNT) == (
        control.PRIVATE_ORDERS_TOPIC,
        control.PRIVATE_DEALS_TOPIC,
        control.PRIVATE_ACCOUNT_TOPIC,
    )


def test_the_face_reads_every_topic_the_adapter_can_name() -> None:
    names = [
        control.aggre_deals_topic("BTCUSDT", "10ms"),
        control.aggre_depth_topic("ETHUSDT"),
        control.aggre_book_ticker_topic("ETHUSDT"),
        control.limit_depth_topic("BTCUSDT", 20),
        control.kline_topic("BTCUSDT", "1d"),
        control.book_ticker_batch_topic("BTCUSDT"),
        control.increase_depth_batch_topic("BTCUSDT"),
        control.PRIVATE_ORDERS_TOPIC,
        control.PRIVATE_ACCOUNT_TOPIC,
    ]
    for name in names:
        ours, theirs = topics.parse_topic(name), control.parse_topic(name)
        assert (ours.family, ours.symbol, ours.private) == (theirs.kind.value, theirs.symbol, theirs.symbol is None)
        assert (ours.interval, ours.levels) == (theirs.interval, theirs.levels)
    for name in names[:5]:
        assert topics.event_type(name) == control.parse_topic(name).event_type


@pytest.mark.parametrize(
    "bad",
    [
        "spot@public.deals.v3.api@BTCUSDT",
        "spot@public.nope.v3.api.pb@BTCUSDT",
        "btcusdt@trade",
        "spot@public.aggre.deals.v3.api.pb@BTCUSDT",
        "spot@public.aggre.deals.v3.api.pb@1s@BTCUSDT",
        "spot@public.aggre.deals.v3.api.pb@100ms@btcusdt",
        "spot@public.limit.depth.v3.api.pb@BTCUSDT@50",
        "spot@public.kline.v3.api.pb@BTCUSDT@2m",
        "spot@private.orders.v3.api.pb@BTCUSDT",
    ],
)
def test_the_face_refuses_malformed_topics(bad: str) -> None:
    with pytest.raises(ValueError):
        topics.parse_topic(bad)
    with pytest.raises(ValueError):
        control.parse_topic(bad)
