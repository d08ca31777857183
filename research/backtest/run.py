"""One backtest or a parameter grid, from settings to written report (what ``tradingmcp backtest`` runs).

Settings: the bot's TOML (``--config``, else the bot's defaults) with dotted overrides applied to the document before
it is validated by :func:`tradingmcp.client.bot.config.config_from_dict`: ``strategy.half_spread_ticks=1``,
``symbols.BTCUSDT.order_qty_base=0.0004``, ``risk.max_daily_loss_quote=100``; a bare key names a ``[strategy]`` key
(``half_spread_ticks=1``). Values are TOML values (``1``, ``0.5``, ``true``, ``"text"``), else taken as text.
The strategy kind goes to ``[strategy] kind`` when the bot's :class:`~tradingmcp.client.bot.config.StrategyConfig`
has that key; a bot without it runs its one strategy, ``market_making``.

With ``run_log`` (``--run-log``, or ``[report] run_log = true`` in the bot's TOML) each run is also recorded in the
run log (:class:`tradingmcp.research.runs.RunRecorder`, kind ``backtest``, under ``[report] runs_dir`` or
``$TRADINGMCP_RUNS_DIR`` or ``./runs``): the settings as params, each equity sample as a step, the report.

A grid (``key=v1,v2,…`` per key) runs the product of every key's values, each point in its own process
(:class:`concurrent.futures.ProcessPoolExecutor`), each with its own output folder ``point-NNN``; points are reported in
grid order whatever order they finish in.
"""

from __future__ import annotations

import copy
import decimal
import itertools
import tomllib
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, fields
from decimal import Decimal
from pathlib import Path
from typing import Any

from tradingmcp.client.bot.config import BotConfig, ConfigError, StrategyConfig, config_from_dict
from tradingmcp.research.backtest.context import money_context
from tradingmcp.research.backtest.data import MarketData
from tradingmcp.research.backtest.engine import Backtest
from tradingmcp.research.backtest.report import RunInfo, build_report, write_outputs
from tradingmcp.research.backtest.settings import BacktestParams, BacktestResult

DEFAULT_STRATEGY = "market_making"
"""The reference bot's strategy (the only one of a bot whose ``[strategy]`` has no ``kind`` key)."""

METRICS = {
    "total_return": True,
    "annualized_return": True,
    "sharpe": True,
    "sortino": True,
    "max_drawdown": False,
    "var_95": False,
    "win_rate": True,
    "avg_trade_quote": True,
    "net_pnl_quote": True,
    "fees_quote": False,
    "turnover": True,
}
"""Metrics a grid can rank by, and whether higher is better."""


class SettingsError(ValueError):
    """A bad ``--set`` / ``--grid`` / strategy / symbol setting; the message names it."""


def parse_value(text: str) -> Any:
    """A TOML value (``1``, ``0.5``, ``true``, ``"x"``), else ``text`` itself."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _strategy_keys() -> set[str]:
    return {f.name for f in fields(StrategyConfig)}


def key_path(key: str) -> list[str]:
    """The TOML path of an override key (a bare strategy key gets ``strategy.``).

    Raises:
        SettingsError: an empty key or a bare key that is not a strategy key.
    """
    parts = [p for p in key.strip().split(".")]
    if not key.strip() or any(not p for p in parts):
        raise SettingsError(f"bad setting key {key!r}: expected table.key, e.g. strategy.half_spread_ticks")
    if len(parts) == 1:
        if parts[0] not in _strategy_keys():
            known = ", ".join(sorted(_strategy_keys()))
            raise SettingsError(f"unknown setting {key!r}: use table.key, or one of the [strategy] keys: {known}")
        parts = ["strategy", parts[0]]
    return parts


def parse_assignment(text: str) -> tuple[str, str]:
    """``key=value`` → ``(key, value)``.

    Raises:
        SettingsError: no ``=``.
    """
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise SettingsError(f"expected key=value, got {text!r}")
    key_path(key)
    return key.strip(), value.strip()


def parse_grid(specs: Sequence[str]) -> list[tuple[str, list[str]]]:
    """``["k=v1,v2", ...]`` → ``[(k, [v1, v2]), ...]``.

    Raises:
        SettingsError: a spec without values, or a key given twice.
    """
    out: list[tuple[str, list[str]]] = []
    for spec in specs:
        key, values = parse_assignment(spec)
        items = [v.strip() for v in values.split(",") if v.strip()]
        if not items:
            raise SettingsError(f"--grid {spec!r}: no values (expected key=v1,v2,...)")
        if any(k == key for k, _ in out):
            raise SettingsError(f"--grid key {key!r} given twice")
        out.append((key, items))
    return out


def grid_points(grid: Sequence[tuple[str, Sequence[str]]]) -> list[dict[str, str]]:
    """Every combination of the grid's values (first key varies slowest); ``[{}]`` for no grid."""
    keys = [k for k, _ in grid]
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(v for _, v in grid))]


def build_config(
    doc: Mapping[str, Any], strategy: str, symbols: Sequence[str], overrides: Mapping[str, str]
) -> BotConfig:
    """The bot's config for one run: ``doc`` (a parsed bot TOML, may be empty) with the symbols, the strategy kind and
    the overrides applied.

    Raises:
        SettingsError: an unknown strategy kind, a bad override path. ConfigError: the result is invalid.
    """
    d: dict[str, Any] = copy.deepcopy(dict(doc))
    tables = d.get("symbols") or {}
    d["symbols"] = {s: dict(tables.get(s) or tables.get(s.lower()) or {}) for s in symbols}
    if "kind" in _strategy_keys():
        d.setdefault("strategy", {})["kind"] = strategy
    elif strategy != DEFAULT_STRATEGY:
        raise SettingsError(f"unknown strategy {strategy!r}; this bot has: {DEFAULT_STRATEGY}")
    for key, value in overrides.items():
        path = key_path(key)
        node = d
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise SettingsError(f"setting {key!r}: {part!r} is not a table")
            node = child
        node[path[-1]] = parse_value(value)
    return config_from_dict(d)


@dataclass(frozen=True)
class RunSpec:
    """Everything one backtest needs (picklable, for a worker process)."""

    doc: Mapping[str, Any]
    strategy: str
    data: MarketData
    params: BacktestParams
    overrides: Mapping[str, str] = field(default_factory=dict)
    out_dir: Path | None = None
    plots: bool = True
    run_log: bool = False
    alerts_file: str | None = None


def run_one(spec: RunSpec) -> dict[str, Any]:
    """Run one backtest, write its outputs (when ``out_dir``) and return the report (in the decimal context of
    :func:`~.context.money_context`, whatever the caller's).

    Raises:
        SettingsError, ConfigError: bad settings. tradingmcp.sim.errors.BinanceError: a symbol the simulator does not
            list. OSError / DumpFormatError: unreadable data.
    """
    with decimal.localcontext(money_context()):  # the report's arithmetic too
        return _run_one(spec)


def _run_one(spec: RunSpec) -> dict[str, Any]:
    config = build_config(spec.doc, spec.strategy, spec.data.symbols, spec.overrides)
    result = Backtest(config, spec.data.exchange_info, spec.params).run(spec.data.events())
    info = RunInfo(
        strategy=spec.strategy,
        symbols=spec.data.symbols,
        source=spec.data.source,
        files=tuple(p.name for p in spec.data.files),
        from_ms=spec.params.start_ms,
        to_ms=spec.params.end_ms,
        latency_ms=spec.params.latency_ms,
        turn_us=spec.params.turn_us,
        maker_fee=spec.params.maker_fee,
        taker_fee=spec.params.taker_fee,
        overrides=dict(spec.overrides),
        mexc_offset_bps=spec.params.mexc_offset_bps,
        alerts_file=spec.alerts_file,
        alerts_read=len(spec.params.alerts),
    )
    report = build_report(result, info)
    written: dict[str, str] = {}
    if spec.out_dir is not None:
        paths = write_outputs(result, report, spec.out_dir, plots=spec.plots)
        written = {k: str(v) for k, v in sorted(paths.items())}
    if spec.run_log or config.report.run_log:
        written["run_log"] = str(log_backtest(result, report, config, config.report.runs_dir))
    return {**report, "files_written": written} if written else report


def log_backtest(result: BacktestResult, report: dict[str, Any], config: BotConfig, root: Path | None) -> Path:
    """Record a finished backtest in the run log (kind ``backtest``, named ``<strategy>-<symbols>``): the report's
    settings and the bot's config (without a token) as params, each equity sample as a step (``time_ms`` and the P&L
    components in the quote asset), the report; returns the run's JSONL file.

    Raises:
        tradingmcp.research.runs.RunLogError: wandb asked for but missing. OSError: the folder cannot be written.
    """
    from tradingmcp.research.runs import RunRecorder

    settings = asdict(config)
    settings["connection"].pop("token", None)
    params = {k: report[k] for k in ("strategy", "symbols", "data", "window", "params")} | {"config": settings}
    name = f"{report['strategy']}-{'-'.join(report['symbols'])}"
    with RunRecorder("backtest", name, params, root) as run:
        for step, p in enumerate(result.core.equity):
            run.log_step(step, {"time_ms": p.time_ms, "net_pnl": float(p.net_pnl), "realized_pnl": float(p.realized_pnl),
                                "unrealized_pnl": float(p.unrealized_pnl), "fees": float(p.fees)})  # fmt: skip
        return run.finish(report)


def run_grid(base: RunSpec, grid: Sequence[tuple[str, Sequence[str]]], workers: int = 2) -> list[dict[str, Any]]:
    """Run every grid point (base overrides + the point's values) in ``workers`` processes; reports in grid order.
    Outputs go to ``<base.out_dir>/point-NNN`` (PNGs only when ``base.plots``).

    Raises:
        SettingsError, ConfigError: a point's settings are invalid (checked for every point before anything runs).
    """
    specs = []
    for i, point in enumerate(grid_points(grid)):
        overrides = {**base.overrides, **point}
        build_config(base.doc, base.strategy, base.data.symbols, overrides)  # fail fast, in this process
        out = base.out_dir / f"point-{i:03d}" if base.out_dir is not None else None
        specs.append(
            RunSpec(
                base.doc, base.strategy, base.data, base.params, overrides, out, base.plots, base.run_log,
                base.alerts_file,
            )
        )  # fmt: skip
    if workers <= 1 or len(specs) == 1:
        return [run_one(s) for s in specs]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(run_one, specs))


def best_index(reports: Sequence[Mapping[str, Any]], metric: str) -> int | None:
    """Index of the best report by ``metric`` (see :data:`METRICS`; None values never win; ties: the first)."""
    higher = METRICS[metric]
    best: int | None = None
    best_value: float | None = None
    for i, rep in enumerate(reports):
        raw = rep["metrics"].get(metric)
        if raw is None:
            continue
        value = float(Decimal(raw)) if isinstance(raw, str) else float(raw)
        if best_value is None or (value > best_value if higher else value < best_value):
            best, best_value = i, value
    return best


def load_doc(path: str | Path | None) -> dict[str, Any]:
    """A bot TOML file parsed (``{}`` for None).

    Raises:
        ConfigError: not TOML. OSError: unreadable.
    """
    if path is None:
        return {}
    with open(path, "rb") as fh:
        try:
            return tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: {exc}") from None
