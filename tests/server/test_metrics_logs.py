"""Structured JSON logs: one JSON object per line, and no secret ever reaches the output."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import orjson
import pytest

from tradingmcp.server.exchanges.models import OrderRequest, OrderType, Side
from tradingmcp.server.logs import install_json_logging, redact_text

from .support import TRADER_TOKEN, start_tool_server

SECRET = "s3cr3t-value-5566778899"


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """Root logging → JSON lines in a buffer (DEBUG), restored afterwards."""
    root = logging.getLogger()
    saved, level = list(root.handlers), root.level
    out = io.StringIO()
    install_json_logging(logging.DEBUG, out)
    try:
        yield out
    finally:
        for h in list(root.handlers):
            root.removeHandler(h)
        for h in saved:
            root.addHandler(h)
        root.setLevel(level)


def lines(out: io.StringIO) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in out.getvalue().splitlines()]


def test_json_lines_with_secrets_scrubbed(json_log: io.StringIO) -> None:
    log = logging.getLogger("tradingmcp.test")
    log.info("GET /api/v3/order?symbol=BTCUSDT&timestamp=1&signature=%s", "ab12cd34ef56ab12cd34")
    log.warning("headers %s", {"X-MBX-APIKEY": SECRET, "Accept": "json"})
    log.info("upgrade with subprotocols %r and Authorization: Bearer %s", ["mcp", f"auth.{SECRET}"], SECRET)
    log.info("order placed", extra={"symbol": "BTCUSDT", "api_secret": SECRET, "detail": f"password={SECRET}"})
    try:
        raise ValueError(f"bad request api_key={SECRET}")
    except ValueError:
        log.exception("request failed")
    text = json_log.getvalue()
    assert SECRET not in text and "ab12cd34ef56ab12cd34" not in text
    records = lines(json_log)
    assert [r["level"] for r in records] == ["INFO", "WARNING", "INFO", "INFO", "ERROR"]
    assert records[0]["logger"] == "tradingmcp.test" and str(records[0]["msg"]).endswith("signature=***")
    assert records[3]["symbol"] == "BTCUSDT" and records[3]["api_secret"] == "***"
    assert "ValueError: bad request api_key=***" in str(records[4]["exc"])
    assert isinstance(records[0]["time_ms"], int) and str(records[0]["ts"]).endswith("Z")


def test_redact_text_keeps_ordinary_words() -> None:
    assert redact_text("max tokens reached in auth.py") == "max tokens reached in auth.py"
    assert redact_text('{"apiKey": "k-123", "qty": "1"}') == '{"apiKey": "***", "qty": "1"}'


async def test_no_secret_in_debug_logs_of_a_whole_session(
    json_log: io.StringIO, data_dir: Path, tmp_path: Path
) -> None:
    async with start_tool_server(data_dir, tmp_path) as srv:
        srv.sim.step(2000)
        async with srv.client() as c:
            await c.call_tool("get_ticker", {"symbol": "BTCUSDT"})
        adapter = srv.venues.get().adapter
        await adapter.place_order(OrderRequest("BTCUSDT", Side.BUY, OrderType.MARKET, quantity=Decimal("0.001")))
        # the mistakes a developer makes while debugging: dumping the config and the request headers
        cfg = adapter.config
        logging.getLogger("tradingmcp.debug").debug("config %r headers %s", cfg, {"X-MBX-APIKEY": cfg.api_key})
    text = json_log.getvalue()
    assert text, "DEBUG logging of a whole session produced nothing"
    lines(json_log)  # every line is JSON
    for secret in (TRADER_TOKEN, "sim-secret", "sim-key"):
        assert secret not in text
    assert re.search(r"signature=[0-9a-f]{16}", text) is None
