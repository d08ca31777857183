"""Our client answers our server's requests for input (both backends, on loopback): in 2026-07-28 the input-required
results of ``tools/call``, ``prompts/get`` and ``resources/read`` (Multi Round-Trip Requests), retried with the
handlers' answers until the final result; in 2025-11-25 the server's own ``elicitation/create``,
``sampling/createMessage`` and ``roots/list`` on the call's link. A client without handlers declares nothing and gets
the server's ``-32021``; a tampered retry is the server's ``-32602``; a server that never stops asking hits the cap.

The server carries the conformance suite's fixtures (:mod:`tradingmcp.server.tools.conformance`), whose tools ask.
"""

from __future__ import annotations

import asyncio
import gc
import warnings
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.wire_helpers import TIMEOUT_S, running
from tradingmcp.client.errors import ConnectionLost, InputRequiredError, RpcError
from tradingmcp.client.options import HANDSHAKE_VERSION, MODERN_VERSION
from tradingmcp.client.rounds import Rounds
from tradingmcp.client.session import McpClient, connect
from tradingmcp.server.mcp.mrtr import InputRequired, Inputs, elicit
from tradingmcp.server.mcp.registry import McpApp, Resource
from tradingmcp.server.tools.conformance import register_conformance_fixtures
from tradingmcp.server.tools.conformance_rounds import NAME_SCHEMA
from tradingmcp.server.wsserver import McpServer
from tradingmcp.transport import ws
from tradingmcp.transport.jsonrpc import ErrorCode

ERAS = (HANDSHAKE_VERSION, MODERN_VERSION)
NOTE_URI = "test://asking-note"
ROOTS = [{"uri": "file:///srv/trading", "name": "trading"}]


class Asked:
    """The user's side: an async elicitation handler, a sync sampling handler, fixed roots; records each call."""

    def __init__(self) -> None:
        self.methods: list[str] = []

    async def elicit(self, params: dict[str, Any]) -> dict[str, Any]:
        self.methods.append("elicitation/create")
        await asyncio.sleep(0)  # a real handler awaits its user
        fields = params["requestedSchema"].get("properties", {})
        answers = {"name": "Alice", "color": "blue", "ok": True, "context": "btc", "username": "alice"}
        return {"action": "accept", "content": {k: v for k, v in answers.items() if k in fields}}

    def sample(self, params: dict[str, Any]) -> dict[str, Any]:
        self.methods.append("sampling/createMessage")
        assert params["messages"][0]["role"] == "user"
        return {"role": "assistant", "content": {"type": "text", "text": "Paris"}, "model": "test-model"}


def ask_note(uri: str, inputs: Inputs) -> str:
    name = (inputs.elicited("reader") or {}).get("name")
    if name is None:
        raise InputRequired({"reader": elicit("Who reads this note?", NAME_SCHEMA)})
    return f"a note for {name}"


@pytest.fixture(params=ws.BACKENDS)
async def server(request: pytest.FixtureRequest) -> AsyncIterator[McpServer]:
    app = McpApp(name="tradingmcp-client-asking")
    register_conformance_fixtures(app)
    app.add_resource(Resource(NOTE_URI, "note", lambda uri: "a note", "Asks who reads it", "text/plain", ask=ask_note))
    async with running(app, request.param) as srv:
        yield srv


def backend_of(srv: McpServer) -> ws.Backend:
    return srv.config.backend


def text_of(result: dict[str, Any]) -> str:
    assert result.get("isError") is not True, result
    text: str = result["content"][0]["text"]
    return text


async def open_client(srv: McpServer, version: str, **kwargs: Any) -> McpClient:
    return await connect(srv.url, backend=backend_of(srv), protocol_version=version, reconnect=False, **kwargs)


async def test_the_2026_era_answers_input_required_results_of_tools_prompts_and_resources(server: McpServer) -> None:
    asked = Asked()
    client = await open_client(server, MODERN_VERSION, elicitation=asked.elicit, sampling=asked.sample, roots=ROOTS)
    try:
        greeted = await client.call_tool("test_input_required_result_elicitation")
        sampled = await client.call_tool("test_input_required_result_sampling")
        rooted = await client.call_tool("test_input_required_result_list_roots")
        rounds = await client.call_tool("test_input_required_result_multi_round")
        many = await client.call_tool("test_input_required_result_multiple_inputs")
        checked = await client.call_tool("test_input_required_result_request_state")
        progress: list[dict[str, Any]] = []
        with_progress = await client.call_tool("test_input_required_result_elicitation", on_progress=progress.append)
        prompt = await client.get_prompt("test_input_required_result_prompt")
        note = await client.read_resource(NOTE_URI)
        plain = await client.read_resource("test://static-text")
    finally:
        await client.close()
    assert text_of(greeted) == "Hello, Alice!" == text_of(with_progress)
    assert text_of(sampled) == "Sampling response: Paris"
    assert text_of(rooted) == "Client roots: file:///srv/trading"
    assert text_of(rounds) == "Alice likes blue"  # two rounds: the name travelled in the sealed state
    assert text_of(many) == "Paris Alice (1 roots)"  # three handlers in one round
    assert text_of(checked).startswith("state-ok")
    assert prompt["messages"][0]["content"]["text"] == "Use this context: btc"
    assert note == [{"uri": NOTE_URI, "mimeType": "text/plain", "text": "a note for Alice"}]
    assert plain[0]["text"]  # a resource that does not ask reads in one request
    assert asked.methods.count("elicitation/create") == 8
    assert asked.methods.count("sampling/createMessage") == 2


async def test_the_2025_era_answers_the_servers_own_requests_with_the_same_handlers(server: McpServer) -> None:
    asked = Asked()
    client = await open_client(server, HANDSHAKE_VERSION, elicitation=asked.elicit, sampling=asked.sample, roots=ROOTS)
    try:
        assert client.protocol_version == HANDSHAKE_VERSION
        elicited = await client.call_tool("test_elicitation", {"message": "Who are you?"})
        sampled = await client.call_tool("test_sampling", {"prompt": "Capital of France?"})
        greeted = await client.call_tool("test_input_required_result_elicitation")
        rounds = await client.call_tool("test_input_required_result_multi_round")
        many = await client.call_tool("test_input_required_result_multiple_inputs")
    finally:
        await client.close()
    assert text_of(elicited) == 'User response: action=accept, content={"username":"alice"}'
    assert text_of(sampled) == "LLM response: Paris"
    assert text_of(greeted) == "Hello, Alice!" and text_of(rounds) == "Alice likes blue"
    assert text_of(many) == "Paris Alice (1 roots)"
    assert asked.methods.count("elicitation/create") == 5 and asked.methods.count("sampling/createMessage") == 2


@pytest.mark.parametrize("version", ERAS)
async def test_the_server_sees_exactly_the_capabilities_of_the_handlers_given(server: McpServer, version: str) -> None:
    plain = await open_client(server, version)
    only_roots = await open_client(server, version, roots=lambda: ROOTS)
    try:
        nothing = await plain.call_tool("test_input_required_result_capabilities")
        roots = await only_roots.call_tool("test_input_required_result_capabilities")
        with pytest.raises(RpcError) as refused:
            await plain.call_tool("test_input_required_result_elicitation")
        with pytest.raises(RpcError) as refused_all:
            await plain.call_tool("test_input_required_result_multiple_inputs")
    finally:
        await plain.close()
        await only_roots.close()
    assert text_of(nothing) == "Answered: nothing could be asked"
    assert text_of(roots) == "Answered: client_roots"
    assert refused.value.code == ErrorCode.MISSING_CLIENT_CAPABILITY
    assert refused.value.data == {"requiredCapabilities": {"elicitation": {}}}
    assert refused_all.value.data == {"requiredCapabilities": {"elicitation": {}, "roots": {}, "sampling": {}}}


async def test_a_tampered_retry_is_refused_by_the_server(server: McpServer) -> None:
    asked = Asked()
    client = await open_client(server, MODERN_VERSION, elicitation=asked.elicit)
    try:
        params = {"name": "test_input_required_result_tampered_state", "arguments": {}}
        first = await client.request("tools/call", params)  # the raw request: its rounds are the caller's
        assert first["resultType"] == "input_required"
        rounds = Rounds("tools/call", params, client.features.methods)
        step = rounds.take(first)
        answers = {key: await asked.elicit(p) for key, (_, p) in step.requests.items()}
        retry = rounds.retry_params(step, answers)
        with pytest.raises(RpcError) as refused:
            await client.request("tools/call", {**retry, "requestState": retry["requestState"] + "-TAMPERED"})
        done = await client.request("tools/call", retry)  # the state as the server sealed it still verifies
    finally:
        await client.close()
    assert refused.value.code == ErrorCode.INVALID_PARAMS and "integrity" in refused.value.message
    assert text_of(done) == "state-ok"


async def test_a_server_that_keeps_asking_hits_the_round_cap(server: McpServer) -> None:
    declined: list[dict[str, Any]] = []

    def decline(params: dict[str, Any]) -> dict[str, Any]:
        declined.append(params)
        return {"action": "decline"}  # the tool asks again each time (a missing answer is not an error)

    client = await open_client(server, MODERN_VERSION, elicitation=decline, max_input_rounds=3)
    try:
        with pytest.raises(InputRequiredError, match=r"after 3 rounds \(max_input_rounds=3\)"):
            await client.call_tool("test_input_required_result_elicitation")
        assert len(declined) == 3 and client.in_flight == 0
        assert text_of(await client.call_tool("test_simple_text")) == "This is a simple text response for testing."
    finally:
        await client.close()


@pytest.mark.parametrize("version", ERAS)
async def test_a_handler_that_fails_fails_the_call_and_not_the_client(server: McpServer, version: str) -> None:
    def broken(params: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("the user's secret answer")

    def misshapen(params: dict[str, Any]) -> Any:
        return {"role": "assistant"}  # no content

    async def unreachable() -> list[dict[str, Any]]:
        await asyncio.sleep(0)
        raise OSError("the roots service is down")

    client = await open_client(server, version, elicitation=broken, sampling=misshapen, roots=unreachable)
    try:
        if version == MODERN_VERSION:  # the caller's own call: the handler's error reaches it
            with pytest.raises(RuntimeError, match="secret"):
                await client.call_tool("test_input_required_result_elicitation")
            with pytest.raises(InputRequiredError, match="needs 'content'"):
                await client.call_tool("test_input_required_result_sampling")
            with pytest.raises(OSError, match="roots service"):
                await client.call_tool("test_input_required_result_list_roots")
        else:  # the server asked: it gets an error naming only the handler's failure, and the tool fails
            failed = await client.call_tool("test_input_required_result_elicitation")
            assert failed["isError"] is True
            assert "RuntimeError" in failed["content"][0]["text"] and "secret" not in failed["content"][0]["text"]
            misshaped = await client.call_tool("test_sampling", {"prompt": "?"})
            assert misshaped["isError"] is True and "needs 'content'" in misshaped["content"][0]["text"]
            down = await client.call_tool("test_input_required_result_list_roots")  # a coroutine handler's failure
            assert down["isError"] is True and "roots/list handler failed (OSError)" in down["content"][0]["text"]
        assert text_of(await client.call_tool("test_simple_text")) == "This is a simple text response for testing."
    finally:
        await client.close()


async def test_closing_while_the_user_is_asked_cancels_the_handler(server: McpServer) -> None:
    waiting, cancelled = asyncio.Event(), asyncio.Event()

    async def never(params: dict[str, Any]) -> dict[str, Any]:
        waiting.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise
        raise AssertionError("unreachable")

    client = await open_client(server, HANDSHAKE_VERSION, elicitation=never)
    call = asyncio.ensure_future(client.call_tool("test_input_required_result_elicitation"))
    await asyncio.wait_for(waiting.wait(), TIMEOUT_S)
    await client.close()
    await asyncio.wait_for(cancelled.wait(), TIMEOUT_S)
    with pytest.raises(ConnectionLost):
        await call


async def test_a_failing_handler_leaves_no_other_handler_of_its_round_half_started(server: McpServer) -> None:
    started: list[str] = []

    async def elicit(params: dict[str, Any]) -> dict[str, Any]:
        started.append("elicitation")
        return {"action": "accept", "content": {"name": "Ada"}}

    def refuse(params: dict[str, Any]) -> dict[str, Any]:
        raise PermissionError("no model here")

    client = await open_client(server, MODERN_VERSION, elicitation=elicit, sampling=refuse, roots=ROOTS)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with pytest.raises(PermissionError):
                await client.call_tool("test_input_required_result_multiple_inputs")  # asks all three at once
            gc.collect()
        assert started == [] and not [w for w in caught if "never awaited" in str(w.message)]
        assert text_of(await client.call_tool("test_input_required_result_elicitation")) == "Hello, Ada!"
    finally:
        await client.close()
