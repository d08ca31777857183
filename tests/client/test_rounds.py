"""The loop-free input-required rounds of one request (2026-07-28 Multi Round-Trip Requests), with no event loop: the
retry's params, the round cap, the requests no handler answers, malformed results, state-only rounds."""

from __future__ import annotations

from typing import Any

import pytest

from tradingmcp.client.errors import InputRequiredError
from tradingmcp.client.rounds import MAX_INPUT_ROUNDS, STATE_ONLY_DELAY_S, Rounds, is_input_required

ALL = frozenset({"elicitation/create", "sampling/createMessage", "roots/list"})
ELICIT = {"method": "elicitation/create", "params": {"message": "Name?", "requestedSchema": {"type": "object"}}}
CALL = {"name": "greet", "arguments": {"x": 1}}


def asked(requests: dict[str, Any] | None = None, state: Any = "s1") -> dict[str, Any]:
    out: dict[str, Any] = {"resultType": "input_required"}
    if requests is not None:
        out["inputRequests"] = requests
    if state is not None:
        out["requestState"] = state
    return out


def test_only_an_input_required_result_starts_rounds() -> None:
    assert is_input_required(asked({"k": ELICIT}))
    for final in ({"content": []}, {"resultType": "complete"}, None, [], "input_required"):
        assert not is_input_required(final)


def test_the_retry_carries_the_answers_and_the_state_echoed_and_keeps_the_first_params() -> None:
    rounds = Rounds("tools/call", CALL, ALL)
    first = rounds.take(asked({"user": ELICIT, "r": {"method": "roots/list"}}, "opaque.state"))
    assert first.requests == {"user": ("elicitation/create", ELICIT["params"]), "r": ("roots/list", {})}
    assert (first.state, first.delay_s, first.number) == ("opaque.state", 0.0, 1)
    answers = {"user": {"action": "accept", "content": {"name": "Ada"}}, "r": {"roots": []}}
    retry = rounds.retry_params(first, answers)
    assert retry == {**CALL, "inputResponses": answers, "requestState": "opaque.state"}
    second = rounds.take(asked({"c": ELICIT}, "state.two"))
    again = rounds.retry_params(second, {"c": {"action": "decline"}})
    assert again == {**CALL, "inputResponses": {"c": {"action": "decline"}}, "requestState": "state.two"}
    assert CALL == {"name": "greet", "arguments": {"x": 1}}  # the first params are not touched
    no_state = rounds.take(asked({"c": ELICIT}, None))
    assert "requestState" not in rounds.retry_params(no_state, {"c": {"action": "cancel"}})
    with pytest.raises(InputRequiredError, match="asked \\['c'\\]"):
        rounds.retry_params(no_state, {})


def test_a_state_only_round_retries_with_no_answers_after_a_growing_pause() -> None:
    rounds = Rounds("prompts/get", {"name": "p"}, frozenset())
    delays = []
    for _ in range(4):
        step = rounds.take(asked(None, "wait"))
        assert step.requests == {} and rounds.retry_params(step, {}) == {"name": "p", "requestState": "wait"}
        delays.append(step.delay_s)
    first, most = STATE_ONLY_DELAY_S
    assert delays == [first, first * 2, first * 4, most] and most < first * 8
    assert rounds.take(asked({}, "w")).delay_s == most  # an empty inputRequests is a state-only round too


def test_the_round_cap_is_a_clear_error() -> None:
    rounds = Rounds("resources/read", {"uri": "test://x"}, ALL, max_rounds=2)
    rounds.take(asked({"k": ELICIT}))
    rounds.take(asked({"k": ELICIT}))
    with pytest.raises(InputRequiredError, match="after 2 rounds \\(max_input_rounds=2\\)"):
        rounds.take(asked({"k": ELICIT}))
    assert Rounds("tools/call", CALL, ALL).max_rounds == MAX_INPUT_ROUNDS
    with pytest.raises(InputRequiredError, match=r"after 0 rounds \(max_input_rounds=0\)"):
        Rounds("tools/call", CALL, ALL, max_rounds=0).take(asked({"k": ELICIT}))
    with pytest.raises(InputRequiredError, match="0 or more"):
        Rounds("tools/call", CALL, ALL, max_rounds=-1)
    with pytest.raises(InputRequiredError, match="cannot take input-required rounds"):
        Rounds("tools/list", {}, ALL)


def test_a_request_without_its_handler_cannot_be_answered() -> None:
    rounds = Rounds("tools/call", CALL, frozenset({"roots/list"}))
    with pytest.raises(InputRequiredError, match=r"'user' with elicitation/create.*no elicitation handler"):
        rounds.take(asked({"user": ELICIT}))
    with pytest.raises(InputRequiredError, match=r"tasks/get.*only"):
        Rounds("tools/call", CALL, ALL).take(asked({"t": {"method": "tasks/get", "params": {}}}))


@pytest.mark.parametrize(
    ("result", "says"),
    [
        (asked(None, None), "neither"),
        (asked({}, None), "neither"),
        (asked(["not", "an", "object"]), "inputRequests is not an object"),
        (asked({"k": ELICIT}, 12), "requestState is not a string"),
        (asked({"k": "elicitation/create"}), "'k' is not"),
        (asked({"k": {"method": 5, "params": {}}}), "'k' is not"),
        (asked({"k": {"method": "roots/list", "params": []}}), "'k' is not"),
    ],
)
def test_a_malformed_input_required_result_is_refused(result: dict[str, Any], says: str) -> None:
    with pytest.raises(InputRequiredError, match=says):
        Rounds("tools/call", CALL, ALL).take(result)
