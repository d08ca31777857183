"""The compiled build (``make compiled``): refused when it does not match the sources, and a backtest replayed with it
gives the interpreted replay's results byte for byte (with ``build/compiled`` when it is current, else with a build
made here: mypyc needs a C compiler, which the machine has)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import tradingmcp
from tradingmcp.compiled import ENV, MANIFEST, StaleBuildError, build, package_path

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "build" / "compiled"
TO_MS = 1723161420000  # the first ~3 minutes of the recording

_REPLAY = """
import hashlib, json, sys
from pathlib import Path
from tradingmcp.research.backtest.data import load_market_data
from tradingmcp.research.backtest.engine import BacktestParams
from tradingmcp.research.backtest.run import RunSpec, run_one
import tradingmcp.client.bot.core as core
out = Path(sys.argv[2])
data = load_market_data(["BTCUSDT"], Path(sys.argv[1]))
params = BacktestParams(latency_ms=float(sys.argv[3]), end_ms=int(sys.argv[4]))
report = run_one(RunSpec({}, "market_making", data, params, {}, out, plots=False))
print(json.dumps({"core": core.__file__, "fills": report["metrics"]["fills"]}))
"""


def _fake_build(tmp_path: Path) -> tuple[Path, Path]:
    """A package folder with two modules and a finished build of it (its shared objects as empty files)."""
    src = tmp_path / "src" / "tradingmcp"
    (src / "sim").mkdir(parents=True)
    (src / "__init__.py").write_text("")
    (src / "sim" / "book.py").write_text("X = 1\n")
    build = tmp_path / "build"
    pkg = build / "tradingmcp"
    (pkg / "sim").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sim" / "book.py").write_text("X = 1\n")
    (pkg / "sim" / "book.cpython-311-x86_64-linux-gnu.so").write_bytes(b"")
    (build / MANIFEST).write_text(json.dumps({"modules": ["sim/book.py"]}))
    return src, build


def test_a_build_matching_the_sources_is_taken(tmp_path: Path) -> None:
    src, build = _fake_build(tmp_path)
    assert package_path(src, build) == build / "tradingmcp"


def test_a_changed_source_refuses_the_build(tmp_path: Path) -> None:
    src, build = _fake_build(tmp_path)
    (src / "sim" / "book.py").write_text("X = 2\n")
    with pytest.raises(StaleBuildError, match=r"sources changed since the build \(sim/book\.py\)"):
        package_path(src, build)


def test_an_added_source_refuses_the_build(tmp_path: Path) -> None:
    src, build = _fake_build(tmp_path)
    (src / "sim" / "new.py").write_text("")
    with pytest.raises(StaleBuildError, match=r"sim/new\.py"):
        package_path(src, build)


def test_an_unfinished_build_is_refused(tmp_path: Path) -> None:
    src, build = _fake_build(tmp_path)
    (build / "tradingmcp" / "sim" / "book.cpython-311-x86_64-linux-gnu.so").unlink()
    with pytest.raises(StaleBuildError, match=r"compiled modules missing: sim/book\.py"):
        package_path(src, build)
    (build / MANIFEST).unlink()
    with pytest.raises(StaleBuildError, match="no finished build"):
        package_path(src, build)


def test_importing_with_a_stale_build_fails_loudly(tmp_path: Path) -> None:
    env = {**os.environ, ENV: str(tmp_path / "nothing")}
    proc = subprocess.run(
        [sys.executable, "-c", "import tradingmcp"], check=False, env=env, capture_output=True, text=True
    )
    assert proc.returncode != 0
    assert "StaleBuildError" in proc.stderr and "make compiled" in proc.stderr


@pytest.fixture(scope="module")
def compiled_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``build/compiled`` when it matches the sources, else a fresh build in a temporary folder."""
    source = Path(tradingmcp.__file__).resolve().parent
    try:
        package_path(source, BUILD)
        return BUILD
    except StaleBuildError:
        out = tmp_path_factory.mktemp("compiled")
        build(out, source)
        return out


@pytest.mark.data
@pytest.mark.parametrize("latency_ms", [0.0, 5.0])
def test_compiled_replay_is_byte_identical(
    data_dir: Path, tmp_path: Path, compiled_dir: Path, latency_ms: float
) -> None:
    outs = []
    for compiled in (False, True):
        out = tmp_path / ("compiled" if compiled else "interpreted")
        env = {k: v for k, v in os.environ.items() if k != ENV} | ({ENV: str(compiled_dir)} if compiled else {})
        args = [sys.executable, "-c", _REPLAY, str(data_dir), str(out), str(latency_ms), str(TO_MS)]
        proc = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stderr[-2000:]  # a stale build says so here: run `make compiled`
        doc = json.loads(proc.stdout)
        assert doc["core"].endswith(".so") == compiled
        assert doc["fills"] > 0
        outs.append(out)
    for name in ("fills.jsonl", "report.json"):
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name
