"""Placing one order with a lookup after an unknown outcome: the policy every venue's ``place_order`` runs.

A placement that times out, loses its connection after the request was written, or gets a 5xx answer has an UNKNOWN
outcome (Binance, https://developers.binance.com/docs/binance-spot-api-docs/rest-api/general-api-information: "the
execution status is UNKNOWN and could have been a success"; MEXC's 5xx alike): the exchange may hold the order or
not. Sending it again blindly could create a second order (an exchange refuses a client order id only while an order
with it is open, so a filled MARKET order's id is free again), so :func:`place_with_lookup`:

1. sends the order;
2. on :class:`~tradingmcp.server.exchanges.errors.ExchangeUnavailable` looks it up by its client order id
   (``origClientOrderId``):

   * found: that is the order; nothing is sent again;
   * surely absent (:class:`~tradingmcp.server.exchanges.errors.UnknownOrder`): sends it again, at most
     ``max_sends`` sends in all (the order never reached the exchange, so this cannot make a second one);
   * the lookup fails: stops, sending nothing more, and raises ``ExchangeUnavailable`` saying the outcome is unknown
     and to query by client order id before placing it again;

3. when the last allowed send had an unknown outcome too and the order is still absent, raises the same kind of
   ``ExchangeUnavailable`` (that send may yet arrive).

Every other error of a send or a lookup (a rejection, a rate limit...) propagates as it is. The function does no I/O
of its own: the caller gives the venue's two calls, ``send`` and ``lookup``, and the policy lives only here.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from tradingmcp.server.exchanges.errors import ExchangeError, ExchangeUnavailable, UnknownOrder

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Placed(Generic[T]):
    """What :func:`place_with_lookup` settled on.

    Attributes:
        order: the order as the exchange answered the send, or as the lookup found it.
        found_after_unknown_outcome: True when a send's outcome was unknown and the lookup found the order (``order``
            is then the lookup's answer, not a placement reply).
        sends: how many times the order was sent (1, or 2 after the exchange said it had no such order).
    """

    order: T
    found_after_unknown_outcome: bool = False
    sends: int = 1


async def place_with_lookup(
    send: Callable[[], Awaitable[T]],
    lookup: Callable[[], Awaitable[T]],
    client_order_id: str,
    *,
    max_sends: int = 2,
) -> Placed[T]:
    """Send an order, settling an unknown outcome by client order id (see the module docstring).

    Args:
        send: places the order (the same request, with ``client_order_id``, every time it is called); raises
            ``ExchangeUnavailable`` when the outcome is unknown.
        lookup: asks the exchange for the order with ``client_order_id``; raises ``UnknownOrder`` when it has none.
        client_order_id: the order's client order id (named in the errors).
        max_sends: the most times ``send`` is called (≥ 1).

    Returns:
        The order and how it was settled.

    Raises:
        ExchangeUnavailable: the outcome is still unknown (a lookup failed, or the last send's outcome was unknown
            and the order is not there yet); its message says to query the order by ``client_order_id`` before
            placing it again; its ``__cause__`` is the failed lookup's error, or the last send's.
        ExchangeError: any other failure of a send or a lookup, unchanged.
        ValueError: ``max_sends`` below 1.
    """
    if max_sends < 1:
        raise ValueError(f"max_sends must be at least 1, not {max_sends}")
    sends = 0
    while True:
        sends += 1
        try:
            return Placed(await send(), False, sends)
        except ExchangeUnavailable as exc:
            unknown = exc
        try:
            found = await lookup()
        except UnknownOrder:
            pass
        except ExchangeError as exc:
            raise _still_unknown(client_order_id, unknown, f"checking it failed ({exc})") from exc
        else:
            log.info("order %s had an unknown outcome and was found by its client order id", client_order_id)
            return Placed(found, True, sends)
        if sends >= max_sends:
            why = f"the exchange does not hold it after send {sends} of {max_sends}"
            raise _still_unknown(client_order_id, unknown, why) from unknown
        log.info("order %s was not placed (unknown outcome, not found); sending it again", client_order_id)


def _still_unknown(client_order_id: str, unknown: ExchangeUnavailable, why: str) -> ExchangeUnavailable:
    """The error for an outcome that stays unknown: the send's failure, why it is not settled, and what to do."""
    return ExchangeUnavailable(
        f"placing order {client_order_id} had an unknown outcome ({unknown}) and {why}; query "
        f"get_order(client_order_id={client_order_id!r}) before placing it again",
        exchange=unknown.exchange,
        code=unknown.code,
        status=unknown.status,
        exchange_message=unknown.exchange_message,
    )
