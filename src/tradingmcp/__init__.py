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
