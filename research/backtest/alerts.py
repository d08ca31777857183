"""TradingView alerts replayed in a backtest (``tradingmcp backtest --alerts FILE``), sans-I/O but for reading the file.

The file is JSON Lines, one alert a line: ``{"time_ms": <epoch ms>, "alert": <the alert>}``, where the alert is the
JSON TradingView posts to ``POST /webhooks/tradingview`` (an object, or the same JSON as a string: the alert's message
text). Each is mapped exactly as the webhook maps it (:func:`tradingmcp.server.webhooks.alerts.alert_of`, with the
webhook's default field names, :data:`~tradingmcp.server.webhooks.config.DEFAULT_FIELDS`) into the ``signals:``
message the webhook publishes (:meth:`~tradingmcp.server.webhooks.alerts.Alert.signal`), ``received_ms`` being the
line's ``time_ms``. A secret field, when the alert carries one, is dropped unread: the replay checks no secret and keeps
none. Blank lines are skipped. The backtest hands each message to the bot at its time (:mod:`.engine`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from tradingmcp.server.webhooks.alerts import AlertRefused, alert_of
from tradingmcp.server.webhooks.config import TradingViewConfig


class AlertsFileError(ValueError):
    """An alerts file that cannot be replayed; the message names the file and line."""


@dataclass(frozen=True)
class ReplayAlert:
    """One alert to replay: ``time_ms`` (epoch ms, exchange time of the replay) and the ``signals:`` stream message
    the webhook publishes for it (``{source, alert_id, symbol, side, quantity, price, exchange, time, received_ms,
    alert}``)."""

    time_ms: int
    message: dict[str, Any]


def parse_alerts(
    lines: list[bytes], name: str = "alerts", config: TradingViewConfig | None = None
) -> list[ReplayAlert]:
    """The alerts of JSON Lines ``lines`` (see the module docstring), in file order.

    Raises:
        AlertsFileError: a line that is not ``{"time_ms": int, "alert": ...}``, or an alert the webhook would refuse
            (``bad_alert``: the field at fault is named).
    """
    cfg = config or TradingViewConfig()
    out: list[ReplayAlert] = []
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        where = f"{name} line {number}"
        try:
            row = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise AlertsFileError(f"{where}: not JSON") from None
        if not isinstance(row, dict) or set(row) - {"time_ms", "alert"}:
            raise AlertsFileError(f'{where}: expected {{"time_ms": <epoch ms>, "alert": <TradingView alert JSON>}}')
        time_ms = row.get("time_ms")
        if isinstance(time_ms, bool) or not isinstance(time_ms, int) or time_ms < 0:
            raise AlertsFileError(f"{where}: time_ms must be epoch milliseconds (a whole number >= 0)")
        doc = row.get("alert")
        if isinstance(doc, str):
            try:
                doc = orjson.loads(doc)
            except orjson.JSONDecodeError:
                raise AlertsFileError(f"{where}: the alert's message is not JSON") from None
        if not isinstance(doc, dict):
            raise AlertsFileError(f"{where}: the alert must be a JSON object (the alert's message)")
        doc.pop(cfg.field_of("secret"), None)
        try:
            alert = alert_of(doc, cfg)
        except AlertRefused as exc:
            raise AlertsFileError(f"{where}: {exc.message}") from None
        out.append(ReplayAlert(time_ms, alert.signal(time_ms)))
    return out


def read_alerts(path: str | Path) -> tuple[ReplayAlert, ...]:
    """The alerts of the file at ``path`` (:func:`parse_alerts`).

    Raises:
        AlertsFileError: see :func:`parse_alerts`. OSError: unreadable.
    """
    p = Path(path)
    return tuple(parse_alerts(p.read_bytes().splitlines(), p.name))
