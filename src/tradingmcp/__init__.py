"""TradingMCP: an MCP server and client over WebSocket (wss) bridging crypto exchanges.

Subpackages:
    tradingmcp.transport: the WebSocket wire (one module owns the WebSocket library), JSON-RPC framing,
        auth, TLS, backpressure.
    tradingmcp.server: the MCP protocol engine, tools, exchange adapters and the exchange simulator.
    tradingmcp.client: the client library, the official-SDK transport and the stdio bridge.
    tradingmcp.perf: the opt-in low-latency mode (``--busy-poll``): busy polling and the path warmers.
    tradingmcp.benchmarks: latency and throughput benchmarks (``tradingmcp bench``).
"""

__version__ = "0.1.0"

if __import__("os").environ.get("TRADINGMCP_COMPILED"):  # opt-in: import the compiled build (tradingmcp.compiled)
    import os as _os
    import sys as _sys
    from pathlib import Path as _Path

    from tradingmcp.compiled import package_path as _package_path

    _build = _Path(_os.environ["TRADINGMCP_COMPILED"]).resolve()
    __path__[:] = [str(_package_path(_Path(__path__[0]), _build))]
    _sys.path.append(str(_build))  # mypyc's shared library of the compiled modules is a top-level module there
