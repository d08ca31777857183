"""Trading limits (:class:`SafetyConfig`) and the checks that enforce them (sans-I/O: numbers in, refusals out).

The checks run in the server before anything is sent; no tool argument can switch them off. Each refusal is a
:class:`SafetyRefusal` (a ``ToolError``) with code ``safety_<rule>`` and a message naming the limit and the value:

=============================  ================================================================================
code                           refused when
=============================  ================================================================================
``safety_kill_switch``         the config's ``kill_switch`` is on, or the ``kill_switch`` tool tripped the venue
``safety_live_not_allowed``    the venue trades real money (mode ``live``) and ``allow_live`` is off
``safety_symbol_not_allowed``  ``allowed_symbols`` is set and does not hold the symbol
``safety_max_order_notional``  the order's notional (quote asset) exceeds ``max_order_notional``
``safety_max_daily_notional``  today's (UTC) accepted notional plus this order's exceeds ``max_daily_notional``
``safety_max_open_orders``     the venue already has ``max_open_orders`` open orders
``safety_price_band``          a price the order could fill at is more than ``price_band_pct`` % from the mid price
``safety_max_batch``           a batch holds more than ``max_batch`` items
``safety_max_daily_loss``      the day's (UTC) realized + unrealized loss reached ``max_daily_loss`` (latched for
                               the day): only risk-reducing orders pass
``safety_max_drawdown``        the day P&L fell ``max_drawdown`` below the day's peak (latched for the day): only
                               risk-reducing orders pass
``safety_max_asset_exposure``  the base asset's holding and open BUY orders plus this order, valued in the quote
                               asset, exceed ``max_asset_exposure``
``safety_max_total_exposure``  every held asset and open BUY order plus this order, valued in the quote asset,
                               exceed ``max_total_exposure``
=============================  ================================================================================

Loss, drawdown and exposure are computed by :mod:`.losslimits` (see there: the day's fills as cash flows, marks from
the live best bid/ask); a risk-reducing order is a SELL of no more than the base asset held.

Notional is in the symbol's quote asset (USDT for BTCUSDT): ``quantity × price`` for priced orders,
``quantity × best ask`` (BUY) / ``× best bid`` (SELL) for MARKET orders, or ``quote_quantity`` directly.
"""

from __future__ import annotations

import os
import time
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from tradingmcp.server.decimals import WIDE
from tradingmcp.server.exchanges.wire import plain
from tradingmcp.server.mcp.registry import ToolError
from tradingmcp.server.trading.journal import DURABILITY

ENV_PREFIX = "TRADINGMCP_SAFETY_"
"""Environment variables ``TRADINGMCP_SAFETY_<FIELD>`` (upper case) override the TOML file, e.g.
``TRADINGMCP_SAFETY_MAX_ORDER_NOTIONAL=500`` or ``TRADINGMCP_SAFETY_ALLOWED_SYMBOLS=BTCUSDT,ETHUSDT``."""

MS_PER_DAY = 86_400_000


def now_ms() -> int:
    """Wall clock in ms since the epoch."""
    return int(time.time() * 1000)


@dataclass(frozen=True)
class SafetyConfig:
    """Trading limits; the defaults are safe for a first run (small orders, no real money).

    Attributes:
        allowed_symbols: symbols that may be traded (upper case); None allows every symbol.
        max_order_notional: largest notional of one order, in the symbol's quote asset (USDT).
        max_daily_notional: largest sum of accepted orders' notional per UTC day, per venue (quote asset).
        max_open_orders: most open orders a venue may hold (counting the new one).
        price_band_pct: largest distance from the mid price, in percent, of every price the order could fill at
            (the limit price of every type, OCO legs and replacements included; see :mod:`.pretrade`); None
            disables.
        confirm_above_notional: orders with a larger notional need a ``confirmation_token`` from
            ``preview_order`` (two-step); None disables.
        confirm_ttl_s: lifetime of a confirmation token (s).
        kill_switch: refuse every new order (cancels stay allowed).
        allow_live: let a venue in ``live`` mode (mainnet, real money) place orders; the second explicit switch
            besides giving mainnet credentials.
        max_batch: most items in ``place_orders_batch`` / ``cancel_orders_batch``.
        fee_rate: fee rate used for estimates (0.001 = 0.1 %, Binance's default taker fee).
        recent_client_ids: how many recent client order ids the server remembers for duplicate detection.
        lookup_unknown_client_ids: before placing an order whose ``client_order_id`` the caller chose and the
            server does not remember (e.g. placed before a restart), ask the exchange whether it has it
            (``GET /api/v3/order``, weight 4, one more round trip per order). Off by default: the exchange itself
            rejects a duplicate id of an OPEN order (answered with the existing order), so only a retry of an
            already closed order across a restart is left uncovered.
        max_daily_loss: largest loss of the UTC day's fills, realized + unrealized, fees included (quote asset); when
            reached, only risk-reducing orders pass until the day ends; None disables.
        max_drawdown: largest fall of the day P&L below its peak of the day (quote asset); as ``max_daily_loss``.
        max_asset_exposure: largest value of one asset held (free + locked × its price in the quote asset) plus the
            quote its open BUY orders commit, counting the order being placed; orders that reduce it always pass;
            None disables.
        max_total_exposure: largest value of every asset held (other than the quote asset) and bid for by open BUY
            orders, plus the order; None disables.
        on_breach: what a tripped loss limit does besides refusing risk-increasing orders: ``block`` (only that) or
            ``kill`` (also cancel every open order and engage the venue's kill switch).
        intent_journal: write every order's intent durably before it is sent (``journal.sqlite3`` in the data
            directory, :mod:`.journal`) and reconcile the intents left without an outcome at start-up.
        intent_durability: what a journaled intent survives before its order is sent: ``machine`` (a crash of the
            process or of the machine: the commit waits for the disk's sync, SQLite ``synchronous=FULL``) or
            ``process`` (a crash of the process only: the commit reaches the OS but is not synced, ``synchronous=NORMAL``
            in WAL mode; a power cut may lose the last intents, whose orders are then not reconciled at start-up).
            https://www.sqlite.org/pragma.html#pragma_synchronous
    """

    allowed_symbols: frozenset[str] | None = None
    max_order_notional: Decimal = Decimal(10_000)
    max_daily_notional: Decimal = Decimal(100_000)
    max_open_orders: int = 50
    price_band_pct: Decimal | None = Decimal(5)
    confirm_above_notional: Decimal | None = Decimal(5_000)
    confirm_ttl_s: float = 60.0
    kill_switch: bool = False
    allow_live: bool = False
    max_batch: int = 10
    fee_rate: Decimal = Decimal("0.001")
    recent_client_ids: int = 10_000
    lookup_unknown_client_ids: bool = False
    max_daily_loss: Decimal | None = None
    max_drawdown: Decimal | None = None
    max_asset_exposure: Decimal | None = None
    max_total_exposure: Decimal | None = None
    on_breach: str = "block"
    intent_journal: bool = True
    intent_durability: str = "machine"

    def __post_init__(self) -> None:
        if self.allowed_symbols is not None:
            object.__setattr__(self, "allowed_symbols", frozenset(s.upper() for s in self.allowed_symbols))
        if self.max_batch < 1 or self.max_open_orders < 0 or self.confirm_ttl_s <= 0:
            raise ValueError("max_batch must be ≥ 1, max_open_orders ≥ 0 and confirm_ttl_s > 0")
        if self.on_breach not in ON_BREACH:
            raise ValueError(f"on_breach must be one of {', '.join(ON_BREACH)}, got {self.on_breach!r}")
        if self.intent_durability not in INTENT_DURABILITY:
            raise ValueError(
                f"intent_durability must be one of {', '.join(INTENT_DURABILITY)}, got {self.intent_durability!r}"
            )
        for name in RAIL_LIMITS:
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be > 0 (or none to disable), got {value}")

    @property
    def rails_on(self) -> bool:
        """True when any loss, drawdown or exposure limit is set (the desk then follows fills and balances)."""
        return any(getattr(self, name) is not None for name in RAIL_LIMITS)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], base: SafetyConfig | None = None) -> SafetyConfig:
        """A config from ``values`` (TOML/env spellings: numbers or decimal strings, lists or comma-separated
        symbols, ``"none"`` to disable an optional limit) over ``base`` (defaults when None).

        Raises:
            ValueError: an unknown key or a value that does not parse.
        """
        known = {f.name: f for f in fields(cls)}
        changes: dict[str, Any] = {}
        for key, raw in values.items():
            name = key.lower()
            if name not in known:
                raise ValueError(f"unknown safety setting {key!r}; known: {', '.join(sorted(known))}")
            changes[name] = _parse_value(name, raw)
        return replace(base or cls(), **changes)

    @classmethod
    def from_toml(cls, path: str | Path, base: SafetyConfig | None = None) -> SafetyConfig:
        """Read the ``[safety]`` table of a TOML file (or its top level when it has no such table).

        Raises:
            OSError: the file cannot be read; ValueError (``tomllib.TOMLDecodeError``): bad TOML or values.
        """
        with open(path, "rb") as fh:
            doc = tomllib.load(fh)
        table = doc.get("safety", doc)
        if not isinstance(table, dict):
            raise ValueError(f"{path}: [safety] must be a table")
        return cls.from_mapping(table, base)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, base: SafetyConfig | None = None) -> SafetyConfig:
        """Apply ``TRADINGMCP_SAFETY_<FIELD>`` variables over ``base`` (see :data:`ENV_PREFIX`)."""
        env = os.environ if environ is None else environ
        values = {k[len(ENV_PREFIX) :]: v for k, v in env.items() if k.startswith(ENV_PREFIX)}
        return cls.from_mapping(values, base)

    @classmethod
    def load(cls, path: str | Path | None = None, environ: Mapping[str, str] | None = None) -> SafetyConfig:
        """Defaults, then the TOML file (when given), then the environment."""
        base = cls.from_toml(path) if path is not None else cls()
        return cls.from_env(environ, base)

    def describe(self) -> dict[str, Any]:
        """The limits as JSON (decimals as strings, None = disabled)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, Decimal):
                v = plain(v)
            elif isinstance(v, frozenset):
                v = sorted(v)
            out[f.name] = v
        return out


ON_BREACH = ("block", "kill")
"""``on_breach`` values."""
INTENT_DURABILITY = tuple(DURABILITY)
"""``intent_durability`` values (:data:`.journal.DURABILITY`)."""
RAIL_LIMITS = ("max_daily_loss", "max_drawdown", "max_asset_exposure", "max_total_exposure")
"""The loss, drawdown and exposure limits (quote asset; None = off)."""

_DECIMALS = {"max_order_notional", "max_daily_notional", "fee_rate"}
_OPTIONAL_DECIMALS = {"price_band_pct", "confirm_above_notional", *RAIL_LIMITS}
_INTS = {"max_open_orders", "max_batch", "recent_client_ids"}
_BOOLS = {"kill_switch", "allow_live", "lookup_unknown_client_ids", "intent_journal"}


def _parse_value(name: str, raw: Any) -> Any:
    if isinstance(raw, str) and raw.strip().lower() in ("none", "null", "") and name in _OPTIONAL_DECIMALS:
        return None
    try:
        if name in _DECIMALS or name in _OPTIONAL_DECIMALS:
            if isinstance(raw, bool) or raw is None:
                raise ValueError
            return Decimal(str(raw))
        if name in _INTS:
            return int(raw)
        if name == "confirm_ttl_s":
            return float(raw)
        if name in ("on_breach", "intent_durability"):
            return str(raw).strip().lower()
        if name in _BOOLS:
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
                raise ValueError
            return text in ("1", "true", "yes", "on")
        if name == "allowed_symbols":
            if raw is None or (isinstance(raw, str) and raw.strip().lower() in ("none", "all", "*")):
                return None
            items = raw.split(",") if isinstance(raw, str) else list(raw)
            return frozenset(str(s).strip().upper() for s in items if str(s).strip())
    except (ValueError, TypeError, InvalidOperation):
        pass
    raise ValueError(f"bad value {raw!r} for safety setting {name}")


class SafetyRefusal(ToolError):
    """A safety rule refused an order: ``code`` is ``safety_<rule>``; ``details`` name the limit and the value."""

    def __init__(self, rule: str, message: str, **details: Any) -> None:
        super().__init__(message, f"safety_{rule}", {"rule": rule, **details})


@dataclass
class VenueSafety:
    """One venue's live safety state: the tripped kill switch and today's accepted notional (quote asset).

    Reservations make check-then-place race free: :meth:`reserve` checks the daily limit and counts the order at
    once (no ``await`` in between); :meth:`release` gives it back when the order was not accepted.
    """

    venue: str
    killed: bool = False
    killed_reason: str = ""
    day: int = -1
    daily_notional: Decimal = Decimal(0)
    pending_orders: int = 0
    clock_ms: Callable[[], int] = field(default_factory=lambda: now_ms, repr=False)

    def _roll(self) -> None:
        today = self.clock_ms() // MS_PER_DAY
        if today != self.day:
            self.day, self.daily_notional = today, Decimal(0)

    def today_notional(self) -> Decimal:
        """Accepted (and reserved) notional of the current UTC day."""
        self._roll()
        return self.daily_notional

    def reserve(self, config: SafetyConfig, notional: Decimal, quote_asset: str) -> Decimal:
        """Check ``max_daily_notional`` and count ``notional`` into today; returns the amount to :meth:`release`.

        Raises:
            SafetyRefusal: ``safety_max_daily_notional``.
        """
        self.daily_notional = self.check_daily(config, notional, quote_asset)
        return notional

    def check_daily(self, config: SafetyConfig, notional: Decimal, quote_asset: str) -> Decimal:
        """Check ``max_daily_notional`` for ``notional`` more without counting it; returns today's total with it.

        Raises:
            SafetyRefusal: ``safety_max_daily_notional``.
        """
        self._roll()
        after = self.daily_notional + notional
        if after > config.max_daily_notional:
            left = max(Decimal(0), config.max_daily_notional - self.daily_notional)
            raise SafetyRefusal(
                "max_daily_notional",
                f"order notional {plain(notional)} {quote_asset} would bring today's (UTC) total on {self.venue} to "
                f"{plain(after)} {quote_asset}, above max_daily_notional {plain(config.max_daily_notional)}; "
                f"{plain(left)} {quote_asset} left today",
                limit=plain(config.max_daily_notional),
                value=plain(after),
                remaining=plain(left),
            )
        return after

    def release(self, notional: Decimal) -> None:
        """Give back a reservation of an order that was not accepted (same UTC day only)."""
        self._roll()
        self.daily_notional = max(Decimal(0), self.daily_notional - notional)


def limits_in_force(config: SafetyConfig, state: VenueSafety, mode: str) -> dict[str, Any]:
    """What applies to one venue's new orders now (JSON):

    ``limits`` (:meth:`SafetyConfig.describe`: ``allowed_symbols``, ``max_order_notional``, ``max_daily_notional``,
    ``max_open_orders``, ``price_band_pct``, ``confirm_above_notional``, ``allow_live``, ``kill_switch``...),
    ``kill_switch`` (``{active, source: "config" | "tool" | None, reason}``), ``kill_switch_active``,
    ``trading_allowed`` (neither the kill switch nor the live switch refuses orders; ``mode`` is the venue's) and
    ``today_notional`` (accepted today, UTC, quote asset).
    """
    active = config.kill_switch or state.killed
    source = "config" if config.kill_switch else ("tool" if state.killed else None)
    return {
        "limits": config.describe(),
        "kill_switch": {"active": active, "source": source, "reason": state.killed_reason or None},
        "kill_switch_active": active,
        "trading_allowed": not active and (mode != "live" or config.allow_live),
        "today_notional": plain(state.today_notional()),
    }


def check_gate(config: SafetyConfig, state: VenueSafety, mode: str) -> None:
    """The venue-wide switches: the kill switch (config or tripped) and ``allow_live``.

    Raises:
        SafetyRefusal: ``safety_kill_switch`` or ``safety_live_not_allowed``.
    """
    if config.kill_switch:
        raise SafetyRefusal(
            "kill_switch",
            "the kill switch is on in the server configuration (kill_switch = true): new orders are refused",
            source="config",
        )
    if state.killed:
        reason = f" ({state.killed_reason})" if state.killed_reason else ""
        raise SafetyRefusal(
            "kill_switch",
            f"the kill switch was triggered on {state.venue}{reason}: new orders are refused until the server is "
            "restarted",
            source="tool",
        )
    if mode == "live" and not config.allow_live:
        raise SafetyRefusal(
            "live_not_allowed",
            f"{state.venue} is connected to the live exchange (real money) and allow_live is false; set "
            "allow_live = true in the safety configuration to trade on mainnet",
            mode=mode,
        )


def check_symbol(config: SafetyConfig, symbol: str) -> None:
    """Raises SafetyRefusal ``safety_symbol_not_allowed`` when ``allowed_symbols`` excludes ``symbol``."""
    allowed = config.allowed_symbols
    if allowed is not None and symbol.upper() not in allowed:
        raise SafetyRefusal(
            "symbol_not_allowed",
            f"{symbol} is not in allowed_symbols ({', '.join(sorted(allowed)) or 'none'})",
            symbol=symbol,
            allowed_symbols=sorted(allowed),
        )


def check_order_notional(config: SafetyConfig, notional: Decimal, quote_asset: str) -> None:
    """Raises SafetyRefusal ``safety_max_order_notional`` when ``notional`` (quote asset) is above the limit."""
    if notional > config.max_order_notional:
        raise SafetyRefusal(
            "max_order_notional",
            f"order notional {plain(notional)} {quote_asset} is above max_order_notional "
            f"{plain(config.max_order_notional)} {quote_asset}",
            limit=plain(config.max_order_notional),
            value=plain(notional),
        )


def check_price_band(
    config: SafetyConfig,
    field_name: str,
    price: Decimal,
    mid: Decimal,
    tick_size: Decimal = Decimal(0),
    quote_asset: str = "",
) -> None:
    """Raises SafetyRefusal ``safety_price_band`` when ``price`` (the ``field_name`` argument, a price the order could
    fill at) is more than ``price_band_pct`` % from ``mid``.

    The message and the details name the field and the allowed range ``low``–``high`` (in ``quote_asset``, rounded
    inwards to ``tick_size``).
    """
    pct = config.price_band_pct
    if pct is None or mid <= 0:
        return
    distance = abs(price - mid) / mid * 100
    if distance > pct:
        low, high = mid * (1 - pct / 100), mid * (1 + pct / 100)
        if tick_size > 0:
            low = (low / tick_size).to_integral_value(ROUND_CEILING) * tick_size
            high = (high / tick_size).to_integral_value(ROUND_FLOOR) * tick_size
        unit = f" {quote_asset}" if quote_asset else ""
        raise SafetyRefusal(
            "price_band",
            f"{field_name} {plain(price)}{unit} is {plain(distance.quantize(Decimal('0.01'), context=WIDE))} % from "
            f"the mid price {plain(mid)}{unit}, beyond price_band_pct {plain(pct)} %; allowed {field_name} range "
            f"{plain(low)}–{plain(high)}{unit}",
            field=field_name,
            limit_pct=plain(pct),
            value=plain(price),
            value_pct=plain(distance.quantize(Decimal("0.0001"), context=WIDE)),
            mid=plain(mid),
            low=plain(low),
            high=plain(high),
            quote_asset=quote_asset,
        )


def check_open_orders(config: SafetyConfig, venue: str, open_now: int, adding: int = 1) -> None:
    """Raises SafetyRefusal ``safety_max_open_orders`` when ``open_now + adding`` exceeds the limit."""
    if open_now + adding > config.max_open_orders:
        raise SafetyRefusal(
            "max_open_orders",
            f"{venue} has {open_now} open orders; {adding} more would exceed max_open_orders "
            f"{config.max_open_orders} (cancel some first)",
            limit=config.max_open_orders,
            value=open_now,
        )


def check_loss_limits(tripped: Mapping[str, Any], venue: str, reducing: bool, quote_asset: str) -> None:
    """Raises SafetyRefusal ``safety_max_daily_loss`` / ``safety_max_drawdown`` when a loss limit tripped today
    (``tripped``: rule → :class:`~.losslimits.Breach`) and the order is not risk-reducing."""
    if reducing or not tripped:
        return
    rule, breach = next(iter(tripped.items()))
    what = "the day's loss" if rule == "max_daily_loss" else "the drawdown from the day's peak"
    raise SafetyRefusal(
        rule,
        f"{rule} {plain(breach.limit)} {quote_asset} tripped on {venue} today (UTC): {what} reached "
        f"{plain(breach.value)} {quote_asset}; only risk-reducing orders (a SELL of no more than the asset held) are "
        "accepted until the UTC day ends",
        limit=plain(breach.limit),
        value=plain(breach.value),
        day_pnl=plain(breach.day_pnl),
        tripped_ms=breach.time_ms,
        state="tripped",
    )


def check_exposure(
    config: SafetyConfig,
    asset: str,
    asset_value: Decimal,
    total_value: Decimal,
    adding: Decimal,
    quote_asset: str,
) -> None:
    """Raises SafetyRefusal ``safety_max_asset_exposure`` / ``safety_max_total_exposure`` when ``asset``'s value held and
    bid for by open BUY orders (``asset_value``) or every asset's (``total_value``) plus ``adding`` (the order's
    notional) exceeds the cap (all in ``quote_asset``)."""
    for rule, limit, held, what in (
        ("max_asset_exposure", config.max_asset_exposure, asset_value, f"{asset} held and bid for"),
        ("max_total_exposure", config.max_total_exposure, total_value, "every asset held and bid for"),
    ):
        if limit is None or held + adding <= limit:
            continue
        room = max(Decimal(0), limit - held)
        raise SafetyRefusal(
            rule,
            f"{what} is worth {plain(held)} {quote_asset}; this order's {plain(adding)} {quote_asset} would bring it "
            f"to {plain(held + adding)} {quote_asset}, above {rule} {plain(limit)} {quote_asset}; "
            f"{plain(room)} {quote_asset} of room left (orders that reduce it always pass)",
            limit=plain(limit),
            value=plain(held + adding),
            held=plain(held),
            remaining=plain(room),
            asset=asset,
        )


def check_batch(config: SafetyConfig, size: int) -> None:
    """Raises SafetyRefusal ``safety_max_batch`` when a batch holds more than ``max_batch`` items."""
    if size > config.max_batch:
        raise SafetyRefusal(
            "max_batch",
            f"a batch of {size} items is above max_batch {config.max_batch}",
            limit=config.max_batch,
            value=size,
        )
