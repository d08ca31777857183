"""``--exchange ccxt:<id>`` on the command line: a malformed id is a usage error (exit 2), an exchange ccxt does not
know and an unreachable one are one line naming it (exit 1), and ``demo`` takes only the simulator's faces."""

from __future__ import annotations

from .test_cli_errors import SECRET, dead_url, one_error_line, tradingmcp


def test_a_malformed_ccxt_id_is_a_usage_error() -> None:
    done = tradingmcp("serve", "--port", "0", "--exchange", "ccxt:a&b", timeout_s=30)
    assert done.returncode == 2 and "ccxt:<id> needs a ccxt exchange id" in one_error_line(done)
    done = tradingmcp("demo", "--exchange", "ccxt:okx", timeout_s=30)
    assert done.returncode == 2 and "'ccxt:okx' is not one of" in one_error_line(done)


def test_an_exchange_ccxt_does_not_know_is_one_line() -> None:
    done = tradingmcp("serve", "--port", "0", "--exchange", "ccxt:nosuchexchange", timeout_s=60)
    assert done.returncode == 1 and "ccxt has no exchange 'nosuchexchange'" in one_error_line(done)


def test_an_unreachable_ccxt_venue_is_one_line_naming_it() -> None:
    rest = dead_url("http")
    env = {"CCXT_OKX_API_KEY": "k", "CCXT_OKX_SECRET": SECRET, "CCXT_OKX_PASSWORD": SECRET, "CCXT_OKX_REST_URL": rest}
    done = tradingmcp("serve", "--port", "0", "--exchange", "ccxt:okx", env=env, timeout_s=90)
    line = one_error_line(done)
    assert done.returncode == 1 and f"cannot reach venue okx at {rest}" in line and SECRET not in done.stderr
