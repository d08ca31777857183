"""The reference trading bot (``tradingmcp bot``): a small market maker on TradingMCP's tools and push streams.

Modules: :mod:`.config` (TOML settings), :mod:`.market` (pushed market state), :mod:`.strategy` (the quoting rule),
:mod:`.risk` (bot-side limits), :mod:`.orders` (own orders and client ids), :mod:`.ledger` (P&L from fills),
:mod:`.core` (the sans-I/O decision core), :mod:`.runner` (the asyncio shell: connect, subscribe, trade, reconcile),
:mod:`.view` (rich live view / quiet log lines), :mod:`.report` (JSON + text report and PNG plots).
"""
