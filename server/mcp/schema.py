r"""A small compiled JSON Schema validator for tool arguments (the hot path cannot afford a general validator).

Supports the subset tool schemas here use: ``type`` (one or a list), ``properties``, ``required``,
``additionalProperties: false``, ``enum``, ``const``, ``minimum``/``maximum``/``exclusiveMinimum``/``exclusiveMaximum``,
``minLength``/``maxLength``, ``pattern``, ``items``, ``minItems``/``maxItems``, ``anyOf``, ``oneOf``. Unknown keywords
are ignored (accepted), as JSON Schema says. A failed check raises ``JsonRpcError(-32602)`` naming the path, e.g.
``arguments.quantity: expected number, got string``.

Arguments nested deeper than :data:`MAX_ARGUMENT_DEPTH` objects/arrays are refused (-32602) before any other check,
whatever the schema: no tool here takes more than a few levels, and deeper values cannot be encoded back (orjson stops
at 255 levels) nor redacted for the audit log within Python's recursion limit.

``pattern`` follows JSON Schema (an ECMA-262 regular expression, unanchored): a string is valid when the pattern is
found in it, and ``$`` means the end of the string only (Python's ``$`` also matches before a final newline, so it is
read as ``\Z`` here). The patterns used here are ASCII character classes, which both dialects read alike.

A message repeats what the caller sent (an unknown property's name, a value outside an enum) through
:func:`~tradingmcp.transport.jsonrpc.quote`: at most ``MAX_QUOTED_CHARS`` characters of it. Everything else in a
message (paths, allowed values) comes from the schema, so a message's length is bounded by the schema, never by the
arguments.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import orjson

from tradingmcp.transport.jsonrpc import ErrorCode, JsonRpcError, quote

Check = Callable[[Any, str], None]

MAX_ARGUMENT_DEPTH = 64
"""Deepest nesting of objects and arrays accepted in tool arguments (the arguments object itself is level 1)."""

_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "null": lambda v: v is None,
}


def _json_type(v: Any) -> str:
    for name in ("null", "boolean", "integer", "number", "string", "array", "object"):
        if _TYPES[name](v):
            return name
    return type(v).__name__


def _fail(path: str, message: str) -> JsonRpcError:
    return JsonRpcError(ErrorCode.INVALID_PARAMS, f"Invalid params: {path}: {message}", {"path": path})


def _compile(schema: dict[str, Any]) -> Check:
    checks: list[Check] = []
    types = schema.get("type")
    if types is not None:
        names = [types] if isinstance(types, str) else list(types)
        preds = [_TYPES[n] for n in names]
        expected = " or ".join(names)

        def check_type(v: Any, path: str) -> None:
            if not any(p(v) for p in preds):
                raise _fail(path, f"expected {expected}, got {_json_type(v)}")

        checks.append(check_type)
    if "enum" in schema:
        allowed = list(schema["enum"])

        def check_enum(v: Any, path: str) -> None:
            if v not in allowed:
                raise _fail(path, f"must be one of {allowed}, got {quote(v)}")

        checks.append(check_enum)
    if "const" in schema:
        const = schema["const"]

        def check_const(v: Any, path: str) -> None:
            if v != const:
                raise _fail(path, f"must be {const!r}")

        checks.append(check_const)
    for key, op, word in (
        ("minimum", lambda v, b: v >= b, ">="),
        ("maximum", lambda v, b: v <= b, "<="),
        ("exclusiveMinimum", lambda v, b: v > b, ">"),
        ("exclusiveMaximum", lambda v, b: v < b, "<"),
    ):
        if key in schema:
            checks.append(_bound(schema[key], op, word))
    for key, is_min in (("minLength", True), ("maxLength", False), ("minItems", True), ("maxItems", False)):
        if key in schema:
            checks.append(_length(int(schema[key]), is_min, key.endswith("Items")))
    if isinstance(schema.get("pattern"), str):
        checks.append(_pattern(schema["pattern"]))
    props: dict[str, Any] = schema.get("properties", {})
    if props or "required" in schema or schema.get("additionalProperties") is False:
        checks.append(_object(schema, props))
    if "items" in schema and isinstance(schema["items"], dict):
        item_check = _compile(schema["items"])

        def check_items(v: Any, path: str) -> None:
            if isinstance(v, list):
                for i, item in enumerate(v):
                    item_check(item, f"{path}[{i}]")

        checks.append(check_items)
    if "anyOf" in schema:
        options = [_compile(s) for s in schema["anyOf"]]

        def check_any(v: Any, path: str) -> None:
            errors = []
            for opt in options:
                try:
                    opt(v, path)
                    return
                except JsonRpcError as exc:
                    errors.append(exc.message)
            raise _fail(path, "matches none of the allowed forms: " + " | ".join(errors))

        checks.append(check_any)
    if "oneOf" in schema:
        checks.append(_one_of([_compile(s) for s in schema["oneOf"]], schema["oneOf"]))

    if len(checks) == 1:
        return checks[0]

    def run_all(v: Any, path: str) -> None:
        for c in checks:
            c(v, path)

    return run_all


def _one_of(options: list[Check], forms: list[Any]) -> Check:
    """``oneOf``: exactly one of ``options`` must accept the value (JSON Schema 2020-12 §10.2.1.3)."""

    def check_one(v: Any, path: str) -> None:
        errors: list[str] = []
        matched: list[int] = []
        for i, opt in enumerate(options):
            try:
                opt(v, path)
            except JsonRpcError as exc:
                errors.append(exc.message)
            else:
                matched.append(i)
        if not matched:
            raise _fail(path, "matches none of the allowed forms: " + " | ".join(errors))
        if len(matched) > 1:
            both = " and ".join(_describe(forms[i]) for i in matched)
            raise _fail(path, f"matches more than one allowed form ({both}); give exactly one")

    return check_one


def _describe(form: Any) -> str:
    """A short name for a ``oneOf`` form: its required properties when that is all it says."""
    if isinstance(form, dict) and set(form) == {"required"} and isinstance(form["required"], list):
        return "+".join(str(name) for name in form["required"])
    return orjson.dumps(form).decode()[:80]


def too_deep(value: Any, limit: int = MAX_ARGUMENT_DEPTH) -> bool:
    """True when ``value`` nests objects/arrays more than ``limit`` levels (``{}`` and ``[]`` are level 1).

    Iterative, so any depth the JSON parser produced is measured without recursion.
    """
    if type(value) is dict:  # the common case first: an arguments object of scalars
        for child in value.values():
            if type(child) is dict or type(child) is list:
                break
        else:
            return False
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, level = stack.pop()
        children = node.values() if type(node) is dict else node if type(node) is list else ()
        for child in children:
            if type(child) is dict or type(child) is list:
                if level >= limit:
                    return True
                stack.append((child, level + 1))
    return False


def _depth_error() -> JsonRpcError:
    return JsonRpcError(
        ErrorCode.INVALID_PARAMS,
        f"Invalid params: arguments: nested deeper than {MAX_ARGUMENT_DEPTH} levels of objects/arrays",
        {"path": "arguments", "max_depth": MAX_ARGUMENT_DEPTH},
    )


def _bound(bound: float, op: Callable[[Any, Any], bool], word: str) -> Check:
    def check(v: Any, path: str) -> None:
        if _TYPES["number"](v) and not op(v, bound):
            raise _fail(path, f"must be {word} {bound}, got {v}")

    return check


def _length(limit: int, is_min: bool, items: bool) -> Check:
    def check(v: Any, path: str) -> None:
        if (items and isinstance(v, list)) or (not items and isinstance(v, str)):
            n = len(v)
            if (is_min and n < limit) or (not is_min and n > limit):
                unit = "items" if items else "characters"
                raise _fail(path, f"must have {'at least' if is_min else 'at most'} {limit} {unit}, got {n}")

    return check


def ecma_regex(pattern: str) -> re.Pattern[str]:
    """``pattern`` compiled with ECMA-262's meaning of an unescaped ``$`` (end of the string, not before a final
    newline): each such ``$`` outside a character class becomes ``\\Z``."""
    out: list[str] = []
    escaped = in_class = False
    for ch in pattern:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == "[":
            in_class = True
        elif ch == "]":
            in_class = False
        elif ch == "$" and not in_class:
            out.append(r"\Z")
            continue
        out.append(ch)
    return re.compile("".join(out))


def _pattern(pattern: str) -> Check:
    regex = ecma_regex(pattern)

    def check(v: Any, path: str) -> None:
        if isinstance(v, str) and regex.search(v) is None:
            raise _fail(path, f"{quote(v)} does not match {pattern}")

    return check


def _object(schema: dict[str, Any], props: dict[str, Any]) -> Check:
    required = list(schema.get("required", []))
    closed = schema.get("additionalProperties") is False
    prop_checks = {name: _compile(sub) for name, sub in props.items() if isinstance(sub, dict)}

    def check(v: Any, path: str) -> None:
        if not isinstance(v, dict):
            return
        for name in required:
            if name not in v:
                raise _fail(path, f"missing required property {name!r}")
        for name, value in v.items():
            pc = prop_checks.get(name)
            if pc is not None:
                pc(value, f"{path}.{name}")
            elif closed:
                raise _fail(path, f"unknown property {quote(name)}; allowed: {sorted(props)}")

    return check


_EXACT: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "boolean": (bool,),
    "integer": (int,),
    "number": (int, float),
    "null": (type(None),),
}
"""The exact Python types ``orjson.loads`` gives for each JSON type (bool is not an integer here: exact types)."""
_ENFORCED = frozenset(
    {"type", "enum", "const", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength",
     "pattern", "items", "minItems", "maxItems", "anyOf", "oneOf", "properties", "required", "additionalProperties"}
)  # fmt: skip
_FAST_SCALAR = frozenset({"type", "enum", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"})
_NUMERIC = (int, float)
_SCALARS: frozenset[type] = frozenset({str, int, float, bool, type(None)})
"""What the fast path accepts as a property value: no object or array, so accepted arguments are one level deep and
need no depth check."""
Accept = Callable[[Any], bool]


def _fast_scalar(schema: dict[str, Any]) -> Accept | None:
    """A predicate that returns True only for values ``schema`` accepts (False: ask the full check), or None when the
    schema uses keywords this fast path does not know."""
    if _ENFORCED.intersection(schema) - _FAST_SCALAR:
        return None
    types = schema.get("type")
    exact: frozenset[type] = _SCALARS
    if types is not None:
        names = [types] if isinstance(types, str) else list(types)
        if not all(isinstance(n, str) and n in _EXACT for n in names):
            return None
        exact = _SCALARS.intersection(t for n in names for t in _EXACT[n])
    allowed: frozenset[Any] | None = None
    if "enum" in schema:
        values = schema["enum"]
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            return None  # only string enums: set membership is then exactly list membership
        allowed = frozenset(values)
    lo, lo_open = schema.get("minimum"), False
    if "exclusiveMinimum" in schema:
        lo, lo_open = schema["exclusiveMinimum"], True  # both given: the full check decides
        if "minimum" in schema:
            return None
    hi, hi_open = schema.get("maximum"), False
    if "exclusiveMaximum" in schema:
        hi, hi_open = schema["exclusiveMaximum"], True
        if "maximum" in schema:
            return None
    if (lo is not None and not isinstance(lo, _NUMERIC)) or (hi is not None and not isinstance(hi, _NUMERIC)):
        return None
    bounded = lo is not None or hi is not None

    def accept(v: Any) -> bool:
        t = type(v)
        if t not in exact:
            return False
        if allowed is not None and (t is not str or v not in allowed):
            return False
        if bounded and (t is int or t is float):  # written as the full check's tests, so NaN fails both
            if lo is not None and not (v > lo if lo_open else v >= lo):
                return False
            if hi is not None and not (v < hi if hi_open else v <= hi):
                return False
        return True

    if allowed is None and not bounded:
        only: frozenset[type] = exact
        return lambda v: type(v) in only
    return accept


def _fast_object(schema: dict[str, Any]) -> Callable[[Any], bool] | None:
    """For a top-level object schema whose properties are plain scalars (type, string enum, numeric bounds): a check
    that returns True when the arguments are certainly valid (and, every value being a scalar, one level deep), False
    when the full check must decide."""
    if _ENFORCED.intersection(schema) - {"type", "properties", "required", "additionalProperties"}:
        return None
    if schema.get("type", "object") != "object":
        return None
    props = schema.get("properties", {})
    required = schema.get("required", [])
    if not isinstance(props, dict) or not isinstance(required, list):
        return None
    preds: dict[str, Accept] = {}
    for name, sub in props.items():
        pred = _fast_scalar(sub) if isinstance(sub, dict) else None
        if pred is None:
            return None
        preds[name] = pred
    need = tuple(required)
    closed = schema.get("additionalProperties") is False

    def fast(args: Any) -> bool:
        if type(args) is not dict:
            return False
        for name in need:
            if name not in args:
                return False
        for name, value in args.items():
            pred = preds.get(name)
            if pred is None:
                if closed or type(value) not in _SCALARS:
                    return False
            elif not pred(value):
                return False
        return True

    return fast


def compile_schema(schema: dict[str, Any]) -> Callable[[Any], None]:
    """Compile ``schema`` once; the returned function raises ``JsonRpcError(-32602)`` on invalid arguments, and on
    arguments nested deeper than :data:`MAX_ARGUMENT_DEPTH` whatever the schema.

    Object schemas of plain scalar properties (the common tool shape) get a fast path: exact-type tests that accept
    valid one-level arguments in well under a microsecond; anything it does not accept goes through the depth check
    and the full check, which gives the exact error.
    """
    check = _compile(schema)
    fast = _fast_object(schema)

    if fast is None:

        def validate(arguments: Any) -> None:
            if too_deep(arguments):
                raise _depth_error()
            check(arguments, "arguments")

        return validate

    def validate_fast(arguments: Any) -> None:
        if not fast(arguments):
            if too_deep(arguments):
                raise _depth_error()
            check(arguments, "arguments")

    return validate_fast
