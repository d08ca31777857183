"""tradingmcp.server."""
