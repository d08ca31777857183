"""Our protobuf schema against MEXC's official .proto files, and real protobuf-era pushes through the parse."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import google.protobuf
import pytest
from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor

from tradingmcp.server.exchanges.mexc import parse
from tradingmcp.server.exchanges.mexc.proto import tradingmcp_mexc_pb2 as pb
from tradingmcp.server.exchanges.models import DepthUpdate, Trade

_FIELD = re.compile(r"^\s*(optional\s+|repeated\s+)?([A-Za-z0-9_.]+)\s+([A-Za-z0-9_]+)\s*=\s*(\d+)\s*;", re.M)
_MESSAGE = re.compile(r"message\s+(\w+)\s*\{")
_TYPE_NAMES = {
    FieldDescriptor.TYPE_STRING: "string",
    FieldDescriptor.TYPE_INT32: "int32",
    FieldDescriptor.TYPE_INT64: "int64",
    FieldDescriptor.TYPE_BOOL: "bool",
}


def _official_messages(proto_dir: Path) -> dict[str, dict[str, tuple[str, str, int]]]:
    """message -> {field: (label, type, number)} from MEXC's .proto files (comments stripped, flat messages)."""
    out: dict[str, dict[str, tuple[str, str, int]]] = {}
    for path in sorted(proto_dir.glob("*.proto")):
        text = re.sub(r"/\*.*?\*/", "", path.read_text(), flags=re.S)
        text = re.sub(r"//[^\n]*", "", text)
        starts = [(m.start(), m.group(1)) for m in _MESSAGE.finditer(text)]
        for i, (start, name) in enumerate(starts):
            end = starts[i + 1][0] if i + 1 < len(starts) else len(text)
            body = text[start:end]
            out[name] = {
                m.group(3): ((m.group(1) or "").strip(), m.group(2).split(".")[-1], int(m.group(4)))
                for m in _FIELD.finditer(body)
            }
    return out


def _ours(desc: Any) -> dict[str, tuple[str, str, int]]:
    fields: dict[str, tuple[str, str, int]] = {}
    for f in desc.fields:
        type_name = f.message_type.name if f.message_type is not None else _TYPE_NAMES[f.type]
        if f.is_repeated:
            label = "repeated"
        elif f.has_presence and f.containing_oneof is not None and f.containing_oneof.name.startswith("_"):
            label = "optional"
        else:
            label = ""
        fields[f.name] = (label, type_name, f.number)
    return fields


def test_schema_matches_mexc_official_definitions(mexc_dir: Path) -> None:
    official = _official_messages(mexc_dir / "proto")
    assert "PushDataV3ApiWrapper" in official and len(official) >= 18
    ours = pb.DESCRIPTOR.message_types_by_name
    for name, fields in official.items():
        assert name in ours, f"{name} missing from our schema"
        assert _ours(ours[name]) == fields, name
    wrapper = ours["PushDataV3ApiWrapper"]
    body_numbers = sorted(f.number for f in wrapper.oneofs_by_name["body"].fields)
    assert body_numbers == list(range(301, 316))
    assert wrapper.fields_by_name["channel"].number == 1
    assert [wrapper.fields_by_name[n].number for n in ("symbol", "symbolId", "createTime", "sendTime")] == [3, 4, 5, 6]
    assert ours["PublicAggreDealsV3ApiItem"].fields_by_name["tradeId"].number == 5


def test_schema_is_namespaced_and_gencode_accepted() -> None:
    assert pb.DESCRIPTOR.name == "tradingmcp_mexc.proto"
    assert pb.DESCRIPTOR.package == "tradingmcp.mexc"
    assert pb.PushDataV3ApiWrapper.DESCRIPTOR.full_name == "tradingmcp.mexc.PushDataV3ApiWrapper"
    source = Path(pb.__file__).read_text()
    gencode = re.search(r"Protobuf Python Version: (\d+)\.(\d+)\.(\d+)", source)
    assert gencode is not None
    runtime = tuple(int(x) for x in google.protobuf.__version__.split(".")[:3])
    gen = tuple(int(x) for x in gencode.groups())
    assert runtime[0] == gen[0] and runtime >= gen  # the rule ValidateProtobufRuntimeVersion enforces
    assert "sys.path" not in source and "import tradingmcp_mexc" not in source  # no top-level pb2 imports


def _real_pushes(samples: dict[str, Any]) -> dict[str, dict[str, Any]]:
    pushes = {k.removeprefix("pb_decoded."): v for k, v in samples.items() if k.startswith("pb_decoded.")}
    assert len(pushes) == 2
    return pushes


def test_real_samples_reencode_and_decode_field_by_field(misc_samples: dict[str, Any]) -> None:
    for topic, as_json in _real_pushes(misc_samples).items():
        msg = json_format.ParseDict(as_json, pb.PushDataV3ApiWrapper())
        data = msg.SerializeToString()
        push = parse.decode_push(data)
        assert push.channel == topic == as_json["channel"]
        assert push.symbol == as_json["symbol"] == "BTCUSDC"
        assert push.send_time_ms == int(as_json["sendTime"])
        assert push.kind in as_json
        back = json_format.MessageToDict(pb.PushDataV3ApiWrapper.FromString(data))
        assert back == as_json
        # field by field on the typed body
        for field_name, value in as_json[push.kind].items():
            got = getattr(push.body, field_name)
            if isinstance(value, list):
                assert len(got) == len(value)
                for item, want in zip(got, value, strict=True):
                    for k, v in want.items():
                        assert str(getattr(item, k)) == str(v), (field_name, k)
            else:
                assert str(got) == str(value), field_name


def test_real_aggre_depth_and_deals_to_neutral_events(misc_samples: dict[str, Any]) -> None:
    pushes = _real_pushes(misc_samples)
    depth_json = pushes["spot@public.aggre.depth.v3.api.pb@100ms@BTCUSDC"]
    depth = parse.to_events(
        parse.decode_push(json_format.ParseDict(depth_json, pb.PushDataV3ApiWrapper()).SerializeToString())
    )
    assert len(depth) == 1 and isinstance(depth[0], DepthUpdate)
    d = depth[0]
    assert (d.symbol, d.first_update_id, d.final_update_id) == ("BTCUSDC", 17521975448, 17521975455)
    assert d.bids[0].price == Decimal("114838.84") and d.bids[0].qty == Decimal("0.000101")
    assert d.asks[0].price == Decimal("115198.74") and d.time_ms == 1755973885809
    deals_json = pushes["spot@public.aggre.deals.v3.api.pb@100ms@BTCUSDC"]
    trades = parse.to_events(
        parse.decode_push(json_format.ParseDict(deals_json, pb.PushDataV3ApiWrapper()).SerializeToString())
    )
    assert trades == [
        Trade("BTCUSDC", -1, Decimal("115091.25"), Decimal("0.000059"), 1755973886258, is_buyer_maker=False)
    ]


def test_garbage_is_a_decode_error() -> None:
    with pytest.raises(parse.PushDecodeError):
        parse.decode_push(b"\xff\xff\xff\xff")
    empty = parse.decode_push(b"")
    assert empty.kind is None and parse.to_events(empty) == []
