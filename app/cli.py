"""The ``tradingmcp`` command line: ``serve``, ``bridge``, ``bench``, ``certs``, ``sim``, ``bot``, ``demo``, ``cluster``, ``audit``,
``runs``, ``backtest``.

Options are never abbreviated (``--token`` is not ``--tokens``). A bad argument ends in one line on stderr and exit
status 2; a command that cannot bind its port or reach what it connects to ends in one line and exit status 1
(:mod:`tradingmcp.app.failure`).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, NoReturn

from tradingmcp.app.failure import EXIT_RUNTIME, EXIT_USAGE, StartupError, cause_text, fail, one_line
from tradingmcp.server.exchanges.ccxt.config import ccxt_id

Command = Callable[[argparse.Namespace], int]


class Parser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` with abbreviations off and one-line errors (exit status 2); its subparsers are
    built the same way."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {one_line(message)} (see {self.prog} -h)\n")


def _cmd_certs(args: argparse.Namespace) -> int:
    from tradingmcp.transport.tls import write_dev_certs

    written = write_dev_certs(args.dir, hostnames=args.host)
    for path in written:
        print(path)
    return 0


def _busy_poll_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--busy-poll",
        action="store_true",
        help="spin the event loop instead of sleeping in epoll (tradingmcp.perf): lower latency after "
        "idle gaps, one core at 100 %% (held while other tasks contend for it); runs at nice -10 when permitted",
    )


def _cmd_serve(args: argparse.Namespace) -> int:
    from pathlib import Path

    from tradingmcp.app.serve import ServeOptions, run_serve
    from tradingmcp.app.stack import ExchangeOptions
    from tradingmcp.server.wsserver import DEFAULT_RATE_LIMIT
    from tradingmcp.transport.ratelimit import RateLimit

    rate_limit = None  # the server's default: DEFAULT_RATE_LIMIT off loopback, none on loopback
    if args.rate_limit is not None or args.rate_burst is not None:
        per_s = args.rate_limit if args.rate_limit is not None else DEFAULT_RATE_LIMIT.per_s
        try:
            RateLimit(per_s, 1)  # the rate alone first: a default burst needs a finite one
            burst = args.rate_burst if args.rate_burst is not None else max(1, math.ceil(2 * per_s))
            rate_limit = RateLimit(per_s, burst)
        except ValueError as exc:
            return fail("serve", f"--rate-limit/--rate-burst: {exc}", EXIT_USAGE)

    bus = None
    if args.bus is not None:
        from tradingmcp.app.roles import ROLES, BusOptions

        if not args.bus_lease_ttl > 0:
            return fail("serve", f"--bus-lease-ttl must be positive, got {args.bus_lease_ttl}", EXIT_USAGE)
        bus = BusOptions(args.bus, frozenset(args.role) if args.role else frozenset(ROLES), args.bus_lease_ttl)
    elif args.role:
        return fail("serve", "--role needs --bus nats://host:port", EXIT_USAGE)
    opts = ServeOptions(
        host=args.host,
        port=args.port,
        certfile=args.certfile,
        client_cafile=args.client_ca,
        tls=args.tls,
        tokens=args.tokens,
        insecure_no_auth=args.insecure_no_auth,
        backend=args.backend,
        exchange=ExchangeOptions(
            exchange=args.exchange,
            speed=args.speed,
            data_dir=Path(args.data) if args.data else None,
            synthetic=args.synthetic,
            remote_sim=args.sim_url,
            mexc_offset_bps=args.mexc_offset_bps,
        ),
        with_exchange=not args.no_exchange,
        log_json=args.log_json,
        config_file=Path(args.config) if args.config else None,
        busy_poll=args.busy_poll,
        rate_limit=rate_limit,
        conformance_fixtures=args.conformance_fixtures,
        bus=bus,
    )
    return _run(run_serve(opts), "serve")


def _cmd_audit(args: argparse.Namespace) -> int:
    from tradingmcp.server.audit.cli import run

    return run(args)


def _cmd_bridge(args: argparse.Namespace) -> int:
    from tradingmcp.client.bridge import run_bridge
    from tradingmcp.transport.tls import client_ssl_context

    if not args.url.startswith(("ws://", "wss://")):
        return fail("bridge", f"the URL must start with ws:// or wss://, got {args.url[:200]!r}", EXIT_USAGE)
    try:
        ssl = client_ssl_context(args.cafile) if args.url.startswith("wss://") else None
    except OSError as exc:  # a missing or unreadable CA file (ssl.SSLError is an OSError)
        return fail("bridge", f"--cafile {args.cafile}: {cause_text(exc)}", EXIT_USAGE)
    token = args.token or os.environ.get("TRADINGMCP_TOKEN")
    try:
        return _run(run_bridge(args.url, token=token, ssl=ssl, backend=args.backend), "bridge")
    except (ConnectionError, OSError, TimeoutError) as exc:  # HandshakeRejected is a ConnectionError
        return fail("bridge", f"cannot connect to {args.url}: {cause_text(exc)}", EXIT_RUNTIME)


def _cmd_demo(args: argparse.Namespace) -> int:
    from pathlib import Path

    from tradingmcp.app.demo import DemoOptions, run_demo, speed_for

    speed = args.speed if args.speed else speed_for(args.duration)
    opts = DemoOptions(
        duration_s=args.duration,
        speed=speed,
        data_dir=Path(args.data) if args.data else None,
        synthetic=args.synthetic,
        out_dir=Path(args.out),
        quiet=args.quiet,
        bot_config=Path(args.config) if args.config else None,
        exchange=args.exchange,
    )
    return _run(run_demo(opts), "demo")


def _cmd_bot(args: argparse.Namespace) -> int:
    from tradingmcp.client.bot.cli import run_bot_command

    return _run(run_bot_command(args), "bot")


def _cmd_sim(args: argparse.Namespace) -> int:
    from pathlib import Path

    from tradingmcp.sim.config import SimConfig
    from tradingmcp.sim.run import run_simulator

    config = SimConfig(
        host=args.host,
        port=args.port,
        ws_port=args.ws_port,
        data_dir=Path(args.data) if args.data else None,
        synthetic=args.synthetic,
        symbols=tuple(s.upper() for s in args.symbol) if args.symbol else ("BTCUSDT", "ETHUSDT"),
        speed=args.speed,
        loop=args.loop,
    )
    try:
        return _run(_forever(run_simulator(config)), "sim")
    except OSError as exc:  # only binding raises out of the simulator
        ws_port = config.ws_port if config.ws_port is not None else (config.port + 1 if config.port else 0)
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        where = f"{config.host} (REST port {config.port}, WebSocket port {ws_port})"
        return fail("sim", f"cannot listen on {where}: {reason}", EXIT_RUNTIME)


async def _forever(coro: Coroutine[Any, Any, None]) -> int:
    await coro
    return 0


def _run(coro: Coroutine[Any, Any, int], command: str) -> int:
    """Run ``coro`` on uvloop; a :class:`StartupError` out of it is one line and exit status 1."""
    import uvloop

    try:
        return uvloop.run(coro)
    except KeyboardInterrupt:
        return 130
    except StartupError as exc:
        return fail(command, str(exc), EXIT_RUNTIME)


def _cmd_cluster(args: argparse.Namespace) -> int:
    from pathlib import Path

    from tradingmcp.app.cluster import run_cluster

    if args.gateways < 1 or args.traders < 1:
        return fail("cluster", "--gateways and --traders must be at least 1", EXIT_USAGE)
    return run_cluster(
        Path(args.out),
        args.gateways,
        args.traders,
        args.speed,
        args.synthetic,
        args.duration,
        Path(args.data) if args.data else None,
        with_bot=not args.no_bot,
    )


def _cmd_runs(args: argparse.Namespace) -> int:
    from tradingmcp.app.runs import run_runs

    return run_runs(args)


def _cmd_bench(args: argparse.Namespace) -> int:
    from tradingmcp.benchmarks.cli import main as bench_main

    return bench_main(list(args.bench_args))


def _exchange_arg(names: tuple[str, ...], any_ccxt: bool = False) -> Callable[[str], str]:
    """An ``--exchange`` value: one of ``names``, or (``any_ccxt``) ``ccxt:<id>``; argparse's one line otherwise."""

    def parse(value: str) -> str:
        if value in names:
            return value
        if any_ccxt:
            try:
                if ccxt_id(value) is not None:
                    return value.lower()
            except ValueError as exc:
                raise argparse.ArgumentTypeError(str(exc)) from None
        more = " or ccxt:<id>" if any_ccxt else ""
        raise argparse.ArgumentTypeError(f"{value!r} is not one of {', '.join(names)}{more}")

    return parse


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; each subcommand sets ``func`` to its handler."""
    parser = Parser(prog="tradingmcp", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)  # subparsers are of type Parser too

    p = sub.add_parser("certs", help="create a local dev CA and a localhost server certificate in certs/")
    p.add_argument("--dir", default="certs", help="output folder (default: certs)")
    p.add_argument("--host", action="append", default=None, help="extra host name for the server certificate")
    p.set_defaults(func=_cmd_certs, parser_of_command=p)

    p = sub.add_parser("serve", help="run the MCP server over WebSocket (wss unless bound to loopback)")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 = ephemeral)")
    p.add_argument("--tls", action="store_true", help="use wss even on loopback")
    p.add_argument("--certfile", default=None, help="server key+chain PEM (default certs/server.pem when TLS is on)")
    p.add_argument("--client-ca", default=None, help="require client certificates signed by this CA (mutual TLS)")
    p.add_argument("--tokens", default=None, help="name:token:scopes;... (default: $TRADINGMCP_TOKENS)")
    p.add_argument("--insecure-no-auth", action="store_true", help="no tokens (allowed on loopback only)")
    p.add_argument("--backend", choices=["picows", "websockets"], default="picows")
    p.add_argument(
        "--exchange",
        type=_exchange_arg(("binance", "mexc", "both", "bybit"), any_ccxt=True),
        default="binance",
        help="venues: binance (default), mexc, both (binance+mexc) or bybit; the simulator unless "
        "BINANCE_/MEXC_/BYBIT_API_KEY+SECRET are set (MEXC has no testnet: its keys mean LIVE trading; Bybit keys "
        "mean Bybit testnet); or ccxt:<id>, any ccxt exchange (ccxt:binance and ccxt:mexc on the simulator unless "
        "CCXT_<ID>_API_KEY is set; sandbox where the exchange has one)",
    )
    p.add_argument("--speed", type=float, default=1.0, help="simulator replay speed (default real time; loops)")
    p.add_argument(
        "--mexc-offset-bps",
        type=float,
        default=0.0,
        help="simulator: the MEXC face replays the market with every price moved by this many basis points "
        "(its own books and engine; for cross-venue arbitrage with --exchange both)",
    )
    p.add_argument("--data", default=None, help="data root for the simulator (default ../shared/data)")
    p.add_argument("--synthetic", action="store_true", help="simulator: seeded synthetic market")
    p.add_argument("--no-exchange", action="store_true", help="no exchange: built-in tools only")
    p.add_argument("--log-json", action="store_true", help="log JSON lines to stderr, secrets redacted")
    p.add_argument(
        "--config", default=None, help="TOML with [safety], [audit], [portfolio] (see tradingmcp.example.toml)"
    )
    p.add_argument(
        "--rate-limit",
        type=float,
        default=None,
        metavar="PER_S",
        help="requests per second per connection (0 = no limit; default 1000 off loopback, none on loopback)",
    )
    p.add_argument(
        "--rate-burst",
        type=int,
        default=None,
        metavar="N",
        help="requests a connection may send at once before the rate applies (default 2 x --rate-limit)",
    )
    p.add_argument(
        "--conformance-fixtures",
        action="store_true",
        help="also register the official MCP conformance suite's reference tools, resources and prompts (test_*, "
        "test://...): for conformance runs only, off by default",
    )
    p.add_argument(
        "--bus",
        default=None,
        metavar="URL",
        help="run over the NATS JetStream bus at nats://host:port (credentials: $TRADINGMCP_BUS_USER/_PASSWORD or "
        "_TOKEN); without --role: feed, trader and gateway in this process",
    )
    p.add_argument(
        "--role",
        action="append",
        choices=["feed", "gateway", "trader"],
        default=None,
        help="with --bus: the role of this process (repeatable): feed (market data), trader (orders), gateway (MCP)",
    )
    p.add_argument(
        "--bus-lease-ttl",
        type=float,
        default=3.0,
        metavar="S",
        help="trader: seconds a lease lives without renewal, the bound on a failover (default 3)",
    )
    p.add_argument(
        "--sim-url",
        default=None,
        metavar="URL",
        help="use a standalone simulator (tradingmcp sim) at http://host:port as the binance venue",
    )
    _busy_poll_option(p)
    p.set_defaults(func=_cmd_serve, parser_of_command=p)

    p = sub.add_parser("sim", help="run the Binance-compatible exchange simulator (replays the real recording)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=18080, help="REST port (default 18080)")
    p.add_argument("--ws-port", type=int, default=None, help="market streams and WS API port (default: --port + 1)")
    p.add_argument("--data", default=None, help="data root (default: $TRADINGMCP_DATA or ../shared/data)")
    p.add_argument("--synthetic", action="store_true", help="seeded synthetic market instead of the recording")
    p.add_argument("--symbol", action="append", default=None, help="symbol to replay (repeatable)")
    p.add_argument("--speed", type=float, default=1.0, help="replay pace multiplier (default 1.0 = real time)")
    p.add_argument("--loop", action="store_true", help="restart the replay at the end")
    p.set_defaults(func=_cmd_sim, parser_of_command=p)

    p = sub.add_parser("demo", help="simulator on real data + MCP server over wss + the reference bot, end to end")
    p.add_argument("--duration", type=float, default=60.0, help="seconds of trading (default 60)")
    p.add_argument("--speed", type=float, default=None, help="replay speed (default: fit the recording in --duration)")
    p.add_argument("--data", default=None, help="data root (default: $TRADINGMCP_DATA or ../shared/data)")
    p.add_argument("--synthetic", action="store_true", help="seeded synthetic market instead of the recording")
    p.add_argument("--out", default="demo-report", help="report folder (default demo-report)")
    p.add_argument("--quiet", action="store_true", help="status lines instead of the live view")
    p.add_argument("--config", default=None, help="bot TOML (strategy/risk; the connection is the demo's)")
    p.add_argument(
        "--exchange",
        type=_exchange_arg(("binance", "mexc", "bybit", "ccxt:binance", "ccxt:mexc")),
        default="binance",
        help="simulator face the bot trades on: binance (default), mexc (MEXC Spot v3 wire protocol) or bybit "
        "(Bybit V5 spot); ccxt:binance or ccxt:mexc for the Binance and MEXC faces through ccxt",
    )
    p.set_defaults(func=_cmd_demo, parser_of_command=p)

    p = sub.add_parser(
        "cluster", help="nats-server + simulator + feed + trader + two gateways on loopback, and the bot on one of them"
    )
    p.add_argument("--gateways", type=int, default=2, help="gateways (default 2)")
    p.add_argument("--traders", type=int, default=1, help="traders: 2 = an active one and a standby (default 1)")
    p.add_argument("--speed", type=float, default=1.0, help="simulator replay speed (default real time)")
    p.add_argument("--synthetic", action="store_true", help="seeded synthetic market instead of the recording")
    p.add_argument("--data", default=None, help="data root (default: $TRADINGMCP_DATA or ../shared/data)")
    p.add_argument("--duration", type=float, default=None, help="seconds to run (default: until Ctrl-C)")
    p.add_argument("--out", default="cluster-run", help="logs and the bot's report (default cluster-run)")
    p.add_argument("--no-bot", action="store_true", help="start the cluster only")
    p.set_defaults(func=_cmd_cluster, parser_of_command=p)

    p = sub.add_parser("bot", help="the reference trading bot (strategy plug-ins over the MCP tools and streams)")
    p.add_argument("--config", default=None, help="bot TOML file (see bot.example.toml)")
    p.add_argument("--url", default=None, help="server URL (overrides the config), e.g. wss://127.0.0.1:8765/mcp")
    p.add_argument("--token", default=None, help="bearer token (default: config, then $TRADINGMCP_TOKEN)")
    p.add_argument("--cafile", default=None, help="CA to verify the server with (default certs/ca.pem)")
    p.add_argument("--exchange", default=None, help="venue name (default from the config: binance)")
    p.add_argument("--symbol", action="append", default=None, help="trade only these symbols (repeatable)")
    p.add_argument(
        "--strategy",
        default=None,
        help="market_making, momentum, mean_reversion, arbitrage or signals (overrides [strategy] kind)",
    )
    p.add_argument("--duration", type=float, default=None, help="stop after this many seconds (default: until Ctrl-C)")
    p.add_argument("--out", default=None, help="report folder (default from the config: bot-report)")
    p.add_argument("--quiet", action="store_true", help="status lines instead of the live view")
    _busy_poll_option(p)
    p.set_defaults(func=_cmd_bot, parser_of_command=p)

    p = sub.add_parser("bridge", help="stdio <-> wss bridge for stdio-only MCP hosts")
    p.add_argument("url", help="server URL, e.g. wss://127.0.0.1:8765/mcp")
    p.add_argument("--token", default=None, help="bearer token (default: $TRADINGMCP_TOKEN)")
    p.add_argument("--cafile", default=None, help="CA to verify the server with (e.g. certs/ca.pem)")
    p.add_argument("--backend", choices=["picows", "websockets"], default="picows")
    p.set_defaults(func=_cmd_bridge, parser_of_command=p)

    p = sub.add_parser("audit", help="query the audit log (every tool call and order event), newest first")
    p.add_argument("--db", default=None, help="audit database (default $TRADINGMCP_DATA_DIR or var/, audit.sqlite3)")
    p.add_argument(
        "--postgres-url",
        default=os.environ.get("TRADINGMCP_AUDIT_URL"),
        help="read the audit log from PostgreSQL (default $TRADINGMCP_AUDIT_URL)",
    )
    p.add_argument("--since", default=None, help="ms since the epoch, or a duration ago: 90s, 15m, 2h, 1d")
    p.add_argument("--until", default=None, help="ms since the epoch, or a duration ago")
    p.add_argument("--tool", default=None)
    p.add_argument("--principal", default=None, help="token name")
    p.add_argument("--outcome", choices=["ok", "tool_error", "rpc_error", "internal"], default=None)
    p.add_argument("--kind", choices=["tool_call", "order_event", "safety_event"], default=None)
    p.add_argument("--exchange", default=None)
    p.add_argument("--client-order-id", default=None)
    p.add_argument("--limit", type=int, default=50, help="rows (max 200)")
    p.add_argument("--cursor", type=int, default=None, help="the 'more: --cursor N' of a previous page")
    p.add_argument("--json", action="store_true", help="print {entries, next_cursor} as JSON")
    p.set_defaults(func=_cmd_audit, parser_of_command=p)

    p = sub.add_parser("runs", help="list and compare the logged backtest and bot runs, or show one (runs show ID)")
    p.add_argument("what", nargs="*", metavar="show ID", help="show one run (by id, its start or tail, or name)")
    p.add_argument("--dir", default=None, help="run log folder (default $TRADINGMCP_RUNS_DIR or ./runs)")
    p.add_argument("--kind", choices=["backtest", "bot"], default=None, help="only runs of this kind")
    p.add_argument("--sort", default=None, metavar="METRIC", help="order by this report metric, largest first")
    p.add_argument("--metric", action="append", default=None, help="a report metric to show as a column (repeatable)")
    p.add_argument("--last", type=int, default=None, metavar="N", help="only the newest N runs")
    p.set_defaults(func=_cmd_runs, parser_of_command=p)

    from tradingmcp.research.backtest import cli as backtest_cli

    p = sub.add_parser("backtest", help="replay market data through the simulator's matching and the bot's strategy")
    backtest_cli.add_arguments(p)
    p.set_defaults(func=backtest_cli.main, parser_of_command=p)

    # prefix_chars="+": every argument after "bench" (including -h) goes to the benchmark's own parser
    p = sub.add_parser(
        "bench", help="latency benchmark suite (see tradingmcp bench -h)", add_help=False, prefix_chars="+"
    )
    p.add_argument("bench_args", nargs="*")
    p.set_defaults(func=_cmd_bench, parser_of_command=p)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``tradingmcp`` console script. Returns the process exit code (2 after a bad argument)."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # said by the subcommand's parser, so the hint names its -h
        subparser: argparse.ArgumentParser = args.parser_of_command
        subparser.error(f"unrecognized arguments: {' '.join(extra)}")
    func: Command = args.func
    return func(args)


if __name__ == "__main__":
    sys.exit(main())
