"""Stream keys ↔ bus subjects, and the one message shape every stream subject carries.

Subjects: a market stream ``kind:exchange:SYMBOL[:arg]`` is ``tmcp.md.<exchange>.<SYMBOL>.<kind>[.<arg>]``
(``trades:binance:BTCUSDT`` → ``tmcp.md.binance.BTCUSDT.trades``); an account stream ``kind:exchange[:SYMBOL]``
(``orders``, ``balances``) is ``tmcp.acct.<exchange>.<kind>[.<SYMBOL>]``; a webhook signal stream ``signals:<name>`` is
``tmcp.sig.<name>`` (published by whichever gateway received the alert, :mod:`.signals`). Requests: ``tmcp.rpc.feed.want`` (a gateway
asks the feed for a market stream), ``tmcp.rpc.trader.<exchange>`` (a tool call for a venue's trader) and
``tmcp.rpc.trader.<exchange>.resource`` (a gateway reads an account resource of that trader).

A stream message is the JSON object ``{"stream": key, "seq": int >= 1, "epoch": str, "data": any, "lossless": bool}``:
``seq`` is assigned by the one publisher of the key and contiguous per key within ``epoch`` (the name of that
numbering, kept by a publisher that restarts and continues it); ``lossless`` says a subscriber that is behind must get
it (trades, order events, closed candles) rather than only the latest of the key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

MARKET_PREFIX = "tmcp.md"
ACCOUNT_PREFIX = "tmcp.acct"
SIGNAL_PREFIX = "tmcp.sig"
SIGNAL_KIND = "signals"
"""The stream kind of webhook signals (``signals:<name>``), published by the gateways themselves."""
FEED_WANT = "tmcp.rpc.feed.want"
"""Request subject: ``{"stream": key}`` → ``{"ok": true, "epoch", "seq"}`` or ``{"error": {"code", "message"}}``."""
TRADER_PREFIX = "tmcp.rpc.trader"
ACCOUNT_KINDS = frozenset({"orders", "balances"})
"""Stream kinds published by a trader (the rest come from the feed)."""


def trader_subject(exchange: str) -> str:
    """The request subject of ``exchange``'s trader."""
    return f"{TRADER_PREFIX}.{exchange}"


def numbering_subject(exchange: str) -> str:
    """The request subject where ``exchange``'s active trader starts publishing an account stream and tells its numbering:
    ``{"stream": key}`` → ``{"epoch": str, "seq": int}`` (or ``{"error": ...}``)."""
    return f"{TRADER_PREFIX}.{exchange}.numbering"


def resource_subject(exchange: str) -> str:
    """The request subject where ``exchange``'s active trader reads one of its account resources:
    ``{"uri": "orders://<exchange>/open"}`` → ``{"value": <the resource's JSON>}`` (or ``{"rpc_error": ...}``)."""
    return f"{TRADER_PREFIX}.{exchange}.resource"


def cancel_subject(exchange: str) -> str:
    """Where a gateway tells ``exchange``'s active trader that the caller of a forwarded read-only call cancelled it
    (``notifications/cancelled``, or its connection closed): ``{"call_id": str}``, no answer."""
    return f"{TRADER_PREFIX}.{exchange}.cancel"


def subject_of(key: str) -> str:
    """The subject of a stream key (see the module docstring).

    Raises:
        ValueError: a key with fewer than two parts or a part a subject cannot carry (``.``, ``*``, ``>``, space).
    """
    parts = key.split(":")
    if len(parts) < 2 or any(not p or any(c in p for c in ".*> \t\r\n") for p in parts):
        raise ValueError(f"stream key {key[:80]!r} cannot be a bus subject: parts may not hold '.', '*', '>'")
    kind, exchange, rest = parts[0], parts[1], parts[2:]
    if kind in ACCOUNT_KINDS:
        return ".".join([ACCOUNT_PREFIX, exchange, kind, *rest])
    if kind == SIGNAL_KIND:
        return ".".join([SIGNAL_PREFIX, exchange, *rest])
    if not rest:
        raise ValueError(f"stream key {key[:80]!r}: a market stream needs kind:exchange:SYMBOL")
    return ".".join([MARKET_PREFIX, exchange, rest[0], kind, *rest[1:]])


def stream_name_of(key: str) -> str:
    """The JetStream stream holding ``key``'s subject."""
    from tradingmcp.server.bus.config import ACCOUNT_STREAM, MARKET_STREAM, SIGNAL_STREAM

    kind = key.split(":", 1)[0]
    return ACCOUNT_STREAM if kind in ACCOUNT_KINDS else SIGNAL_STREAM if kind == SIGNAL_KIND else MARKET_STREAM


@dataclass(frozen=True, slots=True)
class StreamMessage:
    """One decoded stream message."""

    stream: str
    seq: int
    epoch: str
    data: Any
    lossless: bool = False

    def encode(self) -> bytes:
        return orjson.dumps(
            {"stream": self.stream, "seq": self.seq, "epoch": self.epoch, "data": self.data, "lossless": self.lossless}
        )


def decode(body: bytes, expected_key: str | None = None) -> StreamMessage:
    """Parse and check one stream message.

    Raises:
        ValueError: not JSON, not the shape above, or a ``stream`` other than ``expected_key``.
    """
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(doc, dict) or "data" not in doc:
        raise ValueError("not a stream message object with data")
    key, seq, epoch, lossless = doc.get("stream"), doc.get("seq"), doc.get("epoch"), doc.get("lossless", False)
    if not isinstance(key, str) or (expected_key is not None and key != expected_key):
        raise ValueError(f"stream {str(key)[:80]!r} is not {expected_key!r}")
    if type(seq) is not int or seq < 1:
        raise ValueError(f"seq {str(seq)[:40]!r} is not an integer >= 1")
    if not isinstance(epoch, str) or not 0 < len(epoch) <= 64:
        raise ValueError("epoch is not a string of 1 to 64 characters")
    if not isinstance(lossless, bool):
        raise ValueError("lossless is not a boolean")
    return StreamMessage(key, seq, epoch, doc["data"], lossless)
