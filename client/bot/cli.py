"""``tradingmcp bot``: run the reference bot against a TradingMCP server until ``--duration`` or Ctrl-C, then write the
report. Exit status 0 when the run was good (see :func:`.app.judge`), 1 when it was not or the server cannot be reached,
2 when the configuration is unusable (a bad file, no token) or the start-up failed; errors are one line on stderr."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from dataclasses import replace
from pathlib import Path

from tradingmcp import perf
from tradingmcp.client.bot.app import make_view, print_summary, run_session
from tradingmcp.client.bot.config import BotConfig, ConfigError, load_config, with_strategy
from tradingmcp.client.bot.runner import BotError, BotRunner


def config_from_args(args: argparse.Namespace) -> BotConfig:
    """The config file (or the defaults) with the command-line overrides applied.

    Raises:
        ConfigError: invalid file, a symbol not in it, or an unknown ``--strategy``.
    """
    config = load_config(args.config) if args.config else BotConfig()
    conn = config.connection
    conn = replace(
        conn,
        url=args.url or conn.url,
        token=args.token or conn.token,
        cafile=args.cafile or conn.cafile,
        exchange=args.exchange or conn.exchange,
    )
    config = replace(config, connection=conn)
    if args.symbol:
        wanted = {s.upper() for s in args.symbol}
        missing = wanted - {s.symbol for s in config.symbols}
        if missing:
            raise ConfigError(f"symbol(s) {sorted(missing)} have no [symbols.*] table in the config")
        config = replace(config, symbols=tuple(s for s in config.symbols if s.symbol in wanted))
    if args.out:
        config = replace(config, report=replace(config.report, out_dir=Path(args.out)))
    if getattr(args, "strategy", None):
        config = with_strategy(config, args.strategy)
    return config


async def run_bot_command(args: argparse.Namespace) -> int:
    """Run the bot as the CLI asked; returns the exit status."""
    try:
        config = config_from_args(args)
    except (ConfigError, OSError) as exc:
        print(f"tradingmcp bot: error: {_one_line(str(exc))}", file=sys.stderr)
        return 2
    runner = BotRunner(config, make_view(args.quiet))
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, runner.request_stop)
    tuning = perf.attach_bot(runner.core) if args.busy_poll else None
    try:
        session = await run_session(config, duration_s=args.duration, runner=runner)
    except BotError as exc:
        print(f"tradingmcp bot: error: {_one_line(str(exc))}", file=sys.stderr)
        return 2
    except (ConnectionError, OSError, TimeoutError) as exc:  # HandshakeRejected is a ConnectionError
        reason = _one_line(f"{type(exc).__name__}: {exc}")
        print(f"tradingmcp bot: error: cannot connect to {config.connection.url}: {reason}", file=sys.stderr)
        return 1
    finally:
        if tuning is not None:
            tuning.stop()
    print_summary(session)
    return 0 if session.ok else 1


def _one_line(text: str, limit: int = 500) -> str:
    """``text`` with whitespace runs (newlines included) folded to one space, cut to ``limit`` characters."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
