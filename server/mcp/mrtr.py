"""Multi Round-Trip Requests (MCP 2026-07-28, SEP-2322): input-required results and their tamper-evident state.

A 2026-07-28 server never sends the client a request of its own. A tool (or a prompt or resource with an ``ask``
reader) that needs the client's help raises :class:`InputRequired` with the requests it wants answered
(``elicitation/create``, ``sampling/createMessage``, ``roots/list``; build them with :func:`elicit`, :func:`sample`,
:func:`list_roots`) and, optionally, a JSON value to carry to the next round. The engine answers::

    {"resultType": "input_required", "inputRequests": {key: {"method", "params"}}, "requestState": "<sealed>"}

and the client retries the same request (a new JSON-RPC id) with ``inputResponses`` (``{key: result}``) and the
``requestState`` echoed byte for byte. On the retry the tool reads both from its context's :class:`Inputs`
(``ctx.inputs``): nothing is kept on the server between rounds, so any process holding the same key can serve the
retry.

``requestState`` is attacker-controlled input (the spec's "Server Requirements", 4-5). :class:`RequestStates` seals
it with HMAC-SHA256 under a per-server random key (``secrets``; :data:`KEY_ENV` shares one across processes), checked
with ``hmac.compare_digest``, and binds it to the principal, the method, the tool or prompt name (a resource's uri), a
digest of the arguments and an expiry; state that fails any
check is -32602 and the handler does not run. The seal gives integrity, not secrecy: the client can read the state,
so a tool puts nothing in it the caller may not see. It is bounded (:data:`MAX_STATE_CHARS`) both ways.

In the handshake era (2025-11-25) the same tool works unchanged: the server sends its input requests to the client
itself and runs it again with the answers (:mod:`~tradingmcp.server.mcp.asking`); nothing is sealed then.

Where the spec says: https://modelcontextprotocol.io/specification/2026-07-28/basic/patterns/mrtr (supported
requests: ``tools/call``, ``prompts/get``, ``resources/read``; an input request only for a capability the client
declared, else -32021 ``MissingRequiredClientCapabilityError``; a missing answer is asked for again, not an error).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any, Final

import orjson

from tradingmcp.transport.jsonrpc import ErrorCode, JsonRpcError, quote

INPUT_REQUIRED: Final = "input_required"
"""The ``resultType`` of an :class:`InputRequired` answer."""
CAPABILITY_OF: Final[Mapping[str, str]] = {
    "elicitation/create": "elicitation",
    "sampling/createMessage": "sampling",
    "roots/list": "roots",
}
"""Input request method → the client capability it needs (the only methods an ``InputRequest`` may carry)."""
MAX_STATE_CHARS: Final = 8192
"""Longest ``requestState`` this server issues or accepts (characters): a longer one is -32602 on the way in and a
tool bug (``ValueError``) on the way out."""
STATE_TTL_S: Final = 600.0
"""How long a ``requestState`` stays valid after it is issued (s)."""
KEY_ENV: Final = "TRADINGMCP_REQUEST_STATE_KEY"
"""Environment variable holding the HMAC key shared by several server processes behind one address (so any of them
verifies a retry); unset, each process draws its own."""
MIN_KEY_CHARS: Final = 32
"""Shortest key :data:`KEY_ENV` may hold (characters)."""
_VERSION: Final = "1"
_DOT: Final = "."


class InputRequired(Exception):
    """Raised by a tool or prompt to ask the client for input and be called again with the answers.

    Args:
        requests: ``{key: {"method": ..., "params": ...}}`` (keys unique within the request; methods among
            :data:`CAPABILITY_OF`). May be empty only when ``state`` is given (the client then simply retries).
        state: any JSON value handed back on the retry as :attr:`Inputs.state` (sealed, never trusted unsealed).
    """

    def __init__(self, requests: Mapping[str, Mapping[str, Any]], state: Any = None) -> None:
        super().__init__(f"input required: {', '.join(requests) or '(state only)'}")
        self.requests = dict(requests)
        self.state = state


def elicit(message: str, schema: Mapping[str, Any]) -> dict[str, Any]:
    """An ``elicitation/create`` input request (form mode): ``message`` shown to the user, ``schema`` the flat object
    schema of the answer (``{"type": "object", "properties": ..., "required": [...]}``)."""
    return {"method": "elicitation/create", "params": {"message": message, "requestedSchema": dict(schema)}}


def sample(prompt: str, max_tokens: int, system_prompt: str | None = None) -> dict[str, Any]:
    """A ``sampling/createMessage`` input request: one user text message, at most ``max_tokens`` tokens back."""
    params: dict[str, Any] = {
        "messages": [{"role": "user", "content": {"type": "text", "text": prompt}}],
        "maxTokens": max_tokens,
    }
    if system_prompt is not None:
        params["systemPrompt"] = system_prompt
    return {"method": "sampling/createMessage", "params": params}


def list_roots() -> dict[str, Any]:
    """A ``roots/list`` input request."""
    return {"method": "roots/list", "params": {}}


class Inputs:
    """What the client sent back on a retry: ``responses`` (``inputResponses``, ``{key: result}``), ``state`` (the
    verified, unsealed state of the previous round; None when none came) and the request's declared client
    ``capabilities``; ``request`` (principal, method, name, arguments) is what a new seal is bound to (None where
    nothing can be asked: a call forwarded over the bus)."""

    __slots__ = ("_binding", "capabilities", "request", "responses", "rounds", "state")

    def __init__(
        self,
        responses: Mapping[str, Any] | None = None,
        state: Any = None,
        capabilities: Mapping[str, Any] | None = None,
        request: tuple[str, str, str, Any] | None = None,
        rounds: int = 0,
    ) -> None:
        self.responses: Mapping[str, Any] = responses or {}
        self.state = state
        self.capabilities: Mapping[str, Any] = capabilities or {}
        self.request = request
        self.rounds = rounds
        """Rounds of input the server itself drove for this call so far (the handshake era's bridge)."""
        self._binding: tuple[str, str, str, str] | None = None

    def __repr__(self) -> str:
        return f"Inputs(responses={sorted(self.responses)}, state={self.state is not None})"

    @property
    def binding(self) -> tuple[str, str, str, str] | None:
        """(principal, method, name, arguments digest): what a seal is bound to; None without a request."""
        if self._binding is None and self.request is not None:
            principal, method, name, arguments = self.request
            self._binding = (principal, method, name, arguments_digest(arguments))
        return self._binding

    def can_ask(self, method: str) -> bool:
        """True when the client declared the capability an input request ``method`` needs (and rounds are possible)."""
        need = CAPABILITY_OF.get(method)
        return self.request is not None and need is not None and need in self.capabilities

    def elicited(self, key: str) -> dict[str, Any] | None:
        """The form content of an accepted ``elicitation/create`` answer under ``key``; None when it is missing,
        declined, cancelled or malformed."""
        answer = self.responses.get(key)
        if not isinstance(answer, dict) or answer.get("action") != "accept":
            return None
        content = answer.get("content")
        return content if isinstance(content, dict) else {}

    def declined(self, key: str) -> bool:
        """True when the user declined or cancelled the ``elicitation/create`` under ``key``."""
        answer = self.responses.get(key)
        return isinstance(answer, dict) and answer.get("action") in ("decline", "cancel")

    def sampled_text(self, key: str) -> str | None:
        """The text of a ``sampling/createMessage`` answer under ``key`` (its text content block); None otherwise."""
        answer = self.responses.get(key)
        content = answer.get("content") if isinstance(answer, dict) else None
        if isinstance(content, list):  # a message may carry a list of blocks
            content = next((c for c in content if isinstance(c, dict) and c.get("type") == "text"), None)
        text = content.get("text") if isinstance(content, dict) and content.get("type") == "text" else None
        return text if isinstance(text, str) else None

    def roots(self, key: str) -> list[dict[str, Any]] | None:
        """The roots of a ``roots/list`` answer under ``key`` (each ``{"uri", "name"?}``); None when missing."""
        answer = self.responses.get(key)
        roots = answer.get("roots") if isinstance(answer, dict) else None
        if not isinstance(roots, list):
            return None
        return [r for r in roots if isinstance(r, dict) and isinstance(r.get("uri"), str)]


NO_INPUTS: Final = Inputs()
"""The inputs of a call that cannot take part in rounds (no responses, no state, no binding)."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _bad(reason: str) -> JsonRpcError:
    return JsonRpcError(ErrorCode.INVALID_PARAMS, f"Invalid params: {reason}")


def arguments_digest(arguments: Any) -> str:
    """A short digest of a request's arguments (canonical JSON, SHA-256), binding a state to the request."""
    try:
        canonical = orjson.dumps(arguments, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        canonical = repr(arguments).encode()
    return _b64(hashlib.sha256(canonical).digest()[:16])


def checked_requests(ask: InputRequired, capabilities: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The input requests of ``ask`` as sent (``{key: {"method", "params"}}``), each for a declared capability.

    Raises:
        JsonRpcError: -32021 (``data.requiredCapabilities``, 2026-07-28 ``MissingRequiredClientCapabilityError``)
            when a request needs a capability not in ``capabilities``.
        ValueError: a request with an unknown method or no ``params`` (a tool bug).
    """
    missing: dict[str, dict[str, Any]] = {}
    requests: dict[str, dict[str, Any]] = {}
    for key, request in ask.requests.items():
        method = request.get("method")
        need = CAPABILITY_OF.get(method) if isinstance(method, str) else None
        if need is None or not isinstance(request.get("params"), dict):
            raise ValueError(f"input request {key!r}: method must be one of {sorted(CAPABILITY_OF)}, with params")
        if need not in capabilities:
            missing[need] = {}
        requests[key] = {"method": method, "params": request["params"]}
    if missing:
        raise JsonRpcError(
            ErrorCode.MISSING_CLIENT_CAPABILITY,
            f"Missing required client capability: this request asks the client for {', '.join(sorted(missing))}; "
            "declare it in the client capabilities",
            {"requiredCapabilities": missing},
        )
    return requests


class RequestStates:
    """Seals and opens ``requestState`` for one server (every session of an :class:`~.registry.McpApp` shares it).

    Args:
        key: the HMAC key (None: 32 random bytes from ``secrets``; a restart then invalidates states in flight).
        ttl_s: how long a state stays valid (s).
        clock: wall clock in seconds (None: ``time.time``).
    """

    def __init__(self, key: bytes | None = None, ttl_s: float = STATE_TTL_S, clock: Callable[[], float] | None = None):
        self._key = secrets.token_bytes(32) if key is None else key
        self.ttl_s = ttl_s
        self._clock = time.time if clock is None else clock

    def __repr__(self) -> str:
        return f"RequestStates(ttl_s={self.ttl_s})"  # never the key

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> RequestStates:
        """A sealer keyed by ``environ[KEY_ENV]`` when set (the same on every process of a deployment), else by a
        random key of this process.

        Raises:
            ValueError: the variable is set to fewer than :data:`MIN_KEY_CHARS` characters (never quoting it).
        """
        key = environ.get(KEY_ENV)
        if key is None:
            return cls()
        if len(key) < MIN_KEY_CHARS:
            raise ValueError(f"{KEY_ENV} must hold at least {MIN_KEY_CHARS} characters (it has {len(key)})")
        return cls(key.encode())

    def _mac(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode("ascii"), hashlib.sha256).digest())

    def seal(self, binding: tuple[str, str, str, str], state: Any) -> str:
        """The ``requestState`` string for ``state`` bound to ``binding`` (principal, method, name, args digest).

        Raises:
            ValueError: ``state`` is not JSON-serializable, or the sealed string is over :data:`MAX_STATE_CHARS`.
        """
        principal, method, name, digest = binding
        expires_ms = int((self._clock() + self.ttl_s) * 1000)
        payload = {"p": principal, "m": method, "n": name, "a": digest, "e": expires_ms, "s": state}
        try:
            body = _VERSION + _DOT + _b64(orjson.dumps(payload))
        except TypeError as exc:
            raise ValueError(f"request state is not JSON-serializable: {exc}") from exc
        sealed = body + _DOT + self._mac(body)
        if len(sealed) > MAX_STATE_CHARS:
            raise ValueError(f"request state is {len(sealed)} characters sealed, over {MAX_STATE_CHARS}")
        return sealed

    def open(self, sealed: Any, binding: tuple[str, str, str, str]) -> Any:
        """The state inside ``sealed`` if it is genuine, unexpired and issued for ``binding``.

        Raises:
            JsonRpcError: -32602 naming why (not a string, too long, malformed, failed verification, expired, issued
                for another request or principal); the state is never used then.
        """
        if not isinstance(sealed, str):
            raise _bad("requestState must be a string")
        if len(sealed) > MAX_STATE_CHARS:
            raise _bad(f"requestState is longer than {MAX_STATE_CHARS} characters")
        version, _, rest = sealed.partition(_DOT)
        encoded, _, mac = rest.partition(_DOT)
        if version != _VERSION or not encoded or not mac:
            raise _bad("requestState is malformed (send back exactly the value the server gave)")
        body = version + _DOT + encoded
        if not hmac.compare_digest(self._mac(body).encode("ascii"), mac.encode("ascii", "replace")):
            raise _bad("requestState failed integrity verification")
        try:
            payload = orjson.loads(_unb64(encoded))
        except (ValueError, orjson.JSONDecodeError) as exc:  # a genuine seal always decodes; kept for safety
            raise _bad("requestState is malformed") from exc
        if not isinstance(payload, dict):
            raise _bad("requestState is malformed")
        expires_ms = payload.get("e")
        if not isinstance(expires_ms, int) or self._clock() * 1000 > expires_ms:
            raise _bad("requestState has expired: call again without it")
        if (payload.get("p"), payload.get("m"), payload.get("n"), payload.get("a")) != binding:
            raise _bad("requestState was issued for another request or principal")
        return payload.get("s")

    def inputs(self, request: tuple[str, str, str, Any], params: Mapping[str, Any], capabilities: Any) -> Inputs:
        """The :class:`Inputs` of a 2026-07-28 ``request`` (principal, method, name, arguments) whose params are
        ``params``: its ``inputResponses`` checked, its ``requestState`` opened.

        Raises:
            JsonRpcError: -32602 for ``inputResponses`` that is not an object of objects, or a ``requestState`` that
                :meth:`open` refuses.
        """
        caps = capabilities if isinstance(capabilities, dict) else {}
        found = Inputs(None, None, caps, request)
        responses = params.get("inputResponses", {})
        if not isinstance(responses, dict):
            raise _bad("inputResponses must be an object mapping each input request key to the client's result")
        for key, value in responses.items():
            if not isinstance(value, dict):
                raise _bad(f"inputResponses.{quote(key)} must be an object (the client's result for that request)")
        found.responses = responses
        if "requestState" in params:
            binding = found.binding
            assert binding is not None
            found.state = self.open(params["requestState"], binding)
        return found

    def result(self, ask: InputRequired, inputs: Inputs) -> dict[str, Any]:
        """The ``InputRequiredResult`` for ``ask`` raised by a handler that got ``inputs``.

        Raises:
            JsonRpcError: -32021 (``data.requiredCapabilities``) when an input request needs a capability the client
                did not declare.
            ValueError: a request with an unknown method or no ``params``, neither requests nor state, a state that
                cannot be sealed, or ``inputs`` of no request (a tool bug: the engine answers -32603).
        """
        binding = inputs.binding
        if binding is None:
            raise ValueError("input requests need a 2026-07-28 request")
        requests = checked_requests(ask, inputs.capabilities)
        out: dict[str, Any] = {"resultType": INPUT_REQUIRED}
        if requests:
            out["inputRequests"] = requests
        elif ask.state is None:
            raise ValueError("an input-required result needs input requests or state")
        out["requestState"] = self.seal(binding, ask.state)
        return out
