"""The run log: parameters, per-step metrics and the final report of every backtest and bot run.

Always a local JSON Lines file per run, ``<root>/<run id>-<kind>-<name>.jsonl`` (root: the ``root`` argument, else
``$TRADINGMCP_RUNS_DIR``, else ``./runs``), one object per line, each written and flushed at once (a run that dies
leaves its start and steps)::

    {"type": "start", "id", "kind": "backtest"|"bot", "name", "params": {...}, "started_ms", "started_ns"}
    {"type": "step", "step": int, "metrics": {name: float}}
    {"type": "finish", "status": "finished"|"failed", "finished_ms", "report": {...}, "wandb_dir": str|null}

Values that JSON lacks are written as strings (Decimal, Path); NaN and infinities as null. With the optional extra
``tradingmcp[wandb]`` installed and enabled (``wandb=True``, or ``$TRADINGMCP_WANDB=1``), the same run also goes to
Weights & Biases in offline mode (https://docs.wandb.ai/guides/track/environment-variables: ``WANDB_MODE=offline``):
params as the run's config, steps through ``run.log(metrics, step=step)``, the report's numbers as its summary, under
``<wandb_dir>/wandb/offline-run-*`` (default ``./wandb``), to upload later with ``wandb sync``.

:func:`load_runs` reads the log back as :class:`RunSummary` rows (the ``tradingmcp runs`` command).
"""

from __future__ import annotations

import importlib
import logging
import math
import os
import re
import secrets
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Literal

import orjson

log = logging.getLogger("tradingmcp.research.runs")

RunKind = Literal["backtest", "bot"]
KINDS: tuple[RunKind, ...] = ("backtest", "bot")
RUNS_DIR_ENV = "TRADINGMCP_RUNS_DIR"
WANDB_ENV = "TRADINGMCP_WANDB"
WANDB_PROJECT = "tradingmcp"
DEFAULT_ROOT = Path("runs")
_TRUE = {"1", "true", "yes", "on"}
_NUMBER = re.compile(r"[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?")
_SLUG = re.compile(r"[^A-Za-z0-9_.-]+")


class RunLogError(RuntimeError):
    """Misuse of a run (a step after the end, a second end), a bad kind or name, or wandb asked for but missing."""


def runs_root(root: str | os.PathLike[str] | None = None) -> Path:
    """The run log folder: ``root``, else ``$TRADINGMCP_RUNS_DIR``, else ``./runs``."""
    if root is not None:
        return Path(root)
    env = os.environ.get(RUNS_DIR_ENV)
    return Path(env) if env else DEFAULT_ROOT


def _default(obj: Any) -> Any:
    if isinstance(obj, Decimal | Path):
        return str(obj)
    if hasattr(obj, "item"):  # numpy scalars
        return obj.item()
    if isinstance(obj, set | frozenset | tuple):
        return list(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON")


def _dumps(obj: Any) -> bytes:
    return orjson.dumps(obj, default=_default, option=orjson.OPT_NON_STR_KEYS) + b"\n"


def _wandb_module(enabled: bool | None) -> Any:
    """The ``wandb`` module when enabled and installed, else None.

    Raises:
        RunLogError: ``enabled`` is True and wandb is not installed.
    """
    asked = enabled if enabled is not None else os.environ.get(WANDB_ENV, "").lower() in _TRUE
    if not asked:
        return None
    try:
        return importlib.import_module("wandb")
    except ImportError:
        message = "wandb logging is on but wandb is not installed: pip install 'tradingmcp[wandb]'"
        if enabled:
            raise RunLogError(message) from None
        log.warning("%s ($%s); logging locally only", message, WANDB_ENV)
        return None


class RunRecorder:
    """One run's log (see the module docstring).

    Args:
        kind: ``backtest`` or ``bot``.
        name: a short label (the strategy, a sweep point); it goes into the run id.
        params: the run's parameters (JSON-able; Decimals become strings).
        root: the run log folder (see :func:`runs_root`).
        wandb: also log to Weights & Biases offline (None: when ``$TRADINGMCP_WANDB`` is 1/true/yes/on).
        wandb_dir: where wandb writes its ``wandb/`` folder (default: the working directory).

    Attributes:
        run_id: ``<UTC start, yymmdd-HHMMSS>-<6 hex>``, e.g. ``261205-073443-2b1e9c``. path: the JSONL file,
            ``<root>/<run id>-<kind>-<name>.jsonl``.

    Usable as a context manager: leaving it by an exception ends the run ``failed`` with the error in its report.

    Raises:
        RunLogError: a bad kind, an empty name, params that are not JSON, or wandb asked for and missing. OSError: the
            folder cannot be written.
    """

    def __init__(
        self,
        kind: RunKind,
        name: str,
        params: Mapping[str, Any],
        root: str | os.PathLike[str] | None = None,
        *,
        wandb: bool | None = None,
        wandb_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        if kind not in KINDS:
            raise RunLogError(f"run kind must be one of {', '.join(KINDS)}, got {kind!r}")
        slug = _SLUG.sub("-", name).strip("-")[:40]
        if not slug:
            raise RunLogError(f"a run needs a name of letters, digits, '_', '.' or '-', got {name!r}")
        started_ns = time.time_ns()
        started_ms = started_ns // 1_000_000
        stamp = time.strftime("%y%m%d-%H%M%S", time.gmtime(started_ms / 1000))
        self.kind, self.name, self.params = kind, name, dict(params)
        try:
            params_json = orjson.loads(_dumps(self.params))
        except TypeError as exc:
            raise RunLogError(f"run params must be JSON (numbers, strings, Decimals, lists, objects): {exc}") from None
        root_dir = runs_root(root)
        root_dir.mkdir(parents=True, exist_ok=True)
        wandb_mod = _wandb_module(wandb)
        while True:  # a new file each run, even for runs started in the same second (parallel sweeps)
            self.run_id = f"{stamp}-{secrets.token_hex(3)}"
            self.path = root_dir / f"{self.run_id}-{kind}-{slug}.jsonl"
            try:
                self._file: IO[bytes] = self.path.open("xb")
                break
            except FileExistsError:
                continue
        self.steps = 0
        self.finished = False
        self._write({"type": "start", "id": self.run_id, "kind": kind, "name": name, "params": self.params,
                     "started_ms": started_ms, "started_ns": started_ns})  # fmt: skip
        self._wandb: Any = None
        if wandb_mod is not None:
            try:
                self._wandb = wandb_mod.init(
                    project=WANDB_PROJECT,
                    name=self.run_id,
                    job_type=kind,
                    config=params_json,
                    mode="offline",
                    dir=str(Path(wandb_dir) if wandb_dir is not None else Path.cwd()),
                    settings=wandb_mod.Settings(silent=True, console="off", x_disable_stats=True),
                )
            except BaseException:
                self.finish({"error": "wandb could not start this run"}, status="failed")
                raise

    def _write(self, obj: Mapping[str, Any]) -> None:
        self._file.write(_dumps(obj))
        self._file.flush()

    def log_step(self, step: int, metrics: Mapping[str, float]) -> None:
        """Record the metrics of step ``step`` (e.g. an equity sample's index; increasing).

        Raises:
            RunLogError: the run has ended, or a metric is not a number.
        """
        if self.finished:
            raise RunLogError(f"run {self.run_id} has ended; no more steps")
        try:
            values = {str(k): float(v) for k, v in metrics.items()}
        except (TypeError, ValueError):
            raise RunLogError(f"step {step}: every metric must be a number, got {dict(metrics)!r}") from None
        self._write({"type": "step", "step": step, "metrics": values})
        self.steps += 1
        if self._wandb is not None:
            self._wandb.log(values, step=step)

    def finish(self, report: Mapping[str, Any], *, status: Literal["finished", "failed"] = "finished") -> Path:
        """End the run with its final ``report``; returns the JSONL file's path.

        Raises:
            RunLogError: the run has already ended.
        """
        if self.finished:
            raise RunLogError(f"run {self.run_id} has already ended")
        self.finished = True
        wandb_dir = None
        if self._wandb is not None:
            self._wandb.summary.update(flat_numbers(report))
            wandb_dir = str(Path(self._wandb.dir).parent)
            self._wandb.finish(exit_code=0 if status == "finished" else 1)
        try:
            self._write({"type": "finish", "status": status, "finished_ms": time.time_ns() // 1_000_000,
                         "report": dict(report), "wandb_dir": wandb_dir})  # fmt: skip
        finally:
            self._file.close()
        return self.path

    def __enter__(self) -> RunRecorder:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is not None and not self.finished:
            self.finish({"error": f"{type(exc).__name__}: {exc}"}, status="failed")
        elif not self.finished:
            self.finish({})


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    numeric = isinstance(value, int | float | Decimal) or (isinstance(value, str) and _NUMBER.fullmatch(value.strip()))
    if not numeric:
        return None
    out = float(value)
    return out if math.isfinite(out) else None


def flat_numbers(report: Mapping[str, Any], depth: int = 3) -> dict[str, float]:
    """The numbers of ``report`` (decimal strings too) by dotted key, ``{"risk": {"sharpe": 1}}`` →
    ``{"risk.sharpe": 1.0}``, objects followed ``depth`` levels deep; lists are skipped."""
    out: dict[str, float] = {}

    def walk(obj: Mapping[str, Any], prefix: str, level: int) -> None:
        for key, value in obj.items():
            name = f"{prefix}{key}"
            if isinstance(value, Mapping):
                if level < depth:
                    walk(value, name + ".", level + 1)
                continue
            number = _number(value)
            if number is not None:
                out[name] = number

    walk(report, "", 1)
    return out


@dataclass(frozen=True)
class RunSummary:
    """One logged run: ``id``, ``kind``, ``name``, ``params``, ``status`` (``finished``, ``failed``, or ``running``
    when no end was written), times in ms since the epoch, ``steps`` (how many), ``last_step`` (its metrics),
    ``report``, ``metrics`` (:func:`flat_numbers` of the report), ``wandb_dir``, ``path``."""

    id: str
    kind: str
    name: str
    params: dict[str, Any]
    status: str
    started_ms: int
    finished_ms: int | None
    steps: int
    path: Path
    started_ns: int = 0
    last_step: dict[str, float] = field(default_factory=dict)
    report: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    wandb_dir: str | None = None

    def metric(self, key: str) -> float | None:
        """The report number ``key`` (a full dotted key, see :func:`metric_key`), None when absent."""
        return self.metrics.get(key)


def read_run(path: Path) -> RunSummary:
    """One run from its JSONL file.

    Raises:
        RunLogError: the file is not a run log (no start line, bad JSON). OSError: it cannot be read.
    """
    start: dict[str, Any] | None = None
    end: dict[str, Any] = {}
    steps, last = 0, {}
    with path.open("rb") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = orjson.loads(line)
            except orjson.JSONDecodeError:
                if line.endswith(b"\n"):
                    raise RunLogError(f"{path}: line {n} is not JSON") from None
                break  # a last line cut short by a crash
            kind = obj.get("type") if isinstance(obj, dict) else None
            if kind == "start":
                start = obj
            elif kind == "step":
                steps, last = steps + 1, obj.get("metrics", {})
            elif kind == "finish":
                end = obj
    if start is None:
        raise RunLogError(f"{path}: not a run log (no start line)")
    report = end.get("report") or {}
    return RunSummary(
        id=start["id"],
        kind=start["kind"],
        name=start["name"],
        params=start.get("params", {}),
        status=end.get("status", "running"),
        started_ms=start["started_ms"],
        started_ns=start.get("started_ns", start["started_ms"] * 1_000_000),
        finished_ms=end.get("finished_ms"),
        steps=steps,
        path=path,
        last_step=last,
        report=report,
        metrics=flat_numbers(report),
        wandb_dir=end.get("wandb_dir"),
    )


def iter_run_files(root: str | os.PathLike[str] | None = None) -> Iterator[Path]:
    """The JSONL files under the run log folder, by name (ids start with the UTC time to the second)."""
    folder = runs_root(root)
    if folder.is_dir():
        yield from sorted(folder.glob("*.jsonl"))


def load_runs(root: str | os.PathLike[str] | None = None, kind: str | None = None) -> list[RunSummary]:
    """Every run under the run log folder (of ``kind`` when given), oldest first (by start time); unreadable
    files are logged and skipped."""
    out = []
    for path in iter_run_files(root):
        try:
            run = read_run(path)
        except (RunLogError, OSError, KeyError) as exc:
            log.warning("skipping %s: %s", path, exc)
            continue
        if kind is None or run.kind == kind:
            out.append(run)
    return sorted(out, key=lambda r: (r.started_ns, r.id))


def find_run(runs: list[RunSummary], ref: str) -> RunSummary:
    """The run whose id is ``ref``, or whose id starts or ends with it (its time, its random tail), or whose name is
    ``ref``.

    Raises:
        RunLogError: none or several match.
    """
    exact = [r for r in runs if r.id == ref]
    found = exact or [r for r in runs if ref and (r.id.startswith(ref) or r.id.endswith(ref) or r.name == ref)]
    if len(found) == 1:
        return found[0]
    if not found:
        raise RunLogError(f"no run {ref!r}")
    raise RunLogError(f"{ref!r} matches {len(found)} runs: {', '.join(r.id for r in found[:5])}")


def metric_key(runs: list[RunSummary], name: str) -> str:
    """The full report key ``name`` stands for among ``runs``: itself when some run has it, else the key whose last
    part is ``name`` (``sharpe`` → ``risk.sharpe``).

    Raises:
        RunLogError: no run has such a metric, or ``name`` is the last part of several keys.
    """
    keys = {k for r in runs for k in r.metrics}
    if name in keys:
        return name
    tails = sorted(k for k in keys if k.rsplit(".", 1)[-1] == name)
    if len(tails) == 1:
        return tails[0]
    if tails:
        raise RunLogError(f"metric {name!r} is ambiguous: {', '.join(tails)}")
    near = sorted(k for k in keys if name in k)[:8]
    hint = f"; did you mean {', '.join(near)}?" if near else ""
    raise RunLogError(f"no run has a metric {name!r}{hint}")


__all__ = [
    "KINDS",
    "RUNS_DIR_ENV",
    "WANDB_ENV",
    "RunKind",
    "RunLogError",
    "RunRecorder",
    "RunSummary",
    "find_run",
    "flat_numbers",
    "iter_run_files",
    "load_runs",
    "metric_key",
    "read_run",
    "runs_root",
]
