"""Deterministic backtests: market data replayed through the simulator's matching engine and the live bot's decision
core (``tradingmcp backtest``). Entry points: :class:`.engine.Backtest` (the loop; :mod:`.botlink` the bot's side of it, :mod:`.settings` its parameters and result), :func:`.run.run_one` /
:func:`.run.run_grid` (settings to report), :mod:`.cli` (the command)."""
