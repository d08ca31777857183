"""``tradingmcp demo`` prints the web console's address with a one-time token, and the console, opened in Debian's
Chromium while the bot trades, shows the bot at work: its orders or fills and its calls in the audit log."""

from __future__ import annotations

import asyncio
import re
import shutil
from pathlib import Path

import pytest
from playwright.async_api import expect

from tests.server.console.support import SCREENSHOTS, WAIT_MS, chromium, page_until, shot, until
from tradingmcp.app.demo import DemoOptions, run_demo

URL = re.compile(r"web console: (https://127\.0\.0\.1:\d+/console#token=[A-Za-z0-9_-]+)")


async def test_the_demo_prints_the_console_url_and_the_console_shows_the_bot(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report"
    demo = asyncio.create_task(
        run_demo(DemoOptions(duration_s=50.0, speed=11.0, data_dir=data_dir, out_dir=out, quiet=True))
    )
    printed: list[str] = []

    async def url_printed() -> bool:
        printed.append(capsys.readouterr().out)
        assert not demo.done(), "".join(printed)
        return URL.search("".join(printed)) is not None

    try:
        await until(url_printed, 60)
        url = URL.search("".join(printed))
        assert url is not None
        async with chromium() as browser:
            context = await browser.new_context(ignore_https_errors=True, viewport={"width": 1400, "height": 1000})
            page = await context.new_page()
            await page.goto(url.group(1))  # the run's own dev CA signed the certificate
            await page_until(page, "document.body.dataset.state === 'connected'")
            await expect(page.locator("#who")).to_have_text("console (audit, read, trade)", timeout=WAIT_MS)
            await page_until(page, "window.tradingmcpConsole.ticks >= 20")
            await expect(page.locator("#audit tbody")).to_contain_text("demo-bot", timeout=WAIT_MS)
            await page_until(page, "window.tradingmcpConsole.orders.size + window.tradingmcpConsole.fills.length > 0")
            await expect(page.locator("#latency-orders")).not_to_contain_text("— 0 calls", timeout=WAIT_MS)
            await expect(page.locator("#kill")).to_be_enabled()
            await expect(page.locator("#venues tbody")).to_contain_text("up", timeout=WAIT_MS)
            await page_until(page, "window.tradingmcpConsole.pnlPoints >= 4")  # balances and P&L over time
            picture = await shot(page, "demo")
            await page.set_viewport_size({"width": 1400, "height": 1500})
            await shot(page, "demo-top", full_page=False)  # the README's picture (docs/console.png)
            await context.close()
        assert picture.stat().st_size > 0 and picture.parent == SCREENSHOTS
        status = await asyncio.wait_for(demo, 120)
    finally:
        if not demo.done():
            demo.cancel()
    text = "".join(printed) + capsys.readouterr().out
    assert status == 0, text
    assert "demo OK" in text
    shutil.rmtree(out, ignore_errors=True)
