"""Client reconnect (both backends): after the server goes away and a new one starts on the same port, the client
reconnects with backoff, re-initializes and re-subscribes; a call in flight fails with ConnectionLost and is never
re-sent; a 401 on reconnect stops the retries."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping

import pytest

from tests.wire_helpers import TIMEOUT_S, Probe, make_app, make_hub, wait_until
from tradingmcp.client.session import ConnectionLost, connect
from tradingmcp.server.wsserver import McpServer, ServerConfig
from tradingmcp.transport import ws
from tradingmcp.transport.auth import Principal, TokenStore, new_token

KEY = "ticks:sim:SOLUSDT"


@pytest.fixture(params=ws.BACKENDS)
def backend(request: pytest.FixtureRequest) -> ws.Backend:
    b: ws.Backend = request.param
    return b


class CountingTokenStore(TokenStore):
    """A real TokenStore that also counts handshakes that presented credentials."""

    def __init__(self, tokens: Mapping[str, tuple[str, Iterable[str]]]) -> None:
        super().__init__(tokens)
        self.attempts = 0

    def authenticate(self, presented: str | None) -> Principal | None:
        self.attempts += 1
        return super().authenticate(presented)


async def test_reconnects_resubscribes_and_never_resends(backend: ws.Backend) -> None:
    probe1 = Probe()
    hub1 = make_hub(probe1)
    cfg = ServerConfig(port=0, backend=backend, drain_timeout_s=0.1)
    srv1 = await McpServer(make_app(probe1, hub1), cfg, streams=hub1).start()
    port = srv1.port
    client = await connect(srv1.url, backend=backend, reconnect=True, backoff_initial_s=0.02, backoff_max_s=0.2)
    await client.subscribe(KEY)
    assert probe1.starts == [KEY]

    in_flight = asyncio.create_task(client.call_tool("block", {}, timeout_s=TIMEOUT_S))
    await asyncio.wait_for(probe1.started.wait(), TIMEOUT_S)
    async with asyncio.timeout(TIMEOUT_S):
        await srv1.stop()  # drains 0.1 s, then closes 1001 with the call still running
        with pytest.raises(ConnectionLost):
            await in_flight
    assert not client.connected.is_set()
    assert not srv1.connections  # stop() returns once the connections are gone
    assert probe1.calls["block"] == 1 and probe1.cancelled.is_set()

    await asyncio.sleep(0.3)  # the client retries against a closed port meanwhile (backoff)
    probe2 = Probe()
    hub2 = make_hub(probe2)
    srv2 = await McpServer(make_app(probe2, hub2), ServerConfig(port=port, backend=backend), streams=hub2).start()
    try:
        await client.wait_connected(TIMEOUT_S)
        await wait_until(lambda: hub2.subscriber_count(KEY) == 1)
        assert probe2.starts == [KEY]
        assert client.reconnects == 1 and client.protocol_version == "2025-11-25"
        assert next(iter(srv2.connections)).session.initialized  # re-initialized on the new server

        hub2.publish(KEY, {"after": "reconnect"})
        async with asyncio.timeout(TIMEOUT_S):
            async for note in client.notifications():
                if note.method == "notifications/tradingmcp/stream":
                    assert note.params == {"stream": KEY, "seq": 1, "data": {"after": "reconnect"}}
                    break
        # the lost call was never re-sent: neither server saw a second one
        assert probe1.calls["block"] == 1 and "block" not in probe2.calls
        assert (await client.call_tool("echo", {"x": "again"}))["structuredContent"] == {"x": "again"}
        await client.close()
        await wait_until(lambda: probe2.stops == [KEY])
    finally:
        await srv2.stop()


async def test_401_on_reconnect_stops_retrying(backend: ws.Backend) -> None:
    token = new_token()
    srv1 = await McpServer(
        make_app(), ServerConfig(port=0, backend=backend, tokens=TokenStore({token: ("bot", ["read"])}))
    ).start()
    port = srv1.port
    client = await connect(srv1.url, token=token, backend=backend, backoff_initial_s=0.02, backoff_max_s=0.05)
    assert (await client.request("ping")) == {}
    await srv1.stop()
    await wait_until(lambda: not client.connected.is_set())

    revoked = CountingTokenStore({new_token(): ("someone-else", ["read"])})
    srv2 = await McpServer(make_app(), ServerConfig(port=port, backend=backend, tokens=revoked)).start()
    try:
        await wait_until(lambda: revoked.attempts >= 1)
        await asyncio.sleep(0.4)  # many backoff periods: no further attempt
        assert revoked.attempts == 1
        assert not client.connected.is_set() and not srv2.connections
        with pytest.raises(ConnectionLost):
            await client.request("ping")
        await client.close()
    finally:
        await srv2.stop()


async def test_close_stops_reconnecting(backend: ws.Backend) -> None:
    srv = await McpServer(make_app(), ServerConfig(port=0, backend=backend)).start()
    port = srv.port
    client = await connect(srv.url, backend=backend, backoff_initial_s=0.02, backoff_max_s=0.05)
    await srv.stop()
    await wait_until(lambda: not client.connected.is_set())
    await client.close()  # while it is retrying
    srv2 = await McpServer(make_app(), ServerConfig(port=port, backend=backend)).start()
    try:
        await asyncio.sleep(0.3)
        assert not srv2.connections and client.reconnects == 0
    finally:
        await srv2.stop()
