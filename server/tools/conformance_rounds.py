"""The conformance suite's 2026-07-28 input-required fixtures (Multi Round-Trip Requests, SEP-2322).

Tools and a prompt that ask the client through input-required results, named and shaped as the suite's
``input-required-result-*`` scenarios expect (npm ``@modelcontextprotocol/conformance``): they raise
:class:`~tradingmcp.server.mcp.mrtr.InputRequired` and complete on the retry whose ``inputResponses`` (and verified
``requestState``) carry the answers. Registered only by
:func:`~tradingmcp.server.tools.conformance.register_conformance_fixtures` (``serve --conformance-fixtures``).
"""

from __future__ import annotations

from typing import Any

from tradingmcp.server.mcp.context import CallContext
from tradingmcp.server.mcp.mrtr import InputRequired, Inputs, elicit, list_roots, sample
from tradingmcp.server.mcp.registry import Prompt, ToolFn, ToolResult


def _text(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


NAME_SCHEMA: dict[str, Any] = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
OK_SCHEMA: dict[str, Any] = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
COLOR_SCHEMA: dict[str, Any] = {"type": "object", "properties": {"color": {"type": "string"}}, "required": ["color"]}
CONTEXT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"context": {"type": "string"}},
    "required": ["context"],
}


def _ask_name(inputs: Inputs) -> dict[str, Any]:
    name = (inputs.elicited("user_name") or {}).get("name")
    if not isinstance(name, str):  # missing or declined: asked again, never an error (SEP-2322 "Error Handling")
        raise InputRequired({"user_name": elicit("What is your name?", NAME_SCHEMA)})
    return {"name": name}


def mrtr_elicitation(call: CallContext, args: dict[str, Any]) -> ToolResult:
    """Asks the user's name, then greets them."""
    return ToolResult(content=[_text(f"Hello, {_ask_name(call.inputs)['name']}!")])


def mrtr_sampling(call: CallContext, args: dict[str, Any]) -> ToolResult:
    """Asks the client's LLM a question, then returns its answer."""
    text = call.inputs.sampled_text("capital_question")
    if text is None:
        raise InputRequired({"capital_question": sample("What is the capital of France?", 100)})
    return ToolResult(content=[_text(f"Sampling response: {text}")])


def mrtr_list_roots(call: CallContext, args: dict[str, Any]) -> ToolResult:
    """Asks for the client's roots, then names them."""
    roots = call.inputs.roots("client_roots")
    if roots is None:
        raise InputRequired({"client_roots": list_roots()})
    return ToolResult(content=[_text(f"Client roots: {', '.join(r['uri'] for r in roots) or '(none)'}")])


def _confirmed(inputs: Inputs, state: str) -> bool:
    """True once the retry carries an accepted ``confirm`` and the verified state of the round that asked it."""
    if inputs.elicited("confirm") is not None and inputs.state == {"asked": state}:
        return True
    raise InputRequired({"confirm": elicit("Please confirm", OK_SCHEMA)}, {"asked": state})


def mrtr_request_state(call: CallContext, args: dict[str, Any]) -> ToolResult:
    """Asks for a confirmation with a state, and answers ``state-ok`` only when the state came back intact."""
    _confirmed(call.inputs, "confirm")
    return ToolResult(content=[_text("state-ok: the request state came back verified")])


def mrtr_tampered_state(call: CallContext, args: dict[str, Any]) -> ToolResult:
    """As :func:`mrtr_request_state`; a tampered state never reaches it (-32602)."""
    _confirmed(call.inputs, "tamper-check")
    return ToolResult(content=[_text("state-ok")])


def mrtr_multiple_inputs(call: CallContext, args: dict[str, Any]) -> ToolResult:
    """Asks for a name, a greeting from the LLM and the roots at once; completes when all three came back."""
    inputs = call.inputs
    name = (inputs.elicited("user_name") or {}).get("name")
    greeting = inputs.sampled_text("greeting")
    roots = inputs.roots("client_roots")
    if not isinstance(name, str) or greeting is None or roots is None or inputs.state != {"asked": "all"}:
        requests = {
            "user_name": elicit("What is your name?", NAME_SCHEMA),
            "greeting": sample("Generate a greeting", 50),
            "client_roots": list_roots(),
        }
        raise InputRequired(requests, {"asked": "all"})
    return ToolResult(content=[_text(f"{greeting} {name} ({len(roots)} roots)")])


def mrtr_multi_round(call: CallContext, args: dict[str, Any]) -> ToolResult:
    """Round 1 asks a name; round 2 (state: the name) asks a colour; round 3 answers both."""
    inputs = call.inputs
    state = inputs.state if isinstance(inputs.state, dict) else {}
    name = state.get("name")
    if not isinstance(name, str):
        name = (inputs.elicited("step1") or {}).get("name")
        if not isinstance(name, str):
            raise InputRequired({"step1": elicit("Step 1: What is your name?", NAME_SCHEMA)}, {"step": 1})
    color = (inputs.elicited("step2") or {}).get("color")
    if not isinstance(color, str):
        raise InputRequired({"step2": elicit("Step 2: What is your favorite color?", COLOR_SCHEMA)}, {"name": name})
    return ToolResult(content=[_text(f"{name} likes {color}")])


def mrtr_capabilities(call: CallContext, args: dict[str, Any]) -> ToolResult:
    """Asks only through the capabilities the client declared on this request; with none, answers at once."""
    inputs = call.inputs
    wanted = {
        "user_name": elicit("What is your name?", NAME_SCHEMA),
        "greeting": sample("Generate a greeting", 50),
        "client_roots": list_roots(),
    }
    missing = {key: req for key, req in wanted.items() if key not in inputs.responses and inputs.can_ask(req["method"])}
    if missing:
        raise InputRequired(missing)
    return ToolResult(content=[_text(f"Answered: {', '.join(sorted(inputs.responses)) or 'nothing could be asked'}")])


ROUND_TRIP_TOOLS: tuple[tuple[str, str, ToolFn], ...] = (
    ("test_input_required_result_elicitation", "Asks the user's name (input-required), then greets.", mrtr_elicitation),
    ("test_input_required_result_sampling", "Asks the client's LLM a question (input-required).", mrtr_sampling),
    ("test_input_required_result_list_roots", "Asks for the client's roots (input-required).", mrtr_list_roots),
    ("test_input_required_result_request_state", "Asks a confirmation and checks its state.", mrtr_request_state),
    (
        "test_input_required_result_tampered_state",
        "Asks a confirmation; a tampered state is refused.",
        mrtr_tampered_state,
    ),
    (
        "test_input_required_result_multiple_inputs",
        "Asks elicitation, sampling and roots at once.",
        mrtr_multiple_inputs,
    ),
    (
        "test_input_required_result_multi_round",
        "Asks in two rounds, carrying the first answer in its state.",
        mrtr_multi_round,
    ),
    (
        "test_input_required_result_capabilities",
        "Asks only through the capabilities the client declared.",
        mrtr_capabilities,
    ),
)
"""2026-07-28 tools that ask the client through input-required results (Multi Round-Trip Requests, SEP-2322) and
complete on the retry that carries the answers; in the handshake era the server asks for them with requests of its
own and runs the tool again (:mod:`~tradingmcp.server.mcp.asking`)."""


def _prompt_context_plain(arguments: dict[str, str]) -> list[dict[str, Any]]:
    return [{"role": "user", "content": _text("Use the context of this conversation.")}]


def _prompt_context_asked(arguments: dict[str, str], inputs: Inputs) -> list[dict[str, Any]]:
    context = (inputs.elicited("user_context") or {}).get("context")
    if not isinstance(context, str):
        raise InputRequired({"user_context": elicit("What context should the prompt use?", CONTEXT_SCHEMA)})
    return [{"role": "user", "content": _text(f"Use this context: {context}")}]


PROMPT = Prompt(
    "test_input_required_result_prompt",
    "Asks the user for its context first (2026-07-28 input-required result).",
    _prompt_context_plain,
    title="Prompt Asking For Context",
    ask=_prompt_context_asked,
)
"""A prompt that asks for its context (2026-07-28); the handshake era gets it without asking."""
