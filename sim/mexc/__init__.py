"""The simulator's MEXC Spot v3 face: MEXC's REST and protobuf WebSocket protocols over the running
:class:`~tradingmcp.sim.app.Simulator`'s replayed market and matching engine (the real Binance recording,
re-encoded into MEXC shapes: DERIVED data, not a MEXC recording).

Modules: ``wire`` (sans-I/O MEXC bodies, ids, error mapping), ``info`` (exchangeInfo derived from the simulator's
symbols), ``rules`` (MEXC's order rules read from those entries), ``signing`` (MEXC's signature check), ``orders``
(MEXC trading requests over the engine), ``topics`` (MEXC's topic grammar), ``encode`` (protobuf pushes on the
shared wire schema ``proto``), ``pushes`` (those frames from the market and the engine's events), ``ws`` (WebSocket
control and fan-out), ``rest`` (the aiohttp REST routes), ``face`` (the server).

Like the rest of the simulator, the face imports nothing of the adapters but the exchange-neutral models: its
encoder, topic grammar, signature check and order rules are its own, so it can catch the adapter's mistakes.
"""

from tradingmcp.sim.mexc.face import MEXC_SIM_KEY, MEXC_SIM_SECRET, MexcFace, MexcFaceConfig

__all__ = ["MEXC_SIM_KEY", "MEXC_SIM_SECRET", "MexcFace", "MexcFaceConfig"]
