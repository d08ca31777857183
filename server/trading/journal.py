"""The intent journal: every order's intent written durably before it leaves for the exchange, and the rail events
(limit breaches) that must outlive the process.

Journaled: every order the desk sends through :meth:`~tradingmcp.server.trading.desk.TradingDesk.send_journaled`
(``place_order``, ``place_orders_batch``, ``replace_order``'s new order) under its client order id, and every OCO list
(``place_oco``) under its list client order id with the type :data:`OCO` (its limit leg's side, quantity and price);
the reconciliation looks an order up by client order id and a list by list client order id.

Why: between "the server sent the order" and "the exchange answered" the process can die (SIGKILL, a power cut). The
exchange may or may not have the order; the caller never got an answer. On the next start every intent without a
known outcome is looked up on the exchange by its client order id and settled (``placed`` / ``not_placed``); see
:meth:`~tradingmcp.server.trading.desk.TradingDesk.reconcile_intents`.

Storage: one SQLite file (stdlib :mod:`sqlite3`) in WAL mode with ``synchronous=FULL``, so a committed row survives a
crash of the process and of the machine (https://www.sqlite.org/pragma.html#pragma_synchronous); with durability
``process`` (``[safety] intent_durability``) the commit is ``synchronous=NORMAL``: it survives a crash of the process,
not a power cut, and saves the sync's wait on every order. Every write goes
through the journal's writer thread (:mod:`.journalwriter`), never the event loop: :meth:`IntentJournal.record`
returns a future the order path awaits, completed once the intent is committed to disk, so the loop keeps serving
every other client while the disk syncs, and intents recorded at the same time share one commit (group commit).
Writes that need no sync on the order path are ``durable=False``: an outcome (:meth:`IntentJournal.settle`) is queued
and not waited for, since a lost one only leaves the intent to be looked up again at the next start. A rail event
(:meth:`IntentJournal.add_rail_event`) is waited for on disk, as before anything else is done about the breach.

Reads (:meth:`IntentJournal.get`, :meth:`~IntentJournal.unsettled`, ...) run on a connection of their own and see
what is committed; ``await`` :meth:`IntentJournal.flush` first to see every write queued so far (an outcome just
settled).

Tables:

* ``intents``: ``(venue, client_order_id)`` key; ``symbol``, ``side``, ``type``, ``quantity``, ``price``,
  ``quote_quantity`` (decimal text, NULL when absent), ``caller`` (token name), ``created_ms``; ``outcome``
  (NULL while unknown, else one of :data:`OUTCOMES`), ``order_id``, ``status`` (the exchange's), ``settled_ms``,
  ``note`` (why, e.g. the error code of a refusal or ``reconciled at start-up``).
* ``rail_events``: ``venue``, ``day`` (UTC days since the epoch), ``rule``, ``time_ms``, ``detail`` (JSON text): the
  loss limits' latched breaches (:mod:`.losslimits`).

Times are ms since the epoch (local wall clock).
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from tradingmcp.server.exchanges.models import OrderRequest
from tradingmcp.server.exchanges.wire import plain
from tradingmcp.server.trading.journalwriter import JournalWriter

JOURNAL_NAME = "journal.sqlite3"
"""File name of the journal in the server's data directory (beside the audit log)."""

PLACED = "placed"
NOT_PLACED = "not_placed"
REJECTED = "rejected"
OUTCOMES = (PLACED, NOT_PLACED, REJECTED)
"""``placed``: the exchange has the order; ``not_placed``: the exchange has no order with the id (looked up);
``rejected``: the exchange answered with a refusal."""
OCO = "OCO"
"""The ``type`` of an OCO list's intent (its ``client_order_id`` is the list client order id)."""

DURABILITY = {"machine": "FULL", "process": "NORMAL"}
"""What a recorded intent survives → the SQLite ``synchronous`` level of its commit: ``machine`` (a crash of the
process or of the machine; the commit waits for the sync) or ``process`` (a crash of the process only)."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS intents (
    venue TEXT NOT NULL,
    client_order_id TEXT NOT NULL,
    symbol TEXT NOT NULL,
    side TEXT NOT NULL,
    type TEXT NOT NULL,
    quantity TEXT,
    price TEXT,
    quote_quantity TEXT,
    caller TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    outcome TEXT,
    order_id TEXT,
    status TEXT,
    settled_ms INTEGER,
    note TEXT,
    PRIMARY KEY (venue, client_order_id)
);
CREATE INDEX IF NOT EXISTS intents_open ON intents (venue, outcome);
CREATE INDEX IF NOT EXISTS intents_symbol ON intents (venue, symbol, created_ms);
CREATE TABLE IF NOT EXISTS rail_events (
    id INTEGER PRIMARY KEY,
    venue TEXT NOT NULL,
    day INTEGER NOT NULL,
    rule TEXT NOT NULL,
    time_ms INTEGER NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS rail_events_day ON rail_events (venue, day);
"""

_COLUMNS = (
    "venue, client_order_id, symbol, side, type, quantity, price, quote_quantity, caller, created_ms, outcome, "
    "order_id, status, settled_ms, note"
)


@dataclass(frozen=True, slots=True)
class Intent:
    """One order's intent as journaled (decimals as text, None when the order has no such field)."""

    venue: str
    client_order_id: str
    symbol: str
    side: str
    type: str
    quantity: str | None
    price: str | None
    quote_quantity: str | None
    caller: str
    created_ms: int
    outcome: str | None = None
    order_id: str | None = None
    status: str | None = None
    settled_ms: int | None = None
    note: str | None = None

    @classmethod
    def of(cls, venue: str, request: OrderRequest, caller: str, created_ms: int) -> Intent:
        """The intent of ``request`` (its ``client_order_id`` must be set) sent by ``caller`` on ``venue``."""
        assert request.client_order_id, "an order is journaled under its client order id"
        return cls(
            venue,
            request.client_order_id,
            request.symbol,
            str(request.side),
            str(request.type),
            _text(request.quantity),
            _text(request.price),
            _text(request.quote_order_qty),
            caller,
            created_ms,
        )

    @classmethod
    def of_oco(
        cls, venue: str, list_client_order_id: str, limit_leg: OrderRequest, caller: str, created_ms: int
    ) -> Intent:
        """The intent of an OCO list placed with ``list_client_order_id`` whose limit leg is ``limit_leg`` (symbol,
        side, quantity and price; the stop leg has the same side and quantity)."""
        return cls(
            venue,
            list_client_order_id,
            limit_leg.symbol,
            str(limit_leg.side),
            OCO,
            _text(limit_leg.quantity),
            _text(limit_leg.price),
            None,
            caller,
            created_ms,
        )

    @property
    def is_list(self) -> bool:
        """True for an OCO list's intent (looked up by list client order id)."""
        return self.type == OCO

    def json(self) -> dict[str, Any]:
        """``{client_order_id, symbol, side, type, quantity, price, quote_quantity, caller, created_ms, outcome,
        order_id, status, settled_ms, note}`` (``outcome`` None: not known yet)."""
        return {
            "client_order_id": self.client_order_id,
            "symbol": self.symbol,
            "side": self.side,
            "type": self.type,
            "quantity": self.quantity,
            "price": self.price,
            "quote_quantity": self.quote_quantity,
            "caller": self.caller,
            "created_ms": self.created_ms,
            "outcome": self.outcome,
            "order_id": self.order_id,
            "status": self.status,
            "settled_ms": self.settled_ms,
            "note": self.note,
        }


def _text(value: Decimal | None) -> str | None:
    return None if value is None else plain(value)


class IntentJournal:
    """The journal file (see the module docstring). Writes go through its writer thread; reads run on a connection of
    their own under a lock. Every method may be called from the event loop or a worker thread; :meth:`record` and
    :meth:`flush` need a running event loop.

    Raises (every method): ``sqlite3.Error`` when the file cannot be written or read (a write's future carries it);
    ``RuntimeError`` for a write after :meth:`close`.
    """

    def __init__(self, path: str | Path, durability: str = "machine") -> None:
        """``durability``: ``machine`` (durable commits synced to disk) or ``process`` (reach the OS, unsynced).

        Raises:
            ValueError: another ``durability``.
        """
        if durability not in DURABILITY:
            raise ValueError(f"durability must be one of {', '.join(DURABILITY)}, got {durability!r}")
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.writer = JournalWriter(self.path, _SCHEMA, durable_sync=DURABILITY[durability])
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)

    def durability(self) -> tuple[str, str]:
        """The writer connection's ``(journal_mode, synchronous)`` in a durable commit, as SQLite reports them:
        ``("wal", "FULL")``, or ``("wal", "NORMAL")`` with durability ``process``. Blocks until the writer ran it."""

        def read(db: sqlite3.Connection) -> tuple[str, int]:
            mode = str(db.execute("PRAGMA journal_mode").fetchone()[0])
            return mode, int(db.execute("PRAGMA synchronous").fetchone()[0])

        mode, level = self.writer.submit(read, durable=True).result()
        return mode, {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}.get(level, str(level))

    def record(self, intent: Intent) -> asyncio.Future[None]:
        """Queue ``intent`` (outcome unknown) for a durable write; a former intent under the same id is replaced (an
        id whose order was not placed may be used again). Returns a future of the running loop, done once the intent
        is committed to disk (``sqlite3.Error`` when it could not be); cancelled before its commit started, the intent
        is not written."""
        row = (
            intent.venue,
            intent.client_order_id,
            intent.symbol,
            intent.side,
            intent.type,
            intent.quantity,
            intent.price,
            intent.quote_quantity,
            intent.caller,
            intent.created_ms,
        )

        def write(db: sqlite3.Connection) -> None:
            db.execute(_RECORD, row)

        return asyncio.wrap_future(self.writer.submit(write, durable=True), loop=asyncio.get_running_loop())

    def settle(
        self,
        venue: str,
        client_order_id: str,
        outcome: str,
        time_ms: int,
        order_id: int | str | None = None,
        status: str | None = None,
        note: str | None = None,
    ) -> None:
        """Queue the outcome (one of :data:`OUTCOMES`) of the intent ``client_order_id`` on ``venue``; returns at once.

        Not waited for on disk: an outcome lost in a crash leaves the intent open, and the next start looks it up
        again (the answer is the same). A failed write is logged by the writer.

        Raises:
            ValueError: ``outcome`` is not one of :data:`OUTCOMES`."""
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {OUTCOMES}, got {outcome!r}")
        params = (outcome, None if order_id is None else str(order_id), status, time_ms, note, venue, client_order_id)

        def write(db: sqlite3.Connection) -> None:
            db.execute(
                "UPDATE intents SET outcome=?, order_id=?, status=?, settled_ms=?, note=? "
                "WHERE venue=? AND client_order_id=?",
                params,
            )

        self.writer.submit(write, durable=False)

    async def flush(self) -> None:
        """Wait until every write queued so far is committed (reads see them from then on)."""
        await asyncio.wrap_future(self.writer.submit(_nothing, durable=False), loop=asyncio.get_running_loop())

    def get(self, venue: str, client_order_id: str) -> Intent | None:
        """The intent ``client_order_id`` of ``venue`` as committed, or None."""
        rows = self._select("WHERE venue=? AND client_order_id=?", (venue, client_order_id))
        return rows[0] if rows else None

    def unsettled(self, venue: str) -> list[Intent]:
        """Intents of ``venue`` whose outcome is unknown, oldest first."""
        return self._select("WHERE venue=? AND outcome IS NULL ORDER BY created_ms, client_order_id", (venue,))

    def recent(self, venue: str, symbol: str, limit: int) -> list[Intent]:
        """The newest ``limit`` intents of ``symbol`` on ``venue``, oldest first."""
        rows = self._select(
            "WHERE venue=? AND symbol=? ORDER BY created_ms DESC, client_order_id DESC LIMIT ?", (venue, symbol, limit)
        )
        return rows[::-1]

    def symbols_since(self, venue: str, since_ms: int) -> list[str]:
        """Symbols of ``venue`` with an intent created at or after ``since_ms`` that may have reached the exchange
        (outcome ``placed`` or unknown), sorted."""
        with self._lock:
            cur = self._db.execute(
                "SELECT DISTINCT symbol FROM intents WHERE venue=? AND created_ms>=? "
                "AND (outcome IS NULL OR outcome=?) ORDER BY symbol",
                (venue, since_ms, PLACED),
            )
            return [str(r[0]) for r in cur.fetchall()]

    def add_rail_event(self, venue: str, day: int, rule: str, time_ms: int, detail: dict[str, Any]) -> None:
        """Write a rail event (a latched limit breach) of UTC day ``day`` durably; blocks until it is on disk (a
        breach is rare, and nothing else is done about it before it is journaled)."""
        params = (venue, day, rule, time_ms, orjson.dumps(detail).decode())

        def write(db: sqlite3.Connection) -> None:
            db.execute("INSERT INTO rail_events (venue, day, rule, time_ms, detail) VALUES (?,?,?,?,?)", params)

        self.writer.submit(write, durable=True).result()

    def rail_events(self, venue: str, day: int) -> list[tuple[str, int, dict[str, Any]]]:
        """``(rule, time_ms, detail)`` of ``venue``'s rail events on UTC day ``day``, oldest first."""
        with self._lock:
            cur = self._db.execute(
                "SELECT rule, time_ms, detail FROM rail_events WHERE venue=? AND day=? ORDER BY id", (venue, day)
            )
            return [(str(r[0]), int(r[1]), orjson.loads(r[2])) for r in cur.fetchall()]

    def _select(self, where: str, params: tuple[Any, ...]) -> list[Intent]:
        with self._lock:
            cur = self._db.execute(f"SELECT {_COLUMNS} FROM intents {where}", params)
            return [Intent(*row) for row in cur.fetchall()]

    def close(self) -> None:
        """Commit every queued write, stop the writer thread and close both connections (blocks until done)."""
        self.writer.close()
        with self._lock:
            self._db.close()


_RECORD = f"INSERT OR REPLACE INTO intents ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,NULL,NULL,NULL,NULL,NULL)"


def _nothing(db: sqlite3.Connection) -> None:
    """The write of :meth:`IntentJournal.flush`: none, its commit marks the queue's position."""
