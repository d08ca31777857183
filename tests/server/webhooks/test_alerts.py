"""The TradingView alert core (no event loop): JSON, the shared secret, field shapes, the duplicate window, the client
order id, and the ``[webhooks.tradingview]`` config with its environment overrides."""

from __future__ import annotations

import re
from pathlib import Path

import orjson
import pytest

from tradingmcp.server.tools.toolset import ToolsetConfig
from tradingmcp.server.webhooks.alerts import AlertRefused, RecentIds, client_order_id, read_alert
from tradingmcp.server.webhooks.config import TradingViewConfig

SECRET = "tv-shared-secret-0123456789"
CONFIG = TradingViewConfig(secret=SECRET)

# What TradingView posts for a strategy alert whose message is the template
# {"secret": "...", "id": "{{strategy.order.id}}-{{timenow}}", "ticker": "{{ticker}}", "exchange": "{{exchange}}",
#  "action": "{{strategy.order.action}}", "contracts": {{strategy.order.contracts}}, "price": {{strategy.order.price}},
#  "time": "{{timenow}}"}
STRATEGY_ALERT = (
    b'{"secret": "tv-shared-secret-0123456789", "id": "Long Entry-2026-12-05T07:30:00Z", "ticker": "BTCUSDT", '
    b'"exchange": "BINANCE", "action": "buy", "contracts": 0.00125, "price": 97213.57, "time": "2026-12-05T07:30:00Z"}'
)
# An indicator alert: no order fields, the chart's full symbol, no id (named by its content's hash).
INDICATOR_ALERT = (
    b'{"secret": "tv-shared-secret-0123456789", "ticker": "BINANCE:ETHUSDT", "interval": "5", "close": "3612.40", '
    b'"message": "RSI(14) crossed under 30"}'
)


def test_a_strategy_alert_is_read_with_its_values_and_without_its_secret() -> None:
    alert = read_alert(STRATEGY_ALERT, CONFIG)
    assert alert.alert_id == "Long Entry-2026-12-05T07:30:00Z"
    assert (alert.symbol, alert.side, alert.quantity, alert.price) == ("BTCUSDT", "BUY", "0.00125", "97213.57")
    assert (alert.exchange, alert.time) == ("BINANCE", "2026-12-05T07:30:00Z")
    assert "secret" not in alert.fields and SECRET.encode() not in orjson.dumps(alert.signal(1))
    assert alert.signal(1)["alert"]["ticker"] == "BTCUSDT"


def test_an_alert_without_id_is_named_by_its_content() -> None:
    a = read_alert(INDICATOR_ALERT, CONFIG)
    assert a.symbol == "ETHUSDT" and a.side is None and a.quantity is None
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", a.alert_id)
    assert read_alert(INDICATOR_ALERT, CONFIG).alert_id == a.alert_id  # the same alert twice: the same id
    other = read_alert(INDICATOR_ALERT.replace(b'"5"', b'"15"'), CONFIG)
    assert other.alert_id != a.alert_id


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"BTCUSDT crossing 97000", 400, "bad_json"),  # a plain-text alert message (TradingView: text/plain)
        (b'["secret"]', 400, "bad_json"),
        (b"", 400, "bad_json"),
        (b'{"ticker": "BTCUSDT", "action": "buy"}', 401, "bad_secret"),
        (b'{"secret": "tv-shared-secret-0123456780", "ticker": "BTCUSDT"}', 401, "bad_secret"),
        (b'{"secret": 123, "ticker": "BTCUSDT"}', 401, "bad_secret"),
        (b'{"secret": "tv-shared-secret-0123456789", "ticker": "BTC USDT"}', 400, "bad_alert"),
        (b'{"secret": "tv-shared-secret-0123456789", "contracts": "1e400x"}', 400, "bad_alert"),
        (b'{"secret": "tv-shared-secret-0123456789", "contracts": -1}', 400, "bad_alert"),
        (b'{"secret": "tv-shared-secret-0123456789", "id": ""}', 400, "bad_alert"),
        (b'{"secret": "tv-shared-secret-0123456789", "id": {"a": 1}}', 400, "bad_alert"),
    ],
)
def test_refusals_name_the_fault_never_the_secret(body: bytes, status: int, code: str) -> None:
    with pytest.raises(AlertRefused) as info:
        read_alert(body, CONFIG)
    assert (info.value.status, info.value.code) == (status, code)
    assert SECRET not in info.value.message and "0123456780" not in info.value.message


def test_no_secret_configured_refuses_every_alert() -> None:
    with pytest.raises(AlertRefused) as info:
        read_alert(STRATEGY_ALERT, TradingViewConfig())
    assert info.value.status == 401


def test_renamed_fields_follow_the_config() -> None:
    config = TradingViewConfig.from_mapping(
        {"secret": SECRET, "fields": {"secret": "passphrase", "id": "alert_id", "quantity": "qty", "side": "side"}}
    )
    body = b'{"passphrase": "tv-shared-secret-0123456789", "alert_id": 42, "ticker": "ETHUSDT", "side": "SELL", "qty": "2.50"}'
    alert = read_alert(body, config)
    assert (alert.alert_id, alert.side, alert.quantity, alert.symbol) == ("42", "SELL", "2.5", "ETHUSDT")
    assert "passphrase" not in alert.fields
    with pytest.raises(AlertRefused):
        read_alert(STRATEGY_ALERT, config)  # its secret sits in "secret", not in "passphrase"


def test_duplicate_window_and_bound() -> None:
    recent = RecentIds(window_s=300, max_ids=3)
    assert recent.take("a", 0.0) and not recent.take("a", 299.0)
    assert recent.take("a", 300.5)  # the window has passed
    assert recent.take("b", 301) and recent.take("c", 302) and recent.take("d", 303)
    assert len(recent) == 3 and recent.take("a", 304)  # "a" was the oldest and went first


def test_client_order_id_is_stable_and_valid_for_binance() -> None:
    cid = client_order_id("Long Entry-2026-12-05T07:30:00Z")
    assert cid == client_order_id("Long Entry-2026-12-05T07:30:00Z") != client_order_id("other")
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,36}", cid)


def test_config_from_the_file_and_environment(tmp_path: Path) -> None:
    path = tmp_path / "server.toml"
    path.write_text(
        '[webhooks.tradingview]\nsecret = "from-the-file-0123456789"\naction = "order"\nquantity = "0.001"\n'
        'dedupe_window_s = 60\nfields = { id = "alert_id" }\n'
    )
    config = ToolsetConfig.load(path, {"TRADINGMCP_WEBHOOK_TRADINGVIEW_SECRET": SECRET}).tradingview
    assert config.secret == SECRET and config.action == "order" and config.quantity == "0.001"
    assert config.dedupe_window_s == 60 and config.field_of("id") == "alert_id" and config.field_of("side") == "action"
    assert not ToolsetConfig.load(None, {}).tradingview.enabled


@pytest.mark.parametrize(
    ("table", "needle"),
    [
        ('secret = "short"', "at least 16"),
        ('secret = "tv-shared-secret-0123456789"\naction = "trade"', "action"),
        ('secret = "tv-shared-secret-0123456789"\naction = "order"\nscopes = ["read"]', "trade"),
        ('secret = "tv-shared-secret-0123456789"\nscopes = ["trade", "admin"]', "unknown scope"),
        ("colour = 1", "unknown key"),
        ('fields = { sekret = "x" }', "unknown name"),
    ],
)
def test_bad_config_is_one_clear_error_without_the_secret(tmp_path: Path, table: str, needle: str) -> None:
    path = tmp_path / "server.toml"
    path.write_text(f"[webhooks.tradingview]\n{table}\n")
    with pytest.raises(ValueError, match=needle) as info:
        ToolsetConfig.load(path, {})
    assert "'short'" not in str(info.value)
    assert "tv-shared-secret" not in str(info.value)
