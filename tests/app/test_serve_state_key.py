"""``serve`` reads the key of input-required states from TRADINGMCP_REQUEST_STATE_KEY: a too-short one is one line
on stderr and exit 2, never quoting the value."""

from __future__ import annotations

from tradingmcp.server.mcp.mrtr import KEY_ENV

from .test_cli_errors import one_error_line, tradingmcp

SHORT_SECRET = "short-S3KRIT"


def test_a_short_request_state_key_is_one_line_and_exit_2() -> None:
    done = tradingmcp("serve", "--port", "0", "--insecure-no-auth", "--synthetic", env={KEY_ENV: SHORT_SECRET})
    line = one_error_line(done)
    assert done.returncode == 2
    assert line.startswith("tradingmcp serve: error:") and KEY_ENV in line and "at least 32" in line
    assert SHORT_SECRET not in done.stderr + done.stdout
