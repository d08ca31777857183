"""TLS: the dev CA, wss with server verification, and mutual TLS (both backends)."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from tests.wire_helpers import make_app, running
from tradingmcp.client.session import connect
from tradingmcp.transport import ws
from tradingmcp.transport.tls import client_ssl_context, server_ssl_context, write_dev_certs


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    ca, server, client = write_dev_certs(tmp_path_factory.mktemp("certs"))
    return {"ca": ca, "server": server, "client": client}


@pytest.fixture(params=ws.BACKENDS)
def backend(request: pytest.FixtureRequest) -> ws.Backend:
    b: ws.Backend = request.param
    return b


def test_dev_certs_files(certs: dict[str, Path]) -> None:
    assert certs["ca"].read_text().startswith("-----BEGIN CERTIFICATE-----")
    for name in ("server", "client"):
        text = certs[name].read_text()
        assert "PRIVATE KEY" in text and "CERTIFICATE" in text
        assert certs[name].stat().st_mode & 0o077 == 0  # keys are private


async def test_wss_with_dev_ca(certs: dict[str, Path], backend: ws.Backend) -> None:
    async with running(make_app(), backend, ssl=server_ssl_context(certs["server"])) as srv:
        assert srv.url.startswith("wss://127.0.0.1:")
        client = await connect(srv.url, ssl=client_ssl_context(certs["ca"]), backend=backend, reconnect=False)
        assert (await client.call_tool("echo", {"x": "tls"}))["structuredContent"] == {"x": "tls"}
        await client.close()
        # the name in the URL is checked too: "localhost" is in the certificate as well
        url = srv.url.replace("127.0.0.1", "localhost")
        client = await connect(url, ssl=client_ssl_context(certs["ca"]), backend=backend, reconnect=False)
        assert (await client.request("ping")) == {}
        await client.close()


async def test_client_without_ca_fails_verification(certs: dict[str, Path], backend: ws.Backend) -> None:
    async with running(make_app(), backend, ssl=server_ssl_context(certs["server"])) as srv:
        with pytest.raises(OSError) as info:  # ssl.SSLCertVerificationError or the transport's ConnectionError
            await connect(srv.url, ssl=client_ssl_context(), backend=backend, reconnect=False)
        assert isinstance(info.value, ssl.SSLError | ConnectionError)
        assert not srv.connections
        # a plain-text client gets nothing either
        with pytest.raises((OSError, TimeoutError)):
            await connect(
                srv.url.replace("wss://", "ws://"),
                backend=backend,
                reconnect=False,
                wire=ws.WireOptions(open_timeout_s=1.0),
            )
        # the server keeps serving verified clients
        ok = await connect(srv.url, ssl=client_ssl_context(certs["ca"]), backend=backend, reconnect=False)
        assert (await ok.request("ping")) == {}
        await ok.close()


async def test_mutual_tls(certs: dict[str, Path], backend: ws.Backend) -> None:
    server_ctx = server_ssl_context(certs["server"], client_cafile=certs["ca"])
    async with running(make_app(), backend, ssl=server_ctx) as srv:
        with pytest.raises((OSError, TimeoutError)):
            no_cert = await connect(
                srv.url,
                ssl=client_ssl_context(certs["ca"]),
                backend=backend,
                reconnect=False,
                timeout_s=2.0,
                wire=ws.WireOptions(open_timeout_s=2.0),
            )
            await no_cert.close()
        client = await connect(
            srv.url, ssl=client_ssl_context(certs["ca"], certs["client"]), backend=backend, reconnect=False
        )
        assert (await client.call_tool("echo", {"x": 1}))["structuredContent"] == {"x": 1}
        assert len(srv.connections) == 1
        await client.close()
