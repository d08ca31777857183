"""Work per ``tools/call`` with client and server in ONE process: the CPU cost of the path, without the machine's
wake-up latency.

Across processes a round trip includes two wake-ups of an idle CPU. On a virtual machine those cost from ~1 µs (the
vCPU still polling) to ~40-80 µs (halted and woken by the hypervisor), and which of the two a run gets depends on the
host's adaptive halt-polling, so cross-process medians jump between modes from run to run. Here the client and the
server share one event loop and talk over real loopback sockets: a write lands in the peer socket's queue at once, so
the time per call is the work of both ends (Python, system calls, framing) and is stable from run to run.

Rows (µs per sequential call, median of ``rounds`` rounds):

* ``tcp-floor``: uvloop protocol echo of our request bytes;
* ``picows-echo``: picows text-frame echo of the same bytes;
* ``jsonrpc-min``: the least JSON-RPC work on picows + orjson, both ends (:func:`~.servers.jsonrpc_min_echo`);
* ``ours-server``: a raw picows client sending our request bytes (2026-07-28 ``_meta`` form, no handshake needed) to
  our server: the echo plus our server's work;
* ``ours-client``: our client (``call_tool``) against a picows server that answers with canned response bytes: the
  echo plus our client's work;
* ``mcp-ws-picows``: our client and our server.

``overhead_us`` is each row minus ``picows-echo``.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import orjson

from tradingmcp.benchmarks import config as C
from tradingmcp.benchmarks import roundtrip, servers
from tradingmcp.transport import jsonrpc

ROWS = ("tcp-floor", "picows-echo", "jsonrpc-min", "ours-server", "ours-client", "mcp-ws-picows")
_META = {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}


def _canned_response(payload: str) -> tuple[bytes, bytes]:
    """The bytes before and after the id of our server's answer to ``echo(payload)``."""
    from tradingmcp.server.mcp.registry import to_tool_result

    whole = jsonrpc.encode_result(999_999_999, to_tool_result({"text": payload}))
    head, tail = whole.split(b"999999999", 1)
    return head, tail


async def _canned_server(payload: str) -> Any:
    """A picows server answering every request with our server's response bytes (id spliced in, no JSON work)."""
    import picows

    head, tail = _canned_response(payload)

    class Canned(picows.WSListener):
        def on_ws_frame(self, transport: picows.WSTransport, frame: picows.WSFrame) -> None:
            if frame.msg_type != picows.WSMsgType.TEXT:
                return
            data = frame.get_payload_as_bytes()
            if b'"id":' not in data:
                return  # a notification
            if b'"initialize"' in data:
                rid = jsonrpc.request_parts(orjson.loads(data))
                assert rid is not None
                init = {"protocolVersion": "2025-11-25", "capabilities": {}, "serverInfo": {"name": "canned"}}
                transport.send(picows.WSMsgType.TEXT, jsonrpc.encode_result(rid[0], init))
                return
            start = data.index(b'"id":') + 5
            end = data.index(b",", start)
            transport.send(picows.WSMsgType.TEXT, head + data[start:end] + tail)

    def listener(_request: Any) -> Any:
        response = picows.WSUpgradeResponse.create_101_response({"Sec-WebSocket-Protocol": "mcp"})
        return picows.WSUpgradeResponseWithListener(response, Canned())

    return await picows.ws_create_server(listener, servers.HOST, 0)


async def _per_call_us(rt: roundtrip.RoundTrip, calls: int) -> float:
    start = time.perf_counter_ns()
    for _ in range(calls):
        await rt.call()
    return (time.perf_counter_ns() - start) / calls / 1000


async def run_cpu_cost(calls: int = 20_000, rounds: int = 5, payload_chars: int = 16) -> list[dict[str, Any]]:
    """Measure every row of :data:`ROWS` in this process (rounds interleaved; call it on uvloop).

    Returns:
        ``[{"scenario", "us_per_call" (median), "rounds" ([µs]), "overhead_us" (vs picows-echo)}]`` in ROWS order.
    """
    payload = "x" * payload_chars
    tcp_info, tcp = await servers.tcp_echo()
    pw_info, pw = await servers.picows_echo()
    min_info, minimal = await servers.jsonrpc_min_echo()
    mcp_info, mcp = await servers.mcp_echo("picows", None)
    canned = await _canned_server(payload)
    request = jsonrpc.encode_request(1, "tools/call", {"name": "echo", "arguments": {"text": payload}, "_meta": _META})
    rts: dict[str, roundtrip.RoundTrip] = {}
    try:
        rts["tcp-floor"] = await roundtrip.dial(C.TCP_FLOOR, tcp_info, payload, None)
        rts["picows-echo"] = await roundtrip.dial(C.PICOWS_ECHO, pw_info, payload, None)
        rts["jsonrpc-min"] = await roundtrip.dial(C.JSONRPC_MIN, min_info, payload, None)
        mcp_url = str(mcp_info["url"])
        rts["ours-server"] = await roundtrip._dial_picows(
            "ours-server", mcp_url, request, {"Sec-WebSocket-Protocol": "mcp"}
        )
        canned_url = f"ws://{servers.HOST}:{canned.sockets[0].getsockname()[1]}/"
        rts["ours-client"] = await roundtrip.dial_mcp(C.MCP_WS_PICOWS, {"url": canned_url}, payload, None)
        rts["mcp-ws-picows"] = await roundtrip.dial(C.MCP_WS_PICOWS, mcp_info, payload, None)
        warm = max(100, calls // 10)
        for rt in rts.values():
            await _per_call_us(rt, warm)
        per_round = max(1, calls // rounds)
        samples: dict[str, list[float]] = {name: [] for name in ROWS}
        for _ in range(rounds):
            for name in ROWS:
                samples[name].append(await _per_call_us(rts[name], per_round))
    finally:
        for rt in rts.values():
            await rt.close()
        canned.close()
        for handlers in (tcp, pw, minimal, mcp):
            await handlers["close"]()
    echo = statistics.median(samples["picows-echo"])
    out = []
    for name in ROWS:
        med = statistics.median(samples[name])
        out.append(
            {
                "scenario": name,
                "us_per_call": round(med, 2),
                "rounds": [round(v, 2) for v in samples[name]],
                "overhead_us": round(med - echo, 2),
            }
        )
    return out
