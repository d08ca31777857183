"""The exchanges a server bridges (its *venues*): each an adapter, a mode, and a fan-out of its account events.

Every tool takes an optional ``exchange`` argument (``binance``, ``mexc``) and resolves it here; without one the
server's default venue is used. Resolving it also checks the arguments that reach the venue against the venue's own
rules (:mod:`tradingmcp.server.venue_args`): the tool boundary where malformed ids and symbols are refused (-32602).
``mode`` says what is really behind the adapter: ``sim`` (the embedded simulator), ``testnet`` (Binance Spot Testnet),
``demo`` (Binance Demo Trading: mainnet prices, paper funds) or ``live`` (real money) — trading safety rules key off
it; :data:`ENVIRONMENTS` spells it out for the agent (``simulator``, ``testnet``, ``demo``, ``live``). ``account`` is an
identifier of the venue's account that is safe to show (:func:`key_hint`), never a secret.

An adapter has one account-event iterator (:meth:`ExchangeAdapter.user_events`); several consumers need it (the
portfolio ledger, the ``orders:``/``balances:`` push streams, ``wait_for_event``, the audit log), so a
:class:`UserEventBus` reads it once and calls each listener synchronously, in arrival order.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from tradingmcp.server.exchanges.base import ExchangeAdapter
from tradingmcp.server.exchanges.capabilities import capabilities_of
from tradingmcp.server.exchanges.eventqueue import Consumer
from tradingmcp.server.exchanges.models import StreamStatus, UserEvent
from tradingmcp.server.exchanges.paramrules import ParamRules, rules_for
from tradingmcp.server.live.tickers import TickerCache
from tradingmcp.server.mcp.registry import McpApp, ToolError
from tradingmcp.server.venue_args import check_venue_args

log = logging.getLogger("tradingmcp.server.venues")

Mode = Literal["sim", "testnet", "demo", "live"]
UserListener = Callable[[UserEvent], None]

ENVIRONMENTS: dict[str, str] = {"sim": "simulator", "testnet": "testnet", "demo": "demo", "live": "live"}
"""The word each mode is shown as (``get_server_status``'s ``environment``)."""
SIMULATOR_ACCOUNT = "simulator account"
"""The ``account`` of a simulator venue."""
VENUES_CAPABILITY = "tradingmcp/venues"
"""Key of the venues in the handshake's ``capabilities.experimental`` (:meth:`Venues.announce`)."""
_NOT_ANNOUNCED = ("account", "capabilities")
"""Fields of :meth:`Venue.describe` the handshake leaves out (:meth:`Venues.announcement`)."""
KEY_HINT_MIN_LENGTH = 16
"""Shortest API key :func:`key_hint` shows a part of (8 characters of a shorter key would give most of it away)."""


def key_hint(api_key: str) -> str:
    """An account identifier safe to show: ``API key abcd...wxyz`` (the key's first and last 4 characters; real
    Binance and MEXC keys are far longer), or ``API key (not shown)`` for a key under :data:`KEY_HINT_MIN_LENGTH`
    characters. Only ever given the public API key, never its secret."""
    if len(api_key) < KEY_HINT_MIN_LENGTH:
        return "API key (not shown)"
    return f"API key {api_key[:4]}...{api_key[-4:]}"


class UserEventBus:
    """Reads ``adapter.user_events()`` once and hands every event to each listener (sync callbacks; must not block).

    When the adapter's stream offers ``listen`` (:class:`~tradingmcp.server.exchanges.eventqueue.EventStream`, both
    adapters), events are dispatched synchronously as the adapter queues them (for Binance: inside the frame callback
    of the WebSocket API connection), with no task hop before the ``orders:``/``balances:`` push; otherwise a task
    reads the stream. A listener that raises is logged and kept. ``add_listener`` returns a function that removes it.
    """

    def __init__(self, adapter: ExchangeAdapter) -> None:
        self._adapter = adapter
        self._listeners: list[UserListener] = []
        self._consumer: Consumer | None = None
        self.events = 0

    def add_listener(self, listener: UserListener) -> Callable[[], None]:
        self._listeners.append(listener)

        def remove() -> None:
            with contextlib.suppress(ValueError):
                self._listeners.remove(listener)

        return remove

    async def start(self) -> None:
        """Open the account's user data stream, wait until it is subscribed, and start dispatching (idempotent).

        A subscription that is not acknowledged in time is logged; the adapter keeps trying in the background.
        """
        if self._consumer is not None:
            return
        try:
            await self._adapter.start_user_stream()
        except TimeoutError:
            log.warning("%s user data stream not subscribed yet; events may start late", self._adapter.name)
        self._consumer = Consumer(self._adapter.user_events(), self._dispatch)

    async def close(self) -> None:
        if self._consumer is not None:
            await self._consumer.close()
            self._consumer = None

    def _dispatch(self, ev: UserEvent | StreamStatus) -> None:
        self.events += 1
        for listener in list(self._listeners):
            try:
                listener(ev)
            except Exception:
                log.exception("user event listener failed")


@dataclass
class Venue:
    """One bridged exchange. ``sim`` is the embedded simulator object when ``mode == "sim"`` (else None); ``rules``
    what the exchange accepts in ids, symbols and intervals (by ``name``); ``account`` the identifier of its account
    that may be shown (:func:`key_hint` of the API key; None: :data:`SIMULATOR_ACCOUNT` on the simulator).

    ``tickers`` is the venue's latest best bid/ask per symbol, written by its market stream bridge and read by the
    pre-trade checks, and the symbols it trades (whose ``book_ticker`` stream the bridge keeps); ``user`` fans out its
    account events.
    """

    name: str
    adapter: ExchangeAdapter
    mode: Mode
    sim: Any = None
    tickers: TickerCache = field(default_factory=TickerCache)
    account: str | None = None
    user: UserEventBus = field(init=False)
    rules: ParamRules = field(init=False)

    def __post_init__(self) -> None:
        self.user = UserEventBus(self.adapter)
        self.rules = rules_for(self.name)

    @property
    def environment(self) -> str:
        """``simulator``, ``testnet``, ``demo`` or ``live`` (:data:`ENVIRONMENTS` of ``mode``)."""
        return ENVIRONMENTS.get(self.mode, self.mode)

    @property
    def real_money(self) -> bool:
        """True on a live venue: its orders move real funds."""
        return self.mode == "live"

    def describe(self) -> dict[str, Any]:
        """Where this venue trades: ``{exchange, mode, environment, real_money, account}`` (``mode`` the internal
        name the order results, the audit log and ``/metrics`` carry; ``environment`` its word; ``account`` never a
        secret), and ``capabilities`` (order types, streams: :func:`~tradingmcp.server.exchanges.capabilities
        .capabilities_of`) when known."""
        account = self.account or (SIMULATOR_ACCOUNT if self.mode == "sim" else "API key (not shown)")
        out = {
            "exchange": self.name,
            "mode": self.mode,
            "environment": self.environment,
            "real_money": self.real_money,
            "account": account,
        }
        capabilities = capabilities_of(self.name, self.adapter)
        if capabilities is not None:
            out["capabilities"] = capabilities
        return out


class Venues:
    """The server's venues by name, and the default one (the first given unless named)."""

    def __init__(self, venues: list[Venue], default: str | None = None) -> None:
        if not venues:
            raise ValueError("at least one venue is needed")
        self.by_name = {v.name: v for v in venues}
        self.default = default or venues[0].name
        if self.default not in self.by_name:
            raise ValueError(f"default venue {self.default!r} is not configured")

    @property
    def names(self) -> list[str]:
        return list(self.by_name)

    def __iter__(self) -> Any:
        return iter(self.by_name.values())

    def get(self, name: str | None = None) -> Venue:
        """The venue called ``name`` (case-insensitive), or the default one when None.

        Raises:
            ToolError: ``unknown_exchange`` when no such venue is configured.
        """
        if name is None:
            return self.by_name[self.default]
        venue = self.by_name.get(name.lower())
        if venue is None:
            raise ToolError(
                f"exchange {name!r} is not configured on this server; available: {', '.join(self.names)}",
                "unknown_exchange",
                {"available": self.names},
            )
        return venue

    def for_args(self, args: dict[str, Any]) -> Venue:
        """The venue named by a tool's ``exchange`` argument (default when absent), after checking the arguments that
        reach it against its rules (:func:`~tradingmcp.server.venue_args.check_venue_args`).

        Raises:
            ToolError: ``unknown_exchange``. JsonRpcError: -32602 naming an argument the venue would not accept.
        """
        venue = self.get(args.get("exchange"))
        check_venue_args(venue.rules, args)
        return venue

    def listing(self) -> str:
        """Each venue and the word of its mode, the default marked: ``binance (simulator, default), mexc (live)``."""
        return ", ".join(f"{v.name} ({v.environment}{', default' if v.name == self.default else ''})" for v in self)

    def summary(self) -> str:
        """Where the server trades, in a sentence or two for the model (the handshake's ``instructions``), e.g.
        ``Venues: binance (simulator, default), mexc (live). Orders on mexc use real money.``"""
        live = [v.name for v in self if v.real_money]
        money = f"Orders on {', '.join(live)} use real money." if live else "No venue trades real money."
        return f"Venues: {self.listing()}. {money}"

    def announcement(self) -> dict[str, Any]:
        """The venues for the handshake's ``capabilities.experimental`` (:data:`VENUES_CAPABILITY`):
        ``{default, venues: [{exchange, mode, environment, real_money, default}]}``. No account: a ``server/discover``
        result may be cached and shared (``cacheScope: public``); no capabilities (``get_server_status`` has them)."""
        return {
            "default": self.default,
            "venues": [
                {
                    **{k: x for k, x in v.describe().items() if k not in _NOT_ANNOUNCED},
                    "default": v.name == self.default,
                }
                for v in self
            ],
        }

    def announce(self, app: McpApp) -> None:
        """Tell clients where ``app`` trades when they connect: :meth:`summary` added to its ``instructions``,
        ``serverInfo.description`` naming the venues, and :meth:`announcement` under
        ``capabilities.experimental["tradingmcp/venues"]``."""
        app.add_instructions(self.summary())
        app.description = f"Crypto exchange bridge over MCP: {self.listing()}"
        app.experimental[VENUES_CAPABILITY] = self.announcement()

    def schema(self) -> dict[str, Any]:
        """JSON Schema of the optional ``exchange`` tool argument."""
        return {
            "type": "string",
            "enum": self.names,
            "description": f"exchange to use (default {self.default})",
        }
