"""TLS for the wire: a local development CA (via trustme) and ``ssl.SSLContext`` builders.

``wss`` is the default unless the server is bound to loopback. Clients verify the server certificate by default;
mutual TLS is optional (the server asks for and verifies a client certificate signed by the given CA).
"""

from __future__ import annotations

import ssl
from collections.abc import Sequence
from pathlib import Path

import trustme

DEFAULT_HOSTS = ("localhost", "127.0.0.1", "::1")


def write_dev_certs(directory: str | Path = "certs", hostnames: Sequence[str] | None = None) -> list[Path]:
    """Create a dev CA, a server certificate and a client certificate (PEM) under ``directory``.

    Files: ``ca.pem`` (CA certificate), ``server.pem`` (key + chain for ``localhost``, ``127.0.0.1``, ``::1`` and any
    extra ``hostnames``), ``client.pem`` (key + chain for mutual TLS, subject ``tradingmcp-client``).
    Private keys are written with mode 0600 and are ignored by git.

    Returns:
        The paths written, CA first.
    """
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name="TradingMCP dev CA")
    hosts = list(DEFAULT_HOSTS) + [h for h in (hostnames or []) if h not in DEFAULT_HOSTS]
    server = ca.issue_cert(*hosts)
    client = ca.issue_cert("tradingmcp-client")
    paths = [out / "ca.pem", out / "server.pem", out / "client.pem"]
    ca.cert_pem.write_to_path(str(paths[0]))
    server.private_key_and_cert_chain_pem.write_to_path(str(paths[1]))
    client.private_key_and_cert_chain_pem.write_to_path(str(paths[2]))
    for p in paths[1:]:
        p.chmod(0o600)
    return paths


def server_ssl_context(certfile: str | Path, client_cafile: str | Path | None = None) -> ssl.SSLContext:
    """A TLS server context (TLS ≥ 1.2) from a PEM holding key + chain.

    Args:
        certfile: PEM with the private key and the certificate chain (``certs/server.pem``).
        client_cafile: when given, mutual TLS: clients must present a certificate signed by this CA.

    Raises:
        ssl.SSLError / FileNotFoundError: unreadable or mismatched files.
    """
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(str(certfile))
    if client_cafile is not None:
        ctx.load_verify_locations(str(client_cafile))
        ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def client_ssl_context(
    cafile: str | Path | None = None, certfile: str | Path | None = None, verify: bool = True
) -> ssl.SSLContext:
    """A TLS client context that verifies the server (hostname + chain) unless ``verify`` is False.

    Args:
        cafile: extra CA to trust (the dev CA ``certs/ca.pem``); the system store otherwise.
        certfile: PEM key + chain to present for mutual TLS.
        verify: False disables verification (never the default; for diagnostics only).
    """
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(cafile) if cafile else None)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if certfile is not None:
        ctx.load_cert_chain(str(certfile))
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx
