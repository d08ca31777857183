"""Secret redaction for the audit log (sans-I/O): argument and result keys naming a secret lose their value.

A key is secret when its lower-cased name contains one of :data:`SECRET_KEY_PARTS` (``api_secret``,
``confirmation_token``, ``X-MBX-APIKEY``, ``password``, ``signature``...); its value becomes ``"***"`` wherever it sits
(nested objects and lists included). Free text (error messages) goes through
:func:`tradingmcp.server.logs.redact_text`, which removes ``signature=...``, bearer tokens and ``auth.<token>``.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

REDACTED = "***"
SECRET_KEY_PARTS = ("secret", "token", "signature", "password", "passphrase", "api_key", "apikey", "private_key")
"""Substrings of a lower-cased key that mark its value as secret."""

_SECRET_BYTES = re.compile("|".join((*SECRET_KEY_PARTS, "api-key", "private-key")).encode())
_KEY_CACHE: dict[str, bool] = {}
_KEY_CACHE_MAX = 4096  # keys come from callers: bound what they can make us remember...
_KEY_CACHE_KEY_CHARS = 64  # ...in count and in size (a 1 MiB argument name is checked, never kept)


def is_secret_key(key: str) -> bool:
    """True when ``key`` names a secret (``api_secret``, ``confirmationToken``, ``X-MBX-APIKEY``...)."""
    found = _KEY_CACHE.get(key)
    if found is None:
        low = key.lower().replace("-", "_")
        found = any(part in low for part in SECRET_KEY_PARTS)
        if len(_KEY_CACHE) < _KEY_CACHE_MAX and len(key) <= _KEY_CACHE_KEY_CHARS:
            _KEY_CACHE[key] = found
    return found


def mentions_secret(raw: bytes) -> bool:
    """True when the JSON bytes contain a secret-looking key name anywhere (a cheap pre-check for :func:`redact`)."""
    return _SECRET_BYTES.search(raw.lower()) is not None


MAX_DEPTH = 64
"""Deepest nesting :func:`redact` copies; anything below becomes :data:`TOO_DEEP` (the engine refuses deeper tool
arguments, and the refusal is still logged: its arguments must not break the row)."""
TOO_DEEP = f"…[nested deeper than {MAX_DEPTH} levels]"


def redact(value: Any, _level: int = 1) -> Any:
    """A copy of ``value`` (JSON-like: dicts, lists, scalars) with every secret key's value replaced by ``"***"``, and
    every object/array nested deeper than :data:`MAX_DEPTH` levels replaced by :data:`TOO_DEEP`."""
    if isinstance(value, dict | list | tuple) and _level > MAX_DEPTH:
        return TOO_DEEP
    if isinstance(value, dict):
        return {
            k: (REDACTED if isinstance(k, str) and is_secret_key(k) else redact(v, _level + 1))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(v, _level + 1) for v in value]
    return value


def redacted_json(value: Any, max_bytes: int, want: bytes | None = None) -> tuple[str, Any]:
    """``value`` as JSON with secrets redacted, cut to ``max_bytes`` (UTF-8) with a ``…[truncated N bytes]`` marker,
    and ``value`` decoded (None unless it was decoded anyway or its JSON contains ``want``).

    ``value`` may hold ``orjson.Fragment`` (pre-encoded ``structuredContent``): it is encoded first, and decoded and
    redacted only when the bytes kept (the first ``max_bytes``) mention a secret-looking key (the common case costs
    one encode and one scan of at most ``max_bytes``).
    """
    raw = orjson.dumps(value)
    parsed = None
    # a secret value among the bytes kept has its key before it, among them too: only those need the scan
    if mentions_secret(raw[:max_bytes] if len(raw) > max_bytes else raw):
        parsed = redact(orjson.loads(raw))
        raw = orjson.dumps(parsed)
    elif want is not None and want in raw:
        parsed = orjson.loads(raw)
    return truncate(raw, max_bytes), parsed


def truncate(raw: bytes, max_bytes: int) -> str:
    """``raw`` decoded, or its first ``max_bytes`` (on a character boundary) and ``…[truncated N bytes]``."""
    if len(raw) <= max_bytes:
        return raw.decode()
    head = raw[:max_bytes].decode(errors="ignore")
    return f"{head}…[truncated {len(raw) - max_bytes} bytes]"
