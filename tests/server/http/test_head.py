"""The request heads the fast path takes, and every shape it leaves to aiohttp (no event loop)."""

from __future__ import annotations

import pytest

from tradingmcp.server.http.head import parse_post

LIMIT = 1 << 20
SIMPLE = (
    b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:8765\r\nContent-Type: application/json\r\n"
    b"Accept: application/json, text/event-stream\r\nMcp-Method: tools/call\r\nX-Empty:\r\nContent-Length: 42\r\n\r\n"
)


def test_a_simple_post_is_read_with_its_headers_and_length() -> None:
    head = parse_post(SIMPLE, LIMIT)
    assert head is not None
    assert head.path == "/mcp" and head.content_length == 42
    assert head.headers["accept"] == "application/json, text/event-stream"  # names are case-insensitive
    assert head.headers["X-EMPTY"] == ""


def test_repeated_headers_are_kept() -> None:
    head = parse_post(SIMPLE.replace(b"X-Empty:", b"Mcp-Method: other"), LIMIT)
    assert head is not None and head.headers.getall("Mcp-Method") == ["tools/call", "other"]


def test_connection_keep_alive_is_simple() -> None:
    assert parse_post(SIMPLE.replace(b"X-Empty:", b"Connection: Keep-Alive"), LIMIT) is not None


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b"POST /mcp HTTP/1.1", b"GET /mcp HTTP/1.1"),
        (b"POST /mcp HTTP/1.1", b"POST /mcp HTTP/1.0"),
        (b"POST /mcp HTTP/1.1", b"POST /mcp?x=1 HTTP/1.1"),
        (b"POST /mcp HTTP/1.1", b"POST http://127.0.0.1/mcp HTTP/1.1"),
        (b"POST /mcp HTTP/1.1", b"POST  /mcp HTTP/1.1"),
        (b"X-Empty:", b"Transfer-Encoding: chunked"),
        (b"X-Empty:", b"transfer-encoding: identity"),
        (b"X-Empty:", b"Content-Length: 42"),
        (b"Content-Length: 42", b"Content-Length: +42"),
        (b"Content-Length: 42", b"Content-Length: 4 2"),
        (b"Content-Length: 42", b"X-No-Length: 42"),
        (b"Content-Length: 42", b"Content-Length: 2000000"),
        (b"X-Empty:", b"Expect: 100-continue"),
        (b"X-Empty:", b"Connection: close"),
        (b"X-Empty:", b"Connection: Upgrade"),
        (b"X-Empty:", b"Upgrade: h2c"),
        (b"X-Empty:\r\n", b"X-Empty: a\r\n folded\r\n"),
        (b"X-Empty:", b"X Empty: a"),
        (b"X-Empty:", b"X-Empty : a"),
        (b"X-Empty:", b"X-Empty: a\x00b"),
        (b"X-Empty:", b"X-Empty: a\rb"),
        (b"X-Empty:", b"X-Empty: caf\xc3\xa9"),
        (b"X-Empty:", b"X-Empty: trailing "),
        (b"X-Empty:\r\n", b"X-Empty:\n"),
    ],
)
def test_anything_but_the_simplest_shape_is_left_to_aiohttp(old: bytes, new: bytes) -> None:
    assert old in SIMPLE
    assert parse_post(SIMPLE.replace(old, new, 1), LIMIT) is None


def test_a_hostile_head_is_refused_in_one_pass() -> None:
    # whitespace runs that a backtracking pattern would try splitting every way
    for value in (b" " * 16_000 + b"\x01", b"x \t" * 5_000 + b"\x01", b"x " * 8_000):
        assert parse_post(b"POST /mcp HTTP/1.1\r\nA:" + value + b"\r\nContent-Length: 0\r\n\r\n", LIMIT) is None
