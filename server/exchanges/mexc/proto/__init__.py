"""Generated protobuf module for MEXC Spot v3 pushes (package ``tradingmcp.mexc``); see README.md here."""
