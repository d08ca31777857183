"""Tool parameters mirrored into HTTP headers: the ``x-mcp-header`` schema annotation and the ``Mcp-Param-{Name}``
header values that must match the body.

Follows https://modelcontextprotocol.io/specification/2026-07-28/basic/transports/streamable-http ("Custom Headers
from Tool Parameters", SEP-2243): a property of a tool's ``inputSchema`` reachable from the root through
``properties`` keys only, of type ``string``, ``integer`` or ``boolean``, may carry ``"x-mcp-header": "Name"``; a
client then sends its value as ``Mcp-Param-Name`` (omitted when the argument is absent or null), plain when it is
visible ASCII without leading or trailing whitespace, else as ``=?base64?<UTF-8 bytes, Base64>?=``. A server that reads
the body checks each one: missing while the body has the value, undecodable, or different → ``HeaderMismatch``.

Pure functions, no I/O: the registry computes a tool's :class:`HeaderParam` list once; the HTTP shell compares.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

ANNOTATION = "x-mcp-header"
HEADER_PREFIX = "Mcp-Param-"
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
"""RFC 9110 ``token`` (``1*tchar``): what a header name may be made of."""
_PLAIN = re.compile(r"[\x20-\x7e\t]*")
"""A header value that needs no encoding: visible ASCII, space and tab."""
_KINDS = ("string", "integer", "boolean")
_SAFE_INTEGER = 2**53 - 1


class HeaderParam(NamedTuple):
    """One mirrored parameter: its property ``path`` in the arguments, its ``header`` name (``Mcp-Param-{name}``)
    and its JSON Schema ``kind`` (``string``, ``integer`` or ``boolean``)."""

    path: tuple[str, ...]
    header: str
    kind: str


def header_params(schema: Mapping[str, Any]) -> tuple[HeaderParam, ...]:
    """The ``x-mcp-header`` annotations of an ``inputSchema``, found through chains of ``properties`` keys.

    Raises:
        ValueError: an annotation that is not a non-empty RFC 9110 token, a repeated name (case-insensitive), or one
            on a property whose ``type`` is not string, integer or boolean.
    """
    found: list[HeaderParam] = []
    _walk(schema, (), found)
    seen: set[str] = set()
    for param in found:
        key = param.header.lower()
        if key in seen:
            raise ValueError(
                f"x-mcp-header {param.header!r} appears twice in one inputSchema (names are case-insensitive)"
            )
        seen.add(key)
    return tuple(found)


def _walk(schema: Mapping[str, Any], path: tuple[str, ...], found: list[HeaderParam]) -> None:
    props = schema.get("properties")
    if not isinstance(props, Mapping):
        return
    for name, sub in props.items():
        if not isinstance(sub, Mapping):
            continue
        here = (*path, name)
        header = sub.get(ANNOTATION)
        if header is not None:
            where = ".".join(here)
            if not isinstance(header, str) or not _TOKEN.fullmatch(header):
                raise ValueError(f"x-mcp-header of {where} must be a non-empty HTTP token, not {header!r}")
            kind = sub.get("type")
            if kind not in _KINDS:
                raise ValueError(
                    f"x-mcp-header {header!r} is on {where} of type {kind!r}: only {_KINDS} may be mirrored"
                )
            found.append(HeaderParam(here, header, kind))
        _walk(sub, here, found)


def decode_value(value: str) -> str | None:
    """A header value as sent: verbatim when plain, the UTF-8 text of a ``=?base64?...?=`` value; None when it is
    neither (malformed Base64, or characters a header value may not carry)."""
    if value.startswith("=?base64?") and value.endswith("?=") and len(value) >= 11:
        payload = value[9:-2]
        try:
            raw = base64.b64decode(payload, validate=True)
            text = raw.decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return text if base64.b64encode(raw).decode("ascii") == payload else None
    return value if _PLAIN.fullmatch(value) else None


def _argument(arguments: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(arguments, dict):
            return None
        arguments = arguments.get(key)
    return arguments


def _same(kind: str, header: str, body: Any) -> bool:
    if kind == "boolean":
        return isinstance(body, bool) and header == ("true" if body else "false")
    if kind == "integer":
        if isinstance(body, bool) or not isinstance(body, int | float):
            return False
        try:
            number = Decimal(header)
        except InvalidOperation:
            return False
        return number.is_finite() and number == Decimal(body) and abs(number) <= _SAFE_INTEGER
    return isinstance(body, str) and header == body


def param_mismatch(params: tuple[HeaderParam, ...], getall: Callable[[str], list[str]], arguments: Any) -> str | None:
    """What is wrong with the ``Mcp-Param-*`` headers of a ``tools/call`` (None: nothing).

    Args:
        params: the tool's mirrored parameters (:func:`header_params`).
        getall: every value of a header by name (case-insensitive), e.g. aiohttp's ``headers.getall(name, [])``.
        arguments: the call's ``arguments`` from the body.
    """
    for param in params:
        name = HEADER_PREFIX + param.header
        sent = getall(name)
        value = _argument(arguments, param.path)
        if value is None:  # absent or null: the client omits the header and the server expects none
            continue
        where = "arguments." + ".".join(param.path)
        if not sent:
            return f"{name} header is required: the body carries {where}"
        if len(sent) > 1:
            return f"{name} header appears more than once"
        decoded = decode_value(sent[0])
        if decoded is None:
            return f"{name} header value is malformed (invalid characters or Base64)"
        if not _same(param.kind, decoded, value):
            return f"{name} header does not match the request body's {where}"
    return None
