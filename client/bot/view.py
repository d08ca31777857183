"""Progress display of a running bot: a rich live table (prices, position, open orders, P&L, latency) or, in quiet
mode, one log line every few seconds."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from rich.console import Console
from rich.live import Live
from rich.table import Table

from tradingmcp.client.bot.actions import plain
from tradingmcp.client.bot.report import percentiles

if TYPE_CHECKING:
    from tradingmcp.client.bot.runner import BotRunner

log = logging.getLogger("tradingmcp.bot")


def _p50(runner: BotRunner) -> str:
    samples = runner.core.latencies[-500:]
    p = percentiles([s.tick_to_ack_us for s in samples])
    return "-" if p["p50"] is None else f"{p['p50']:.0f}/{p['p99']:.0f} µs"


def _streams(runner: BotRunner) -> str:
    st = runner.stream_totals()
    return f"stream lost {st['lost']} resumes {st['resumes']}" + (f" refused {st['refused']}" if st["refused"] else "")


def status_line(runner: BotRunner) -> str:
    """One line: per symbol mid and position, net P&L, fills, open orders, tick→ack p50/p99 (last 500), stream
    messages lost and resumes."""
    core = runner.core
    totals = core.ledger.totals(core.marks())
    parts = []
    for sym, m in core.markets.items():
        mid = m.mid()
        parts.append(f"{sym} {plain(mid) if mid is not None else '-'} pos {plain(core.ledger.position(sym))}")
    return (
        f"{' | '.join(parts)} | net {totals['net_pnl']:.4f} fees {totals['fees']:.4f} | "
        f"fills {len(core.ledger.fills)} open {len(core.tracker.live_orders())} | tick→ack p50/p99 {_p50(runner)} | "
        f"{_streams(runner)}"
        + (f" | HALTED {core.risk.halted}" if core.risk.halted else "")
        + (" | paused" if core.paused else "")
    )


def table(runner: BotRunner) -> Table:
    """The live table."""
    core = runner.core
    marks = core.marks()
    t = Table(
        title=f"TradingMCP bot on {runner.exchange}  (reconnects {runner.client.reconnects if runner.client else 0})"
    )
    for col in ("symbol", "bid", "ask", "last", "position", "open orders", "realized", "unrealized", "fees", "net"):
        t.add_column(col, justify="right")
    for sym, m in core.markets.items():
        pos = core.ledger.positions[sym]
        orders = core.tracker.live_orders(sym)
        quotes = " ".join(f"{o.side[0]}@{plain(o.price)}" for o in orders) or "-"
        t.add_row(
            sym,
            plain(m.bid) if m.bid is not None else "-",
            plain(m.ask) if m.ask is not None else "-",
            plain(m.last_price) if m.last_price is not None else "-",
            plain(pos.position),
            quotes,
            f"{pos.realized_pnl:.4f}",
            f"{pos.unrealized_pnl(marks.get(sym)):.4f}",
            f"{pos.fees:.4f}",
            f"{pos.net_pnl(marks.get(sym)):.4f}",
        )
    totals = core.ledger.totals(marks)
    t.caption = (
        f"net P&L {totals['net_pnl']:.4f} | fills {len(core.ledger.fills)} | placed {core.tracker.placed} | "
        f"rejected {core.tracker.rejected} | tick→ack p50/p99 {_p50(runner)} | {_streams(runner)}"
        + (f" | HALTED: {core.risk.halted}" if core.risk.halted else "")
        + (" | PAUSED (reconnecting)" if core.paused else "")
    )
    return t


class LiveView:
    """A rich ``Live`` table refreshed by the runner (4 per second)."""

    def __init__(self, console: Console | None = None) -> None:
        self._live: Live | None = None
        self._console = console or Console()

    def update(self, runner: BotRunner) -> None:
        if self._live is None:
            self._live = Live(table(runner), console=self._console, refresh_per_second=4, transient=False)
            self._live.start()
        else:
            self._live.update(table(runner))

    def close(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None


class QuietView:
    """One status line (print or log) every ``every_s`` seconds."""

    def __init__(self, every_s: float = 5.0, use_print: bool = True) -> None:
        self.every_s = every_s
        self.use_print = use_print
        self._last = 0.0

    def update(self, runner: BotRunner) -> None:
        now = time.monotonic()
        if now - self._last < self.every_s:
            return
        self._last = now
        line = status_line(runner)
        if self.use_print:
            print(line, flush=True)
        else:
            log.info("%s", line)

    def close(self) -> None:
        pass
