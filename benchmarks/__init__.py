"""tradingmcp.benchmarks."""
