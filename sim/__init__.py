"""Binance Spot exchange simulator.

The sans-I/O core (``errors``, ``exchange_info``, ``filters``, ``book``, ``matching`` and its helpers) holds the
replayed order books, validates orders against the symbol filters and matches accounts' orders against the replayed
market; the I/O face (REST, streams, WS API, replay) drives it.
"""
