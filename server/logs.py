"""Structured logs: one JSON object per line, with secrets scrubbed before anything is written.

``tradingmcp serve --log-json`` calls :func:`install_json_logging`. Each line is
``{"ts": "2024-08-08T12:00:00.123Z", "time_ms": 1723118400123, "level": "INFO", "logger": "tradingmcp.server",
"msg": "...", "exc": "..." (on exceptions), ...extra fields}``.

Redaction (:func:`redact_text`, applied by :class:`RedactingFilter` to the formatted message, the traceback and every
extra field) removes: ``signature=...`` (Binance signed query strings), ``X-MBX-APIKEY: ...``, any
``*secret*``/``*token*``/``*password*``/``api_key`` ``=``/``:`` value, ``Bearer <token>`` and the ``auth.<token>``
WebSocket subprotocol. The filter sits on the handler, so records of every logger that reach it are scrubbed.

Bounds (text a caller can reach must never stall the process): :func:`redact_text` runs in time linear in the text's
length (its patterns cannot backtrack: the key of ``key=value`` is matched only from the start of a word and with
atomic groups). Callers bound the text first: :func:`redact_bounded` cuts to a number of characters *before* scanning.
The log filter keeps at most :data:`MAX_LOG_TEXT_CHARS` characters of the message, the traceback and each extra
field (the rest is replaced by ``…[truncated N chars]``).
"""

from __future__ import annotations

import logging
import re
import sys
import time
from typing import IO, Any

import orjson

REDACTED = "***"
MAX_LOG_TEXT_CHARS = 32_768
"""Most characters of a log record's message, traceback or extra field that are scanned and written."""
_KEYWORDS = r"secret|token|signature|password|passphrase|api[_-]?key|apikey|private[_-]?key"
# key: a whole run of [\w.-] (the lookbehind refuses to start inside one) whose last dot-separated part holds a
# keyword. Both parts are atomic: the run up to its last dot, then that part's first keyword and the rest of it. A run
# is then tried once, in one pass, and a failed separator never makes the engine retry shorter keys.
_KEY_VALUE = re.compile(
    rf"""(?<![\w.-])(?P<key>(?>(?:[\w.-]*\.)?)(?>[\w-]*?(?:{_KEYWORDS})[\w-]*))"""
    rf"""(?P<sep>['"]?\s*[:=]\s*(?:b?['"])?)(?P<val>[^\s'",&;}}\])]+)""",
    re.IGNORECASE,
)
_BEARER = re.compile(r"(?P<key>\bbearer\s+)(?P<val>[^\s'\",;]+)", re.IGNORECASE)
_AUTH_SUBPROTOCOL = re.compile(r"(?P<key>\bauth\.)(?P<val>[A-Za-z0-9._~+/=-]{8,})")
_SECRET_NAME = re.compile(_KEYWORDS, re.IGNORECASE)
_LAST_WORD = re.compile(r"\S*")  # matched on the reversed text: the trailing run of non-space characters
# LogRecord attributes that are not "extra" fields
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


def redact_text(text: str) -> str:
    """``text`` with secret values replaced by ``***`` (see the module docstring for what counts as a secret).

    Time linear in ``len(text)``; bound the text first (:func:`redact_bounded`) where a caller can reach it.
    """
    text = _KEY_VALUE.sub(lambda m: f"{m['key']}{m['sep']}{REDACTED}", text)
    text = _BEARER.sub(lambda m: f"{m['key']}{REDACTED}", text)
    return _AUTH_SUBPROTOCOL.sub(lambda m: f"{m['key']}{REDACTED}", text)


def clip(text: str, max_chars: int) -> str:
    """``text``, or its first ``max_chars`` characters followed by ``…[truncated N chars]`` (N: how many were cut)."""
    if len(text) <= max_chars:
        return text
    return f"{text[:max_chars]}…[truncated {len(text) - max_chars} chars]"


def redact_bounded(text: str, max_chars: int) -> str:
    """:func:`redact_text` of at most the first ``max_chars`` characters of ``text``, cut before scanning: the cost
    is bounded by ``max_chars`` whatever the size of ``text``.

    A text that fits is redacted and cut to ``max_chars``. A longer one also loses the word the cut falls in (a
    secret cut short could escape its pattern, e.g. ``auth.<token>`` needs 8 characters) and ends with
    ``…[truncated N chars]``. The result has at most ``max_chars`` + 32 characters.
    """
    if len(text) <= max_chars:
        return redact_text(text)[:max_chars]
    head = text[:max_chars]
    if not text[max_chars].isspace():
        match = _LAST_WORD.match(head[::-1])
        head = head[: max_chars - (match.end() if match else 0)]
    return f"{redact_text(head)[:max_chars]}…[truncated {len(text) - len(head)} chars]"


class RedactingFilter(logging.Filter):
    """Scrub secrets from a record in place: its message (with args merged in), traceback and extra fields."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact_bounded(record.getMessage(), MAX_LOG_TEXT_CHARS)
        record.args = None
        if record.exc_info:
            record.exc_text = redact_bounded(logging.Formatter().formatException(record.exc_info), MAX_LOG_TEXT_CHARS)
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact_bounded(record.exc_text, MAX_LOG_TEXT_CHARS)
        for key, value in list(record.__dict__.items()):
            if key in _STANDARD:
                continue
            if _SECRET_NAME.search(key):
                record.__dict__[key] = REDACTED
            elif not isinstance(value, int | float | bool | None):
                record.__dict__[key] = redact_bounded(
                    value if isinstance(value, str) else str(value), MAX_LOG_TEXT_CHARS
                )
        return True


class JsonFormatter(logging.Formatter):
    """A record as one JSON line: ``ts`` (ISO 8601 UTC, ms), ``time_ms``, ``level``, ``logger``, ``msg``, ``exc``,
    and the record's extra fields (``log.info("x", extra={"symbol": "BTCUSDT"})``; non-JSON values as ``str``)."""

    def format(self, record: logging.LogRecord) -> str:
        time_ms = int(record.created * 1000)
        out: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{time_ms % 1000:03d}Z",
            "time_ms": time_ms,
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            out["exc"] = record.exc_text
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key not in out:
                out[key] = value
        return orjson.dumps(out, default=str).decode()


def install_json_logging(level: int | str = logging.INFO, stream: IO[str] | None = None) -> logging.Handler:
    """Send every log record (root logger) as redacted JSON lines to ``stream`` (default stderr).

    Replaces the root logger's handlers; returns the handler (remove it with ``logging.getLogger().removeHandler``).
    """
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    return handler
