"""schemathesis (an OpenAPI fuzzer no one here wrote) against the live server: every operation of ``/openapi.json``
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

from ..support import READER_TOKEN, ToolServer

ST = Path(sys.executable).with_name("st")
TIMEOUT_S = 300.0


async def test_schemathesis_finds_no_failure(tool_server: ToolServer, tmp_path: Path) -> None:
    tool_server.sim.step(2000)
    cmd = [
        str(ST), "run", f"{tool_server.http_url}/openapi.json",
        "--header", f"Authorization: Bearer {READER_TOKEN}",
        "--checks", "all", "--exclude-checks", "positive_data_acceptance",
        "--max-examples", "50", "--seed", "20261204", "--workers", "1",
        "--generation-database", "none", "--no-color",
    ]  # fmt: skip
    proc = await asyncio.create_subprocess_exec(
        *cmd, cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    async with asyncio.timeout(TIMEOUT_S):
        out = (await proc.communicate())[0].decode()
    assert proc.returncode == 0, out
    assert "5 selected / 5 total" in out and "No issues found" in out, out
    for phase in ("Examples", "Coverage", "Fuzzing"):
        assert f"✅ {phase}" in out, out
