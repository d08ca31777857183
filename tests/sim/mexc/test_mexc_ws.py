"""The MEXC face's reading of a client's control messages and its replies (sans-I/O part of ``sim.mexc.ws``)."""

from __future__ import annotations

import json

import pytest

from tradingmcp.sim.mexc.ws import ControlError, ControlRequest, parse_request, reply


def test_server_side_request_parsing() -> None:
    req = parse_request('{"method":"subscription","params":["a","b"]}')
    assert req == ControlRequest("SUBSCRIPTION", ("a", "b"))
    assert parse_request('{"method":"PING"}').params == ()
    for bad in ("nope", '{"params":[]}', '{"method":"PING","params":"x"}'):
        with pytest.raises(ControlError):
            parse_request(bad)
    assert json.loads(reply("PONG")) == {"id": 0, "code": 0, "msg": "PONG"}
