"""Placing and canceling orders on top of :class:`~tradingmcp.sim.core.EngineCore`.

Placement is split so order lists and cancelReplace can be all-or-nothing: :meth:`OrderDesk.validate` runs the
filters, :meth:`OrderDesk.precheck` the execution-time rejections (duplicate clientOrderId, LIMIT_MAKER that would
take, stop that would trigger, balance), and :meth:`OrderDesk.execute` changes state.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tradingmcp.sim import render
from tradingmcp.sim.core import EngineCore
from tradingmcp.sim.errors import (
    MSG_CANCEL_RESTRICTED,
    MSG_WOULD_TAKE,
    MSG_WOULD_TRIGGER,
    cancel_rejected,
    duplicate_order,
    insufficient_balance,
    order_rejected,
)
from tradingmcp.sim.execution import TakerPlan, plan_taker, would_cross, would_trigger
from tradingmcp.sim.filters import check_new_order
from tradingmcp.sim.order_request import NewOrder
from tradingmcp.sim.state import OPEN_STATUSES, ZERO, Account, Order, Trade


class OrderDesk(EngineCore):
    """Order placement and cancellation primitives (request parsing lives in the subclass)."""

    # ---- lookups -------------------------------------------------------------------------------------------------

    def open_of(self, acct: Account, symbol: str | None = None) -> list[Order]:
        """The account's open orders (on ``symbol``, or all), oldest first."""
        if symbol is None:
            return [o for o in acct.open_orders.values() if o.status in OPEN_STATUSES]
        return [o for o in acct.open_orders.values() if o.symbol == symbol and o.status in OPEN_STATUSES]

    def find_order(self, acct: Account, symbol: str, order_id: int | None, client_order_id: str | None) -> Order | None:
        """The account's order by ``orderId`` or by ``origClientOrderId`` (an open one first, else the newest)."""
        if order_id is not None:
            order = self.orders.get((symbol, order_id))
            return order if order is not None and order.api_key == acct.api_key else None
        if client_order_id is None:
            return None
        for order in reversed(acct.open_orders.values()):
            if order.symbol == symbol and order.client_order_id == client_order_id and order.is_open:
                return order
        return acct.newest_by_client_id.get((symbol, client_order_id))

    # ---- placing ------------------------------------------------------------------------------------------------

    def validate(
        self,
        acct: Account,
        req: NewOrder,
        *,
        new_orders: int = 1,
        new_algo_orders: int | None = None,
        open_orders: list[Order] | None = None,
    ) -> None:
        """Run the symbol filters on ``req``.

        Args:
            open_orders: the account's open orders on the symbol, when the caller has them (else built here).

        Raises:
            BinanceError: -1013 ``Filter failure: ...`` or -1111 precision.
        """
        if open_orders is None:
            open_orders = self.open_of(acct, req.symbol)
        check_new_order(
            req.info,
            req.to_check(),
            avg_price=self.avg_price(req.symbol),
            open_orders=len(open_orders),
            open_algo_orders=sum(1 for o in open_orders if o.is_stop) if open_orders else 0,
            new_orders=new_orders,
            new_algo_orders=new_algo_orders,
        )

    def draft(self, acct: Account, req: NewOrder, now: int, *, order_list_id: int = -1) -> Order:
        """An unregistered Order for ``req`` (no id consumed yet: ``order_id`` is 0)."""
        return Order(
            api_key=acct.api_key,
            info=req.info,
            symbol=req.symbol,
            order_id=0,
            client_order_id=req.client_order_id or "",
            side=req.side,
            type=req.type,
            time_in_force=req.time_in_force,
            price=req.price or ZERO,
            orig_qty=req.quantity or ZERO,
            orig_quote_order_qty=req.quote_order_qty or ZERO,
            stop_price=req.stop_price or ZERO,
            stp_mode=req.stp_mode,
            time=now,
            seq=0,
            order_list_id=order_list_id,
            update_time=now,
        )

    def precheck(
        self,
        acct: Account,
        order: Order,
        *,
        skip_client_ids: frozenset[str] = frozenset(),
        open_orders: list[Order] | None = None,
    ) -> Decimal:
        """Execution-time checks for a draft order; returns what it must lock (in its lock asset).

        Args:
            skip_client_ids: open clientOrderIds about to be canceled (cancelReplace), not counted as duplicates.
            open_orders: the account's open orders on the symbol, when the caller has them (else built here).

        Raises:
            BinanceError: -2010 "Duplicate order sent.", "Order would immediately match and take.",
                "Order would trigger immediately.", "Account has insufficient balance for requested action.".
        """
        if order.client_order_id and order.client_order_id not in skip_client_ids:
            for other in self.open_of(acct, order.symbol) if open_orders is None else open_orders:
                if other.client_order_id == order.client_order_id:
                    raise duplicate_order()
        book = self.books.get(order.symbol)
        if order.type == "LIMIT_MAKER" and book is not None:
            best = book.best_ask() if order.side == "BUY" else book.best_bid()
            if would_cross(order.side, order.price, best[0] if best else None):
                raise order_rejected(MSG_WOULD_TAKE)
        if order.is_stop:
            reference = self.reference_price(order.symbol)
            if reference is not None and would_trigger(order, reference):
                raise order_rejected(MSG_WOULD_TRIGGER)
        if order.type == "MARKET":
            plan = self.market_plan(order)
            if order.orig_quote_order_qty > ZERO:
                order.orig_qty = plan.qty
                need = order.orig_quote_order_qty if order.side == "BUY" else plan.qty
            else:
                need = plan.quote if order.side == "BUY" else order.orig_qty
        else:
            need = order.lock_needed()
        if acct.free_of(order.lock_asset) < need:
            raise insufficient_balance()
        return need

    def market_plan(self, order: Order) -> TakerPlan:
        """What a MARKET order would take from the book now."""
        book = self.books.get(order.symbol)
        lot_size = order.info.lot_size
        quote_based = order.orig_quote_order_qty > ZERO
        return plan_taker(
            book.levels(order.side) if book is not None else iter(()),
            order.side,
            quantity=None if quote_based else order.orig_qty,
            quote_qty=order.orig_quote_order_qty if quote_based else None,
            step_size=lot_size.step_size if lot_size else ZERO,
        )

    def execute(self, acct: Account, order: Order, lock: Decimal, now: int) -> list[Trade]:
        """Give the draft its ids, lock ``lock``, register it (NEW report) and let it work.

        Returns:
            The fills made while placing (for the FULL response).
        """
        order.order_id = self.next_id(f"order:{order.symbol}")
        order.seq = self.next_id("seq")
        if not order.client_order_id:
            order.client_order_id = self.new_client_id()
        acct.lock(order.lock_asset, lock)
        order.locked = lock
        is_stop = order.is_stop
        if not is_stop:
            order.working_time = now
        self.register(order)
        self.report(order, "NEW", now)
        if is_stop:
            return []
        return self.take(order, now)

    def place(self, acct: Account, req: NewOrder, now: int) -> tuple[Order, list[Trade]]:
        """Validate, precheck and execute one order.

        Raises:
            BinanceError: see :meth:`validate` and :meth:`precheck`; nothing changes on error.
        """
        open_orders = self.open_of(acct, req.symbol)  # one list for both checks: nothing changes in between
        self.validate(acct, req, open_orders=open_orders)
        order = self.draft(acct, req, now)
        lock = self.precheck(acct, order, open_orders=open_orders)
        return order, self.execute(acct, order, lock, now)

    @staticmethod
    def respond(order: Order, req_resp_type: str, now: int, trades: list[Trade]) -> dict[str, Any]:
        """The new order response in the requested ``newOrderRespType``."""
        if req_resp_type == "ACK":
            return render.order_ack(order, now)
        if req_resp_type == "RESULT":
            return render.order_result(order, now)
        return render.order_full(order, now, trades)

    # ---- canceling ----------------------------------------------------------------------------------------------

    def cancel(
        self,
        acct: Account,
        order: Order | None,
        now: int,
        *,
        cancel_client_id: str | None = None,
        restrictions: str | None = None,
    ) -> dict[str, Any]:
        """Cancel an open order (and the rest of its order list); returns the DELETE /api/v3/order body.

        Raises:
            BinanceError: -2011 "Unknown order sent." when missing or no longer open; -2011 "Order was not canceled
                due to cancel restrictions." when ``restrictions`` (ONLY_NEW / ONLY_PARTIALLY_FILLED) forbid it.
        """
        if order is None or not order.is_open:
            raise cancel_rejected()
        if (restrictions == "ONLY_NEW" and order.status != "NEW") or (
            restrictions == "ONLY_PARTIALLY_FILLED" and order.status != "PARTIALLY_FILLED"
        ):
            raise cancel_rejected(MSG_CANCEL_RESTRICTED)
        cid = cancel_client_id or self.new_client_id()
        lst = self.list_of.get((order.symbol, order.order_id))
        legs = [o for o in lst.orders if o.is_open] if lst is not None else [order]
        for leg in legs:
            self.finish(leg, "CANCELED", "CANCELED", now, client_order_id=cid, orig_client_order_id=leg.client_order_id)
        return render.order_canceled(order, cid, now)
