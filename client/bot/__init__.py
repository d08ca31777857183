"""The reference trading bot (``tradingmcp bot``): strategy plug-ins on TradingMCP's tools and push streams.

Modules: :mod:`.config` (TOML settings) and :mod:`.params` (the signal strategies' parameters), :mod:`.market` (pushed
market state), :mod:`.plugin` (the strategy interface and registry), :mod:`.strategy` (the market maker's quoting rule),
:mod:`.momentum` and :mod:`.mean_reversion` (signal strategies on :mod:`.bars`, sharing :mod:`.signals` and
:mod:`.targets`), :mod:`.risk` (bot-side limits), :mod:`.orders` (own orders and client ids), :mod:`.ledger` (P&L from
fills), :mod:`.core` (the sans-I/O decision core), :mod:`.runner` (the asyncio shell: connect, subscribe, trade,
reconcile), :mod:`.view` (rich live view / quiet log lines), :mod:`.report` (JSON + text report and PNG plots).
"""
