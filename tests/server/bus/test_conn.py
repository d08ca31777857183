"""The bus connection against a real nats-server: streams with a bounded window, one clear error when it is absent,
credentials never shown."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tradingmcp.server.bus.config import MARKET_STREAM, BusConfig
from tradingmcp.server.bus.conn import BusLink, BusUnreachable
from tradingmcp.server.bus.natsserver import NatsServer, free_port
from tradingmcp.server.bus.subjects import StreamMessage, decode, subject_of


async def test_streams_keep_a_window_per_subject(nats_server: NatsServer) -> None:
    link = await BusLink.connect(BusConfig(nats_server.url, retention_msgs=3), "test")
    try:
        await link.ensure_streams()
        subject = subject_of("trades:binance:BTCUSDT")
        assert subject == "tmcp.md.binance.BTCUSDT.trades"
        for seq in range(1, 6):
            await link.js.publish(subject, StreamMessage("trades:binance:BTCUSDT", seq, "e1", {"p": seq}).encode())
        info = await link.js.stream_info(MARKET_STREAM)
        assert info.state.messages == 3  # the count bound per subject
        last = await link.js.get_last_msg(MARKET_STREAM, subject)
        assert decode(last.data or b"", "trades:binance:BTCUSDT").seq == 5
        assert info.config.max_age == pytest.approx(600.0)
    finally:
        await link.close()


async def test_no_bus_is_one_error_naming_the_url() -> None:
    port = free_port()
    with pytest.raises(BusUnreachable) as err:
        await BusLink.connect(BusConfig(f"nats://127.0.0.1:{port}"), "test", timeout_s=1)
    assert str(err.value).startswith(f"cannot reach the bus at nats://127.0.0.1:{port}: ")
    assert "\n" not in str(err.value)


async def test_credentials_reach_no_log_and_no_error(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    server = NatsServer(tmp_path / "store", user="tmcp", password="hunter2-secret")
    server.start()
    try:
        caplog.set_level(logging.DEBUG)
        with pytest.raises(BusUnreachable) as err:  # a wrong password: refused, and the error names no secret
            await BusLink.connect(BusConfig(f"nats://tmcp:wrong-secret@127.0.0.1:{server.port}"), "test")
        assert "wrong-secret" not in str(err.value)
        assert f"nats://127.0.0.1:{server.port}" in str(err.value)
        config = BusConfig.from_env(
            server.url, {"TRADINGMCP_BUS_USER": "tmcp", "TRADINGMCP_BUS_PASSWORD": "hunter2-secret"}
        )
        assert "hunter2" not in repr(config)
        link = await BusLink.connect(config, "test")
        server.stop()  # the link goes down and logs it
        server.start()
        await link.reconnected.wait()
        await link.close()
        assert "hunter2-secret" not in caplog.text
        assert "wrong-secret" not in caplog.text
    finally:
        server.stop()
