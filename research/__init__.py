"""Research: technical indicators, strategies' offline runs (backtests) and the run log."""
