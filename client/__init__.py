"""tradingmcp.client."""
