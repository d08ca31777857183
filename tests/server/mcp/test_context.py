"""Tools see a :class:`CallContext`, not the engine: no tool or domain module imports the engine's session modules,
and the engine's :class:`Call` offers every member of the protocol."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

import tradingmcp
from tradingmcp.server.mcp.call import Call
from tradingmcp.server.mcp.context import CallContext

PACKAGE = Path(tradingmcp.__file__).parent
TOOL_SIDE = ("server/tools", "server/trading", "server/portfolio", "server/live", "server/audit")
ENGINE_MODULES = frozenset(f"tradingmcp.server.mcp.{m}" for m in ("engine", "call", "toolcall", "methods", "runner"))


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


@pytest.mark.parametrize("folder", TOOL_SIDE)
def test_no_tool_module_imports_the_engine(folder: str) -> None:
    files = sorted((PACKAGE / folder).rglob("*.py"))
    assert files, folder
    offenders = {str(f.relative_to(PACKAGE)): sorted(_imports(f) & ENGINE_MODULES) for f in files}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_call_offers_every_member_of_the_context() -> None:
    wanted = {name for name in vars(CallContext) if not name.startswith("_")}
    assert wanted >= {"principal", "request_id", "progress_token", "log_level", "subscriber", "progress", "log"}
    offered = set(dir(Call))
    assert wanted <= offered, wanted - offered
    for name in ("progress", "log"):  # same parameters, so a tool written against the protocol runs on a Call
        assert list(inspect.signature(getattr(Call, name)).parameters) == list(
            inspect.signature(getattr(CallContext, name)).parameters
        )
