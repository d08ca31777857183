"""Multi Round-Trip Requests (2026-07-28 input-required results) in the session core, with no event loop.

The seal of ``requestState`` on its own (:class:`RequestStates`: tampering, expiry, a state presented for another
request or principal, size bounds), then whole rounds through :class:`ServerSession`: a tool or prompt asks, the
client retries with its answers on another session of the same server (nothing is kept between rounds), and the
ways a retry goes wrong (tampered state, missing answer, undeclared capability, malformed ``inputResponses``). Last,
the same tools in the handshake era, where the server asks with requests of its own and runs the tool again.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from tradingmcp.server.mcp.context import CallContext
from tradingmcp.server.mcp.engine import ServerSession
from tradingmcp.server.mcp.mrtr import (
    KEY_ENV,
    MAX_STATE_CHARS,
    MIN_KEY_CHARS,
    InputRequired,
    Inputs,
    RequestStates,
    arguments_digest,
    elicit,
    list_roots,
    sample,
)
from tradingmcp.server.mcp.registry import McpApp, Prompt, Resource
from tradingmcp.transport.auth import Principal
from tradingmcp.transport.jsonrpc import ErrorCode, JsonRpcError
from tradingmcp.transport.mcpnames import META_CLIENT_CAPS, META_VERSION

from .test_engine_core import INITIALIZE, ListSink, RecordingShell, call, drive, request

NAME_SCHEMA = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
ALL_CAPS: dict[str, Any] = {"elicitation": {}, "sampling": {}, "roots": {}}
BINDING = ("alice", "tools/call", "greet", arguments_digest({}))


def meta(caps: dict[str, Any] | None = None) -> dict[str, Any]:
    return {META_VERSION: "2026-07-28", META_CLIENT_CAPS: ALL_CAPS if caps is None else caps}


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


# ---------------------------------------------------------------- the seal
def test_a_sealed_state_opens_to_what_was_sealed() -> None:
    states = RequestStates()
    sealed = states.seal(BINDING, {"step": 2, "name": "Alice"})
    assert isinstance(sealed, str) and len(sealed) <= MAX_STATE_CHARS
    assert states.open(sealed, BINDING) == {"step": 2, "name": "Alice"}


@pytest.mark.parametrize(
    "tamper",
    [
        lambda s: s + "-TAMPERED",  # the suite's own tampering
        lambda s: s[:-1] + ("A" if s[-1] != "A" else "B"),  # one character of the MAC
        lambda s: s.replace(".", ".x", 1),  # the payload
        lambda s: "2" + s[1:],  # the version
        lambda s: s.split(".")[0] + "." + s.split(".")[1],  # no MAC
        lambda s: "",
    ],
)
def test_a_tampered_state_is_refused(tamper: Any) -> None:
    states = RequestStates()
    sealed = states.seal(BINDING, {"admin": False})
    with pytest.raises(JsonRpcError) as refused:
        states.open(tamper(sealed), BINDING)
    assert refused.value.code == ErrorCode.INVALID_PARAMS
    assert "requestState" in refused.value.message


def test_a_payload_resealed_without_the_key_is_refused() -> None:
    """Rewriting the readable payload (``admin: true``) and sealing it under another key fails verification."""
    mine, forger = RequestStates(), RequestStates()
    forged = forger.seal(BINDING, {"admin": True})
    with pytest.raises(JsonRpcError, match="integrity"):
        mine.open(forged, BINDING)


def test_a_state_is_bound_to_principal_request_and_arguments() -> None:
    states = RequestStates()
    sealed = states.seal(BINDING, 1)
    for other in (
        ("mallory", "tools/call", "greet", arguments_digest({})),
        ("alice", "prompts/get", "greet", arguments_digest({})),
        ("alice", "tools/call", "place_order", arguments_digest({})),
        ("alice", "tools/call", "greet", arguments_digest({"qty": "100"})),
    ):
        with pytest.raises(JsonRpcError, match="another request or principal"):
            states.open(sealed, other)
    assert arguments_digest({"a": 1, "b": 2}) == arguments_digest({"b": 2, "a": 1})


def test_a_state_expires() -> None:
    clock = Clock()
    states = RequestStates(ttl_s=60, clock=clock)
    sealed = states.seal(BINDING, 1)
    clock.now += 59
    assert states.open(sealed, BINDING) == 1
    clock.now += 2
    with pytest.raises(JsonRpcError, match="expired"):
        states.open(sealed, BINDING)


def test_state_size_is_bounded_both_ways() -> None:
    states = RequestStates()
    with pytest.raises(ValueError, match="over"):
        states.seal(BINDING, "x" * MAX_STATE_CHARS)
    with pytest.raises(JsonRpcError, match="longer than"):
        states.open("1." + "A" * MAX_STATE_CHARS, BINDING)
    with pytest.raises(JsonRpcError, match="must be a string"):
        states.open({"not": "a string"}, BINDING)
    with pytest.raises(ValueError, match="JSON"):
        states.seal(BINDING, object())
    assert "key" not in repr(states)


def test_processes_sharing_the_key_from_the_environment_verify_each_others_states() -> None:
    env = {KEY_ENV: "k" * MIN_KEY_CHARS}
    one, other = RequestStates.from_env(env), RequestStates.from_env(env)
    assert other.open(one.seal(BINDING, {"n": 1}), BINDING) == {"n": 1}
    own, own_too = RequestStates.from_env({}), RequestStates.from_env({})
    with pytest.raises(JsonRpcError, match="integrity"):
        own_too.open(own.seal(BINDING, 1), BINDING)
    with pytest.raises(ValueError, match=f"at least {MIN_KEY_CHARS}") as short:
        RequestStates.from_env({KEY_ENV: "tiny-secret"})
    assert "tiny-secret" not in str(short.value)


# ---------------------------------------------------------------- rounds through the engine
class Greeter:
    """An app whose tools ask: ``greet`` (sync, elicitation), ``roots`` (async, roots/list), ``two_rounds`` (a name,
    then a colour, carrying the name in its state), ``oversize`` (a state too large to seal); a prompt that asks for
    its context. Counts the runs that completed."""

    def __init__(self) -> None:
        self.app = McpApp(name="mrtr-test")
        self.completed = 0
        app = self.app

        @app.tool("greet", "Asks a name, then greets.")
        def greet(ctx: CallContext, args: dict[str, Any]) -> str:
            name = (ctx.inputs.elicited("user_name") or {}).get("name")
            if not isinstance(name, str):
                raise InputRequired({"user_name": elicit("What is your name?", NAME_SCHEMA)}, {"asked": "name"})
            self.completed += 1
            return f"Hello, {name}!"

        @app.tool("roots", "Asks the client's roots.")
        async def roots(ctx: CallContext, args: dict[str, Any]) -> str:
            found = ctx.inputs.roots("r")
            if found is None:
                raise InputRequired({"r": list_roots()})
            self.completed += 1
            return ",".join(r["uri"] for r in found)

        @app.tool("two_rounds", "A name, then a colour.")
        def two_rounds(ctx: CallContext, args: dict[str, Any]) -> str:
            inputs = ctx.inputs
            name = inputs.state.get("name") if isinstance(inputs.state, dict) else None
            if name is None:
                name = (inputs.elicited("step1") or {}).get("name")
                if name is None:
                    raise InputRequired({"step1": elicit("Name?", NAME_SCHEMA)})
            color = inputs.sampled_text("step2")
            if color is None:
                raise InputRequired({"step2": sample("A colour?", 10)}, {"name": name})
            self.completed += 1
            return f"{name}:{color}"

        @app.tool("can_ask", "What the caller can be asked.")
        def can_ask(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
            return {m: ctx.inputs.can_ask(m) for m in ("elicitation/create", "sampling/createMessage", "roots/list")}

        @app.tool("oversize", "A state too large to seal.")
        def oversize(ctx: CallContext, args: dict[str, Any]) -> str:
            raise InputRequired({}, "x" * MAX_STATE_CHARS)

        def ask_context(arguments: dict[str, str], inputs: Inputs) -> list[dict[str, Any]]:
            context = (inputs.elicited("ctx") or {}).get("context")
            if context is None:
                raise InputRequired({"ctx": elicit("Context?", {"type": "object", "properties": {}})})
            return [{"role": "user", "content": {"type": "text", "text": f"context={context}"}}]

        def plain(arguments: dict[str, str]) -> list[dict[str, Any]]:
            return [{"role": "user", "content": {"type": "text", "text": "no context"}}]

        app.add_prompt(Prompt("contextual", "Asks its context.", plain, ask=ask_context))

        def ask_note(uri: str, inputs: Inputs) -> str:
            reason = (inputs.elicited("why") or {}).get("reason")
            if reason is None:
                raise InputRequired({"why": elicit("Why read it?", {"type": "object", "properties": {}})})
            return f"note for {reason}"

        app.add_resource(Resource("test://note", "note", lambda uri: "note", "Asks why", "text/plain", ask=ask_note))

    def session(self, who: str = "alice") -> tuple[ServerSession, ListSink, RecordingShell]:
        """A new session of the same server (a stateless POST gets one each)."""
        sink, shell = ListSink(), RecordingShell()
        return ServerSession(self.app, sink, Principal(who, frozenset({"read"})), shell=shell), sink, shell


def answer(server: Greeter, message: bytes, who: str = "alice") -> dict[str, Any]:
    """Send ``message`` on a fresh session of ``server``; its one answer (an async tool run by hand)."""
    session, sink, shell = server.session(who)
    session.on_message(message)
    for run in shell.started:
        drive(run)
    assert len(sink.out) == 1, sink.out
    reply: dict[str, Any] = sink.out[0]
    return reply


def accepted(**content: Any) -> dict[str, Any]:
    return {"action": "accept", "content": content}


def test_a_tool_asks_and_completes_on_a_retry_served_by_another_session() -> None:
    server = Greeter()
    first = answer(server, call(1, "greet", _meta=meta()))["result"]
    assert first["resultType"] == "input_required"
    assert first["inputRequests"] == {"user_name": elicit("What is your name?", NAME_SCHEMA)}
    assert isinstance(first["requestState"], str)
    retry = {"inputResponses": {"user_name": accepted(name="Alice")}, "requestState": first["requestState"]}
    done = answer(server, call(2, "greet", _meta=meta(), **retry))
    assert done["id"] == 2
    assert done["result"]["resultType"] == "complete"
    assert done["result"]["content"] == [{"type": "text", "text": "Hello, Alice!"}]
    assert server.completed == 1


def test_a_tampered_state_is_an_error_and_the_tool_does_not_complete() -> None:
    server = Greeter()
    first = answer(server, call(1, "greet", _meta=meta()))["result"]
    retry = {"inputResponses": {"user_name": accepted(name="A")}, "requestState": first["requestState"] + "-TAMPERED"}
    refused = answer(server, call(2, "greet", _meta=meta(), **retry))
    assert refused["error"]["code"] == ErrorCode.INVALID_PARAMS
    assert "integrity" in refused["error"]["message"]
    assert server.completed == 0


def test_a_state_is_refused_on_another_tool_for_another_principal_and_by_another_server() -> None:
    server = Greeter()
    state = answer(server, call(1, "greet", _meta=meta()))["result"]["requestState"]
    retry = {"inputResponses": {}, "requestState": state}
    assert answer(server, call(2, "two_rounds", _meta=meta(), **retry))["error"]["code"] == ErrorCode.INVALID_PARAMS
    assert answer(server, call(3, "greet", _meta=meta(), **retry), who="bob")["error"]["code"] == -32602
    restarted = Greeter()  # a new key: states of the old one no longer verify
    assert answer(restarted, call(4, "greet", _meta=meta(), **retry))["error"]["code"] == ErrorCode.INVALID_PARAMS


def test_a_missing_input_response_is_asked_for_again_not_an_error() -> None:
    server = Greeter()
    first = answer(server, call(1, "greet", _meta=meta()))["result"]
    retry = {"inputResponses": {"wrong_key": accepted(name="x")}, "requestState": first["requestState"]}
    again = answer(server, call(2, "greet", _meta=meta(), **retry))["result"]
    assert again["resultType"] == "input_required" and "user_name" in again["inputRequests"]
    declined = {"inputResponses": {"user_name": {"action": "decline"}}}
    assert answer(server, call(3, "greet", _meta=meta(), **declined))["result"]["resultType"] == "input_required"
    assert server.completed == 0


def test_an_undeclared_capability_is_the_missing_capability_error() -> None:
    server = Greeter()
    refused = answer(server, call(1, "greet", _meta=meta({"sampling": {}})))
    assert refused["error"]["code"] == ErrorCode.MISSING_CLIENT_CAPABILITY == -32021
    assert refused["error"]["data"] == {"requiredCapabilities": {"elicitation": {}}}
    roots = answer(server, call(2, "roots", _meta=meta({"elicitation": {}})))  # the async path
    assert roots["error"]["data"] == {"requiredCapabilities": {"roots": {}}}


@pytest.mark.parametrize("bad", [None, [], {"user_name": 12345}, {"user_name": "accept"}])
def test_malformed_input_responses_are_invalid_params(bad: Any) -> None:
    server = Greeter()
    refused = answer(server, call(1, "greet", _meta=meta(), inputResponses=bad))
    assert refused["error"]["code"] == ErrorCode.INVALID_PARAMS
    assert "inputResponses" in refused["error"]["message"]
    assert server.completed == 0


def test_an_async_tool_asks_through_its_shell_run() -> None:
    server = Greeter()
    first = answer(server, call(1, "roots", _meta=meta()))["result"]
    assert first["resultType"] == "input_required" and first["inputRequests"] == {"r": list_roots()}
    retry = {"inputResponses": {"r": {"roots": [{"uri": "file:///a"}, {"uri": "file:///b"}]}}}
    done = answer(server, call(2, "roots", _meta=meta(), **retry, requestState=first["requestState"]))
    assert done["result"]["content"][0]["text"] == "file:///a,file:///b"


def test_three_rounds_carry_the_first_answer_in_a_new_state() -> None:
    server = Greeter()
    r1 = answer(server, call(1, "two_rounds", _meta=meta()))["result"]
    r2 = answer(
        server,
        call(
            2,
            "two_rounds",
            _meta=meta(),
            inputResponses={"step1": accepted(name="Ada")},
            requestState=r1["requestState"],
        ),
    )["result"]
    assert r2["resultType"] == "input_required" and list(r2["inputRequests"]) == ["step2"]
    assert r2["requestState"] != r1["requestState"]
    blue = {"role": "assistant", "content": {"type": "text", "text": "blue"}, "model": "m"}
    r3 = answer(
        server, call(3, "two_rounds", _meta=meta(), inputResponses={"step2": blue}, requestState=r2["requestState"])
    )
    assert r3["result"]["content"][0]["text"] == "Ada:blue"


def test_a_prompt_asks_and_the_handshake_era_gets_its_plain_render() -> None:
    server = Greeter()
    params = {"name": "contextual", "_meta": meta()}
    first = answer(server, request(1, "prompts/get", params))["result"]
    assert first["resultType"] == "input_required" and list(first["inputRequests"]) == ["ctx"]
    retry = {**params, "inputResponses": {"ctx": accepted(context="btc")}, "requestState": first["requestState"]}
    done = answer(server, request(2, "prompts/get", retry))["result"]
    assert done["resultType"] == "complete"
    assert done["messages"][0]["content"]["text"] == "context=btc"
    session, sink, _ = server.session()
    session.on_message(INITIALIZE)
    session.on_message(request(3, "prompts/get", {"name": "contextual"}))
    assert sink.out[-1]["result"]["messages"][0]["content"]["text"] == "no context"


def test_a_resource_asks_before_it_is_read_and_the_handshake_era_reads_it_plainly() -> None:
    server = Greeter()
    params = {"uri": "test://note", "_meta": meta()}
    first = answer(server, request(1, "resources/read", params))["result"]
    assert first["resultType"] == "input_required" and list(first["inputRequests"]) == ["why"]
    retry = {**params, "inputResponses": {"why": accepted(reason="audit")}, "requestState": first["requestState"]}
    done = answer(server, request(2, "resources/read", retry))["result"]
    assert done["resultType"] == "complete" and done["contents"][0]["text"] == "note for audit"
    elsewhere = {"name": "contextual", "_meta": meta(), "requestState": first["requestState"]}
    refused = answer(server, request(3, "prompts/get", elsewhere))["error"]
    assert refused["code"] == ErrorCode.INVALID_PARAMS and "another request" in refused["message"]
    session, sink, _ = server.session()
    session.on_message(INITIALIZE)
    session.on_message(request(4, "resources/read", {"uri": "test://note"}))
    assert sink.out[-1]["result"]["contents"][0]["text"] == "note"


def handshake(server: Greeter, caps: dict[str, Any]) -> tuple[ServerSession, ListSink, RecordingShell]:
    session, sink, shell = server.session()
    init = {"protocolVersion": "2025-11-25", "capabilities": caps, "clientInfo": {"name": "t", "version": "1"}}
    session.on_message(request(0, "initialize", init))
    sink.out.clear()
    return session, sink, shell


def reply(session: ServerSession, asked: dict[str, Any], result: Any = None, error: Any = None) -> None:
    """The client answers the server's request ``asked``."""
    body = {"error": error} if error is not None else {"result": result}
    session.on_message(orjson.dumps({"jsonrpc": "2.0", "id": asked["id"], **body}))


def test_the_handshake_era_asks_with_server_requests_and_runs_the_tool_again() -> None:
    server = Greeter()
    session, sink, _ = handshake(server, ALL_CAPS)
    session.on_message(call(1, "greet"))
    asked = sink.out[-1]
    assert asked["method"] == "elicitation/create" and asked["params"]["requestedSchema"] == NAME_SCHEMA
    assert server.completed == 0
    reply(session, asked, accepted(name="Bo"))
    assert sink.out[-1] == {
        "jsonrpc": "2.0",
        "id": 1,
        "result": {"content": [{"type": "text", "text": "Hello, Bo!"}], "isError": False},
    }
    assert server.completed == 1 and not session.asking and not session.outgoing


def test_the_handshake_era_drives_two_rounds_keeping_the_state_in_memory() -> None:
    server = Greeter()
    session, sink, _ = handshake(server, ALL_CAPS)
    session.on_message(call(1, "two_rounds"))
    reply(session, sink.out[-1], accepted(name="Ada"))
    asked = sink.out[-1]
    assert asked["method"] == "sampling/createMessage"
    reply(session, asked, {"role": "assistant", "content": {"type": "text", "text": "green"}, "model": "m"})
    assert sink.out[-1]["result"]["content"][0]["text"] == "Ada:green"


def test_the_handshake_era_asks_for_an_async_tool_through_a_new_run() -> None:
    server = Greeter()
    session, sink, shell = handshake(server, ALL_CAPS)
    session.on_message(call(1, "roots"))
    drive(shell.started[0])
    asked = sink.out[-1]
    assert asked["method"] == "roots/list" and 1 not in session.in_flight
    reply(session, asked, {"roots": [{"uri": "file:///x"}]})
    assert len(shell.started) == 2
    drive(shell.started[1])
    assert sink.out[-1]["result"]["content"][0]["text"] == "file:///x"


def test_the_handshake_era_refusals_errors_and_cancels() -> None:
    server = Greeter()
    session, sink, _ = handshake(server, {"sampling": {}})
    session.on_message(call(1, "greet"))  # elicitation was not declared at initialize
    assert sink.out[-1]["error"]["data"] == {"requiredCapabilities": {"elicitation": {}}}
    session, sink, _ = handshake(server, ALL_CAPS)
    session.on_message(call(2, "greet"))
    reply(session, sink.out[-1], error={"code": -1, "message": "user closed the dialog"})
    failed = sink.out[-1]["result"]
    assert failed["isError"] is True and failed["structuredContent"]["error"]["code"] == "client_error"
    session.on_message(call(3, "greet"))
    asked = sink.out[-1]
    session.on_message(
        orjson.dumps({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 3}})
    )
    reply(session, asked, accepted(name="late"))
    assert sink.out[-1] is asked and server.completed == 0  # a cancelled call is never answered
    session.on_message(call(4, "greet"))
    session.on_closed()  # the connection goes while the client is asked: nothing more is sent
    assert sink.out[-1]["method"] == "elicitation/create" and not session.asking


def test_what_can_be_asked_follows_the_declared_capabilities_in_both_eras() -> None:
    server = Greeter()
    modern = answer(server, call(1, "can_ask", _meta=meta({"sampling": {}})))["result"]["structuredContent"]
    assert modern == {"elicitation/create": False, "sampling/createMessage": True, "roots/list": False}
    session, sink, _ = handshake(server, {"roots": {}, "elicitation": {}})
    session.on_message(call(2, "can_ask"))
    assert sink.out[-1]["result"]["structuredContent"] == {
        "elicitation/create": True,
        "sampling/createMessage": False,
        "roots/list": True,
    }


def test_lists_never_ask() -> None:
    listed = answer(Greeter(), request(2, "tools/list", {"_meta": meta()}))["result"]
    assert listed["resultType"] == "complete" and "inputRequests" not in listed


def test_a_state_too_large_to_seal_is_an_internal_error() -> None:
    server = Greeter()
    broken = answer(server, call(1, "oversize", _meta=meta()))
    assert broken["error"]["code"] == ErrorCode.INTERNAL_ERROR
