"""The request heads the fast path of the plain-HTTP side takes (:mod:`~tradingmcp.server.http.fastpath`), loop-free.

:func:`parse_post` reads one HTTP/1.1 request head (RFC 9112 section 2-3, 5, 6) and returns it only when it is the
simplest kind: ``POST`` of HTTP/1.1 to an origin-form path without a query, header names that are tokens, values of
visible ASCII without trailing whitespace (no obsolete line folding), the body framed by exactly one ``Content-Length`` of digits, and no
``Transfer-Encoding``, ``Expect``, ``Upgrade`` or ``Connection`` other than ``keep-alive``. Anything else is None:
the connection then goes to aiohttp, which applies the full protocol (and its refusals) to the same bytes. Being
stricter than aiohttp's parser is what makes that hand-over safe: a head read here reads the same there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from multidict import CIMultiDict

_REQUEST_LINE = re.compile(rb"POST (/[!$&'()*+,\-./0-9:;=@A-Z_a-z~%]*) HTTP/1\.1\r\n")
"""``POST`` of HTTP/1.1 to an absolute path without a query or fragment (RFC 9112 section 3.2.1 origin-form)."""
_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]++"
_VALUE = r"(?:[\x21-\x7e]++(?:[ \t]++[\x21-\x7e]++)*+)?"
_FIELDS = re.compile(rf"(?:{_TOKEN}:[ \t]*+{_VALUE}\r\n)*+")
"""Header lines (each ending in CRLF): a token name, optional whitespace, a value of visible ASCII words separated by
spaces or tabs; no trailing whitespace, no obsolete folding, no control bytes. Possessive, so linear in the head."""
_FIELD = re.compile(rf"({_TOKEN}):[ \t]*+({_VALUE})\r\n")
_REFUSED = ("transfer-encoding", "expect", "upgrade", "te", "trailer")
"""Fields whose presence sends the request to aiohttp (framing, interim responses, protocol switches)."""


@dataclass(frozen=True, slots=True)
class PostHead:
    """One ``POST`` request head: its ``path``, its ``headers`` (case-insensitive, repeated names kept) and the body's
    ``content_length`` in bytes."""

    path: str
    headers: CIMultiDict[str]
    content_length: int


def parse_post(head: bytes, max_body_bytes: int) -> PostHead | None:
    """The head of a simple ``POST`` (up to and including the blank line that ends it), or None (see the module
    docstring). A ``Content-Length`` above ``max_body_bytes`` is None too: aiohttp answers it (413)."""
    line = _REQUEST_LINE.match(head)
    if line is None:
        return None
    try:
        block = head[line.end() : -2].decode("ascii")
    except UnicodeDecodeError:
        return None
    if _FIELDS.fullmatch(block) is None:
        return None
    headers = CIMultiDict(_FIELD.findall(block))
    for name in _REFUSED:
        if name in headers:
            return None
    lengths = headers.getall("content-length", ())
    if len(lengths) != 1 or not lengths[0].isdigit() or len(lengths[0]) > 19:
        return None
    length = int(lengths[0])
    if length > max_body_bytes:
        return None
    for value in headers.getall("connection", ()):
        if value.lower() != "keep-alive":
            return None
    return PostHead(line[1].decode("ascii"), headers, length)
