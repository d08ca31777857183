"""Topic names and JSON control messages (SUBSCRIPTION / UNSUBSCRIPTION / PING and acks)."""

from __future__ import annotations

import json

import pytest

from tradingmcp.server.exchanges.mexc import control
from tradingmcp.server.exchanges.mexc.control import ControlError, TopicKind
from tradingmcp.sim.mexc.ws import reply


def test_topic_builders_match_mexc_docs() -> None:
    assert control.aggre_deals_topic("BTCUSDT") == "spot@public.aggre.deals.v3.api.pb@100ms@BTCUSDT"
    assert control.aggre_depth_topic("MXBTC", "10ms") == "spot@public.aggre.depth.v3.api.pb@10ms@MXBTC"
    assert control.aggre_book_ticker_topic("BTCUSDT") == "spot@public.aggre.bookTicker.v3.api.pb@100ms@BTCUSDT"
    assert control.limit_depth_topic("BTCUSDT", 5) == "spot@public.limit.depth.v3.api.pb@BTCUSDT@5"
    assert control.kline_topic("BTCUSDT", "Min15") == "spot@public.kline.v3.api.pb@BTCUSDT@Min15"
    assert control.kline_topic("BTCUSDT", "4h") == "spot@public.kline.v3.api.pb@BTCUSDT@Hour4"
    assert control.book_ticker_batch_topic("BTCUSDT") == "spot@public.bookTicker.batch.v3.api.pb@BTCUSDT"
    assert control.increase_depth_batch_topic("BTCUSDT") == "spot@public.increase.depth.batch.v3.api.pb@BTCUSDT"
    assert control.PRIVATE_ORDERS_TOPIC == "spot@private.orders.v3.api.pb"
    assert control.PRIVATE_DEALS_TOPIC == "spot@private.deals.v3.api.pb"
    assert control.PRIVATE_ACCOUNT_TOPIC == "spot@private.account.v3.api.pb"


@pytest.mark.parametrize(
    "bad",
    [
        lambda: control.aggre_deals_topic("btcusdt"),
        lambda: control.aggre_depth_topic("BTCUSDT", "1s"),
        lambda: control.limit_depth_topic("BTCUSDT", 50),
        lambda: control.kline_topic("BTCUSDT", "2m"),
    ],
)
def test_topic_builders_reject_bad_input(bad: object) -> None:
    with pytest.raises(ValueError):
        bad()  # type: ignore[operator]


def test_parse_topic_round_trips_every_kind() -> None:
    names = [
        control.aggre_deals_topic("BTCUSDT", "10ms"),
        control.aggre_depth_topic("ETHUSDT"),
        control.aggre_book_ticker_topic("ETHUSDT"),
        control.limit_depth_topic("BTCUSDT", 20),
        control.kline_topic("BTCUSDT", "1d"),
        control.book_ticker_batch_topic("BTCUSDT"),
        control.PRIVATE_ORDERS_TOPIC,
        control.PRIVATE_ACCOUNT_TOPIC,
    ]
    for name in names:
        assert control.parse_topic(name).name == name
    t = control.parse_topic("spot@public.kline.v3.api.pb@BTCUSDT@Min60")
    assert (t.kind, t.symbol, t.interval) == (TopicKind.KLINE, "BTCUSDT", "Min60")
    for bad in (
        "spot@public.deals.v3.api@BTCUSDT",
        "spot@public.nope.v3.api.pb@BTCUSDT",
        "btcusdt@trade",
        "spot@public.aggre.deals.v3.api.pb@BTCUSDT",
    ):
        with pytest.raises(ValueError):
            control.parse_topic(bad)


def test_control_messages_and_acks() -> None:
    topic = control.aggre_deals_topic("BTCUSDT")
    assert json.loads(control.subscription([topic])) == {"method": "SUBSCRIPTION", "params": [topic]}
    assert json.loads(control.unsubscription([topic])) == {"method": "UNSUBSCRIPTION", "params": [topic]}
    assert json.loads(control.ping()) == {"method": "PING"}
    with pytest.raises(ValueError):
        control.subscription([topic] * 31)

    ok = control.parse_reply('{"id":0,"code":0,"msg":"spot@public.aggre.deals.v3.api.pb@100ms@BTCUSDT"}')
    control.check_ack(ok, [topic])
    assert control.parse_reply('{"id":0,"code":0,"msg":"PONG"}').is_pong

    two = [topic, control.aggre_depth_topic("BTCUSDT")]
    control.check_ack(control.parse_reply(reply(",".join(two))), two)
    with pytest.raises(ControlError, match="did not confirm"):
        control.check_ack(control.parse_reply(reply(topic)), two)
    refused = control.parse_reply(
        '{"id":0,"code":0,"msg":"Not Subscribed successfully! [spot@public.aggre.deals.v3.api.pb@100ms@BTCUSDT].'
        '  Reason： Blocked! "}'
    )
    with pytest.raises(ControlError):
        control.check_ack(refused, [topic])
    with pytest.raises(ControlError, match="code 1"):
        control.check_ack(control.ControlReply(0, 1, topic), [topic])
    with pytest.raises(ControlError):
        control.parse_reply(b"\x08\x01")
