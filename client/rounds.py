"""One request's input-required rounds (MCP 2026-07-28 Multi Round-Trip Requests, SEP-2322), loop-free.

A 2026-07-28 server that needs the client's input to answer ``tools/call``, ``prompts/get`` or ``resources/read``
answers instead::

    {"resultType": "input_required", "inputRequests": {key: {"method": ..., "params": {...}}}, "requestState": "..."}

and the client sends the same request again (a new JSON-RPC id) with ``inputResponses`` (``{key: result}``, the
answers to this round's requests) and ``requestState`` echoed byte for byte; the server may ask again, up to a cap the
client sets. A result with only ``requestState`` (no requests) is retried with nothing to answer, after a short
pause that grows while such results repeat.

:class:`Rounds` takes each input-required result (:meth:`Rounds.take`: checked, counted against the cap, every
request one the client has a handler for) and builds the retry's params (:meth:`Rounds.retry_params`); the shell
runs the handlers (:class:`~tradingmcp.client.features.ClientFeatures`) and sends the retries. Follows
https://modelcontextprotocol.io/specification/2026-07-28/basic/patterns/mrtr.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from tradingmcp.client.errors import InputRequiredError
from tradingmcp.client.features import CAPABILITY_OF

INPUT_REQUIRED: Final = "input_required"
"""The ``resultType`` of an input-required result."""
ROUND_METHODS: Final = frozenset({"tools/call", "prompts/get", "resources/read"})
"""The requests a server may answer with an input-required result."""
MAX_INPUT_ROUNDS: Final = 10
"""Default cap on the retries of one request (the official SDKs' default)."""
STATE_ONLY_DELAY_S: Final = (0.05, 0.25)
"""Pause before retrying a result with no input requests (s): the first, and the most it doubles to."""


def is_input_required(result: Any) -> bool:
    """True when ``result`` is an input-required result (any other is the request's final result)."""
    return type(result) is dict and result.get("resultType") == INPUT_REQUIRED


@dataclass(frozen=True, slots=True)
class InputRound:
    """What one input-required result asks.

    Attributes:
        requests: ``{key: (method, params)}`` to answer, in the server's order (empty: a state-only round).
        state: the ``requestState`` to echo (None: the server sent none).
        delay_s: how long to pause before the retry (s; 0 unless a state-only round).
        number: this round's number (1 for the first input-required result).
    """

    requests: dict[str, tuple[str, dict[str, Any]]]
    state: str | None
    delay_s: float
    number: int


class Rounds:
    """The input-required rounds of one request (see the module docstring).

    Args:
        method: the request's method (one of :data:`ROUND_METHODS`).
        params: its params as first sent, without ``inputResponses`` or ``requestState`` (not modified).
        answers: the input request methods the client has handlers for.
        max_rounds: how many retries the request may take (0: none, the first input-required result is an error).

    Raises:
        InputRequiredError: ``method`` cannot take rounds, or ``max_rounds`` is negative.
    """

    __slots__ = ("_delay_s", "answers", "max_rounds", "method", "params", "rounds")

    def __init__(
        self, method: str, params: Mapping[str, Any], answers: frozenset[str], max_rounds: int = MAX_INPUT_ROUNDS
    ) -> None:
        if method not in ROUND_METHODS:
            raise InputRequiredError(f"{method} cannot take input-required rounds (only {sorted(ROUND_METHODS)})")
        if max_rounds < 0:
            raise InputRequiredError(f"max_input_rounds must be 0 or more, not {max_rounds}")
        self.method = method
        self.params = params
        self.answers = answers
        self.max_rounds = max_rounds
        self.rounds = 0
        self._delay_s = 0.0

    def __repr__(self) -> str:
        return f"Rounds({self.method}, rounds={self.rounds}/{self.max_rounds})"

    def take(self, result: Mapping[str, Any]) -> InputRound:
        """The next input-required ``result`` of this request: what to answer before the retry.

        Raises:
            InputRequiredError: the cap is reached (the server asked ``max_rounds`` times already); the result is
                malformed (``inputRequests`` not an object of ``{"method": str, "params": object}``, ``requestState``
                not a string, or neither present); or a request is for a method the client has no handler for.
        """
        if self.rounds >= self.max_rounds:
            raise InputRequiredError(
                f"{self.method} still asked for input after {self.rounds} rounds (max_input_rounds={self.max_rounds})"
            )
        self.rounds += 1
        raw = result.get("inputRequests")
        state = result.get("requestState")
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            raise InputRequiredError(f"the server's inputRequests is not an object but {type(raw).__name__}")
        if state is not None and not isinstance(state, str):
            raise InputRequiredError(f"the server's requestState is not a string but {type(state).__name__}")
        if not raw and state is None:
            raise InputRequiredError("the server's input-required result has neither inputRequests nor requestState")
        requests: dict[str, tuple[str, dict[str, Any]]] = {}
        for key, request in raw.items():
            method = request.get("method") if isinstance(request, dict) else None
            params = request.get("params", {}) if isinstance(request, dict) else None
            if not isinstance(method, str) or not isinstance(params, dict):
                raise InputRequiredError(f"the server's input request {key!r} is not {{'method': str, 'params': {{}}}}")
            if method not in self.answers:
                if method in CAPABILITY_OF:
                    why = f"this client has no {CAPABILITY_OF[method]} handler"
                else:
                    why = f"only {sorted(CAPABILITY_OF)} exist"
                raise InputRequiredError(f"the server asked {key!r} with {method}, which cannot be answered: {why}")
            requests[key] = (method, params)
        if requests:
            self._delay_s = 0.0
        else:
            first, most = STATE_ONLY_DELAY_S
            self._delay_s = first if self._delay_s == 0.0 else min(self._delay_s * 2, most)
        return InputRound(requests, state, self._delay_s, self.rounds)

    def retry_params(self, asked: InputRound, responses: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
        """The params of the retry after round ``asked``: the first params, ``inputResponses`` (``{key: result}``,
        omitted in a state-only round) and ``requestState`` echoed (omitted when the server sent none).

        Raises:
            InputRequiredError: ``responses`` does not answer exactly the keys ``asked``.
        """
        if set(responses) != set(asked.requests):
            raise InputRequiredError(
                f"round {asked.number}: answers for {sorted(responses)}, asked {sorted(asked.requests)}"
            )
        params = {k: v for k, v in self.params.items() if k not in ("inputResponses", "requestState")}
        if asked.requests:
            params["inputResponses"] = dict(responses)
        if asked.state is not None:
            params["requestState"] = asked.state
        return params
