"""A venue's wire errors → typed errors, from its table of codes: the steps Bybit's and MEXC's ``errors`` modules share.

Each venue module keeps its own code table, HTTP status rules and wording; this builds the error objects (message
``"<Venue> error <code>: <msg> — <what to do>"``, the venue's ``code``/``msg``/HTTP ``status`` kept on the error) and
reads ``code``/``msg`` out of a JSON error body.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tradingmcp.server.exchanges.errors import ExchangeError, IpBanned

CodeTable = Mapping[int, tuple[type[ExchangeError], str | None]]
"""A venue's ``code → (class, what to do)``; None keeps the class's own ``hint``."""


@dataclass(frozen=True)
class VenueErrors:
    """How one venue's errors are built.

    Attributes:
        exchange: the short name kept on each error (``bybit``, ``mexc``).
        label: the name that starts each message (``Bybit``, ``MEXC``).
        codes: the venue's code table.
        ban_s: how long an IP ban lasts when the venue gives no wait (s).
    """

    exchange: str
    label: str
    codes: CodeTable
    ban_s: float

    def error(
        self,
        cls: type[ExchangeError],
        code: int | None,
        msg: str,
        *,
        status: int | None = None,
        hint: str | None = None,
        retry_after_s: float | None = None,
        now_ms: int | None = None,
    ) -> ExchangeError:
        """One error of class ``cls`` with message ``"<label> error <code>: <msg> — <what to do>"`` (``hint``, else
        the class's hint). An ``IpBanned`` gets ``banned_until_ms`` = ``now_ms`` + the wait (``retry_after_s``, else
        ``ban_s``) when ``now_ms`` is given."""
        todo = hint or cls.hint
        text = f"{self.label} error {code}: {msg}" + (f" — {todo}" if todo else "")
        kw: dict[str, Any] = {"exchange": self.exchange, "code": code, "status": status, "exchange_message": msg,
                              "retry_after_s": retry_after_s}  # fmt: skip
        if issubclass(cls, IpBanned):
            wait_ms = int((retry_after_s if retry_after_s is not None else self.ban_s) * 1000)
            return cls(text, banned_until_ms=now_ms + wait_ms if now_ms is not None else None, **kw)
        return cls(text, **kw)

    def for_code(self, code: int, msg: str, *, status: int | None, retry_after_s: float | None = None) -> ExchangeError:
        """The typed error for ``code`` by the table (``ExchangeError`` itself for a code not in it)."""
        cls, hint = self.codes.get(code, (ExchangeError, None))
        return self.error(cls, code, msg, status=status, hint=hint, retry_after_s=retry_after_s)


def code_and_message(status: int, body: Any, code_key: str, msg_keys: tuple[str, ...]) -> tuple[int, str]:
    """``(code, msg)`` of a failed answer: from a JSON object body (``code_key``; the first non-empty of
    ``msg_keys``), else ``(status, the first 200 characters of a text body)``. A code that is no integer counts as
    ``status``."""
    if isinstance(body, Mapping):
        raw = body.get(code_key)
        try:
            code = int(raw) if raw is not None else status
        except (TypeError, ValueError):
            code = status
        return code, next((str(body[k]) for k in msg_keys if body.get(k)), "")
    return status, str(body)[:200] if body else ""
