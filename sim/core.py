"""The matching engine's state and its primitive moves: place, fill, trigger, finish, feed from the market.

Rules (Binance Spot semantics over a replayed market):

* Taking liquidity walks the replayed book's levels best first, each level giving at most its own quantity at its own
  price. **The replayed book is not depleted** by simulated orders (the market is replayed as recorded), so two orders
  in a row see the same liquidity again.
* Resting limit orders fill as maker at their limit price when a replayed trade prints at or through the limit (BUY:
  trade price <= limit; SELL: >=), up to the trade's quantity shared in price-time priority; and when the book moves
  through them (best ask <= BUY limit), up to the crossing levels' quantity.
* Stop orders (STOP_LOSS_LIMIT, TAKE_PROFIT_LIMIT) trigger on the last trade price, and on the book's mid price after
  a book update; once triggered they work as limit orders (taking first, as a new limit order would).
* Balances: a resting BUY locks ``price × qty`` quote, a SELL locks ``qty`` base; MARKET orders lock what their walk
  needs. Commission is taken from the asset received at the maker/taker rate.
* Deterministic: ids come from counters, time from ``clock_ms``; same inputs give the same outputs.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from tradingmcp.sim import render
from tradingmcp.sim.book import SimBook
from tradingmcp.sim.errors import rejected_api_key
from tradingmcp.sim.exchange_info import ExchangeInfo, SymbolInfo
from tradingmcp.sim.execution import commission, make_id, taker_plan, would_cross, would_trigger
from tradingmcp.sim.state import ZERO, Account, Order, OrderList, Trade

Event = tuple[str, dict[str, Any]]


class EngineCore:
    """State and primitive moves; the request-level API lives in :class:`~tradingmcp.sim.matching.MatchingEngine`.

    Args:
        exchange_info: symbols and filters.
        books: replayed book per symbol (read only).
        clock_ms: simulator clock (epoch ms).
        maker_fee / taker_fee: commission rates as fractions (0.001 = 0.1 %).
    """

    def __init__(
        self,
        exchange_info: ExchangeInfo,
        books: Mapping[str, SimBook],
        *,
        clock_ms: Callable[[], int],
        maker_fee: Decimal = Decimal("0.001"),
        taker_fee: Decimal = Decimal("0.001"),
    ) -> None:
        self.exchange_info = exchange_info
        self.books = books
        self.clock_ms = clock_ms
        self.maker_fee = Decimal(maker_fee)
        self.taker_fee = Decimal(taker_fee)
        self.accounts: dict[str, Account] = {}
        self.orders: dict[tuple[str, int], Order] = {}
        self.open: dict[str, list[Order]] = {}
        self.lists: dict[tuple[str, int], OrderList] = {}
        self.list_of: dict[tuple[str, int], OrderList] = {}
        self._events: list[Event] = []
        self._counters: dict[str, int] = {}
        self._trade_window: dict[str, deque[tuple[int, Decimal, Decimal]]] = {}
        self._window_sums: dict[str, tuple[Decimal, Decimal]] = {}
        self.last_price: dict[str, Decimal] = {}

    # ---- ids, accounts, events --------------------------------------------------------------------------------

    def next_id(self, kind: str) -> int:
        """Next value of a counter (``order:BTCUSDT``, ``trade:BTCUSDT``, ``list:BTCUSDT``, ``cid``, ``seq``...)."""
        value = self._counters.get(kind, 0) + 1
        self._counters[kind] = value
        return value

    def new_client_id(self) -> str:
        """A generated clientOrderId (22 base62 chars, deterministic)."""
        return make_id("cid", self.next_id("cid"))

    def add_account(self, api_key: str, balances: Mapping[str, Decimal]) -> None:
        """Create (or reset) the account for ``api_key`` with ``balances`` free (asset -> amount)."""
        self.accounts[api_key] = Account.with_balances(api_key, 100_000_000 + self.next_id("uid"), balances)

    def has_account(self, api_key: str) -> bool:
        """Whether ``api_key`` names an account."""
        return api_key in self.accounts

    def account_of(self, api_key: str) -> Account:
        """The account.

        Raises:
            BinanceError: -2015 (HTTP 401) for an unknown key.
        """
        acct = self.accounts.get(api_key)
        if acct is None:
            raise rejected_api_key()
        return acct

    def drain_events(self) -> list[Event]:
        """User data events queued since the last call, oldest first: ``(api_key, event)`` where event is an
        ``executionReport``, ``listStatus``, ``outboundAccountPosition`` or ``balanceUpdate`` body."""
        out, self._events = self._events, []
        return out

    @property
    def has_events(self) -> bool:
        """User data events wait for :meth:`drain_events`."""
        return bool(self._events)

    def emit(self, api_key: str, event: dict[str, Any]) -> None:
        """Queue a user data event."""
        self._events.append((api_key, event))

    def report(
        self,
        order: Order,
        execution_type: str,
        now: int,
        *,
        trade: Trade | None = None,
        client_order_id: str | None = None,
        orig_client_order_id: str = "",
    ) -> None:
        """Queue an ``executionReport`` for ``order`` (``client_order_id`` / ``orig_client_order_id``: ``c`` / ``C``,
        see :func:`~tradingmcp.sim.render.execution_report`)."""
        event = render.execution_report(
            order,
            event_time=now,
            execution_type=execution_type,
            transaction_time=trade.time if trade else now,
            trade=trade,
            client_order_id=client_order_id,
            orig_client_order_id=orig_client_order_id,
            ignore_id=self.next_id("report"),
        )
        self._events.append((order.api_key, event))

    def flush_positions(self, now: int) -> None:
        """Queue an ``outboundAccountPosition`` for every account whose balances changed."""
        for acct in self.accounts.values():
            if acct.changed:
                acct.update_time = now
                self.emit(acct.api_key, render.account_position(acct, acct.take_changed(), event_time=now))

    def deposit(self, api_key: str, asset: str, amount: Decimal) -> None:
        """Credit ``amount`` of ``asset`` (negative withdraws) and queue ``balanceUpdate`` + position events.

        Raises:
            BinanceError: -2015 for an unknown key.
        """
        acct = self.account_of(api_key)
        now = self.clock_ms()
        acct.credit(asset, amount)
        self.emit(api_key, render.balance_update(asset, amount, event_time=now, clear_time=now))
        self.flush_positions(now)

    # ---- market reference prices --------------------------------------------------------------------------------

    def avg_price(self, symbol: str) -> Decimal | None:
        """Volume-weighted average trade price over the symbol's ``avgPriceMins`` (``GET /api/v3/avgPrice``);
        the book's mid price when no trade was seen; None for an empty market. Quote asset per base unit."""
        sums = self._window_sums.get(symbol)
        if sums is not None and sums[1] > ZERO:
            return sums[0] / sums[1]
        book = self.books.get(symbol)
        return book.mid_price() if book is not None else None

    def reference_price(self, symbol: str) -> Decimal | None:
        """Last trade price, else the book's mid price (for stop triggers)."""
        price = self.last_price.get(symbol)
        if price is not None:
            return price
        book = self.books.get(symbol)
        return book.mid_price() if book is not None else None

    def _record_trade(self, info: SymbolInfo, price: Decimal, qty: Decimal, time_ms: int) -> None:
        window = self._trade_window.get(info.symbol)
        if window is None:
            window = self._trade_window[info.symbol] = deque()
        pq, q = self._window_sums.get(info.symbol, (ZERO, ZERO))
        quote = price * qty
        window.append((time_ms, quote, qty))
        pq, q = pq + quote, q + qty
        horizon = time_ms - info.avg_price_mins * 60_000
        while window and window[0][0] < horizon:
            _, old_pq, old_q = window.popleft()
            pq, q = pq - old_pq, q - old_q
        self._window_sums[info.symbol] = (pq, q)
        self.last_price[info.symbol] = price

    # ---- primitive moves ------------------------------------------------------------------------------------

    def register(self, order: Order) -> None:
        """Record a new order as open and queue its NEW report."""
        key = (order.symbol, order.order_id)
        self.orders[key] = order
        self.open.setdefault(order.symbol, []).append(order)
        acct = self.accounts[order.api_key]
        acct.orders.append(order)
        acct.open_orders[key] = order
        acct.newest_by_client_id[(order.symbol, order.client_order_id)] = order

    def fill(self, order: Order, price: Decimal, qty: Decimal, *, is_maker: bool, now: int, time_ms: int) -> Trade:
        """Execute ``qty`` of ``order`` at ``price``: pay from the order's lock, credit the received asset net of
        commission, record the trade, queue a TRADE report. Does not finish the order."""
        info = order.info
        acct = self.accounts[order.api_key]
        rate = self.maker_fee if is_maker else self.taker_fee
        quote = price * qty
        if order.side == "BUY":
            pay_asset, pay, recv_asset, recv = info.quote_asset, quote, info.base_asset, qty
            fee = commission(qty, rate, info.base_commission_precision)
        else:
            pay_asset, pay, recv_asset, recv = info.base_asset, qty, info.quote_asset, quote
            fee = commission(quote, rate, info.quote_commission_precision)
        acct.spend_locked(pay_asset, pay)
        order.locked -= pay
        acct.credit(recv_asset, recv - fee)
        acct.pay_fee(recv_asset, fee)
        order.executed_qty += qty
        order.cumm_quote_qty += quote
        order.status = "FILLED" if order.executed_qty >= order.orig_qty else "PARTIALLY_FILLED"
        order.update_time = now
        if order.type != "MARKET":
            self.trim_lock(order)
        trade = Trade(
            symbol=order.symbol,
            id=self.next_id(f"trade:{order.symbol}"),
            order_id=order.order_id,
            order_list_id=order.order_list_id,
            price=price,
            qty=qty,
            quote_qty=quote,
            commission=fee,
            commission_asset=recv_asset,
            time=time_ms,
            is_buyer=order.side == "BUY",
            is_maker=is_maker,
        )
        acct.trades.append(trade)
        self.report(order, "TRADE", now, trade=trade)
        if order.status == "FILLED":
            self._close(order)
        return trade

    def trim_lock(self, order: Order) -> None:
        """Release what ``order`` holds beyond what it still needs (price improvement, partial fills)."""
        excess = order.locked - order.lock_needed()
        if excess > ZERO:
            self.accounts[order.api_key].unlock(order.lock_asset, excess)
            order.locked -= excess

    def finish(
        self,
        order: Order,
        status: str,
        execution_type: str,
        now: int,
        *,
        client_order_id: str | None = None,
        orig_client_order_id: str = "",
    ) -> None:
        """End an open order (CANCELED, EXPIRED): release its lock, take it off the book, queue the report
        (``client_order_id`` / ``orig_client_order_id`` as in :meth:`report`)."""
        self.accounts[order.api_key].unlock(order.lock_asset, order.locked)
        order.locked = ZERO
        order.status = status
        order.update_time = now
        self.report(
            order, execution_type, now, client_order_id=client_order_id, orig_client_order_id=orig_client_order_id
        )
        self._close(order)

    def _close(self, order: Order) -> None:
        book = self.open.get(order.symbol)
        if book is not None:
            for i, resting in enumerate(book):
                if resting is order:  # identity: Order's dataclass __eq__ compares every field
                    del book[i]
                    break
        self.accounts[order.api_key].open_orders.pop((order.symbol, order.order_id), None)
        lst = self.list_of.get((order.symbol, order.order_id))
        if lst is not None and not any(o.is_open for o in lst.orders):
            self._list_done(lst, self.clock_ms())

    def _list_done(self, lst: OrderList, now: int) -> None:
        """Mark an order list ALL_DONE (once) and queue its ``listStatus``."""
        if lst.list_status_type != "ALL_DONE":
            lst.list_status_type = lst.list_order_status = "ALL_DONE"
            self.emit(lst.api_key, render.list_status(lst, event_time=now, transaction_time=now))

    def take(self, order: Order, now: int) -> list[Trade]:
        """Let a (newly placed or just triggered) order take liquidity as taker, then rest or expire it per its
        timeInForce (GTC rests, IOC expires the rest, FOK fills all or nothing); MARKET orders end FILLED/EXPIRED."""
        plan = taker_plan(order, self.books.get(order.symbol))
        trades: list[Trade] = []
        if order.time_in_force == "FOK" and plan.qty < order.remaining:
            self.finish(order, "EXPIRED", "EXPIRED", now)
            return trades
        for price, qty in plan.fills:
            trades.append(self.fill(order, price, qty, is_maker=False, now=now, time_ms=now))
        if order.type == "MARKET":
            if order.is_open:
                self.finish(order, "EXPIRED", "EXPIRED", now)
            else:
                self._release_market(order)
        elif order.is_open:
            if order.time_in_force in ("IOC", "FOK"):
                self.finish(order, "EXPIRED", "EXPIRED", now)
            elif order.working_time == -1:
                order.working_time = now
        return trades

    def _release_market(self, order: Order) -> None:
        self.accounts[order.api_key].unlock(order.lock_asset, order.locked)
        order.locked = ZERO

    # ---- OCO ---------------------------------------------------------------------------------------------------

    def activate_leg(self, order: Order, now: int) -> None:
        """Before an OCO leg triggers or fills: expire its sibling and take over the sibling's share of the lock."""
        lst = self.list_of.get((order.symbol, order.order_id))
        if lst is None:
            return
        for other in lst.orders:
            if other is not order and other.is_open:
                order.locked += other.locked
                other.locked = ZERO
                self.finish(other, "EXPIRED", "EXPIRED", now)
        self._list_done(lst, now)  # the list is resolved: one leg works on, alone
        self.trim_lock(order)

    # ---- market feed --------------------------------------------------------------------------------------------

    def trigger(self, order: Order, now: int) -> None:
        """Stop price reached: the order starts working as a limit order."""
        self.activate_leg(order, now)
        order.triggered = True
        order.working_time = now
        order.update_time = now
        self.take(order, now)

    def _check_triggers(self, symbol: str, reference: Decimal, now: int) -> None:
        for order in [o for o in self.open.get(symbol, ()) if o.is_stop and not o.triggered]:
            if order.is_open and would_trigger(order, reference):
                self.trigger(order, now)

    def on_trade(self, symbol: str, price: Decimal, qty: Decimal, time_ms: int, buyer_is_maker: bool) -> None:
        """A replayed trade (``@trade``: ``p``, ``q``, ``T``, ``m``): update the average price, trigger stops, fill
        resting limit orders the print reached (maker, at their limit price, up to ``qty`` per side).

        Raises:
            BinanceError: -1121 for an unlisted symbol.
        """
        info = self.exchange_info.symbol(symbol)
        self._record_trade(info, price, qty, time_ms)
        resting = self.open.get(symbol)
        if not resting:
            return
        now = self.clock_ms()
        self._check_triggers(symbol, price, now)
        for side in ("BUY", "SELL"):
            left = qty
            for order in self._crossing(symbol, side, price):
                if left <= ZERO:
                    break
                take = min(order.remaining, left)
                self.activate_leg(order, now)
                self.fill(order, order.price, take, is_maker=True, now=now, time_ms=time_ms)
                left -= take
        self.flush_positions(now)

    def on_book_update(self, symbol: str) -> None:
        """The replay applied a diff to ``books[symbol]``: trigger stops on the mid price, fill resting orders the
        book moved through (maker, at their limit price, up to the crossing levels' quantity)."""
        resting = self.open.get(symbol)
        book = self.books.get(symbol)
        if not resting or book is None:
            return
        now = self.clock_ms()
        if any(o.is_stop and not o.triggered for o in resting):
            mid = book.mid_price()
            if mid is not None:
                self._check_triggers(symbol, mid, now)
        for side, best in (("BUY", book.best_ask()), ("SELL", book.best_bid())):
            if best is None:
                continue
            orders = self._crossing(symbol, side, best[0])
            if not orders:
                continue
            consumed = ZERO
            for order in orders:
                available = -consumed
                for price, level_qty in book.levels(side):
                    if not would_cross(side, order.price, price):
                        break
                    available += level_qty
                take = min(order.remaining, available)
                if take <= ZERO:
                    continue
                self.activate_leg(order, now)
                self.fill(order, order.price, take, is_maker=True, now=now, time_ms=now)
                consumed += take
        self.flush_positions(now)

    def _crossing(self, symbol: str, side: str, price: Decimal) -> list[Order]:
        """Working orders of ``side`` that ``price`` reaches, in price-time priority."""
        out = [
            o
            for o in self.open.get(symbol, ())
            if o.side == side and o.is_working and would_cross(side, o.price, price)
        ]
        out.sort(key=(lambda o: (-o.price, o.seq)) if side == "BUY" else (lambda o: (o.price, o.seq)))
        return out
