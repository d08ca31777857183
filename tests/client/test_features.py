"""The handlers a client answers a server's input requests with, with no event loop: the capabilities they declare
(none without them, on the wire of both eras), which methods they answer, the shape checks of their answers, and the
core routing the server's requests to them (2025-11-25)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from tradingmcp.client.core import CLIENT_CAPABILITIES, ClientCore, Handlers
from tradingmcp.client.errors import InputRequiredError
from tradingmcp.client.features import ClientFeatures, checked_answer
from tradingmcp.transport.jsonrpc import ErrorCode
from tradingmcp.transport.mcpnames import META_CLIENT_CAPS

from .test_core import Recorder

ROOTS = [{"uri": "file:///srv/trading", "name": "trading"}]


def elicit(params: dict[str, Any]) -> dict[str, Any]:
    return {"action": "accept", "content": {"name": "Ada"}}


def sample(params: dict[str, Any]) -> dict[str, Any]:
    return {"role": "assistant", "content": {"type": "text", "text": "Paris"}, "model": "m"}


def test_each_handler_declares_its_capability_and_none_declares_nothing() -> None:
    assert ClientFeatures().methods == frozenset()
    assert ClientFeatures().capabilities(CLIENT_CAPABILITIES) == CLIENT_CAPABILITIES
    only_roots = ClientFeatures(roots=ROOTS)
    assert only_roots.methods == {"roots/list"}
    assert only_roots.capabilities(CLIENT_CAPABILITIES) == {**CLIENT_CAPABILITIES, "roots": {}}
    every = ClientFeatures(elicit, sample, lambda: ROOTS).capabilities({})
    assert every == {"elicitation": {}, "sampling": {}, "roots": {}}


def _frame(data: bytes) -> dict[str, Any]:
    out: dict[str, Any] = orjson.loads(data)
    return out


def test_the_declared_capabilities_go_on_the_wire_of_both_eras_per_client() -> None:
    rec = Recorder()
    handlers = Handlers(rec.response, rec.notification, rec.server_request, rec.parse_error, lambda *a: None)
    asking = ClientCore(handlers, features=ClientFeatures(elicitation=elicit))
    plain = ClientCore(rec.handlers)
    _, hello = asking.greeting()
    assert _frame(hello)["params"]["capabilities"] == {**CLIENT_CAPABILITIES, "elicitation": {}}
    assert _frame(plain.greeting()[1])["params"]["capabilities"] == CLIENT_CAPABILITIES
    modern = ClientCore(handlers, "2026-07-28", features=ClientFeatures(sampling=sample, roots=ROOTS))
    _, call = modern.encode_tool_call("t")
    assert _frame(call)["params"]["_meta"][META_CLIENT_CAPS] == {**CLIENT_CAPABILITIES, "sampling": {}, "roots": {}}
    assert CLIENT_CAPABILITIES == {"extensions": {"io.tradingmcp/streams": {}}}  # the constant is never widened
    with pytest.raises(ValueError, match="input_request"):
        ClientCore(rec.handlers, features=ClientFeatures(elicitation=elicit))


def test_the_core_hands_answerable_server_requests_to_the_handlers_and_refuses_the_rest() -> None:
    rec = Recorder()
    asked: list[tuple[Any, str, dict[str, Any]]] = []
    handlers = Handlers(rec.response, rec.notification, rec.server_request, rec.parse_error, lambda *a: asked.append(a))
    core = ClientCore(handlers, features=ClientFeatures(elicitation=elicit))
    params = {"message": "Name?", "requestedSchema": {"type": "object"}}
    core.receive(orjson.dumps({"jsonrpc": "2.0", "id": 7, "method": "elicitation/create", "params": params}))
    assert asked == [(7, "elicitation/create", params)] and rec.take() == []
    core.receive(orjson.dumps({"jsonrpc": "2.0", "id": 8, "method": "sampling/createMessage", "params": {}}))
    core.receive(orjson.dumps({"jsonrpc": "2.0", "id": 9, "method": "elicitation/create", "params": [1]}))
    core.receive(orjson.dumps({"jsonrpc": "2.0", "id": 10, "method": "ping"}))
    replies = {e[1]: _frame(e[3]) for e in rec.take()}
    assert replies[8]["error"]["code"] == ErrorCode.METHOD_NOT_FOUND  # no sampling handler
    assert replies[9]["error"]["code"] == ErrorCode.INVALID_PARAMS
    assert replies[10] == {"jsonrpc": "2.0", "id": 10, "result": {}}
    assert _frame(core.encode_answer(7, {"action": "decline"})) == {
        "jsonrpc": "2.0",
        "id": 7,
        "result": {"action": "decline"},
    }
    refusal = _frame(core.encode_refusal(7, "no"))["error"]
    assert refusal == {"code": ErrorCode.INTERNAL_ERROR, "message": "no"}


def test_handlers_answer_their_methods_only() -> None:
    features = ClientFeatures(elicit, None, ROOTS)
    assert features.call("elicitation/create", {})["action"] == "accept"
    assert features.call("roots/list", {}) == ROOTS
    with pytest.raises(InputRequiredError, match="sampling/createMessage, which this client has no handler for"):
        features.call("sampling/createMessage", {})
    assert ClientFeatures(roots=lambda: ROOTS).call("roots/list", {}) == ROOTS


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"elicitation": "yes"}, "elicitation handler must be callable"),
        ({"sampling": 3}, "sampling handler must be callable"),
        ({"roots": "file:///x"}, "roots must be a list"),
        ({"roots": [{"name": "no uri"}]}, "roots\\[0\\] must be an object with a string 'uri'"),
    ],
)
def test_a_handler_that_is_not_one_is_refused_at_once(kwargs: dict[str, Any], says: str) -> None:
    with pytest.raises(InputRequiredError, match=says):
        ClientFeatures(**kwargs)


def test_answers_are_checked_against_their_method() -> None:
    assert checked_answer("roots/list", ROOTS) == {"roots": ROOTS}
    assert checked_answer("elicitation/create", {"action": "cancel"}) == {"action": "cancel"}
    assert checked_answer("sampling/createMessage", sample({}))["content"]["text"] == "Paris"
    for method, bad, says in (
        ("elicitation/create", None, "must return an object"),
        ("elicitation/create", {"action": "maybe"}, "'action' among"),
        ("elicitation/create", {"action": "accept", "content": "Ada"}, "'content' must be an object"),
        ("sampling/createMessage", {"role": "assistant"}, "needs 'content'"),
        ("roots/list", {"roots": ROOTS}, "must be a list"),
    ):
        with pytest.raises(InputRequiredError, match=says):
            checked_answer(method, bad)
