"""schemathesis (an OpenAPI fuzzer no one here wrote) against the live server (Binance alone, and Binance with MEXC): every operation of ``/openapi.json``
with examples, the coverage phase (boundary and negative values) and fuzzing; every check but one: no 5xx, each status,
content type, header and body as the document says, unknown methods and missing auth refused.

Left out: ``positive_data_acceptance`` (a schema-valid request must be accepted). A symbol that matches the documented
pattern but that the exchange does not list (``00``) is a 400; which symbols an exchange lists changes over time and is
not the document's to say (``/v1/symbols`` tells).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from ..support import READER_TOKEN, start_tool_server

ST = Path(sys.executable).with_name("st")
TIMEOUT_S = 300.0


@pytest.mark.parametrize("exchange", ["binance", "both"])
async def test_schemathesis_finds_no_failure(data_dir: Path, tmp_path: Path, exchange: str) -> None:
    async with start_tool_server(data_dir, tmp_path, exchange=exchange) as srv:
        srv.sim.step(2000)
        out, code = await schemathesis(srv.http_url, tmp_path)
    assert code == 0, out
    assert "6 selected / 6 total" in out and "No issues found" in out, out
    for phase in ("Examples", "Coverage", "Fuzzing"):
        assert f"✅ {phase}" in out, out


async def schemathesis(base: str, cwd: Path) -> tuple[str, int | None]:
    """``st run`` against ``base``'s document: its output and exit status."""
    cmd = [
        str(ST), "run", f"{base}/openapi.json",
        "--header", f"Authorization: Bearer {READER_TOKEN}",
        "--checks", "all", "--exclude-checks", "positive_data_acceptance",
        "--max-examples", "50", "--seed", "20261204", "--workers", "1",
        "--generation-database", "none", "--no-color",
    ]  # fmt: skip
    proc = await asyncio.create_subprocess_exec(
        *cmd, cwd=cwd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    async with asyncio.timeout(TIMEOUT_S):
        out = (await proc.communicate())[0].decode()
    return out, proc.returncode
