"""The opt-in compiled build of the backtest's hot path: :data:`MODULES` compiled with mypyc, kept apart from the sources.

``make compiled`` (``python -m tradingmcp.compiled [DIR]``, DIR default ``build/compiled``) copies the package's files
to ``DIR/tradingmcp`` (symlinked folders followed) and compiles :data:`MODULES` there with mypyc (C extensions next to
the copies, never next to the sources); a manifest (``DIR/compiled.json``) written last says the build finished.

``TRADINGMCP_COMPILED=DIR`` (e.g. ``TRADINGMCP_COMPILED=build/compiled tradingmcp backtest ...``) makes ``import
tradingmcp`` load every submodule from ``DIR/tradingmcp`` (:func:`package_path`): the compiled modules as C
extensions, the others from their copies. It refuses a build that is unfinished or older than the sources (a copied
``.py`` file that differs from its source, one missing, or one added since): :class:`StaleBuildError`.

The compiled modules behave as the interpreted ones (the backtest's results are byte-identical), except that their
classes take no attributes beyond the declared ones and cannot be subclassed by interpreted classes. Left
interpreted: ``client/bot/config.py`` and ``client/bot/params.py`` (their loaders pass lists where tuples are declared,
which compiled code checks at run time), ``sim/order_request.py`` (mypyc fails on it), ``client/bot/protocols.py``
(a runtime-checkable protocol cannot be a compiled class). ``sim/matching.py`` must be compiled with ``sim/placing.py``
and ``sim/core.py``: an interpreted class cannot subclass a compiled one.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

__all__ = ["ENV", "MODULES", "StaleBuildError", "build", "main", "package_path"]

ENV = "TRADINGMCP_COMPILED"
"""The environment variable naming the build directory to import from."""

MODULES = (
    "client/bot/actions.py",
    "client/bot/core.py",
    "client/bot/ledger.py",
    "client/bot/market.py",
    "client/bot/orders.py",
    "client/bot/plugin.py",
    "client/bot/risk.py",
    "client/bot/strategy.py",
    "research/backtest/botlink.py",
    "research/backtest/engine.py",
    "research/backtest/results.py",
    "research/backtest/streams.py",
    "research/backtest/venue.py",
    "research/backtest/venues.py",
    "server/exchanges/wire.py",
    "sim/book.py",
    "sim/core.py",
    "sim/execution.py",
    "sim/filters.py",
    "sim/matching.py",
    "sim/params.py",
    "sim/placing.py",
    "sim/render.py",
    "sim/state.py",
)
"""The compiled modules, relative to the package folder: the backtest's replay loop, the bot's decision core and the
simulator's book and matching engine, with what they call per event."""

MANIFEST = "compiled.json"
_SKIP = shutil.ignore_patterns("__pycache__", "*.so", "*.pyc")


class StaleBuildError(ImportError):
    """The build directory is missing, unfinished, or does not match the sources."""


def _py_files(root: Path) -> set[Path]:
    """The ``.py`` files under ``root``, relative to it (symlinked folders followed, as the build copies them)."""
    found: set[Path] = set()
    for folder, dirs, files in os.walk(root, followlinks=True):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        found.update(Path(folder, f).relative_to(root) for f in files if f.endswith(".py"))
    return found


def package_path(source: Path, build_dir: Path) -> Path:
    """The package folder of a finished build in ``build_dir`` whose ``.py`` copies match ``source`` (the package
    folder in use) file for file, byte for byte.

    Raises:
        StaleBuildError: no manifest (never built, or the build failed), a compiled module missing, or the copies
            differ from the sources (rebuild with ``make compiled``).
    """
    pkg = build_dir / "tradingmcp"
    try:
        manifest = json.loads((build_dir / MANIFEST).read_text())
    except (OSError, ValueError) as e:
        raise StaleBuildError(f"{ENV}={build_dir}: no finished build there ({e}); run `make compiled`") from None
    missing = [m for m in manifest.get("modules", []) if not list((pkg / m).parent.glob(Path(m).stem + ".*.so"))]
    if missing:
        raise StaleBuildError(f"{ENV}={build_dir}: compiled modules missing: {', '.join(missing)}; run `make compiled`")
    if pkg.resolve() == source.resolve():
        return pkg
    src_files, copies = _py_files(source), _py_files(pkg)
    changed = sorted(str(f) for f in src_files ^ copies)
    changed += sorted(str(f) for f in src_files & copies if (source / f).read_bytes() != (pkg / f).read_bytes())
    if changed:
        shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
        raise StaleBuildError(f"{ENV}={build_dir}: the sources changed since the build ({shown}); run `make compiled`")
    return pkg


def build(build_dir: Path, source: Path | None = None) -> list[str]:
    """Copy the package to ``build_dir/tradingmcp`` (after emptying ``build_dir``) and compile :data:`MODULES` there
    with mypyc (this interpreter's); returns the compiled modules.

    Raises:
        subprocess.CalledProcessError: mypyc failed (its output went to stderr; no manifest is written).
    """
    source = source or Path(__file__).resolve().parent
    if build_dir.exists():
        shutil.rmtree(build_dir)
    shutil.copytree(source, build_dir / "tradingmcp", ignore=_SKIP)
    paths = [f"tradingmcp/{m}" for m in MODULES]
    env = {**os.environ, "MYPYPATH": str(build_dir.resolve())}
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    cmd = [sys.executable, "-m", "mypyc", "--strict", "--python-version", version]
    done = subprocess.run([*cmd, *paths], cwd=build_dir, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        sys.stderr.write(done.stdout + done.stderr)
        done.check_returncode()
    (build_dir / MANIFEST).write_text(json.dumps({"modules": list(MODULES)}, indent=1) + "\n")
    return list(MODULES)


def main(argv: list[str] | None = None) -> int:
    """``python -m tradingmcp.compiled [DIR]``: build into DIR (default ``build/compiled``); returns the exit status."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) > 1 or (args and args[0].startswith("-")):
        print("usage: python -m tradingmcp.compiled [DIR]  (default build/compiled)", file=sys.stderr)
        return 2
    out = Path(args[0] if args else "build/compiled")
    try:
        mods = build(out)
    except subprocess.CalledProcessError as e:
        print(f"tradingmcp.compiled: mypyc failed (exit {e.returncode})", file=sys.stderr)
        return 1
    print(f"compiled {len(mods)} modules into {out}; use them with {ENV}={out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
