"""Exchange-neutral models shared by every adapter (Binance, MEXC) and the tools layer.

Conventions:
    * prices, quantities and amounts are ``Decimal`` (never float), parsed from the exchanges' decimal strings;
    * times are integers in milliseconds since the Unix epoch (``*_ms``);
    * "qty" is in the base asset, "quote_qty"/"notional" in the quote asset (e.g. BTC and USDT for BTCUSDT);
    * enums carry Binance's wire values (https://developers.binance.com/docs/binance-spot-api-docs/enums);
      other exchanges map their own values onto them in their ``parse`` module (e.g. MEXC ``IMMEDIATE_OR_CANCEL``
      → ``OrderType.LIMIT`` + ``TimeInForce.IOC``).

Every model is a frozen, slotted dataclass: cheap, hashable where its fields are, and safe to share between tasks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum


class Side(StrEnum):
    """Order side (Binance ``side``)."""

    BUY = "BUY"
    SELL = "SELL"


class OrderType(StrEnum):
    """Order type (Binance ``type``)."""

    LIMIT = "LIMIT"
    MARKET = "MARKET"
    STOP_LOSS = "STOP_LOSS"
    STOP_LOSS_LIMIT = "STOP_LOSS_LIMIT"
    TAKE_PROFIT = "TAKE_PROFIT"
    TAKE_PROFIT_LIMIT = "TAKE_PROFIT_LIMIT"
    LIMIT_MAKER = "LIMIT_MAKER"


class TimeInForce(StrEnum):
    """Time in force (Binance ``timeInForce``): good-till-cancel, immediate-or-cancel, fill-or-kill."""

    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"


class OrderStatus(StrEnum):
    """Order status (Binance ``status`` / executionReport ``X``)."""

    NEW = "NEW"
    PENDING_NEW = "PENDING_NEW"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    PENDING_CANCEL = "PENDING_CANCEL"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"
    EXPIRED_IN_MATCH = "EXPIRED_IN_MATCH"

    @property
    def is_open(self) -> bool:
        """True while the order can still trade (NEW, PENDING_NEW, PARTIALLY_FILLED)."""
        return self in (OrderStatus.NEW, OrderStatus.PENDING_NEW, OrderStatus.PARTIALLY_FILLED)


class ExecutionType(StrEnum):
    """Why an executionReport was sent (Binance ``x``)."""

    NEW = "NEW"
    CANCELED = "CANCELED"
    REPLACED = "REPLACED"
    REJECTED = "REJECTED"
    TRADE = "TRADE"
    EXPIRED = "EXPIRED"
    TRADE_PREVENTION = "TRADE_PREVENTION"
    AMENDMENT = "AMENDMENT"


class StreamKind(StrEnum):
    """Market stream kinds an adapter can subscribe to (Binance stream-name suffixes)."""

    TRADE = "trade"
    AGG_TRADE = "aggTrade"
    DEPTH = "depth"
    BOOK_TICKER = "bookTicker"
    KLINE = "kline"
    TICKER_24H = "ticker"


@dataclass(frozen=True, slots=True)
class SymbolRules:
    """Trading rules of one symbol (Binance exchangeInfo filters, MEXC exchangeInfo fields).

    A zero ``max_*``/``step``/``tick`` means "no constraint" (Binance sends 0 for disabled filter fields).
    ``market_*`` apply to MARKET orders (Binance MARKET_LOT_SIZE); when absent they equal the LOT_SIZE values.
    ``price_band_*`` are multipliers of the average price (Binance PERCENT_PRICE_BY_SIDE): a BUY price must lie in
    ``[avg*bid_down, avg*bid_up]``, a SELL price in ``[avg*ask_down, avg*ask_up]``; None when the exchange has none.
    ``market_min_notional``/``market_max_notional`` bound a MARKET order's amount in the quote asset when they
    differ from ``min_notional``/``max_notional`` (MEXC ``quoteAmountPrecisionMarket``/``maxQuoteAmountMarket``);
    None means "same as for other orders".
    """

    symbol: str
    base_asset: str
    quote_asset: str
    status: str
    tick_size: Decimal
    step_size: Decimal
    min_qty: Decimal
    max_qty: Decimal
    min_price: Decimal = Decimal(0)
    max_price: Decimal = Decimal(0)
    market_min_qty: Decimal = Decimal(0)
    market_max_qty: Decimal = Decimal(0)
    market_step_size: Decimal = Decimal(0)
    min_notional: Decimal = Decimal(0)
    max_notional: Decimal = Decimal(0)
    apply_min_to_market: bool = True
    apply_max_to_market: bool = False
    base_precision: int = 8
    quote_precision: int = 8
    order_types: frozenset[OrderType] = frozenset()
    price_band_bid_up: Decimal | None = None
    price_band_bid_down: Decimal | None = None
    price_band_ask_up: Decimal | None = None
    price_band_ask_down: Decimal | None = None
    max_num_orders: int | None = None
    quote_order_qty_market_allowed: bool = True
    oco_allowed: bool = True
    market_min_notional: Decimal | None = None
    market_max_notional: Decimal | None = None

    @property
    def is_trading(self) -> bool:
        """True when the symbol accepts new orders (status ``TRADING``, MEXC ``ENABLED``/"1")."""
        return self.status in ("TRADING", "ENABLED", "1")


@dataclass(frozen=True, slots=True)
class BookLevel:
    """One price level: ``price`` (quote asset) and ``qty`` (base asset)."""

    price: Decimal
    qty: Decimal


@dataclass(frozen=True, slots=True)
class OrderBookSnapshot:
    """An order-book snapshot (REST depth or the local book's top levels).

    ``bids`` are best (highest) first, ``asks`` best (lowest) first. ``last_update_id`` is Binance
    ``lastUpdateId`` (MEXC: ``version``). ``time_ms`` is the exchange time when known, else the local receive time.
    """

    symbol: str
    last_update_id: int
    bids: tuple[BookLevel, ...]
    asks: tuple[BookLevel, ...]
    time_ms: int = 0

    def top(self) -> Ticker | None:
        """The best bid and ask as a :class:`Ticker` (``price`` 0, ``update_id`` = ``last_update_id``); None while
        a side is empty."""
        if not self.bids or not self.asks:
            return None
        bid, ask = self.bids[0], self.asks[0]
        return Ticker(
            self.symbol, Decimal(0), bid.price, bid.qty, ask.price, ask.qty, self.time_ms, self.last_update_id
        )


@dataclass(frozen=True, slots=True)
class DepthUpdate:
    """A diff-depth event (Binance ``depthUpdate``; MEXC ``aggre.depth``).

    ``first_update_id``/``final_update_id`` are Binance ``U``/``u`` (MEXC ``fromVersion``/``toVersion``). A level
    with ``qty == 0`` removes that price.
    """

    symbol: str
    first_update_id: int
    final_update_id: int
    bids: tuple[BookLevel, ...]
    asks: tuple[BookLevel, ...]
    time_ms: int = 0


@dataclass(frozen=True, slots=True)
class Ticker:
    """Best bid/ask (Binance ``bookTicker``), plus the last price when known.

    ``price`` is the last trade price (0 when the source has none, e.g. a bookTicker event); ``update_id`` is the
    book update id (``u``) when the source carries it.
    """

    symbol: str
    price: Decimal
    bid: Decimal
    bid_qty: Decimal
    ask: Decimal
    ask_qty: Decimal
    time_ms: int = 0
    update_id: int | None = None


@dataclass(frozen=True, slots=True)
class Stats24h:
    """Rolling 24-hour statistics (Binance ``GET /api/v3/ticker/24hr`` or the ``<symbol>@ticker`` stream).

    ``volume`` is in the base asset, ``quote_volume`` in the quote asset; ``price_change_percent`` is in percent.
    """

    symbol: str
    last_price: Decimal
    open_price: Decimal
    high_price: Decimal
    low_price: Decimal
    volume: Decimal
    quote_volume: Decimal
    price_change: Decimal
    price_change_percent: Decimal
    weighted_avg_price: Decimal
    bid: Decimal
    ask: Decimal
    open_time_ms: int
    close_time_ms: int
    count: int


@dataclass(frozen=True, slots=True)
class Trade:
    """A public trade (Binance ``trade``/``GET /api/v3/trades``; ``aggTrade`` when ``is_aggregate``).

    ``is_buyer_maker`` True means the taker sold (the trade hit the bid). For aggregate trades ``trade_id`` is the
    aggregate id and ``first_trade_id``/``last_trade_id`` the range of trades merged. ``trade_id`` is an int on
    Binance; MEXC ids are strings (numeric ones are given as int); -1 when the source does not give one.
    """

    symbol: str
    trade_id: int | str
    price: Decimal
    qty: Decimal
    time_ms: int
    is_buyer_maker: bool
    is_aggregate: bool = False
    first_trade_id: int | None = None
    last_trade_id: int | None = None

    @property
    def quote_qty(self) -> Decimal:
        """Notional in the quote asset (price × qty)."""
        return self.price * self.qty


@dataclass(frozen=True, slots=True)
class Kline:
    """A candlestick (Binance ``GET /api/v3/klines`` row or ``kline`` stream ``k``); ``closed`` False while open."""

    symbol: str
    interval: str
    open_time_ms: int
    close_time_ms: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    quote_volume: Decimal
    trades: int
    taker_buy_volume: Decimal = Decimal(0)
    taker_buy_quote_volume: Decimal = Decimal(0)
    closed: bool = True


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution of one of our orders (Binance ``myTrades`` row, placement ``fills`` entry, executionReport).

    ``commission`` is in ``commission_asset``. ``trade_id`` is -1 when the source does not give one. Ids are ints on
    Binance; MEXC's are strings (e.g. order id ``C02__385413065019117569043``), so both are ``int | str``.
    """

    symbol: str
    trade_id: int | str
    order_id: int | str
    price: Decimal
    qty: Decimal
    quote_qty: Decimal
    commission: Decimal
    commission_asset: str
    is_maker: bool
    time_ms: int
    is_buyer: bool | None = None


@dataclass(frozen=True, slots=True)
class Order:
    """The state of one order (Binance order responses, ``GET /api/v3/order``, executionReport).

    ``order_id`` is the exchange's id (Binance ``orderId``; MEXC ids are strings, so this is ``int | str``).
    ``orig_qty``/``executed_qty`` are base asset, ``cumulative_quote_qty`` is quote asset. ``price`` is 0 for MARKET
    orders; ``stop_price`` 0 when not a stop order. ``fills`` is filled only by a placement's FULL response.
    """

    order_id: int | str
    client_order_id: str
    symbol: str
    side: Side
    type: OrderType
    time_in_force: TimeInForce | None
    price: Decimal
    stop_price: Decimal
    orig_qty: Decimal
    executed_qty: Decimal
    cumulative_quote_qty: Decimal
    status: OrderStatus
    time_ms: int
    update_time_ms: int
    fills: tuple[Fill, ...] = ()
    order_list_id: int = -1

    @property
    def avg_price(self) -> Decimal:
        """Average fill price (quote per base); 0 when nothing executed."""
        if not self.executed_qty:
            return Decimal(0)
        return self.cumulative_quote_qty / self.executed_qty


@dataclass(frozen=True, slots=True)
class OrderList:
    """An order list (Binance OCO): its id, statuses, and the member orders (as returned, possibly partial)."""

    order_list_id: int
    list_client_order_id: str
    symbol: str
    contingency_type: str
    list_status_type: str
    list_order_status: str
    orders: tuple[Order, ...]
    time_ms: int


@dataclass(frozen=True, slots=True)
class CancelReplaceResult:
    """Outcome of an atomic cancel-then-place (Binance ``POST /api/v3/order/cancelReplace``).

    ``cancel_result``/``new_order_result`` are ``SUCCESS``, ``FAILURE`` or ``NOT_ATTEMPTED``.
    """

    cancel_result: str
    new_order_result: str
    cancelled: Order | None
    new_order: Order | None


@dataclass(frozen=True, slots=True)
class Balance:
    """One asset balance: ``free`` (available) and ``locked`` (in open orders), both in ``asset`` units."""

    asset: str
    free: Decimal
    locked: Decimal

    @property
    def total(self) -> Decimal:
        """free + locked."""
        return self.free + self.locked


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """A user-data order update (Binance ``executionReport``): the order's new state and the fill that caused it.

    ``last_fill`` is set when ``execution_type`` is TRADE. ``reject_reason`` is Binance ``r`` (``NONE`` if none).
    """

    order: Order
    execution_type: ExecutionType
    event_time_ms: int
    last_fill: Fill | None = None
    reject_reason: str = "NONE"


@dataclass(frozen=True, slots=True)
class BalanceEvent:
    """A user-data balance update.

    From Binance ``outboundAccountPosition``: ``balances`` holds the changed assets' new balances. From
    ``balanceUpdate`` (deposit/withdrawal/transfer): ``delta_asset``/``delta`` give the signed change, ``balances`` is
    empty.
    """

    event_time_ms: int
    balances: tuple[Balance, ...] = ()
    delta_asset: str | None = None
    delta: Decimal | None = None


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """A new order as the tools layer asks for it; adapters translate it to the wire.

    Exactly one of ``quantity`` (base asset) or ``quote_order_qty`` (quote asset, MARKET only) is set. ``price`` is
    required for LIMIT, LIMIT_MAKER and the *_LIMIT types; ``stop_price`` for the STOP_LOSS*/TAKE_PROFIT* types.
    ``client_order_id`` None lets the adapter generate one (it always sends one, so a retry is idempotent).
    ``time_in_force`` defaults to GTC for the types that need one.
    """

    symbol: str
    side: Side
    type: OrderType
    quantity: Decimal | None = None
    quote_order_qty: Decimal | None = None
    price: Decimal | None = None
    stop_price: Decimal | None = None
    time_in_force: TimeInForce | None = None
    client_order_id: str | None = None


@dataclass(frozen=True, slots=True)
class StreamSpec:
    """One market stream subscription: a kind, a symbol (exchange spelling, e.g. ``BTCUSDT``), and for klines an
    interval (Binance spelling: ``1m``, ``5m``, ``1h``, ``1d``...)."""

    kind: StreamKind
    symbol: str
    interval: str | None = None


@dataclass(frozen=True, slots=True)
class StreamStatus:
    """A market-stream lifecycle notice, delivered in-band with the market events so a consumer never misses it.

    ``state`` is one of ``connected``, ``reconnecting``, ``resynced`` (a local book was rebuilt from a new snapshot),
    ``book_gap`` (a gap was detected; resync started), ``overflow`` (events were lost; stream reopened).
    """

    state: str
    detail: str = ""
    symbol: str | None = None
    time_ms: int = 0


MarketEvent = Trade | DepthUpdate | Ticker | Kline | Stats24h | StreamStatus
"""Everything a market-event iterator yields."""

UserEvent = OrderEvent | BalanceEvent | StreamStatus
"""Everything a user-data iterator yields (StreamStatus: subscribed / reconnecting notices)."""


@dataclass(frozen=True, slots=True)
class RateLimitUsage:
    """Headroom of one rate limit: ``used`` of ``limit`` per ``interval_s`` seconds (REQUEST_WEIGHT 120/6000/60)."""

    kind: str
    interval_s: int
    used: int
    limit: int

    @property
    def remaining(self) -> int:
        """limit - used (never negative)."""
        return max(0, self.limit - self.used)


@dataclass(frozen=True, slots=True)
class ServerStatus:
    """Connectivity and limits, for the ``get_server_status`` tool.

    ``clock_offset_ms`` is server time minus local time; ``banned_until_ms`` is set during a 418 IP ban.
    """

    exchange: str
    testnet: bool
    reachable: bool
    clock_offset_ms: int
    rate_limits: tuple[RateLimitUsage, ...] = field(default_factory=tuple)
    banned_until_ms: int | None = None
    streams: tuple[str, ...] = ()
