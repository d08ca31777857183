"""The opt-in low-latency mode (``--busy-poll`` on ``serve``, ``bot`` and ``bench ticktotrade``), all in one place.

- :mod:`.busypoll`: :class:`~.busypoll.BusyPoll`, the event loop spinning instead of sleeping in ``epoll_wait``, and
  running warmers every millisecond from the spin (held while the intent journal's writer thread commits);
- :mod:`.orderpath`: the server's warmer, re-running the pure steps of the last order placed on each venue;
- :mod:`.decision`: the bot's warmer, re-running the pure steps of a decision;
- :mod:`.contention`: the spin held while its thread keeps losing its core to other tasks (a sleeping loop is woken
  sooner than a spinning one gets its turn back);
- :mod:`.priority`: the process's scheduling weight raised (nice :data:`~.priority.NICE`, and its session's autogroup)
  while spinning, so other load on the machine takes the spinning core from it less often and for shorter;
- :mod:`.heap`: the start-up heap frozen out of the garbage collector's full collections (:func:`gc.freeze`), so a
  collection that runs mid-trading walks only what was allocated since.

The composition root (``serve``, ``bot``, the benchmarks) calls one function per process kind, only when
``--busy-poll`` is on: :func:`attach_server` or :func:`attach_bot`; each starts spinning the running loop with its
warmer and returns a :class:`Tuning` to stop it with. The product code knows nothing of this package: the warmers reach
it through generic public seams only (the desk's :attr:`~tradingmcp.server.trading.desk.TradingDesk.in_flight` count
and :attr:`~tradingmcp.server.trading.desk.TradingDesk.placement_observers`, the intent journal's count of
:attr:`~tradingmcp.server.trading.journalwriter.JournalWriter.pending` writes, the pure functions an order or a decision
runs, the bot core's public state and :attr:`~tradingmcp.client.bot.market.MarketState.book_ticker_wire`).

The warmer modules import the server or the bot; they are imported when attached, so a process loads only its own.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from tradingmcp.perf import heap, priority
from tradingmcp.perf.busypoll import BusyPoll
from tradingmcp.perf.contention import Contention

if TYPE_CHECKING:
    from tradingmcp.client.bot.core import BotCore
    from tradingmcp.server.trading.desk import TradingDesk

WARM_EVERY_S = 0.001
"""How often the spin runs the warmer (s): often enough to keep a path warm, at a few % of the spinning core."""

SWITCH_INTERVAL_S = 0.0002
"""The interpreter's switch interval while a server with an intent journal is attached (s; CPython's default is
5 ms): about how long the journal's writer thread, back from the disk, waits for the GIL that the loop's Python
code holds before the loop is made to hand it over (:func:`sys.setswitchinterval`)."""


class Warmer(Protocol):
    """What :class:`Tuning` runs from the spin: ``warm()`` (side-effect free) and its count of ``runs``."""

    runs: int

    def warm(self) -> None: ...


class Tuning:
    """One process's low-latency mode, attached: the spinning :attr:`poller`, its :attr:`warmer` (None when there
    is nothing to warm, e.g. ``serve`` without an exchange), the scheduling :attr:`priority` claimed (None when not
    asked for), the :attr:`contention` check that holds the spin (None when not asked for) and the start-up heap
    :attr:`frozen` out of full collections (None when not asked for). :meth:`stop` ends them (idempotent)."""

    def __init__(
        self,
        poller: BusyPoll,
        warmer: Warmer | None,
        detach: Callable[[], None] = lambda: None,
        claim: priority.Claim | None = None,
        contention: Contention | None = None,
        frozen: heap.Frozen | None = None,
    ) -> None:
        self.poller = poller
        self.warmer = warmer
        self.priority = claim
        self.contention = contention
        self.frozen = frozen
        self._detach = detach

    @property
    def spins(self) -> int:
        """Loop iterations the spin ran."""
        return self.poller.spins

    @property
    def warm_runs(self) -> int:
        """Warmer runs that were not held off (0 without a warmer)."""
        return self.warmer.runs if self.warmer is not None else 0

    def stop(self) -> None:
        """Stop spinning (the loop sleeps in its poller again when idle) and detach the warmer."""
        self.poller.stop()
        self._detach()
        self._detach = lambda: None
        if self.priority is not None:
            self.priority.release()
        if self.frozen is not None:
            self.frozen.thaw()


def _claim(nice: int | None) -> priority.Claim | None:
    return None if nice is None else priority.claim(nice)


def _freeze(on: bool) -> heap.Frozen | None:
    return heap.freeze() if on else None


def _hold(first: Callable[[], bool] | None, contention: Contention | None) -> Callable[[], bool] | None:
    if contention is None:
        return first
    if first is None:
        return contention

    def either() -> bool:
        return first() or contention()

    return either


def attach_server(
    desk: TradingDesk | None,
    warm_every_s: float = WARM_EVERY_S,
    nice: int | None = priority.NICE,
    yield_when_contended: bool = True,
    freeze_heap: bool = True,
) -> Tuning:
    """Spin the running loop and keep ``desk``'s order path warm (:class:`~.orderpath.OrderPathWarmer`, told of
    every placement as one of the desk's placement observers); only spin when ``desk`` is None. The spin is held while
    the desk's intent journal has writes pending (its writer thread needs the GIL and a core to commit an order's
    intent: :class:`~.busypoll.BusyPoll`'s ``hold``), and with a journal the interpreter's switch interval is
    :data:`SWITCH_INTERVAL_S` until :meth:`Tuning.stop`. The process runs at ``nice`` (:func:`.priority.claim`; None:
    its priority is left alone) until then too, and with ``yield_when_contended`` the spin is also held while the
    loop's thread keeps losing its core to other tasks (:class:`~.contention.Contention`). With ``freeze_heap`` the
    objects alive now are left out of the garbage collector's full collections until then (:func:`.heap.freeze`;
    call it once the server has started)."""
    contention = Contention() if yield_when_contended else None
    frozen = _freeze(freeze_heap)
    if desk is None:
        poller = BusyPoll(asyncio.get_running_loop(), hold=_hold(None, contention)).start()
        return Tuning(poller, None, claim=_claim(nice), contention=contention, frozen=frozen)
    from tradingmcp.perf.orderpath import OrderPathWarmer

    warmer = OrderPathWarmer(desk)
    desk.placement_observers.append(warmer.remember)

    journal_hold = None
    switch_interval = sys.getswitchinterval()
    if desk.journal is not None:
        writer = desk.journal.writer

        def journal_hold() -> bool:
            return writer.pending > 0

        sys.setswitchinterval(SWITCH_INTERVAL_S)

    def detach() -> None:
        if warmer.remember in desk.placement_observers:
            desk.placement_observers.remove(warmer.remember)
        sys.setswitchinterval(switch_interval)

    hold = _hold(journal_hold, contention)
    poller = BusyPoll(asyncio.get_running_loop(), [warmer.warm], warm_every_s, hold).start()
    return Tuning(poller, warmer, detach, _claim(nice), contention, frozen)


def attach_bot(
    core: BotCore,
    warm_every_s: float = WARM_EVERY_S,
    nice: int | None = priority.NICE,
    yield_when_contended: bool = True,
    freeze_heap: bool = True,
) -> Tuning:
    """Spin the running loop and keep ``core``'s decision path warm (:class:`~.decision.DecisionWarmer`); the process
    runs at ``nice`` (:func:`.priority.claim`; None: left alone) until :meth:`Tuning.stop`, with
    ``yield_when_contended`` the spin is held while the loop's thread keeps losing its core to other tasks
    (:class:`~.contention.Contention`), and with ``freeze_heap`` the objects alive now are left out of full
    collections until then (:func:`.heap.freeze`)."""
    from tradingmcp.perf.decision import DecisionWarmer

    warmer = DecisionWarmer(core)
    contention = Contention() if yield_when_contended else None
    frozen = _freeze(freeze_heap)
    poller = BusyPoll(asyncio.get_running_loop(), [warmer.warm], warm_every_s, _hold(None, contention)).start()
    return Tuning(poller, warmer, claim=_claim(nice), contention=contention, frozen=frozen)


__all__ = [
    "SWITCH_INTERVAL_S",
    "WARM_EVERY_S",
    "BusyPoll",
    "Contention",
    "Tuning",
    "Warmer",
    "attach_bot",
    "attach_server",
]
