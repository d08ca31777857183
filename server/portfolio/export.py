"""Trade export (sans-I/O apart from :func:`write_csv`): fills as CSV rows, and where an export may be written.

CSV columns (header row first; RFC 4180, ``\\r\\n`` line ends; decimals as plain strings):

=================  =====================================================================================
``time_ms``         execution time, ms since the epoch
``time_utc``        the same as ISO 8601 UTC (``2025-08-08T12:00:00.123Z``)
``exchange``        venue name (``binance``)
``symbol``          e.g. ``BTCUSDT``
``side``            ``BUY`` or ``SELL``
``trade_id``        exchange trade id
``order_id``        exchange order id
``price``           fill price, quote asset per base asset
``qty``             filled quantity, base asset
``quote_qty``       price × qty, quote asset
``commission``      commission charged, in ``commission_asset``
``commission_asset`` asset the commission was charged in
``fee_quote``       commission valued in the quote asset (empty when it could not be valued)
``is_maker``        ``true``/``false``
``realized_pnl``    P&L realized by this fill, quote asset (average cost, fees included)
``position_qty``    net base position of the symbol after this fill
``avg_entry_price`` fee-inclusive average entry price after this fill (0 when flat)
=================  =====================================================================================
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from tradingmcp.server.exchanges.wire import plain
from tradingmcp.server.portfolio.ledger import FillEffect

COLUMNS = (
    "time_ms",
    "time_utc",
    "exchange",
    "symbol",
    "side",
    "trade_id",
    "order_id",
    "price",
    "qty",
    "quote_qty",
    "commission",
    "commission_asset",
    "fee_quote",
    "is_maker",
    "realized_pnl",
    "position_qty",
    "avg_entry_price",
)
PNL_QUANTUM = Decimal("1e-8")


class ExportPathError(ValueError):
    """An export path that is not a ``.csv`` file inside the export directory (absolute elsewhere, ``..``, symlink
    out of it, or the directory itself)."""


def iso_utc(time_ms: int) -> str:
    """``1754654400123`` → ``2025-08-08T12:00:00.123Z``."""
    return datetime.fromtimestamp(time_ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{time_ms % 1000:03d}Z"


def q8(d: Decimal) -> str:
    """A P&L amount rounded to 8 decimals, as a plain string."""
    return plain(d.quantize(PNL_QUANTUM))


def row(exchange: str, e: FillEffect) -> list[str]:
    """One CSV row (see :data:`COLUMNS`) for one fill."""
    f = e.fill
    return [
        str(f.time_ms),
        iso_utc(f.time_ms),
        exchange,
        f.symbol,
        e.side.value,
        str(f.trade_id),
        str(f.order_id),
        plain(f.price),
        plain(f.qty),
        plain(f.quote_qty),
        plain(f.commission),
        f.commission_asset,
        "" if e.fee_other is not None else q8(e.fee_quote),
        "true" if f.is_maker else "false",
        q8(e.realized_pnl),
        plain(e.qty_after),
        q8(e.avg_entry_after),
    ]


def to_csv(exchange: str, effects: Iterable[FillEffect], header: bool = True) -> str:
    """CSV text of ``effects`` (with the header row unless ``header`` is False)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    if header:
        writer.writerow(COLUMNS)
    for e in effects:
        writer.writerow(row(exchange, e))
    return buf.getvalue()


def resolve_export_path(export_dir: Path, path: str) -> Path:
    """Where ``path`` (relative to ``export_dir``, or absolute inside it) may be written.

    Raises:
        ExportPathError: not a ``.csv`` file strictly inside ``export_dir`` once ``..`` and symlinks are resolved.
    """
    if not path or "\x00" in path:
        raise ExportPathError("path must be a non-empty file name")
    root = export_dir.resolve()
    candidate = Path(path)
    target = (candidate if candidate.is_absolute() else root / candidate).resolve()
    if target == root or not target.is_relative_to(root):
        raise ExportPathError(f"exports may only be written inside the export directory {root}")
    if target.suffix.lower() != ".csv":
        raise ExportPathError("the export file name must end in .csv")
    return target


def write_csv(target: Path, text: str) -> None:
    """Write ``text`` to ``target`` atomically (temp file + rename), creating parent folders."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8", newline="")
    os.replace(tmp, target)
