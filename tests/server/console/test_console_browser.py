"""The console in a real browser (Debian's Chromium through Playwright) against the whole server on the simulator:
live prices over the page's own MCP-over-WebSocket link, a refused token, the kill switch by scope, a dropped
connection. Each test saves a screenshot under ``test-output/console/``."""

from __future__ import annotations

import asyncio
import re
from decimal import Decimal
from pathlib import Path

from playwright.async_api import Browser, ConsoleMessage, Page, expect

from tests.server.support import ok
from tradingmcp.client.bot.config import BotConfig, ConnectionConfig, ReportConfig, RiskConfig, SymbolConfig
from tradingmcp.client.bot.runner import BotRunner

from .support import (
    READER_TOKEN,
    TRADER_TOKEN,
    WAIT_MS,
    ConsoleServer,
    console_server,
    page_until,
    replaying,
    resting_buy,
    shot,
    state_is,
    until,
)

PRICE = re.compile(r"^\d+(\.\d+)?$")


async def open_console(browser: Browser, srv: ConsoleServer, token: str | None) -> tuple[Page, list[str]]:
    """A fresh page on the console; returns it and the list its script errors are collected into."""
    page = await browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    def console_error(msg: ConsoleMessage) -> None:
        if msg.type == "error" and "WebSocket" not in msg.text and "Failed to load resource" not in msg.text:
            errors.append(msg.text)

    page.on("console", console_error)
    await page.goto(srv.console(token))
    return page, errors


async def last_price(page: Page) -> str:
    return (await page.locator("#last-price").inner_text()).strip()


async def test_live_prices_change_while_the_simulator_replays(browser: Browser, srv: ConsoleServer) -> None:
    page, errors = await open_console(browser, srv, TRADER_TOKEN)
    await state_is(page, "connected")
    assert "token" not in page.url  # the token left the address bar
    await expect(page.locator("#who")).to_have_text("trader (read, trade)", timeout=WAIT_MS)
    async with replaying(srv.sim):
        await page_until(page, "/^\\d+(\\.\\d+)?$/.test(document.getElementById('last-price').textContent.trim())")
        first = await last_price(page)
        seen: list[str] = []

        async def changed() -> bool:
            seen.append(await last_price(page))
            return seen[-1] != first

        await until(changed)
        second = seen[-1]
        await page_until(page, "window.tradingmcpConsole.ticks >= 20")
        await expect(page.locator("#book tbody tr td.bid").first).to_have_text(PRICE, timeout=WAIT_MS)
        await expect(page.locator("#venues tbody")).to_contain_text("binance", timeout=WAIT_MS)
        await expect(page.locator("#rate-limits tbody")).to_contain_text("REQUEST_WEIGHT", timeout=WAIT_MS)
        await expect(page.locator("#safety tbody")).to_contain_text("max open orders", timeout=WAIT_MS)
        await expect(page.locator("#tools option[value=kill_switch]")).to_have_count(1, timeout=WAIT_MS)  # tools/list
        await expect(page.locator("#balances tbody")).to_contain_text("USDT", timeout=WAIT_MS)
        await expect(page.locator("#latency-page")).to_contain_text("calls", timeout=WAIT_MS)
    assert PRICE.match(first) and PRICE.match(second) and first != second
    # the page reached the server as an MCP client over WebSocket: its streams are live on the server
    assert any(k.startswith("book_ticker:binance:BTCUSDT") for k in srv.hub.active())
    await shot(page, "live-prices")
    # another symbol: the page moves its streams there
    await page.locator("#symbol").fill("ETHUSDT")
    await page.locator("#symbol").press("Enter")
    await expect(page.locator("#price-symbol")).to_have_text("ETHUSDT on binance", timeout=WAIT_MS)
    async with replaying(srv.sim):
        await page_until(page, "Number(document.getElementById('last-price').textContent) < 10000")
    assert any(k.startswith("trades:binance:ETHUSDT") for k in srv.hub.active())
    assert not any(k.startswith("trades:binance:BTCUSDT") for k in srv.hub.active())
    assert errors == []


async def test_a_wrong_token_shows_a_clear_error(browser: Browser, srv: ConsoleServer) -> None:
    page, errors = await open_console(browser, srv, "not-the-token")
    await state_is(page, "refused")
    await expect(page.locator("#banner")).to_be_visible()
    await expect(page.locator("#banner")).to_contain_text("refused this token")
    await expect(page.locator("#conn")).to_have_text("token refused")
    await expect(page.locator("#login")).to_be_visible()
    await expect(page.locator("#panels")).to_be_hidden()
    await shot(page, "wrong-token")
    assert errors == []


async def test_a_read_token_cannot_press_the_kill_switch(browser: Browser, srv: ConsoleServer) -> None:
    async with srv.client(TRADER_TOKEN) as trader:
        bid = (await ok(trader, "get_ticker", {"symbol": "BTCUSDT"}))["bid"]
        placed = await ok(
            trader,
            "place_order",
            resting_buy(bid),
        )
        page, errors = await open_console(browser, srv, READER_TOKEN)
        await state_is(page, "connected")
        await expect(page.locator("#who")).to_have_text("reader (read)", timeout=WAIT_MS)
        await expect(page.locator("#orders-count")).to_have_text("(1)", timeout=WAIT_MS)
        kill = page.locator("#kill")
        await expect(kill).to_be_disabled()
        await expect(kill).to_have_attribute("title", "needs a token with the trade scope")
        await kill.click(force=True)  # a disabled button does nothing, even when clicked
        await expect(page.locator("#kill-dialog")).not_to_be_visible()
        await shot(page, "read-token-kill-switch-disabled")
        still = await ok(trader, "get_open_orders", {})
        assert [o["order_id"] for o in still["orders"]] == [placed["order"]["order_id"]]
    assert errors == []


async def test_the_kill_switch_cancels_the_accounts_orders(browser: Browser, srv: ConsoleServer) -> None:
    async with srv.client(TRADER_TOKEN) as trader:
        bid = (await ok(trader, "get_ticker", {"symbol": "BTCUSDT"}))["bid"]
        for pct in ("0.97", "0.98", "0.99"):
            await ok(
                trader,
                "place_order",
                resting_buy(bid, pct),
            )
        page, errors = await open_console(browser, srv, TRADER_TOKEN)
        await state_is(page, "connected")
        await expect(page.locator("#orders-count")).to_have_text("(3)", timeout=WAIT_MS)
        await expect(page.locator("#kill")).to_be_enabled(timeout=WAIT_MS)
        await page.locator("#kill").click()
        dialog = page.locator("#kill-dialog")
        await expect(dialog).to_be_visible()
        await expect(dialog).to_contain_text("binance")
        await shot(page, "kill-switch-confirm")
        await page.locator("#kill-confirm").click()
        await expect(page.locator("#banner")).to_contain_text(
            "KILL SWITCH ON for binance: 3 orders cancelled", timeout=WAIT_MS
        )
        await expect(page.locator("#orders-count")).to_have_text("(0)", timeout=WAIT_MS)
        await expect(page.locator("#kill")).to_be_disabled()
        await expect(page.locator("#venues tbody")).to_contain_text("ON", timeout=WAIT_MS)
        await shot(page, "kill-switch-on")
        assert (await ok(trader, "get_open_orders", {}))["orders"] == []
        account_orders = [o for a in srv.sim.engine.accounts.values() for o in a.orders]
        assert len(account_orders) == 3 and all(o.status == "CANCELED" for o in account_orders)
        refused = await trader.call_tool(
            "place_order",
            resting_buy(bid),
        )
        assert refused["isError"] is True
    # the audit log, filtered by tool and outcome, shows that refusal (the page's own calls shown too)
    await page.locator("#audit-hide-own").uncheck()
    await page.locator("#audit-tool").fill("place_order")
    await page.locator("#audit-outcome").select_option("tool_error")
    audit = page.locator("#audit tbody")
    await expect(audit.locator("tr")).to_have_count(1, timeout=WAIT_MS)
    await expect(audit).to_contain_text("place_order")
    await expect(audit).to_contain_text("tool_error")
    await page.locator("#audit-tool").fill("kill_switch")
    await page.locator("#audit-outcome").select_option("ok")
    await expect(audit).to_contain_text("kill_switch", timeout=WAIT_MS)
    await shot(page, "audit-filtered")
    assert errors == []


async def test_a_dropped_connection_shows_reconnecting_and_recovers(browser: Browser, srv: ConsoleServer) -> None:
    page, errors = await open_console(browser, srv, TRADER_TOKEN)
    async with replaying(srv.sim):
        await state_is(page, "connected")
        await page_until(page, "window.tradingmcpConsole.ticks >= 5")
        await srv.stop()
        await state_is(page, "reconnecting")
        await expect(page.locator("#conn")).to_have_text("reconnecting…")
        await expect(page.locator("#banner")).to_contain_text("reconnecting")
        await shot(page, "reconnecting")
        await srv.start()  # the same port
        await state_is(page, "connected")
        ticks = await page.evaluate("window.tradingmcpConsole.ticks")
        await page_until(page, f"window.tradingmcpConsole.ticks >= {ticks + 10}")
        await expect(page.locator("#banner")).to_be_hidden()
    await until(lambda: _resubscribed(srv))
    await shot(page, "reconnected")
    assert errors == []


async def _resubscribed(srv: ConsoleServer) -> bool:
    return any(k.startswith("trades:binance:BTCUSDT") for k in srv.hub.active())


async def test_the_kill_switch_stops_the_reference_bot(browser: Browser, srv: ConsoleServer, tmp_path: Path) -> None:
    """The reference bot quotes BTCUSDT through the server; the console's kill switch cancels its resting orders on
    the simulator, and its later orders are refused."""
    config = BotConfig(
        connection=ConnectionConfig(url=srv.mcp_url, token=TRADER_TOKEN, cafile=None, call_timeout_s=10.0),
        symbols=(SymbolConfig("BTCUSDT", Decimal("0.0002"), Decimal("0.002")),),
        risk=RiskConfig(reject_cooldown_ms=100),
        report=ReportConfig(out_dir=tmp_path / "bot"),
    )
    runner = BotRunner(config)
    stop = asyncio.Event()
    page, errors = await open_console(browser, srv, TRADER_TOKEN)
    async with replaying(srv.sim):
        await runner.start()
        bot = asyncio.create_task(runner.run(None, stop.is_set))
        try:
            await state_is(page, "connected")
            orders = page.locator("#orders tbody")
            await expect(orders).to_contain_text(runner.core.tracker.prefix, timeout=WAIT_MS)  # the bot's quotes
            assert srv.sim.engine.open.get("BTCUSDT")
            await page.locator("#kill").click()
            await page.locator("#kill-confirm").click()
            await expect(page.locator("#banner")).to_contain_text("KILL SWITCH ON for binance", timeout=WAIT_MS)
            assert not srv.sim.engine.open.get("BTCUSDT")  # every resting order of the account cancelled
            cancelled = re.search(r"(\d+) orders cancelled", await page.locator("#banner").inner_text())
            assert cancelled is not None and int(cancelled.group(1)) >= 1
            placed, rejected = runner.core.tracker.placed, runner.core.tracker.rejected
            await until(lambda: _refused_since(runner, placed, rejected))  # the bot carries on quoting, and is refused
            assert not srv.sim.engine.open.get("BTCUSDT")
            await expect(page.locator("#orders-count")).to_have_text("(0)", timeout=WAIT_MS)
            await shot(page, "kill-switch-stops-the-bot")
        finally:
            stop.set()
            await asyncio.wait_for(bot, 30)
            await runner.finish(settle_s=1.0)
    assert errors == []


async def _refused_since(runner: BotRunner, placed: int, rejected: int) -> bool:
    """The bot had an order refused since the counts ``placed`` and ``rejected``, and placed none."""
    return runner.core.tracker.rejected > rejected and runner.core.tracker.placed == placed


async def test_an_upgrade_the_server_refuses_says_why(browser: Browser, data_dir: Path, tmp_path: Path) -> None:
    """Bound to every address without TLS (no own-origin rule there), the server takes the token over HTTP but refuses
    the page's WebSocket upgrade for its Origin: the page says so instead of retrying in silence."""
    async with console_server(data_dir, tmp_path, host="0.0.0.0") as srv:
        page, errors = await open_console(browser, srv, TRADER_TOKEN)
        await state_is(page, "reconnecting")
        await expect(page.locator("#banner")).to_contain_text(
            f"refuses this page's WebSocket upgrade (HTTP 403?): allow the origin {srv.base}", timeout=WAIT_MS
        )
        await shot(page, "upgrade-refused")
    assert errors == []
