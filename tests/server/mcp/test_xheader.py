"""``x-mcp-header`` annotations (2026-07-28, SEP-2243): which tool parameters are mirrored into ``Mcp-Param-*``
headers, the annotations a tool definition may not carry, and header values decoded and compared with the body."""

from __future__ import annotations

from typing import Any

import pytest

from tradingmcp.server.mcp.registry import Tool
from tradingmcp.server.mcp.xheader import HeaderParam, decode_value, header_params, param_mismatch


def _noop(call: Any, args: dict[str, Any]) -> dict[str, Any]:
    return {}


def test_annotations_are_found_through_properties_chains_only() -> None:
    schema = {
        "type": "object",
        "properties": {
            "region": {"type": "string", "x-mcp-header": "Region"},
            "outer": {"type": "object", "properties": {"n": {"type": "integer", "x-mcp-header": "N"}}},
            "list": {"type": "array", "items": {"type": "string", "x-mcp-header": "Item"}},  # not a properties chain
            "plain": {"type": "boolean"},
        },
    }
    assert header_params(schema) == (
        HeaderParam(("region",), "Region", "string"),
        HeaderParam(("outer", "n"), "N", "integer"),
    )
    assert Tool("t", "d", _noop, schema).header_params == header_params(schema)
    assert Tool("u", "d", _noop, {"type": "object", "properties": {"a": {"type": "string"}}}).header_params == ()


@pytest.mark.parametrize(
    "properties",
    [
        {"a": {"type": "string", "x-mcp-header": ""}},
        {"a": {"type": "string", "x-mcp-header": "Has Space"}},
        {"a": {"type": "string", "x-mcp-header": "Line\nBreak"}},
        {"a": {"type": "string", "x-mcp-header": 7}},
        {"a": {"type": "number", "x-mcp-header": "Price"}},
        {"a": {"type": "object", "x-mcp-header": "Obj"}},
        {"a": {"type": "string", "x-mcp-header": "Same"}, "b": {"type": "string", "x-mcp-header": "same"}},
    ],
)
def test_a_malformed_annotation_is_refused_when_the_tool_is_defined(properties: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="x-mcp-header"):
        Tool("t", "d", _noop, {"type": "object", "properties": properties})


@pytest.mark.parametrize(
    ("value", "decoded"),
    [
        ("us-west1", "us-west1"),
        ("=?base64?SGVsbG8sIOS4lueVjA==?=", "Hello, 世界"),
        ("=?base64??=", ""),
        ("=?base64?SGVsbG8?=", None),  # missing padding
        ("=?base64?SGVs!!!bG8=?=", None),  # outside the alphabet
        ("=?base64?/w==?=", None),  # not UTF-8
        ("=?base64?SGVsbG8=", "=?base64?SGVsbG8="),  # no suffix: a literal
        ("caf\u00e9", None),  # not ASCII, so it should have been encoded
    ],
)
def test_header_values_decode(value: str, decoded: str | None) -> None:
    assert decode_value(value) == decoded


def test_param_mismatch_compares_each_mirrored_argument() -> None:
    params = (HeaderParam(("a",), "A", "string"), HeaderParam(("b",), "B", "integer"))
    headers = {"mcp-param-a": ["x"], "mcp-param-b": ["1"]}

    def getall(name: str) -> list[str]:
        return headers.get(name.lower(), [])

    assert param_mismatch(params, getall, {"a": "x", "b": 1}) is None
    assert param_mismatch(params, getall, {"a": "x", "b": 1.0}) is None
    assert param_mismatch(params, getall, {}) is None  # nothing in the body: nothing expected
    assert param_mismatch(params, getall, "not an object") is None
    assert "Mcp-Param-A" in (param_mismatch(params, getall, {"a": "y"}) or "")
    assert "Mcp-Param-B" in (param_mismatch(params, getall, {"b": True}) or "")  # a boolean is not an integer
    headers["mcp-param-b"] = [str(2**60)]
    assert "Mcp-Param-B" in (param_mismatch(params, getall, {"b": 2**60}) or "")  # outside the safe integer range
