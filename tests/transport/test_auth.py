"""Auth on the handshake: tokens (Bearer header or ``auth.<token>`` subprotocol), scopes, Host/Origin checks, and that no
token ever shows up in a repr, an error or a log line."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest

from tests.wire_helpers import Recorder, http_upgrade, make_app, open_raw, running
from tradingmcp.client.session import connect
from tradingmcp.server.wsserver import McpServer
from tradingmcp.transport import ws
from tradingmcp.transport.auth import TokenStore, new_token, presented_token

READ_TOKEN = new_token()
TRADE_TOKEN = new_token()


@pytest.fixture(params=ws.BACKENDS)
def backend(request: pytest.FixtureRequest) -> ws.Backend:
    b: ws.Backend = request.param
    return b


@pytest.fixture
async def server(backend: ws.Backend) -> AsyncIterator[McpServer]:
    tokens = TokenStore({READ_TOKEN: ("reader", ["read"]), TRADE_TOKEN: ("trader", ["read", "trade"])})
    async with running(make_app(), backend, tokens=tokens, allowed_origins=frozenset({"https://app.example"})) as srv:
        yield srv


async def test_no_token_is_401_before_upgrade(server: McpServer, backend: ws.Backend) -> None:
    with pytest.raises(ws.HandshakeRejected) as info:
        await ws.connect(server.url, Recorder(), backend=backend)
    assert info.value.status == 401
    status, headers = await http_upgrade(server.port)
    assert status == 401
    assert headers.get("www-authenticate", "").startswith("Bearer")
    assert not server.connections


async def test_wrong_token_is_401(server: McpServer, backend: ws.Backend, caplog: pytest.LogCaptureFixture) -> None:
    wrong = READ_TOKEN[:-1] + ("A" if READ_TOKEN[-1] != "A" else "B")
    caplog.set_level(logging.DEBUG)
    for kwargs in ({"headers": {"Authorization": f"Bearer {wrong}"}}, {"subprotocols": ("mcp", f"auth.{wrong}")}):
        with pytest.raises(ws.HandshakeRejected) as info:
            await ws.connect(server.url, Recorder(), backend=backend, **kwargs)
        assert info.value.status == 401
        assert wrong not in str(info.value)
    with pytest.raises(ws.HandshakeRejected) as info2:
        await connect(server.url, token=wrong, backend=backend, reconnect=False)
    assert info2.value.status == 401
    assert all(wrong not in r.getMessage() for r in caplog.records)
    # other schemes are not a token
    status, _ = await http_upgrade(server.port, headers={"Authorization": f"Basic {READ_TOKEN}"})
    assert status == 401


async def test_bearer_header_and_subprotocol_token_work(server: McpServer, backend: ws.Backend) -> None:
    by_header = await connect(server.url, token=READ_TOKEN, backend=backend, reconnect=False)
    by_proto = await connect(server.url, token=READ_TOKEN, token_in_subprotocol=True, backend=backend, reconnect=False)
    for client in (by_header, by_proto):
        res = await client.call_tool("echo", {"x": 1})
        assert res["structuredContent"] == {"x": 1}
    principals = sorted(c.principal.name for c in server.connections)
    assert principals == ["reader", "reader"]
    await by_header.close()
    await by_proto.close()


async def test_server_selects_only_mcp(server: McpServer, backend: ws.Backend) -> None:
    status, headers = await http_upgrade(server.port, subprotocols=("mcp", f"auth.{READ_TOKEN}"))
    assert status == 101
    assert headers["sec-websocket-protocol"] == "mcp"  # the token is never echoed back
    raw = await open_raw(server.url, backend, subprotocols=("mcp", f"auth.{TRADE_TOKEN}"))
    assert raw.conn.subprotocol == "mcp"
    await raw.ping_ok()
    await raw.close()


async def test_read_token_cannot_call_trade_tool(server: McpServer, backend: ws.Backend) -> None:
    reader = await connect(server.url, token=READ_TOKEN, backend=backend, reconnect=False)
    trader = await connect(server.url, token=TRADE_TOKEN, backend=backend, reconnect=False)
    args = {"symbol": "BTCUSDT", "order": {"quantity": 0.5}}
    denied = await reader.call_tool("place_order", args)
    assert denied["isError"] is True
    assert denied["structuredContent"]["error"]["code"] == "forbidden"
    assert denied["structuredContent"]["error"]["required_scope"] == "trade"
    allowed = await trader.call_tool("place_order", args)
    assert allowed["isError"] is False and allowed["structuredContent"] == {"accepted": True}
    # the read token still works for read tools on the same connection
    assert (await reader.call_tool("echo", {"x": 2}))["structuredContent"] == {"x": 2}
    await reader.close()
    await trader.close()


async def test_bad_host_and_origin_are_403(server: McpServer) -> None:
    auth = {"Authorization": f"Bearer {READ_TOKEN}"}
    status, _ = await http_upgrade(server.port, headers={**auth, "Host": f"evil.example:{server.port}"})
    assert status == 403  # DNS rebinding: a loopback server only answers loopback names
    status, _ = await http_upgrade(server.port, headers={**auth, "Host": f"localhost:{server.port}"})
    assert status == 101
    status, _ = await http_upgrade(server.port, headers={**auth, "Host": f"[::1]:{server.port}"})
    assert status == 101
    status, _ = await http_upgrade(server.port, headers={**auth, "Origin": "https://evil.example"})
    assert status == 403
    status, _ = await http_upgrade(server.port, headers={**auth, "Origin": "https://app.example"})
    assert status == 101
    # 403 is decided before auth: a bad Origin without a token is still 403, not 401
    status, _ = await http_upgrade(server.port, headers={"Origin": "https://evil.example"})
    assert status == 403
    # the server's own origin (a page it served calling back) passes; only with the very Host it was checked for
    own = f"localhost:{server.port}"
    status, _ = await http_upgrade(server.port, headers={**auth, "Host": own, "Origin": f"http://{own}"})
    assert status == 101
    status, _ = await http_upgrade(
        server.port, headers={**auth, "Host": own, "Origin": f"http://127.0.0.1:{server.port}"}
    )
    assert status == 403
    status, _ = await http_upgrade(
        server.port, headers={**auth, "Host": f"evil.example:{server.port}", "Origin": "http://evil.example"}
    )
    assert status == 403


async def test_missing_mcp_subprotocol_is_400(server: McpServer, backend: ws.Backend) -> None:
    auth = {"Authorization": f"Bearer {READ_TOKEN}"}
    for offered in ((), ("graphql-ws",), (f"auth.{READ_TOKEN}",)):
        status, _ = await http_upgrade(server.port, headers=auth, subprotocols=offered)
        assert status == 400, offered
    with pytest.raises(ws.HandshakeRejected) as info:
        await ws.connect(server.url, Recorder(), subprotocols=(), headers=auth, backend=backend)
    assert info.value.status == 400


async def test_unknown_path_is_404(server: McpServer) -> None:
    status, _ = await http_upgrade(server.port, headers={"Authorization": f"Bearer {READ_TOKEN}"}, path="/other")
    assert status == 404


def test_token_store_never_reveals_tokens() -> None:
    secret = new_token()
    store = TokenStore({secret: ("bot", {"read"})})
    assert secret not in repr(store) and secret not in str(store)
    assert "bot" in repr(store)
    assert store.authenticate(secret) is not None and store.authenticate(secret)
    assert store.authenticate(secret + "x") is None
    assert store.authenticate("") is None and store.authenticate(None) is None
    with pytest.raises(ValueError) as bad_scope:
        TokenStore({secret: ("bot", {"admin"})})
    assert secret not in str(bad_scope.value)
    with pytest.raises(ValueError) as bad_spec:
        TokenStore.parse(f"bot:{secret}")
    assert secret not in str(bad_spec.value)
    with pytest.raises(ValueError) as bad_spec2:
        TokenStore.parse(f"bot:{secret}:read:extra")
    assert secret not in str(bad_spec2.value)
    parsed = TokenStore.parse(f"a:{secret}:read,trade; b:{new_token()}:read")
    assert len(parsed) == 2 and secret not in repr(parsed)
    principal = parsed.authenticate(secret)
    assert principal is not None and principal.name == "a" and principal.can("trade")
    assert secret not in repr(principal)


def test_generated_tokens_never_look_like_an_option() -> None:
    """A dev token is printed to be passed as ``--token TOKEN``: a leading ``-`` would make it an option (1 in 64)."""
    tokens = {new_token() for _ in range(2000)}
    assert len(tokens) == 2000 and not any(t.startswith("-") for t in tokens)
    assert all(len(t) == 43 for t in tokens)  # 32 random bytes, URL-safe base64 without padding


def test_presented_token_forms() -> None:
    assert presented_token("Bearer abc", ()) == "abc"
    assert presented_token("bearer  abc ", ()) == "abc"
    assert presented_token("Basic abc", ("mcp",)) is None
    assert presented_token(None, ("mcp", "auth.xyz")) == "xyz"
    assert presented_token("Bearer h", ("auth.s",)) == "h"  # the header wins
    assert presented_token(None, ("auth.",)) is None


def test_a_new_token_never_starts_with_a_dash() -> None:
    """A printed dev token is pasted after ``--token``; one starting with ``-`` would be read as an option (URL-safe
    base64 starts with ``-`` once in 64 draws, so 2,000 draws would all but surely show it)."""
    tokens = [new_token() for _ in range(2000)]
    assert not any(t.startswith("-") for t in tokens)
    assert len(set(tokens)) == len(tokens) and all(len(t) == 43 for t in tokens)
