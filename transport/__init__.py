"""tradingmcp.transport."""
