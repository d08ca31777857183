"""The bot's settings: frozen dataclasses loaded from a TOML file (see ``bot.example.toml`` at the repo root).

Units are in the names: ``_ms``, ``_s``, ``_ticks`` (multiples of the symbol's tick size), ``_base`` (base asset, e.g.
BTC), ``_quote`` (quote asset, USDT). Decimal amounts are written as strings in TOML (``order_qty_base = "0.0002"``)
so they stay exact.

TOML layout::

    [connection]            # ConnectionConfig
    url = "wss://127.0.0.1:8765/mcp"
    token_env = "TRADINGMCP_TOKEN"
    cafile = "certs/ca.pem"
    exchange = "binance"

    [strategy]              # StrategyConfig (defaults for every symbol)
    kind = "market_making"  # or "momentum", "mean_reversion", "arbitrage", "signals" (see .params)
    half_spread_ticks = 1

    [strategy.momentum]     # MomentumParams (read whatever the kind; used when kind = "momentum")
    fast_period = 8

    [symbols.BTCUSDT]       # SymbolConfig: per-symbol overrides of the strategy and risk limits
    order_qty_base = "0.0005"
    max_position_base = "0.003"

    [risk]                  # RiskConfig
    max_daily_loss_quote = "50"

    [report]                # ReportConfig
    out_dir = "bot-report"
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from tradingmcp.client.bot.params import (
    STRATEGY_KINDS,
    ArbitrageParams,
    MeanReversionParams,
    MomentumParams,
    SignalsParams,
)


class ConfigError(ValueError):
    """The configuration file is invalid (unknown key, bad value); the message names the key."""


@dataclass(frozen=True)
class ConnectionConfig:
    """Where and how the bot connects.

    Attributes:
        url: MCP server URL (``wss://host:port/mcp``; ``ws://`` only on loopback).
        token: bearer token; when empty, read from the environment variable ``token_env``.
        token_env: environment variable holding the token.
        cafile: CA certificate to verify the server with (the dev CA ``certs/ca.pem``); None = system store.
        exchange: venue name passed as the tools' ``exchange`` argument and used in stream keys: ``binance`` or
            ``mexc`` (the server must bridge that venue). The bot works the same on both; on MEXC order ids are
            strings (``C02__…``) and a replace is a cancel then a place (not atomic: see :meth:`.core.BotCore.on_result`).
        call_timeout_s: per tool call timeout.
        book_levels: levels of the ``book:`` stream to subscribe to.
    """

    url: str = "wss://127.0.0.1:8765/mcp"
    token: str = field(default="", repr=False)
    token_env: str = "TRADINGMCP_TOKEN"
    cafile: str | None = "certs/ca.pem"
    exchange: str = "binance"
    call_timeout_s: float = 10.0
    book_levels: int = 10

    def resolved_token(self) -> str:
        """The token from the config or the environment (empty when neither has one)."""
        return self.token or os.environ.get(self.token_env, "")


@dataclass(frozen=True)
class StrategyConfig:
    """Which strategy trades a symbol (``kind``), the market maker's settings (see :mod:`.strategy`), and the
    settings of the signal strategies (:mod:`.params`).

    Attributes:
        kind: ``market_making`` (default), ``momentum``, ``mean_reversion``, ``arbitrage`` or ``signals``
            (:data:`.params.STRATEGY_KINDS`).
        half_spread_ticks: distance of each quote from the fair price, in ticks (0 = quote at the fair price, rounded
            away from it to the tick grid).
        skew_ticks: quote shift at full inventory (``position == max_position``), in ticks: a long position lowers both
            quotes (sell sooner, buy later), a short one raises them.
        imbalance_ticks: fair-price shift at full top-of-book-depth imbalance (book stream, ``imbalance_levels``
            levels per side), in ticks; 0 disables it.
        imbalance_levels: levels per side summed for the imbalance.
        requote_ticks: move a resting quote only when its target moved at least this many ticks (every kind: also a
            signal strategy's resting maker order).
        min_requote_interval_ms: at least this long between two changes of the same quote (every kind).
        ema_half_life_ms: half life of the EMA of trade prices (shown in the view and the report, and used as the
            mark price fallback before the first book ticker).
        momentum: the ``momentum`` kind's settings (table ``[strategy.momentum]``).
        mean_reversion: the ``mean_reversion`` kind's settings (table ``[strategy.mean_reversion]``).
        arbitrage: the ``arbitrage`` kind's settings (table ``[strategy.arbitrage]``).
        signals: the ``signals`` kind's settings (table ``[strategy.signals]``).
    """

    kind: str = "market_making"
    half_spread_ticks: int = 0
    skew_ticks: int = 2
    imbalance_ticks: int = 1
    imbalance_levels: int = 5
    requote_ticks: int = 1
    min_requote_interval_ms: int = 50
    ema_half_life_ms: int = 5_000
    momentum: MomentumParams = field(default_factory=MomentumParams)
    mean_reversion: MeanReversionParams = field(default_factory=MeanReversionParams)
    arbitrage: ArbitrageParams = field(default_factory=ArbitrageParams)
    signals: SignalsParams = field(default_factory=SignalsParams)

    def check(self, where: str = "strategy") -> None:
        """Raises ConfigError for an unknown ``kind`` or a bad value in a strategy's parameters."""
        if self.kind not in STRATEGY_KINDS:
            raise ConfigError(f"bad value for {where}.kind: {self.kind!r} (known: {', '.join(STRATEGY_KINDS)})")
        for name in SUBTABLES:
            try:
                getattr(self, name).check()
            except ValueError as exc:
                raise ConfigError(f"bad value for {where}.{name}.{exc}") from None


SUBTABLES: dict[str, type[Any]] = {
    "momentum": MomentumParams,
    "mean_reversion": MeanReversionParams,
    "arbitrage": ArbitrageParams,
    "signals": SignalsParams,
}
"""The strategy kinds with their own sub-table of ``[strategy]`` (and of ``[symbols.<SYMBOL>]``)."""


@dataclass(frozen=True)
class SymbolConfig:
    """One traded symbol: quote size, position limit and its strategy settings.

    Attributes:
        symbol: exchange symbol (``BTCUSDT``).
        order_qty_base: size of each quote (base asset).
        max_position_base: bot-side limit on the absolute net position (base asset, relative to the start).
        strategy: strategy settings for this symbol.
    """

    symbol: str
    order_qty_base: Decimal = Decimal("0.0005")
    max_position_base: Decimal = Decimal("0.003")
    strategy: StrategyConfig = field(default_factory=StrategyConfig)


@dataclass(frozen=True)
class RiskConfig:
    """Bot-side limits, on top of the server's safety checks.

    Attributes:
        max_daily_loss_quote: when net P&L (realized + unrealized − fees, quote asset) falls below ``−this``, the bot
            cancels its orders and stops quoting for the rest of the run.
        max_orders_per_s: order actions (place, replace, cancel) per second, token bucket. The default stays under
            Binance Spot's ``ORDERS`` limit (100 per 10 s, i.e. 10/s, of which the server's limiter uses 90 %; see
            GET /api/v3/exchangeInfo ``rateLimits``): a faster bot only queues in the server's limiter.
        order_burst: bucket size of that limiter.
        reject_cooldown_ms: after a rejected order action, no new action on that symbol for this long.
    """

    max_daily_loss_quote: Decimal = Decimal("50")
    max_orders_per_s: float = 8.0
    order_burst: int = 5
    reject_cooldown_ms: int = 1_000


@dataclass(frozen=True)
class ReportConfig:
    """End report: ``out_dir`` receives ``report.json``, ``report.txt``, ``equity.png``, ``latency.png``;
    ``run_log``: also record the run (params, each equity sample as a step, the report) in the run log
    (:mod:`tradingmcp.research.runs`) under ``runs_dir`` (default ``$TRADINGMCP_RUNS_DIR`` or ``./runs``)."""

    out_dir: Path = Path("bot-report")
    equity_sample_ms: int = 1_000
    run_log: bool = False
    runs_dir: Path | None = None


@dataclass(frozen=True)
class BotConfig:
    """Everything the bot needs. ``client_id_prefix`` starts every client order id (``<prefix><run>x<n>``)."""

    connection: ConnectionConfig = field(default_factory=ConnectionConfig)
    symbols: tuple[SymbolConfig, ...] = (SymbolConfig("BTCUSDT"),)
    risk: RiskConfig = field(default_factory=RiskConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    client_id_prefix: str = "bot"
    quote_asset: str = "USDT"

    def symbol(self, name: str) -> SymbolConfig:
        """The config of ``name``.

        Raises:
            KeyError: the symbol is not traded.
        """
        for s in self.symbols:
            if s.symbol == name:
                return s
        raise KeyError(name)

    @property
    def venues(self) -> tuple[str, ...]:
        """Every venue the bot uses: ``connection.exchange`` first, then the other venue of each arbitrage."""
        out = [self.connection.exchange]
        for s in self.symbols:
            if s.strategy.kind == "arbitrage":
                out += [v for v in s.strategy.arbitrage.venues if v not in out]
        return tuple(out)


def _build(cls: type[Any], table: dict[str, Any], where: str) -> Any:
    """Instantiate dataclass ``cls`` from a TOML table, converting Decimal/Path fields and refusing unknown keys."""
    known = {f.name: f for f in fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in table.items():
        f = known.get(key)
        if f is None:
            raise ConfigError(f"unknown key {where}.{key} (known: {', '.join(sorted(known))})")
        kind = str(f.type)
        try:
            if "Decimal" in kind:
                kwargs[key] = Decimal(str(value))
            elif "Path" in kind:
                kwargs[key] = Path(value)
            elif kind == "float":
                kwargs[key] = float(value)
            elif kind == "bool":
                if not isinstance(value, bool):
                    raise TypeError("true or false expected")
                kwargs[key] = value
            elif kind == "int":
                if not isinstance(value, int):
                    raise TypeError("integer expected")
                kwargs[key] = value
            elif kind == "str":
                if not isinstance(value, str):
                    raise TypeError("string expected")
                kwargs[key] = value
            else:
                kwargs[key] = value
        except (ArithmeticError, TypeError, ValueError) as exc:
            raise ConfigError(f"bad value for {where}.{key}: {value!r} ({exc})") from None
    return cls(**kwargs)


def _strategy(table: dict[str, Any], base: StrategyConfig, where: str) -> StrategyConfig:
    """``base`` with the keys of ``table`` (a ``[strategy]`` or ``[symbols.X]`` table's strategy keys, sub-tables
    included) applied over it: only the keys given override; then the whole result is checked."""
    flat = {k: v for k, v in table.items() if k not in SUBTABLES}
    out = base
    if flat:
        built = _build(StrategyConfig, flat, where)
        out = replace(out, **{k: getattr(built, k) for k in flat})
    for name, cls in SUBTABLES.items():
        sub = table.get(name)
        if sub is None:
            continue
        if not isinstance(sub, dict):
            raise ConfigError(f"{where}.{name} must be a table ([{where}.{name}])")
        built = _build(cls, sub, f"{where}.{name}")
        out = replace(out, **{name: replace(getattr(out, name), **{k: getattr(built, k) for k in sub})})
    out.check(where)
    return out


def with_strategy(config: BotConfig, kind: str) -> BotConfig:
    """``config`` with every symbol traded by the strategy ``kind`` (the ``--strategy`` option).

    Raises:
        ConfigError: unknown kind, or an arbitrage whose venues miss ``connection.exchange``.
    """
    symbols = tuple(replace(s, strategy=replace(s.strategy, kind=kind)) for s in config.symbols)
    for s in symbols:
        s.strategy.check(f"symbols.{s.symbol}")
    _check_venues(config.connection, list(symbols))
    return replace(config, symbols=symbols)


def config_from_dict(doc: dict[str, Any]) -> BotConfig:
    """Build a :class:`BotConfig` from a parsed TOML document.

    Raises:
        ConfigError: unknown table or key, or a bad value.
    """
    allowed = {"connection", "strategy", "symbols", "risk", "report", "bot"}
    unknown = set(doc) - allowed
    if unknown:
        raise ConfigError(f"unknown table(s) {sorted(unknown)}; known: {sorted(allowed)}")
    base_strategy = _strategy(doc.get("strategy", {}), StrategyConfig(), "strategy")
    strategy_keys = {f.name for f in fields(StrategyConfig)}
    symbols: list[SymbolConfig] = []
    for name, table in (doc.get("symbols") or {"BTCUSDT": {}}).items():
        own = {k: v for k, v in table.items() if k not in strategy_keys}
        overrides = {k: v for k, v in table.items() if k in strategy_keys}
        # only the keys given here override the [strategy] table
        strat = _strategy(overrides, base_strategy, f"symbols.{name}") if overrides else base_strategy
        sym = _build(SymbolConfig, {"symbol": name.upper(), **own}, f"symbols.{name}")
        symbols.append(replace(sym, strategy=strat))
    bot = doc.get("bot", {})
    extra = set(bot) - {"client_id_prefix", "quote_asset"}
    if extra:
        raise ConfigError(f"unknown key(s) in [bot]: {sorted(extra)}")
    prefix = str(bot.get("client_id_prefix", "bot"))
    if not prefix.isalnum() or len(prefix) > 8:
        raise ConfigError("bot.client_id_prefix must be 1-8 letters or digits")
    connection = _build(ConnectionConfig, doc.get("connection", {}), "connection")
    _check_venues(connection, symbols)
    return BotConfig(
        connection=connection,
        symbols=tuple(symbols),
        risk=_build(RiskConfig, doc.get("risk", {}), "risk"),
        report=_build(ReportConfig, doc.get("report", {}), "report"),
        client_id_prefix=prefix,
        quote_asset=str(bot.get("quote_asset", "USDT")),
    )


def _check_venues(connection: ConnectionConfig, symbols: list[SymbolConfig]) -> None:
    """An arbitrage trades on ``connection.exchange`` and one other venue."""
    for s in symbols:
        venues = s.strategy.arbitrage.venues
        if s.strategy.kind == "arbitrage" and connection.exchange not in venues:
            raise ConfigError(
                f"bad value for symbols.{s.symbol} arbitrage.venues: {list(venues)!r} must include "
                f"connection.exchange {connection.exchange!r}"
            )


def load_config(path: str | Path) -> BotConfig:
    """Read a bot TOML file.

    Raises:
        ConfigError: invalid content. OSError: the file cannot be read.
    """
    with open(path, "rb") as fh:
        try:
            doc = tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: {exc}") from None
    return config_from_dict(doc)
