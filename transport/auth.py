"""Auth on the WebSocket handshake, and DNS-rebinding protection (Origin/Host checks).

A client presents a token either as ``Authorization: Bearer <token>`` or, for clients that cannot set headers (browsers,
the TypeScript SDK's ``WebSocketClientTransport``), as an extra subprotocol ``auth.<token>`` next to ``mcp``
(``Sec-WebSocket-Protocol: mcp, auth.<token>``); the server selects only ``mcp``. Tokens are compared in constant time
(``hmac.compare_digest`` over SHA-256 digests, every configured token checked). A failed check is HTTP 401 before the
upgrade; a bad Origin or Host is 403 (MCP spec, transports: "Servers MUST validate the Origin header").

Each token has a name (the client identity in the audit log) and scopes: ``read`` (market data, portfolio), ``trade``
(orders) and ``audit`` (every principal's calls in ``get_audit_log``); tools check scopes.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

SCOPES = frozenset({"read", "trade", "audit"})
AUTH_SUBPROTOCOL_PREFIX = "auth."
ENV_TOKENS = "TRADINGMCP_TOKENS"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is on the other end: the token's name and its scopes."""

    name: str
    scopes: frozenset[str]

    def can(self, scope: str) -> bool:
        return scope in self.scopes


ANONYMOUS = Principal("anonymous", SCOPES)


class TokenStore:
    """Configured tokens. ``TokenStore({"s3cret": ("bot", {"read", "trade"})})``.

    Raises:
        ValueError: an unknown scope or an empty token.
    """

    def __init__(self, tokens: Mapping[str, tuple[str, Iterable[str]]]) -> None:
        self._entries: list[tuple[bytes, Principal]] = []
        for token, (name, scopes) in tokens.items():
            if not token:
                raise ValueError("empty token")
            scope_set = frozenset(scopes)
            if not scope_set <= SCOPES:
                raise ValueError(f"unknown scopes {sorted(scope_set - SCOPES)}; known: {sorted(SCOPES)}")
            self._entries.append((hashlib.sha256(token.encode()).digest(), Principal(name, scope_set)))

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:  # never shows a token
        return f"TokenStore({[p.name for _, p in self._entries]})"

    def authenticate(self, presented: str | None) -> Principal | None:
        """The principal for ``presented``, or None. Constant time in the token's content."""
        if not presented:
            return None
        digest = hashlib.sha256(presented.encode()).digest()
        found: Principal | None = None
        for known, principal in self._entries:
            if hmac.compare_digest(known, digest):
                found = principal
        return found

    @classmethod
    def parse(cls, spec: str) -> TokenStore:
        """From ``name:token:scope,scope;name2:token2:read`` (the ``--tokens`` / ``TRADINGMCP_TOKENS`` format).

        Each entry needs a name, a token and at least one scope of :data:`SCOPES`; names and tokens hold no
        whitespace (a header could not carry it); a token appears once; the spec holds at least one entry.

        Raises:
            ValueError: a malformed spec, naming the entry by its position (the message never contains a token).
        """
        tokens: dict[str, tuple[str, Iterable[str]]] = {}
        entries = [e.strip() for e in spec.split(";") if e.strip()]
        if not entries:
            raise ValueError("no token entries: expected name:token:scopes[;name:token:scopes...]")
        for i, entry in enumerate(entries, 1):
            parts = entry.split(":")
            if len(parts) != 3:
                raise ValueError(f"token entry #{i} must be name:token:scopes (3 fields separated by ':')")
            name, token, scope_text = (p.strip() for p in parts)
            if not name or any(c.isspace() for c in name):
                raise ValueError(f"token entry #{i}: the name must be non-empty, without whitespace")
            if not token or any(c.isspace() or not c.isprintable() for c in token):
                raise ValueError(f"token entry #{i}: the token must be non-empty, printable, without whitespace")
            scopes = [s.strip() for s in scope_text.split(",") if s.strip()]
            if not scopes:
                raise ValueError(f"token entry #{i}: no scopes; give one or more of {', '.join(sorted(SCOPES))}")
            unknown = sorted(set(scopes) - SCOPES)
            if unknown:
                shown = ", ".join(repr(u[:32]) for u in unknown[:5])
                raise ValueError(f"token entry #{i}: unknown scope(s) {shown}; known: {', '.join(sorted(SCOPES))}")
            if token in tokens:
                raise ValueError(f"token entry #{i} repeats the token of another entry (each token names one client)")
            tokens[token] = (name, scopes)
        return cls(tokens)

    @classmethod
    def from_env(cls) -> TokenStore | None:
        """From ``$TRADINGMCP_TOKENS``; None when it is unset or empty.

        Raises:
            ValueError: a malformed spec (see :meth:`parse`).
        """
        spec = os.environ.get(ENV_TOKENS)
        return cls.parse(spec) if spec else None


def new_token() -> str:
    """A fresh random token (32 random bytes, URL-safe base64), valid in a subprotocol list; it never starts with
    ``-``, so it can follow ``--token`` on a command line."""
    while True:
        token = secrets.token_urlsafe(32)
        if not token.startswith("-"):
            return token


def presented_token(authorization: str | None, subprotocols: Iterable[str]) -> str | None:
    """The token from ``Authorization: Bearer`` or an ``auth.<token>`` subprotocol (header wins)."""
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    for proto in subprotocols:
        if proto.startswith(AUTH_SUBPROTOCOL_PREFIX) and len(proto) > len(AUTH_SUBPROTOCOL_PREFIX):
            return proto[len(AUTH_SUBPROTOCOL_PREFIX) :]
    return None


LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


def host_allowed(host_header: str | None, allowed_hosts: frozenset[str] | None) -> bool:
    """DNS-rebinding protection: the ``Host`` header's name must be in ``allowed_hosts`` (None: any)."""
    if allowed_hosts is None:
        return True
    if not host_header:
        return False
    name = urlsplit("//" + host_header).hostname or ""
    return name in allowed_hosts or f"[{name}]" in allowed_hosts


def origin_allowed(origin: str | None, allowed_origins: frozenset[str], checked_host: str | None = None) -> bool:
    """Browsers send ``Origin``; non-browser clients do not. A present Origin must be listed (``*`` allows all), or
    be the server's own origin: ``http://`` or ``https://`` plus ``checked_host``, the request's ``Host`` header once
    :func:`host_allowed` has checked it against a list (a page this server served calling it back; a rebinding page
    has a foreign Host, refused first). Pass no ``checked_host`` when any Host is allowed."""
    if origin is None:
        return True
    if "*" in allowed_origins or origin in allowed_origins:
        return True
    return bool(checked_host) and origin in (f"http://{checked_host}", f"https://{checked_host}")
