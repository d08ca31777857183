"""Technical indicators: TA-Lib's batch functions over OHLCV, and incremental forms for the live bot."""
