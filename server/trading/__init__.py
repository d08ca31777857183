"""The order path behind the trading tools (:mod:`tradingmcp.server.tools.trading`): safety checks, confirmations,
idempotency and placement on the venues.

Modules: :mod:`.safety` (limits and checks), :mod:`.confirm` (confirmation tokens), :mod:`.idempotency` (client order
ids, duplicate detection), :mod:`.orders` (arguments → ``OrderRequest``, texts), :mod:`.open_orders` (open-order
count), :mod:`.pretrade` (the checks of one order), :mod:`.losslimits` (the day's loss, drawdown and exposure state),
:mod:`.journal` (order intents written before sending), :mod:`.reconcile` (journaled intents settled at start-up),
:mod:`.deskrails` (the desk's loss-limit rails: fed, shown, acted on, rebuilt), :mod:`.desk` (placement flow and
per-venue state), :mod:`.errors` (adapter errors → tool errors).
"""

from __future__ import annotations

from tradingmcp.server.trading.desk import TradingDesk
from tradingmcp.server.trading.safety import SafetyConfig, SafetyRefusal

__all__ = ["SafetyConfig", "SafetyRefusal", "TradingDesk"]
