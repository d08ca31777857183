"""The simulator's Bybit V5 (spot) face: Bybit's REST and JSON WebSocket protocols over the running
:class:`~tradingmcp.sim.app.Simulator`'s replayed market and matching engine (the real Binance recording, re-encoded
into Bybit shapes: DERIVED data, not a Bybit recording).

Modules: ``wire`` (sans-I/O Bybit envelopes, ids, error codes, engine error mapping), ``info`` (instruments-info
entries derived from the simulator's symbols, and the order rules read back from them), ``signing`` (Bybit's
``X-BAPI-*`` signature check and the WebSocket ``auth`` check), ``orders`` (V5 trading requests over the engine),
``public`` (market endpoints), ``pushes`` (public and private WebSocket frames from the market and the engine's
events), ``ws`` (the ``/v5/public/spot`` and ``/v5/private`` endpoints), ``trade`` (the order entry WebSocket
``/v5/trade``), ``rest`` (the aiohttp REST routes), ``face`` (the server).

Like the rest of the simulator, the face imports nothing of the adapters but the exchange-neutral models: its
encoder, topic grammar, signature check and order rules are its own, so it can catch the adapter's mistakes.
"""

from tradingmcp.sim.bybit.face import BYBIT_SIM_KEY, BYBIT_SIM_SECRET, BybitFace, BybitFaceConfig

__all__ = ["BYBIT_SIM_KEY", "BYBIT_SIM_SECRET", "BybitFace", "BybitFaceConfig"]
