"""Exchange adapters: exchange-neutral models, the adapter protocol, pre-trade rules, and one package per exchange.

Modules:
    models: frozen dataclasses (Decimal prices/quantities, ms times) shared by every exchange.
    base: the ``ExchangeAdapter`` protocol the tools layer drives.
    rules: pre-trade validation from ``SymbolRules`` with "nearest valid value" messages (``check_order``: the one
        entry point).
    placing: placing one order with a lookup by client order id after an unknown outcome (both adapters use it).
    binance: the Binance Spot adapter (python-binance 1.0.37).
"""
