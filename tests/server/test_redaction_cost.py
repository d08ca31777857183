"""Secret redaction and audit rows cost time linear in the text they get, up to the largest message the transport
accepts, and what they keep is bounded: a caller's oversize tool name, argument name or value cannot stall the audit
writer (which holds the GIL while it works) nor grow a stored row.

Timing assertions compare the same code on n and 4n characters in the same run (linear: about 4x; a backtracking
pattern: 16x or more) and bound each call generously; nothing depends on this machine's absolute speed. Each cost is
the best of several rounds over all sizes (interleaved, so a busy spell of the shared machine hits every size alike;
noise only ever adds time, so the minimum is the stable estimate).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tradingmcp.server.audit.entries import (
    COLUMNS,
    MAX_ARGUMENTS_BYTES,
    MAX_ERROR_CHARS,
    MAX_NAME_CHARS,
    tool_call_row,
)
from tradingmcp.server.exchanges.binance.adapter import BinanceAdapter
from tradingmcp.server.exchanges.binance.config import BinanceConfig
from tradingmcp.server.logs import redact_bounded, redact_text
from tradingmcp.server.mcp.registry import ToolCallRecord
from tradingmcp.server.venues import Venue, Venues
from tradingmcp.transport.ws import WireOptions

FRAME_MAX = WireOptions().max_message_bytes
SIZES = [FRAME_MAX >> 2 * k for k in range(5, -1, -1)]
"""1 KiB, 4 KiB ... the frame limit (1 MiB): each 4x the one before."""
RATIO_MAX = 12.0
"""Largest cost ratio accepted for 4x the input: linear gives about 4, quadratic 16."""
CALL_MAX_S = 2.0
"""Generous bound on one call at the frame limit (s); smaller inputs get their share of it, at least CALL_FLOOR_S."""
CALL_FLOOR_S = 0.25
ROUNDS = 5
MARKER = 32
"""Room for a ``…[truncated N chars]`` marker after a cut text."""

UNITS = st.one_of(
    st.sampled_from(["a", "token", "ToKeN", "api_key", "api-key", "passphrase", "x.", "token.", "a-", "auth.", "é"]),
    st.sampled_from(["bearer ", "Bearer\t", " ", "=", ":", "'", "ſecret", "private_key.", "0"]),
    st.text(alphabet="aZ9_.-=: '\"&", min_size=1, max_size=4),
)
"""What a long input repeats: word characters, keywords, separators (the shapes that make patterns backtrack)."""
PREFIXES = st.sampled_from(["", "Unknown tool: '", "token", "password=", "x.", "Bearer ", "auth.", "a" * 7])
SUFFIXES = st.sampled_from(["", "=", ":", " = v", "'", "=b'v", "\n", "=" + "v" * 9])


def shaped(prefix: str, unit: str, suffix: str, n: int) -> str:
    """``prefix + unit * k + suffix`` of about ``n`` characters."""
    return prefix + unit * max(1, (n - len(prefix) - len(suffix)) // len(unit)) + suffix


T = TypeVar("T")


def cost_s(fn: Callable[[T], object], arg: T, n: int) -> float:
    """Seconds per call of ``fn(arg)`` (``arg`` built from ``n`` characters); fails as soon as one call exceeds its
    share of CALL_MAX_S."""
    limit = max(CALL_FLOOR_S, CALL_MAX_S * n / FRAME_MAX)
    reps = max(1, 8192 // n)  # small inputs: several calls, so the time is not one timer tick
    started = time.perf_counter()
    for _ in range(reps):
        t0 = time.perf_counter()
        fn(arg)
        took = time.perf_counter() - t0
        assert took < limit, f"one call took {took:.3f} s on {n} characters"
    return (time.perf_counter() - started) / reps


def assert_linear(fn: Callable[[T], object], build: Callable[[int], T]) -> None:
    """``fn(build(n))`` for each n of SIZES, best of ROUNDS: every 4x step costs less than RATIO_MAX x."""
    args = [build(n) for n in SIZES]
    best = [float("inf")] * len(SIZES)
    for _ in range(ROUNDS):
        for i, (n, arg) in enumerate(zip(SIZES, args, strict=True)):
            best[i] = min(best[i], cost_s(fn, arg, n))
    for i in range(1, len(SIZES)):
        ratio = best[i] / best[i - 1]
        assert ratio < RATIO_MAX, f"{SIZES[i]} characters cost {ratio:.1f}x of {SIZES[i - 1]}: {best}"


@pytest.fixture(scope="module")
def venues() -> Iterator[Venues]:
    """One venue (an adapter that never connects: rows read only its name and mode)."""
    adapter = BinanceAdapter(BinanceConfig())
    yield Venues([Venue("binance", adapter, "sim")])
    asyncio.run(adapter.close())


def oversize_call(text: str) -> ToolCallRecord:
    """A failed ``tools/call`` in which ``text`` is the tool name, an argument name and value, and the error message
    (as a message would read if it repeated the name whole)."""
    return ToolCallRecord(
        principal="reader",
        tool=text,
        arguments={text: 1, "symbol": text, "exchange": text, "client_order_id": text, "order_id": text},
        outcome="rpc_error",
        result=None,
        error_code=-32602,
        error=f"Unknown tool: {text!r}",
        latency_us=12.5,
        time_ms=1,
    )


slow = settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@slow
@given(PREFIXES, UNITS, SUFFIXES)
@example("", "a", "")
@example("", "token", "")
@example("", "a", "=")
@example("Unknown tool: '", "tokentoken", "'")
@example("", "x.", "token=v")
def test_redact_text_time_is_linear_up_to_the_frame_limit(prefix: str, unit: str, suffix: str) -> None:
    assert_linear(redact_text, lambda n: shaped(prefix, unit, suffix, n))


@slow
@given(PREFIXES, UNITS, SUFFIXES)
@example("", "a", "")
@example("", "token", "")
def test_audit_row_of_an_oversize_call_is_linear_and_bounded(
    venues: Venues, prefix: str, unit: str, suffix: str
) -> None:
    def convert(rec: ToolCallRecord) -> tuple[object, ...]:
        return tool_call_row(rec, venues, 4096)

    def build(n: int) -> ToolCallRecord:
        return oversize_call(shaped(prefix, unit, suffix, n))

    assert_linear(convert, build)
    row = dict(zip(COLUMNS, convert(build(FRAME_MAX)), strict=True))
    for name in ("tool", "exchange", "symbol", "order_id", "client_order_id"):
        assert len(row[name]) <= MAX_NAME_CHARS + MARKER, name
    assert len(row["error"]) <= MAX_ERROR_CHARS + MARKER
    assert len(row["arguments"].encode()) <= MAX_ARGUMENTS_BYTES + MARKER


def test_redact_bounded_scans_only_the_head_and_leaves_no_partial_secret() -> None:
    token = "Zq8xV2mN4pL7"
    for secret in (f"auth.{token}", f"password={token}", f"Bearer {token}", f"api_key: {token}"):
        text = "word " * 10 + secret + " tail" * 50_000
        for cut in range(50, 50 + len(secret) + 2):  # every cut inside and around the secret
            out = redact_bounded(text, cut)
            assert len(out) <= cut + MARKER and out.endswith(" chars]"), out
            for i in range(len(token) - 3):
                assert token[i : i + 4] not in out, (cut, out)  # no 4 characters of the token survive
    assert redact_bounded("x=1 password=abc", 100) == redact_text("x=1 password=abc") == "x=1 password=***"
    assert redact_bounded("a" * 10 + " b", 5) == "…[truncated 12 chars]"  # the cut word goes whole
    assert orjson.loads(orjson.dumps(redact_bounded("é" * 10, 4))) == "…[truncated 10 chars]"
