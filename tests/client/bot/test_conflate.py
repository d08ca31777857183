"""The turn queue (no event loop): the latest state per book / book-ticker stream, every order event and trade, in
arrival order."""

from __future__ import annotations

from tradingmcp.client.bot.conflate import TurnQueue, conflates


def test_latest_state_per_stream_and_every_lossless_message_in_order() -> None:
    q = TurnQueue()
    pushed = [
        ("book_ticker:binance:BTCUSDT", 1),
        ("orders:binance", 2),
        ("book_ticker:binance:ETHUSDT", 3),
        ("trades:binance:BTCUSDT", 4),
        ("book_ticker:binance:BTCUSDT", 5),
        ("book:binance:BTCUSDT:10", 6),
        ("orders:binance", 7),
        ("book_ticker:binance:BTCUSDT", 8),
        ("book:binance:BTCUSDT:10", 9),
        ("trades:binance:BTCUSDT", 10),
    ]
    for i, (key, n) in enumerate(pushed):
        q.push(key, {"n": n}, i)
    assert len(q) == len(pushed)
    kept = q.drain()
    assert [(i.key, i.data["n"]) for i in kept] == [
        ("orders:binance", 2),
        ("book_ticker:binance:ETHUSDT", 3),
        ("trades:binance:BTCUSDT", 4),
        ("orders:binance", 7),
        ("book_ticker:binance:BTCUSDT", 8),  # the latest of its stream, where it arrived
        ("book:binance:BTCUSDT:10", 9),
        ("trades:binance:BTCUSDT", 10),
    ]
    assert [i.arrival_ns for i in kept] == [1, 2, 3, 6, 7, 8, 9]
    assert q.conflated == 3 and len(q) == 0 and q.drain() == []
    q.push("book_ticker:binance:BTCUSDT", {"n": 11}, 11)  # a new turn starts empty: nothing superseded
    assert [i.data["n"] for i in q.drain()] == [11] and q.conflated == 3


def test_which_streams_conflate() -> None:
    assert conflates("book_ticker:binance:BTCUSDT") and conflates("book:mexc:ETHUSDT:20")
    assert not conflates("orders:binance") and not conflates("trades:binance:BTCUSDT")
    assert not conflates("klines:binance:BTCUSDT:1m") and not conflates("signals:tradingview")
