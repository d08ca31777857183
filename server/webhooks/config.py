"""The ``[webhooks.tradingview]`` table of the server's config file, and its environment overrides (sans-I/O).

TradingView posts the alert's message as the request body; the message is a template its author writes, so the
config names the field of each value (``fields``). The shared secret comes from the file or, better, from
``TRADINGMCP_WEBHOOK_TRADINGVIEW_SECRET`` (it wins over the file); every other key can be overridden by
``TRADINGMCP_WEBHOOK_TRADINGVIEW_<KEY>`` too. Without a secret the route is not mounted.

TradingView's side: https://www.tradingview.com/support/solutions/43000529348-how-to-configure-webhook-alerts/
(a JSON message is sent as ``application/json``, anything else as ``text/plain``; only ports 80 and 443; the sender
gives up after 3 s) and the placeholders of
https://www.tradingview.com/support/solutions/43000531021-how-to-use-a-variable-value-in-alert/
(``{{ticker}}``, ``{{exchange}}``, ``{{strategy.order.action}}``, ``{{strategy.order.contracts}}``,
``{{strategy.order.price}}``, ``{{strategy.order.id}}``, ``{{timenow}}``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from tradingmcp.transport.auth import SCOPES

ENV_PREFIX = "TRADINGMCP_WEBHOOK_TRADINGVIEW_"
"""Environment overrides: ``TRADINGMCP_WEBHOOK_TRADINGVIEW_SECRET``, ``..._ACTION``, ``..._DEDUPE_WINDOW_S``..."""
PATH = "/webhooks/tradingview"
"""Where the alerts are posted (on the MCP port's plain-HTTP side)."""
ACTIONS = ("signal", "order")
"""``signal``: publish the alert on a push stream; ``order``: a guarded order through the trading desk."""
ORDER_TYPES = ("MARKET", "LIMIT")
DEFAULT_FIELDS: Mapping[str, str] = {
    "secret": "secret",
    "id": "id",
    "symbol": "ticker",
    "exchange": "exchange",
    "side": "action",
    "quantity": "contracts",
    "price": "price",
    "time": "time",
}
"""Our name of each value → the alert's field holding it (the template ``{"secret": "...", "id":
"{{strategy.order.id}}-{{timenow}}", "ticker": "{{ticker}}", "exchange": "{{exchange}}", "action":
"{{strategy.order.action}}", "contracts": "{{strategy.order.contracts}}", "price": "{{strategy.order.price}}",
"time": "{{timenow}}"}``)."""
MIN_SECRET_CHARS = 16
"""A shorter shared secret is refused at start-up: it would be guessable."""


@dataclass(frozen=True)
class TradingViewConfig:
    """How ``POST /webhooks/tradingview`` treats an alert.

    Attributes:
        secret: the shared secret the alert must carry in its ``fields["secret"]`` field (None: route off).
        action: ``signal`` or ``order`` (:data:`ACTIONS`).
        stream: the push stream of ``signal`` (``signals:tradingview``; subscribe to it like any stream).
        fields: our name → the alert's field name (:data:`DEFAULT_FIELDS`; a partial table overrides some).
        dedupe_window_s: an alert whose id was accepted less than this many seconds ago is answered ``duplicate``
            and does nothing (an alert without an id field is named by the hash of its body).
        max_body_bytes: larger bodies are refused (413) unread.
        principal: the name orders and audit entries carry (as a token's name does).
        scopes: the principal's scopes (of ``read``, ``trade``, ``audit``); ``order`` needs ``trade``.
        exchange: the venue of the orders (None: the server's default venue).
        order_type: ``MARKET`` or ``LIMIT`` (at the alert's price).
        quantity: the base quantity when the alert carries none (decimal string; None: the alert must carry one).
        max_ids: how many recent alert ids the duplicate check remembers at most (the oldest go first).
        rate_per_s, rate_burst: requests a second sustained and at once from one client address (TradingView posts
            from a few fixed addresses); more is answered 429 with ``Retry-After`` and not audited one by one (so a
            flood cannot fill the audit log). ``rate_per_s`` 0: no limit.
    """

    secret: str | None = field(default=None, repr=False)
    action: str = "signal"
    stream: str = "signals:tradingview"
    fields: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_FIELDS))
    dedupe_window_s: float = 300.0
    max_body_bytes: int = 16_384
    principal: str = "tradingview"
    scopes: tuple[str, ...] = ("trade",)
    exchange: str | None = None
    order_type: str = "MARKET"
    quantity: str | None = None
    max_ids: int = 10_000
    rate_per_s: float = 10.0
    rate_burst: int = 20

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"action must be one of {', '.join(ACTIONS)}, not {self.action!r}")
        if self.order_type not in ORDER_TYPES:
            raise ValueError(f"order_type must be one of {', '.join(ORDER_TYPES)}, not {self.order_type!r}")
        if self.secret is not None and len(self.secret) < MIN_SECRET_CHARS:
            raise ValueError(f"secret must have at least {MIN_SECRET_CHARS} characters")  # never echo it
        if not (math.isfinite(self.rate_per_s) and self.rate_per_s >= 0) or self.rate_burst < 1:
            raise ValueError("rate_per_s must be a number >= 0 and rate_burst a whole number >= 1")
        if not (math.isfinite(self.dedupe_window_s) and self.dedupe_window_s >= 0):
            raise ValueError(f"dedupe_window_s must be a number of seconds >= 0, not {self.dedupe_window_s!r}")
        for name in ("max_body_bytes", "max_ids", "rate_burst"):
            value = getattr(self, name)
            if type(value) is not int or value < 1:
                raise ValueError(f"{name} must be a whole number >= 1, not {value!r}")
        unknown = sorted(set(self.fields) - set(DEFAULT_FIELDS))
        if unknown:
            raise ValueError(f"fields: unknown name(s) {unknown}; expected {', '.join(DEFAULT_FIELDS)}")
        if not set(self.scopes) <= SCOPES:  # a bus trader refuses a caller with a scope it does not know
            raise ValueError(f"scopes: unknown scope(s) {sorted(set(self.scopes) - SCOPES)}; known: {sorted(SCOPES)}")
        if self.action == "order" and "trade" not in self.scopes:
            raise ValueError("action 'order' needs the 'trade' scope in scopes")
        if not self.stream.startswith("signals:"):
            raise ValueError(f"stream must be a signals: stream key (signals:<name>), not {self.stream!r}")

    @property
    def enabled(self) -> bool:
        """True when a secret is configured (the route is mounted)."""
        return self.secret is not None

    def field_of(self, name: str) -> str:
        """The alert's field holding our value ``name`` (:data:`DEFAULT_FIELDS` keys)."""
        return self.fields.get(name, DEFAULT_FIELDS[name])

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], base: TradingViewConfig | None = None) -> TradingViewConfig:
        """A config from the TOML table (or environment strings) ``values`` over ``base`` (defaults when None).

        Raises:
            ValueError: an unknown key or a bad value (the message never contains the secret).
        """
        known = {f.name for f in fields(cls)}
        changes: dict[str, Any] = {}
        for key, raw in values.items():
            name = key.lower()
            if name not in known:
                raise ValueError(f"unknown key {key!r}; known: {', '.join(sorted(known))}")
            changes[name] = _value(name, raw)
        if "fields" in changes:
            changes["fields"] = {**(base.fields if base else DEFAULT_FIELDS), **changes["fields"]}
        return replace(base or cls(), **changes)

    @classmethod
    def load(cls, table: Mapping[str, Any] | None, environ: Mapping[str, str]) -> TradingViewConfig:
        """The TOML table ``[webhooks.tradingview]`` (None: defaults), then :data:`ENV_PREFIX` variables.

        Raises:
            ValueError: as :meth:`from_mapping`, prefixed with where the value came from.
        """
        try:
            base = cls.from_mapping(table or {})
        except (TypeError, ValueError) as exc:
            raise ValueError(f"[webhooks.tradingview]: {exc}") from None
        env = {k[len(ENV_PREFIX) :]: v for k, v in environ.items() if k.startswith(ENV_PREFIX)}
        try:
            return cls.from_mapping(env, base)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{ENV_PREFIX}*: {exc}") from None


def _value(name: str, raw: Any) -> Any:
    """One setting from TOML (typed) or the environment (strings)."""
    if name in ("dedupe_window_s", "rate_per_s"):
        if isinstance(raw, bool):
            raise ValueError(f"{name} must be a number, not {raw!r}")
        return float(raw)
    if name in ("max_body_bytes", "max_ids", "rate_burst"):
        if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
            raise ValueError(f"{name} must be a whole number, not {raw!r}")
        return int(raw)
    if name == "scopes":
        items = raw.split(",") if isinstance(raw, str) else list(raw)
        return tuple(str(s).strip() for s in items if str(s).strip())
    if name == "fields":
        if isinstance(raw, str):  # environment: name=field,name=field
            pairs = [p.split("=", 1) for p in raw.split(",") if p.strip()]
            if any(len(p) != 2 for p in pairs):
                raise ValueError("fields must be name=field pairs separated by commas")
            return {k.strip(): v.strip() for k, v in pairs}
        if not isinstance(raw, Mapping) or not all(isinstance(v, str) for v in raw.values()):
            raise ValueError('fields must be a table of name = "alert field"')
        return dict(raw)
    if name in ("exchange", "quantity") and isinstance(raw, str) and raw.strip().lower() in ("", "none"):
        return None
    if name == "order_type" and isinstance(raw, str):
        return raw.upper()
    if name == "action" and isinstance(raw, str):
        return raw.lower()
    if not isinstance(raw, str):
        raise ValueError(f"{name} must be a string")
    return raw
