"""What the client offers a server: the handlers that answer its requests for input, and the capabilities they declare.

A server may ask its client for input (https://modelcontextprotocol.io/specification/2025-11-25/client): a form the
user fills (``elicitation/create``), a completion from the client's model (``sampling/createMessage``), the client's
roots (``roots/list``). In the 2025-11-25 era it sends these as requests of its own; in 2026-07-28 it answers the
client's request with an input-required result whose ``inputRequests`` carry the same methods and params
(:mod:`tradingmcp.client.rounds`). The same handlers answer both.

:class:`ClientFeatures` holds what the user registered; each handler declares its capability (``elicitation``,
``sampling``, ``roots``, each ``{}``), and with none the client declares none of them, so a server never asks it
(or answers ``-32021``). Handlers (a plain function or a coroutine function each):

* ``elicitation(params) -> ElicitResult``: ``params`` has ``message`` and ``requestedSchema`` (a flat object schema,
  form mode); the answer is ``{"action": "accept", "content": {...}}``, ``{"action": "decline"}`` or
  ``{"action": "cancel"}``.
* ``sampling(params) -> CreateMessageResult``: ``params`` has ``messages``, ``maxTokens`` (and ``systemPrompt``...);
  the answer is ``{"role": "assistant", "content": {"type": "text", "text": ...}, "model": ...}``.
* ``roots``: a list of ``{"uri": ..., "name"?: ...}``, or a function of no argument returning one; the server gets
  ``{"roots": [...]}``.

A plain function runs on the event loop: it must be quick (a coroutine function may wait for its user as long as the
call's timeout allows: in 2025-11-25 the server's request is answered within the ``tools/call`` it belongs to).

Loop-free: awaiting a coroutine handler is the shell's part (:mod:`tradingmcp.client.shell`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from tradingmcp.client.errors import InputRequiredError

ELICIT: Final = "elicitation/create"
SAMPLE: Final = "sampling/createMessage"
LIST_ROOTS: Final = "roots/list"
CAPABILITY_OF: Final[Mapping[str, str]] = {ELICIT: "elicitation", SAMPLE: "sampling", LIST_ROOTS: "roots"}
"""Input request method → the client capability that lets a server ask it."""
ELICIT_ACTIONS: Final = frozenset({"accept", "decline", "cancel"})
"""The ``action`` values of an ``ElicitResult``."""

Handler = Callable[[dict[str, Any]], Any]
"""``(params) -> result`` (or an awaitable of it): an elicitation or sampling handler."""
RootsSource = Sequence[Mapping[str, Any]] | Callable[[], Any]
"""The roots: a fixed list of ``{"uri", "name"?}``, or a function returning one (or an awaitable of it)."""


def _check_roots(roots: Any, whose: str) -> list[dict[str, Any]]:
    if isinstance(roots, str | bytes) or not isinstance(roots, Sequence):
        raise InputRequiredError(f"{whose} must be a list of {{'uri': ..., 'name'?: ...}}, not {type(roots).__name__}")
    out: list[dict[str, Any]] = []
    for i, root in enumerate(roots):
        if not isinstance(root, Mapping) or not isinstance(root.get("uri"), str):
            raise InputRequiredError(f"{whose}[{i}] must be an object with a string 'uri'")
        out.append(dict(root))
    return out


@dataclass(frozen=True, slots=True)
class ClientFeatures:
    """The handlers a client answers a server's input requests with (see the module docstring).

    Attributes:
        methods: the input request methods these handlers answer (derived, not an argument).
        elicitation: answers ``elicitation/create`` (None: not offered).
        sampling: answers ``sampling/createMessage`` (None: not offered).
        roots: answers ``roots/list``: a fixed list, or a function returning one (None: not offered).

    Raises:
        InputRequiredError: a handler that is not callable, or fixed roots that are not a list of ``{"uri": str}``.
    """

    elicitation: Handler | None = None
    sampling: Handler | None = None
    roots: RootsSource | None = None
    methods: frozenset[str] = field(init=False, repr=False, compare=False)
    """The input request methods these handlers answer."""

    def __post_init__(self) -> None:
        for name in ("elicitation", "sampling"):
            handler = getattr(self, name)
            if handler is not None and not callable(handler):
                raise InputRequiredError(f"the {name} handler must be callable, not {type(handler).__name__}")
        if self.roots is not None and not callable(self.roots):
            object.__setattr__(self, "roots", tuple(_check_roots(self.roots, "roots")))
        offered = {ELICIT: self.elicitation, SAMPLE: self.sampling, LIST_ROOTS: self.roots}
        answered = frozenset(method for method, handler in offered.items() if handler is not None)
        object.__setattr__(self, "methods", answered)

    def capabilities(self, base: Mapping[str, Any]) -> dict[str, Any]:
        """``base`` (the client's other capabilities) plus one empty capability object per handler."""
        caps = dict(base)
        for method in sorted(self.methods):
            caps[CAPABILITY_OF[method]] = {}
        return caps

    def call(self, method: str, params: dict[str, Any]) -> Any:
        """Run the handler of ``method`` on ``params``: its answer, or an awaitable of it (check it with
        :func:`checked_answer` once awaited).

        Raises:
            InputRequiredError: no handler for ``method``.
        """
        if method == ELICIT and self.elicitation is not None:
            return self.elicitation(params)
        if method == SAMPLE and self.sampling is not None:
            return self.sampling(params)
        if method == LIST_ROOTS and self.roots is not None:
            roots = self.roots
            return roots() if callable(roots) else list(roots)
        raise InputRequiredError(f"the server asked for {method}, which this client has no handler for")


def checked_answer(method: str, answer: Any) -> dict[str, Any]:
    """A handler's ``answer`` to ``method`` as it goes to the server (roots wrapped as ``{"roots": [...]}``).

    Raises:
        InputRequiredError: the answer does not have the result shape of ``method`` (see the module docstring).
    """
    if method == LIST_ROOTS:
        return {"roots": _check_roots(answer, "the roots handler's answer")}
    if not isinstance(answer, Mapping):
        raise InputRequiredError(f"the {method} handler must return an object, not {type(answer).__name__}")
    if method == ELICIT:
        if answer.get("action") not in ELICIT_ACTIONS:
            raise InputRequiredError(f"the {method} handler's answer needs 'action' among {sorted(ELICIT_ACTIONS)}")
        if "content" in answer and not isinstance(answer["content"], Mapping):
            raise InputRequiredError(f"the {method} handler's 'content' must be an object")
    elif method == SAMPLE and not isinstance(answer.get("content"), Mapping | list):
        raise InputRequiredError(f"the {method} handler's answer needs 'content' (a content block or a list of them)")
    return dict(answer)
