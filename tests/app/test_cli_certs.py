"""``tradingmcp certs`` writes a CA and certificates that build working TLS contexts."""

from __future__ import annotations

import ssl
from pathlib import Path

from tradingmcp.app.cli import main
from tradingmcp.transport.tls import client_ssl_context, server_ssl_context


def test_certs_command_writes_usable_pems(tmp_path: Path) -> None:
    assert main(["certs", "--dir", str(tmp_path)]) == 0
    ca, server, client = tmp_path / "ca.pem", tmp_path / "server.pem", tmp_path / "client.pem"
    assert "BEGIN CERTIFICATE" in ca.read_text()
    assert "PRIVATE KEY" in server.read_text()
    assert server.stat().st_mode & 0o077 == 0
    sctx = server_ssl_context(server, client_cafile=ca)
    assert sctx.verify_mode == ssl.CERT_REQUIRED
    cctx = client_ssl_context(ca, certfile=client)
    assert cctx.check_hostname and cctx.verify_mode == ssl.CERT_REQUIRED
